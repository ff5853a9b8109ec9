"""Run identity: fingerprints, keyed run ids, user tags and run keys."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from arco.domain.canonical import canonical_json
from arco.domain.errors import InvalidInput
from arco.domain.run_identity import (
    MAX_RUN_KEY,
    MAX_TAGS,
    json_tag_values,
    keyed_run_id,
    request_fingerprint,
    reservation_name,
    validate_run_key,
    validate_user_tags,
)

ASSETS = ["a", "b"]
PARTITIONS: dict[str, list[str | None]] = {"a": ["2024-01-01", "2024-01-02"], "b": [None]}
TAGS = {"team": "data", "tier": "1"}


def test_fingerprint_ignores_order_of_assets_partitions_and_tags() -> None:
    base = request_fingerprint(ASSETS, PARTITIONS, TAGS)
    shuffled = request_fingerprint(
        ["b", "a"],
        {"b": [None], "a": ["2024-01-02", "2024-01-01"]},
        {"tier": "1", "team": "data"},
    )
    assert shuffled == base
    assert len(base) == 32


def test_fingerprint_ignores_system_tags() -> None:
    base = request_fingerprint(ASSETS, PARTITIONS, TAGS)
    with_system = {**TAGS, "arco/schedule": "nightly", "dagster/backfill": "b1"}
    assert request_fingerprint(ASSETS, PARTITIONS, with_system) == base


@pytest.mark.parametrize(
    "other",
    [
        {"assets": ["a"]},
        {"partitions": {"a": ["2024-01-01"], "b": [None]}},
        {"partitions": {"a": ["2024-01-01", "2024-01-03"], "b": [None]}},
        {"tags": {"team": "data"}},
        {"tags": {"team": "data", "tier": "2"}},
        {"parent_run_id": "run_parent"},
    ],
)
def test_fingerprint_differs_when_the_request_differs(other: dict[str, Any]) -> None:
    base = request_fingerprint(ASSETS, PARTITIONS, TAGS)
    request: dict[str, Any] = {"assets": ASSETS, "partitions": PARTITIONS, "tags": TAGS, **other}
    assert request_fingerprint(**request) != base


def test_fingerprint_of_two_parents_differs() -> None:
    assert request_fingerprint(ASSETS, PARTITIONS, TAGS, "run_1") != request_fingerprint(
        ASSETS, PARTITIONS, TAGS, "run_2"
    )


def test_keyed_run_id_is_deterministic_and_distinct_per_workspace_scope_and_key() -> None:
    run_id = keyed_run_id("ws", "manual", "k1")
    assert run_id == keyed_run_id("ws", "manual", "k1")
    assert run_id.startswith("run_")
    assert len(run_id) == 30
    assert run_id[4:].isalnum() and run_id == run_id.lower()
    others = {
        keyed_run_id("ws2", "manual", "k1"),
        keyed_run_id("ws", "sensor:s", "k1"),
        keyed_run_id("ws", "manual", "k2"),
        # the separator keeps the parts apart
        keyed_run_id("ws", "manualk", "1"),
    }
    assert run_id not in others and len(others) == 4


def test_reservation_name_is_stable_per_scope_and_key() -> None:
    name = reservation_name("manual", "k1")
    assert name == reservation_name("manual", "k1")
    assert name.endswith(".json") and len(name) == 64 + 5
    assert name != reservation_name("manual", "k2")
    assert name != reservation_name("sensor:s", "k1")


def test_validate_user_tags_accepts_ordinary_tags() -> None:
    assert validate_user_tags({"team": "data", "note": ""}) == {"team": "data", "note": ""}
    assert validate_user_tags({}) == {}


@pytest.mark.parametrize("key", ["arco/schedule", "dagster/run_key", "arco/"])
def test_validate_user_tags_rejects_reserved_prefixes(key: str) -> None:
    with pytest.raises(InvalidInput, match="reserved prefix"):
        validate_user_tags({key: "x"})


def test_validate_user_tags_allows_lookalikes_of_reserved_prefixes() -> None:
    assert validate_user_tags({"arco": "x", "my/arco/tag": "y"}) == {
        "arco": "x",
        "my/arco/tag": "y",
    }


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"team": 1}, "value must be a string"),
        ({"team": None}, "value must be a string"),
        ({1: "x"}, "must be a string"),
        ({"": "x"}, "must be a string of 1-200"),
        ({"k" * 201: "x"}, "must be a string of 1-200"),
        ({"team": "v" * 4001}, "at most 4000"),
        (["team"], "must be an object"),
    ],
)
def test_validate_user_tags_rejects_bad_tags(tags: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_user_tags(tags)


def test_validate_user_tags_rejects_too_many_tags() -> None:
    at_limit = {f"t{i}": "x" for i in range(MAX_TAGS)}
    assert validate_user_tags(at_limit) == at_limit
    with pytest.raises(InvalidInput, match=f"at most {MAX_TAGS} tags"):
        validate_user_tags({**at_limit, "one_more": "x"})


def test_validate_run_key_accepts_ordinary_keys() -> None:
    assert validate_run_key("2024-01-01") == "2024-01-01"
    assert validate_run_key("k" * MAX_RUN_KEY) == "k" * MAX_RUN_KEY
    assert validate_run_key("ünïcode key/with:punctuation") == "ünïcode key/with:punctuation"


@pytest.mark.parametrize(
    ("run_key", "message"),
    [
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("k" * (MAX_RUN_KEY + 1), "non-empty"),
        (None, "non-empty"),
        (42, "non-empty"),
        ("line\nbreak", "control characters"),
        ("tab\there", "control characters"),
        ("nul\x00", "control characters"),
    ],
)
def test_validate_run_key_rejects_bad_keys(run_key: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_run_key(run_key)


def test_a_fingerprint_is_the_hash_of_the_documented_request_body() -> None:
    # Fingerprints are stored with every run (run_key conflicts compare them): their body is
    # a format. sha256 of the canonical JSON, first 32 hex digits.
    body = {
        "assets": ["a", "b"],
        "partitions": {"a": ["", "p1"]},
        "tags": {"team": "x"},
        "parent_run_id": "r0",
        "run_config": {"ops": {}},
    }
    expected = hashlib.sha256(canonical_json(body)).hexdigest()[:32]
    got = request_fingerprint(
        ["b", "a"], {"a": ["p1", None]}, {"team": "x", "dagster/x": "y"}, "r0", {"ops": {}}
    )
    assert got == expected


def test_tag_and_run_key_bounds_are_inclusive() -> None:
    assert len(validate_user_tags({f"t{i}": "v" for i in range(50)})) == 50
    with pytest.raises(InvalidInput, match="at most 50 tags per run, got 51"):
        validate_user_tags({f"t{i}": "v" for i in range(51)})
    assert validate_user_tags({"k" * 200: "v" * 4000})
    with pytest.raises(InvalidInput, match="1-200 characters"):
        validate_user_tags({"k" * 201: "v"})
    with pytest.raises(InvalidInput, match="at most 4000 characters"):
        validate_user_tags({"k": "v" * 4001})
    assert validate_run_key("k" * 500) == "k" * 500
    with pytest.raises(InvalidInput, match="at most 500 chars"):
        validate_run_key("k" * 501)


def test_code_tags_keep_json_values_as_their_sorted_json_text() -> None:
    tags = json_tag_values({"n": 5, "d": {"b": 1, "a": 2}, "s": "x"}, "asset 'a'")
    assert tags == {"n": "5", "d": '{"a": 2, "b": 1}', "s": "x"}
    for value in ((1, 2), float("nan"), object()):
        with pytest.raises(InvalidInput, match="asset 'a': tag 'v' has a value JSON cannot keep"):
            json_tag_values({"v": value}, "asset 'a'")
