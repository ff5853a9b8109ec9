"""From folded schedule/sensor run requests to `run.requested` events: run identity per request.

A keyless request is its own key: two keyless requests of one sensor tick are two runs (never
collapsed into one run per tick); keyed requests are guarded by the sensor's scope forever and by
the schedule's scope per tick (Dagster's rules)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from arco.domain.run_identity import keyed_run_id, schedule_scope, sensor_scope
from arco.domain.run_requests import KEYLESS_SCOPE, automation_requests_to_events, automation_run_id
from arco.domain.runs import RetrySpec, RunRequested
from arco.domain.tables import Row
from arco.sdk import AssetSpec, Definitions
from tests.unit.test_sensors_fold import Projection, Writer, req, rids

NOW = datetime(2026, 9, 21, 12, tzinfo=UTC)
NOW_MS = 1_790_000_000_000
DEFS = Definitions(assets=[AssetSpec("orders"), AssetSpec("customers")]).snapshot("tests:defs")
RETRY = RetrySpec(max_attempts=1, delay_ms=0)


def _requested(rows: list[Row], existing: frozenset[str] = frozenset()) -> list[RunRequested]:
    events = automation_requests_to_events("ws", DEFS, rows, existing, NOW, NOW_MS, RETRY)
    payloads = [e.payload for e in events]
    assert all(isinstance(p, RunRequested) for p in payloads), payloads
    return payloads  # type: ignore[return-value]


def test_two_keyless_requests_of_one_sensor_tick_are_two_runs() -> None:
    w, p = Writer(), Projection()
    tick = w.push("m1", req(), req())
    p.deliver(tick)
    assert p.tick(tick)["status"] == "SUCCESS" and len(rids(p.tick(tick))) == 2
    rows = p.requests()
    assert [r["run_key"] for r in rows] == [None, None]
    assert rows[0]["tick_ms"] == rows[1]["tick_ms"]  # same sensor, same tick

    runs = _requested(rows)
    assert len(runs) == 2
    assert len({r.run_id for r in runs}) == 2  # not collapsed into one run per tick
    assert sorted(r.request_id for r in runs) == sorted(r["request_id"] for r in rows)
    for run, row in zip(
        sorted(runs, key=lambda r: r.request_id),
        sorted(rows, key=lambda r: r["request_id"]),
        strict=True,
    ):
        # the id is the keyless scope's key for the request itself, computed independently
        assert run.run_id == keyed_run_id("ws", "request", row["request_id"])
        assert run.run_key is None and run.scope == "sensor:new_files"
        assert run.tags["arco/sensor_name"] == "new_files"
    # another tick with keyless requests: yet other runs
    later = w.push("m2", req())
    p.deliver(later)
    more = _requested(p.requests())
    assert len({r.run_id for r in more}) == 3


def test_a_keyless_request_whose_run_exists_is_not_requested_again() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.push("m1", req(), req()))
    rows = p.requests()
    first = _requested(rows)
    again = _requested(rows, existing=frozenset({first[0].run_id}))
    assert [r.run_id for r in again] == [first[1].run_id]


def test_keyed_requests_take_their_scope() -> None:
    sensor_row: Row = {
        "request_id": "sensor:s:t:0",
        "source": "sensor",
        "source_name": "s",
        "tick_ms": 5,
        "run_key": "k",
    }
    assert automation_run_id("ws", sensor_row) == (
        "sensor:s",
        keyed_run_id("ws", "sensor:s", "k"),
    )
    schedule_row: Row = {**sensor_row, "source": "schedule", "source_name": "h"}
    assert automation_run_id("ws", schedule_row) == (
        "schedule:h:5",
        keyed_run_id("ws", "schedule:h:5", "k"),
    )
    keyless: Row = {**sensor_row, "run_key": None}
    assert automation_run_id("ws", keyless) == (
        sensor_scope("s"),
        keyed_run_id("ws", KEYLESS_SCOPE, "sensor:s:t:0"),
    )
    assert KEYLESS_SCOPE == "request" and schedule_scope("h", 5) == "schedule:h:5"


def test_only_requested_automation_rows_become_runs() -> None:
    base: Row = {
        "source": "sensor",
        "source_name": "s",
        "tick_ms": 5,
        "run_key": None,
        "partition_key": None,
        "asset_selection": json.dumps(["orders"]),
        "tags": "{}",
        "status": "REQUESTED",
    }
    rows = [
        {**base, "request_id": "a"},
        {**base, "request_id": "b", "status": "LAUNCHED"},
        {**base, "request_id": "c", "source": "backfill"},
    ]
    assert [r.request_id for r in _requested(rows)] == ["a"]


# --- the request, rule by rule (mutation testing) ----------------------------------------------


def _row(request_id: str, **extra: Any) -> Row:
    return {
        "request_id": request_id,
        "source": "schedule",
        "source_name": "nightly",
        "tick_ms": 5,
        "run_key": f"key-{request_id}",
        "partition_key": None,
        "asset_selection": json.dumps(["orders"]),
        "tags": json.dumps({"team": "data"}),
        "status": "REQUESTED",
        **extra,
    }


def test_a_schedule_request_becomes_a_run_requested_with_everything_it_names() -> None:
    from arco.domain.runs import RUN_REQUESTED, run_requested_key
    from arco.domain.ulid import deterministic_ulid

    skipped = _row("a", status="LAUNCHED")
    existing = _row("b")
    fresh = _row("c", asset_selection=json.dumps(["orders", "customers"]))
    _, existing_id = automation_run_id("ws", existing)
    events = automation_requests_to_events(
        "ws", DEFS, [fresh, existing, skipped], frozenset({existing_id}), NOW, NOW_MS, RETRY
    )
    (event,) = events
    run = event.payload
    assert isinstance(run, RunRequested) and event.type == RUN_REQUESTED
    _, run_id = automation_run_id("ws", fresh)
    assert (run.run_id, run.run_key, run.scope) == (run_id, "key-c", "schedule:nightly:5")
    assert run.selection == 'key:"orders" or key:"customers"'
    assert (run.source, run.partition) == ("schedule", None)
    assert run.tags == {"team": "data"}  # a schedule's own tags; no sensor tag
    assert run.request_id == "c" and run.definitions_hash == DEFS.content_hash
    key = run_requested_key(run_id)
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW_MS, key))
    assert run.retries == {"orders": RETRY, "customers": RETRY}


def test_a_request_with_no_tags_or_selection_text_still_parses() -> None:
    (run,) = _requested([_row("a", tags=None, asset_selection=json.dumps(["orders"]))])
    assert run.tags == {}


def test_a_request_that_cannot_be_planned_fails_alone_with_a_stable_event() -> None:
    from arco.domain.runs import RUN_REQUEST_FAILED, RunRequestFailed
    from arco.domain.ulid import deterministic_ulid

    bad = _row("a", asset_selection=json.dumps(["nope"]))
    good = _row("b")
    events = automation_requests_to_events("ws", DEFS, [good, bad], frozenset(), NOW, NOW_MS, RETRY)
    failed, ok = events
    assert failed.type == RUN_REQUEST_FAILED
    assert failed.payload == RunRequestFailed(request_id="a", error="unknown asset 'nope'")
    key = "request_failed:a"
    assert (failed.idempotency_key, failed.event_id) == (key, deterministic_ulid(NOW_MS, key))
    assert isinstance(ok.payload, RunRequested) and ok.payload.request_id == "b"


def test_a_partitioned_request_carries_its_partition_and_tag() -> None:
    from arco.sdk import DailyPartitionsDefinition

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    defs = Definitions(assets=[AssetSpec("events", partitions_def=daily)]).snapshot("t")
    row = _row("a", partition_key="2024-01-02", asset_selection=json.dumps(["events"]), tags="{}")
    (event,) = automation_requests_to_events("ws", defs, [row], frozenset(), NOW, NOW_MS, RETRY)
    run = event.payload
    assert isinstance(run, RunRequested)
    assert run.partition == "2024-01-02" and run.selection == 'key:"events"'
    assert run.tags == {"arco/partition": "2024-01-02"}


def test_system_tags() -> None:
    from arco.domain.run_requests import system_tags

    assert system_tags("p", None) == {"arco/partition": "p"}
    assert system_tags(None, ("a", "b")) == {
        "arco/asset_partition_range_start": "a",
        "arco/asset_partition_range_end": "b",
    }
    assert system_tags(None, None) == {}


def test_retry_specs_translate_the_assets_policy_or_take_the_default() -> None:
    from arco.domain.run_requests import retry_specs
    from arco.sdk import RetryPolicy, asset

    @asset(retry_policy=RetryPolicy(max_retries=2, delay=1.5, backoff="linear"))
    def flaky() -> None: ...

    defs = Definitions(assets=[flaky, AssetSpec("plain")]).snapshot("t")
    specs = retry_specs(defs, ["flaky", "plain"], RETRY)
    assert specs["flaky"] == RetrySpec(max_attempts=3, delay_ms=1_500, backoff="linear")
    assert specs["plain"] == RETRY


def test_prepare_run_refuses_unknown_assets_and_empty_selections() -> None:
    import pytest

    from arco.domain.errors import InvalidInput
    from arco.domain.run_requests import prepare_run

    with pytest.raises(InvalidInput, match="unknown asset 'nope'"):
        prepare_run(DEFS, ["orders", "nope"], None, None, {}, NOW, RETRY)
    with pytest.raises(InvalidInput, match="matches no asset"):
        prepare_run(DEFS, [], None, None, {}, NOW, RETRY)
    prepared = prepare_run(DEFS, ["orders"], None, None, {}, NOW, RETRY)
    assert prepared.assets == ("orders",)


def test_a_request_failure_keeps_at_most_8000_characters_of_the_error() -> None:
    from arco.domain.runs import RunRequestFailed

    huge = "x" * 9_000
    bad = _row("a", asset_selection=json.dumps([huge]))
    (event,) = automation_requests_to_events("ws", DEFS, [bad], frozenset(), NOW, NOW_MS, RETRY)
    assert isinstance(event.payload, RunRequestFailed)
    assert event.payload.error == f"unknown asset '{huge}'"[:8_000]
    assert len(event.payload.error) == 8_000


def test_a_request_without_a_selection_fails_as_an_empty_selection() -> None:
    from arco.domain.runs import RunRequestFailed

    (event,) = automation_requests_to_events(
        "ws", DEFS, [_row("a", asset_selection=None)], frozenset(), NOW, NOW_MS, RETRY
    )
    assert event.payload == RunRequestFailed(request_id="a", error="selection [] matches no asset")


def test_prepare_run_resolves_a_selection_string() -> None:
    from arco.domain.run_requests import prepare_run

    prepared = prepare_run(DEFS, 'key:"orders" or key:"customers"', None, None, {}, NOW, RETRY)
    assert set(prepared.assets) == {"orders", "customers"}
