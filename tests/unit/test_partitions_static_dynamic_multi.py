"""Static, dynamic and multi partitions against Dagster 1.13's rules (reference §5.2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    partitions_from_snapshot,
)

NOW = datetime(2024, 1, 4, tzinfo=UTC)


# --------------------------------------------------------------------------- static


def test_static_keys_keep_their_order() -> None:  # [static_dynamic_partitions]
    static = StaticPartitionsDefinition(["c", "a", "b"])
    assert static.kind == "static"
    assert static.keys(NOW) == ["c", "a", "b"]
    assert static.has_key("a", NOW)
    assert not static.has_key("d", NOW)
    static.validate_key("b", NOW)
    with pytest.raises(InvalidInput, match="partition key 'd' is not in static partitions"):
        static.validate_key("d", NOW)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["a", "b", "a"], "duplicate partition key 'a'"),
        (["a...b"], "must not contain '...'"),
        (["a\nb"], "control characters"),
        (["tab\there"], "control characters"),
        (["nul\x00"], "control characters"),
        ([""], "must not be empty"),
        ([1], "must be a string"),
        ("abc", "must be a list of strings"),
    ],
)
def test_bad_static_keys_are_rejected(keys: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        StaticPartitionsDefinition(keys)  # type: ignore[arg-type]


def test_static_keys_may_hold_separators_outside_multi() -> None:
    assert StaticPartitionsDefinition(["a|b", "c,d", "[x]"]).keys(NOW) == ["a|b", "c,d", "[x]"]
    assert StaticPartitionsDefinition([]).keys(NOW) == []


# --------------------------------------------------------------------------- dynamic


def test_dynamic_keys_come_from_state_in_insertion_order() -> None:  # [dynamic_*]
    dynamic = DynamicPartitionsDefinition("customers")
    state = {"customers": ["c2", "c1", "c3"], "other": ["x"]}
    assert dynamic.kind == "dynamic"
    assert dynamic.name == "customers"
    assert dynamic.keys(NOW, state) == ["c2", "c1", "c3"]
    assert dynamic.has_key("c1", NOW, state)
    assert not dynamic.has_key("x", NOW, state)
    # an unknown name, or no state at all, has no keys
    assert dynamic.keys(NOW, {"other": ["x"]}) == []
    assert dynamic.keys(NOW) == []
    with pytest.raises(InvalidInput, match="partition key 'c4' is not in dynamic partitions"):
        dynamic.validate_key("c4", NOW, state)


def test_dynamic_name_is_validated() -> None:
    with pytest.raises(InvalidInput, match="invalid dynamic partitions name ''"):
        DynamicPartitionsDefinition("")
    with pytest.raises(InvalidInput, match="invalid dynamic partitions name 'a/b'"):
        DynamicPartitionsDefinition("a/b")


# --------------------------------------------------------------------------- multi


def test_multi_dimensions_are_ordered_by_name() -> None:  # [keys_date_abc]
    multi = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition("2024-01-01"),
            "abc": StaticPartitionsDefinition(["a", "b"]),
        }
    )
    assert multi.kind == "multi"
    assert multi.dimension_names == ["abc", "date"]
    assert multi.keys(NOW) == [
        "a|2024-01-01",
        "a|2024-01-02",
        "a|2024-01-03",
        "b|2024-01-01",
        "b|2024-01-02",
        "b|2024-01-03",
    ]
    assert multi.key_from({"date": "2024-01-01", "abc": "a"}) == "a|2024-01-01"
    assert multi.dimension_keys("a|2024-01-01") == {"abc": "a", "date": "2024-01-01"}
    assert multi.has_key("b|2024-01-03", NOW)
    assert not multi.has_key("b|2024-01-04", NOW)
    assert not multi.has_key("c|2024-01-01", NOW)
    assert not multi.has_key("a", NOW)
    with pytest.raises(
        InvalidInput, match=re.escape("partition key 'a|2024-01-09' is not in multi")
    ):
        multi.validate_key("a|2024-01-09", NOW)


def test_multi_key_order_follows_names_not_declaration() -> None:  # [keys_zeta_alpha]
    multi = MultiPartitionsDefinition(
        {
            "zeta": StaticPartitionsDefinition(["z1", "z2"]),
            "alpha": StaticPartitionsDefinition(["a2", "a1"]),
        }
    )
    assert multi.keys(NOW) == ["a2|z1", "a2|z2", "a1|z1", "a1|z2"]
    assert multi.key_from({"zeta": "z2", "alpha": "a1"}) == "a1|z2"


def test_multi_needs_exactly_two_dimensions() -> None:  # [three_dims_error]
    static = StaticPartitionsDefinition(["a"])
    with pytest.raises(InvalidInput, match="exactly two dimensions, got 3"):
        MultiPartitionsDefinition({"x": static, "y": static, "z": static})
    with pytest.raises(InvalidInput, match="exactly two dimensions, got 1"):
        MultiPartitionsDefinition({"x": static})


@pytest.mark.parametrize("bad", ["a|b", "a,b", "[a", "a]"])
def test_multi_rejects_separators_in_static_keys(bad: str) -> None:  # [pipe_in_static_key_error]
    with pytest.raises(
        InvalidInput, match=f"dimension 'color': static partition key {re.escape(repr(bad))}"
    ):
        MultiPartitionsDefinition(
            {
                "color": StaticPartitionsDefinition([bad]),
                "date": DailyPartitionsDefinition("2024-01-01"),
            }
        )


def test_multi_rejects_nested_multi_and_bad_dimension_names() -> None:
    static = StaticPartitionsDefinition(["a"])
    inner = MultiPartitionsDefinition({"x": static, "y": static})
    with pytest.raises(InvalidInput, match="dimension 'm' cannot itself be multi"):
        MultiPartitionsDefinition({"m": inner, "s": static})
    with pytest.raises(InvalidInput, match="invalid multi partitions dimension name 'a b'"):
        MultiPartitionsDefinition({"a b": static, "s": static})
    with pytest.raises(InvalidInput, match="must be a partitions definition"):
        MultiPartitionsDefinition({"a": static, "b": ["x"]})  # type: ignore[dict-item]


def test_multi_key_helpers_name_the_problem() -> None:
    multi = MultiPartitionsDefinition(
        {"color": StaticPartitionsDefinition(["red"]), "size": StaticPartitionsDefinition(["s"])}
    )
    with pytest.raises(InvalidInput, match="needs exactly the dimensions \\['color', 'size'\\]"):
        multi.key_from({"color": "red"})
    with pytest.raises(
        InvalidInput, match=re.escape("dimension 'color' key 'r|x' must be a string")
    ):
        multi.key_from({"color": "r|x", "size": "s"})
    with pytest.raises(InvalidInput, match=re.escape("'red' must be two keys joined by '|'")):
        multi.dimension_keys("red")
    with pytest.raises(InvalidInput, match="have no dimension 'shape'"):
        multi.dimension("shape")


def test_multi_with_a_dynamic_dimension() -> None:
    multi = MultiPartitionsDefinition(
        {
            "customer": DynamicPartitionsDefinition("customers"),
            "hour": HourlyPartitionsDefinition("2024-01-01-00:00"),
        }
    )
    now = datetime(2024, 1, 1, 2, tzinfo=UTC)
    state = {"customers": ["acme", "beta"]}
    assert multi.keys(now, state) == [
        "acme|2024-01-01-00:00",
        "acme|2024-01-01-01:00",
        "beta|2024-01-01-00:00",
        "beta|2024-01-01-01:00",
    ]
    assert multi.keys(now) == []
    assert multi.has_key("beta|2024-01-01-01:00", now, state)
    assert not multi.has_key("gamma|2024-01-01-01:00", now, state)


# --------------------------------------------------------------------------- snapshots


def _every_kind() -> list[PartitionsDefinition]:
    return [
        StaticPartitionsDefinition(["b", "a"]),
        DynamicPartitionsDefinition("customers"),
        DailyPartitionsDefinition("2024-01-01", timezone="America/New_York"),
        MultiPartitionsDefinition(
            {
                "date": DailyPartitionsDefinition("2024-01-01"),
                "abc": StaticPartitionsDefinition(["a", "b"]),
            }
        ),
        MultiPartitionsDefinition(
            {
                "customer": DynamicPartitionsDefinition("customers"),
                "region": StaticPartitionsDefinition(["eu", "us"]),
            }
        ),
    ]


def test_snapshot_round_trip_for_every_kind() -> None:
    state = {"customers": ["c1", "c2"]}
    for definition in _every_kind():
        snapshot = definition.to_snapshot()
        again = partitions_from_snapshot(snapshot)
        assert type(again).kind == definition.kind == snapshot["kind"]
        assert again == definition
        assert hash(again) == hash(definition)
        assert again.to_snapshot() == snapshot
        assert again.keys(NOW, state) == definition.keys(NOW, state)


def test_snapshots_are_plain_json() -> None:
    assert StaticPartitionsDefinition(["b", "a"]).to_snapshot() == {
        "kind": "static",
        "keys": ["b", "a"],
    }
    assert DynamicPartitionsDefinition("customers").to_snapshot() == {
        "kind": "dynamic",
        "name": "customers",
    }
    multi = MultiPartitionsDefinition(
        {
            "zeta": StaticPartitionsDefinition(["z"]),
            "alpha": DynamicPartitionsDefinition("d"),
        }
    ).to_snapshot()
    assert multi == {
        "kind": "multi",
        "dimensions": {
            "alpha": {"kind": "dynamic", "name": "d"},
            "zeta": {"kind": "static", "keys": ["z"]},
        },
    }


def test_definitions_compare_by_content() -> None:
    assert StaticPartitionsDefinition(["a", "b"]) == StaticPartitionsDefinition(["a", "b"])
    assert StaticPartitionsDefinition(["a", "b"]) != StaticPartitionsDefinition(["b", "a"])
    assert DynamicPartitionsDefinition("x") != StaticPartitionsDefinition(["x"])
    assert len({DynamicPartitionsDefinition("x"), DynamicPartitionsDefinition("x")}) == 1


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"kind": "weird"}, "unknown partitions kind 'weird'"),
        ({"keys": ["a"]}, "unknown partitions kind None"),
        ({"kind": "static"}, "static partitions snapshot is missing 'keys'"),
        ({"kind": "time_window", "start": "2024-01-01"}, "missing 'cron_schedule'"),
        (
            {"kind": "time_window", "cron_schedule": "0 0 * * *", "start": "x", "fmt": "%Y"},
            "start 'x' is not ISO 8601",
        ),
        ({"kind": "multi", "dimensions": []}, "bad dimensions"),
        ("static", "must be an object"),
    ],
)
def test_malformed_snapshots_are_rejected(snapshot: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        partitions_from_snapshot(snapshot)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "definition",
    [
        StaticPartitionsDefinition(["c", "a", "b"]),
        DynamicPartitionsDefinition("customers"),
        MultiPartitionsDefinition(
            {
                "date": DailyPartitionsDefinition("2024-01-01"),
                "abc": StaticPartitionsDefinition(["a"]),
            }
        ),
        MultiPartitionsDefinition(
            {
                "who": DynamicPartitionsDefinition("customers"),
                "abc": StaticPartitionsDefinition(["a", "b"]),
            }
        ),
    ],
)
def test_has_key_is_membership_in_the_keys(definition: PartitionsDefinition) -> None:
    # run plans check a list of keys against the listed keys of these kinds and one key at a
    # time with has_key: the two must agree.
    state = {"customers": ["c1", "c2"]}
    candidates = [
        *definition.keys(NOW, state),
        "a",
        "b",
        "c",
        "d",
        "c1",
        "c3",
        "",
        "a|2024-01-01",
        "a|2024-01-04",
        "a|c1",
        "b|c2",
        "c1|a",
        "a|2023-12-31",
        "a|c1|x",
        "A",
    ]
    listed = set(definition.keys(NOW, state))
    assert listed
    assert [k for k in candidates if definition.has_key(k, NOW, state)] == [
        k for k in candidates if k in listed
    ]
