"""The sensor controller rule by rule (found by mutation testing): which sensors are evaluated,
what a failure records, the identity of orders and events, and exactly which materializations
and run outcomes the built-in sensors see."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from arco.domain import sensor_controller
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.sensor_controller import SensorInputs, SensorOrder, evaluate_sensors
from arco.domain.sensors import poll_evaluation_key
from arco.domain.ulid import deterministic_ulid
from arco.sdk import (
    AssetSpec,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    Definitions,
    asset,
    asset_sensor,
    push_sensor,
    run_status_sensor,
)

NOW = 1_706_745_600_000
LOOKBACK = 60_000
daily = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=daily)
def orders() -> None: ...


@asset(partitions_def=daily, deps=["orders"])
def revenue() -> None: ...


@asset(partitions_def=daily, deps=["orders"])
def costs() -> None: ...


summary = AssetSpec("summary")
RUNNING = DefaultSensorStatus.RUNNING


def snapshot(*sensors: Any) -> DefinitionsSnapshot:
    return Definitions(assets=[orders, revenue, costs, summary], sensors=list(sensors)).snapshot(
        "t"
    )


def mat(partition: str, ms: int, version: str, asset_name: str = "orders") -> dict[str, Any]:
    return {
        "asset": asset_name,
        "partition": partition,
        "materialized_ms": ms,
        "materialized_version": version,
    }


def run(run_id: str, status: str, ms: int, assets: Any = ("orders",), **extra: Any) -> Any:
    return {
        "run_id": run_id,
        "status": status,
        "scope": "manual",
        "assets": json.dumps(list(assets)) if assets is not None else None,
        "finished_ms": ms,
        **extra,
    }


def evaluate(defs: DefinitionsSnapshot, states: Any, inputs: SensorInputs, now: int = NOW) -> Any:
    return evaluate_sensors("ws", defs, states, inputs, now, LOOKBACK)


def test_only_running_due_non_push_sensors_are_evaluated_and_one_skip_stops_nothing() -> None:
    @push_sensor("sub", target=[orders], name="a_push", default_status=RUNNING)
    def a_push(context: Any) -> None: ...

    defs = snapshot(
        a_push,
        asset_sensor(name="b_stopped", monitored_assets=[orders], target=[revenue]),
        asset_sensor(
            name="c_recent", monitored_assets=[orders], target=[revenue], default_status=RUNNING
        ),
        asset_sensor(
            name="d_due", monitored_assets=[orders], target=[revenue], default_status=RUNNING
        ),
    )
    states = {"c_recent": {"last_evaluation_ms": NOW - 1}}
    inputs = SensorInputs(materializations=[mat("2024-01-02", NOW, "v1")])
    decisions = evaluate(defs, states, inputs)
    assert decisions.evaluated == 1
    assert [e.payload.sensor for e in decisions.events] == ["d_due"]
    assert decisions.events[0].payload.default_running is True
    assert evaluate(defs, {}, SensorInputs()).evaluated == 2  # c_recent is due when never run


def test_a_failing_built_in_sensor_records_a_failure_with_its_cursor_and_a_stable_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("table exploded")

    monkeypatch.setattr(sensor_controller, "_new_materializations", broken)
    defs = snapshot(
        asset_sensor(name="s", monitored_assets=[orders], target=[revenue], default_status=RUNNING)
    )
    state = {"s": {"cursor": "123", "cursor_version": "V1"}}
    (event,) = evaluate(defs, state, SensorInputs()).events
    payload = event.payload
    assert (payload.outcome, payload.kind) == ("FAILED", "asset")
    assert payload.error == "the timer could not evaluate this sensor: RuntimeError: table exploded"
    assert (payload.cursor_read_version, payload.cursor_before) == ("V1", "123")
    assert payload.default_running is True
    key = poll_evaluation_key("s", "V1", f"failed-{NOW}")
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW, key))
    # Without a state: an empty version, no cursor; a STOPPED default says so.
    stopped = snapshot(asset_sensor(name="s", monitored_assets=[orders], target=[revenue]))
    (event,) = evaluate(stopped, {"s": {"status": "RUNNING"}}, SensorInputs()).events
    assert (event.payload.cursor_read_version, event.payload.cursor_before) == ("", None)
    assert event.payload.default_running is False
    assert event.idempotency_key == poll_evaluation_key("s", "", f"failed-{NOW}")


def test_a_poll_order_names_the_cursor_version_and_the_interval_slot() -> None:
    from arco.sdk import sensor

    poll = sensor(target=[orders], name="p", minimum_interval_seconds=30, default_status=RUNNING)(
        lambda: None
    )
    defs = snapshot(poll)
    now = 1_706_745_617_000  # 17 s into a 30 s slot
    (order,) = evaluate(defs, {"p": {"cursor_version": "V7"}}, SensorInputs(), now).orders
    assert order == SensorOrder("ws", "p", "V7", 1_706_745_600_000)
    (order,) = evaluate(defs, {}, SensorInputs(), now).orders
    assert order.cursor_version == ""
    assert order.to_json() == {
        "kind": "sensor",
        "workspace": "ws",
        "sensor": "p",
        "cursor_version": "",
        "slot_ms": 1_706_745_600_000,
    }


def test_a_built_in_evaluation_records_its_cursors_and_a_key_from_its_run_keys() -> None:
    defs = snapshot(
        asset_sensor(name="s", monitored_assets=[orders], target=[revenue], default_status=RUNNING)
    )
    rows = [mat("2024-01-03", NOW - 5, "v2"), mat("2024-01-02", NOW - 5, "v1")]
    state = {"s": {"cursor": str(NOW - 100), "cursor_version": "V3"}}
    (event,) = evaluate(defs, state, SensorInputs(materializations=rows)).events
    payload = event.payload
    assert (payload.cursor_before, payload.cursor_after) == (str(NOW - 100), str(NOW - 5))
    assert payload.cursor_read_version == "V3" and payload.default_running is True
    keys = ["orders|2024-01-02|v1", "orders|2024-01-03|v2"]  # same time: by run key
    assert [r.run_key for r in payload.run_requests] == keys
    evaluation = hashlib.sha256("\x00".join(keys).encode()).hexdigest()[:16]
    key = poll_evaluation_key("s", "V3", evaluation)
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW, key))
    assert payload.run_requests[0].tags == {"arco/triggering_asset": "orders"}
    assert payload.run_requests[0].asset_selection == ["revenue"]


def test_materializations_are_seen_from_the_cursor_minus_the_lookback_inclusive() -> None:
    defs = snapshot(
        asset_sensor(name="s", monitored_assets=[orders], target=[revenue], default_status=RUNNING)
    )
    since = NOW - LOOKBACK
    rows = [
        mat("2024-01-05", NOW, "late"),
        mat("2024-01-01", since - 1, "old"),
        mat("2024-01-02", since, "edge"),
        {**mat("2024-01-04", NOW, "x"), "materialized_ms": None},
        mat("2024-01-03", NOW, "other", asset_name="revenue"),
    ]
    state = {"s": {"cursor": str(NOW)}}
    (event,) = evaluate(defs, state, SensorInputs(materializations=rows)).events
    assert [(r.partition_key, r.run_key) for r in event.payload.run_requests] == [
        ("2024-01-02", "orders|2024-01-02|edge"),
        ("2024-01-05", "orders|2024-01-05|late"),
    ]
    # A free-form (operator's) cursor: everything is seen.
    state = {"s": {"cursor": "from the start"}}
    (event,) = evaluate(defs, state, SensorInputs(materializations=rows)).events
    assert len(event.payload.run_requests) == 3


def test_a_claimed_materialization_is_skipped_and_the_next_one_still_requested() -> None:
    defs = snapshot(
        asset_sensor(name="s", monitored_assets=[orders], target=[revenue], default_status=RUNNING)
    )
    rows = [mat("2024-01-02", NOW, "v1"), mat("2024-01-03", NOW, "v2")]
    claimed = {"s": frozenset({"orders|2024-01-02|v1"})}
    (event,) = evaluate(defs, {}, SensorInputs(materializations=rows, claimed=claimed)).events
    assert [r.run_key for r in event.payload.run_requests] == ["orders|2024-01-03|v2"]


def test_the_partition_is_kept_when_the_targets_are_partitioned_like_the_monitored() -> None:
    # (Targets partitioned otherwise are refused by the definitions: see test_definitions.)
    same = asset_sensor(
        name="same", monitored_assets=[orders], target=[revenue, costs], default_status=RUNNING
    )
    whole = asset_sensor(
        name="whole", monitored_assets=[orders], target=[summary], default_status=RUNNING
    )
    inputs = SensorInputs(materializations=[mat("2024-01-02", NOW, "v1")])
    events = evaluate(snapshot(same, whole), {}, inputs).events
    by = {e.payload.sensor: e.payload.run_requests[0] for e in events}
    assert by["same"].partition_key == "2024-01-02"
    assert by["same"].asset_selection == ["costs", "revenue"]
    assert by["whole"].partition_key is None


def test_run_status_sensors_see_the_watched_outcomes_of_their_assets_from_the_cursor() -> None:
    watch = run_status_sensor(
        name="w",
        run_status="FAILURE",
        monitored_assets=[orders],
        target=[summary],
        default_status=RUNNING,
    )
    since = NOW - LOOKBACK
    rows = [  # each skipped row comes before rows that count
        run("r_claimed", "FAILURE", NOW),
        run("r_other_asset", "FAILURE", NOW, assets=["revenue"]),
        run("r_no_assets", "FAILURE", NOW, assets=None),
        run("r_own", "FAILURE", NOW, scope="sensor:w"),
        run("r_ok", "SUCCESS", NOW),
        run("r_old", "FAILURE", since - 1),
        run("r_unfinished", "FAILURE", None),
        run("r_late", "FAILURE", NOW),
        run("r_edge", "FAILURE", since),
    ]
    inputs = SensorInputs(finished_runs=rows, claimed={"w": frozenset({"r_claimed|FAILURE"})})
    (event,) = evaluate(snapshot(watch), {"w": {"cursor": str(NOW)}}, inputs).events
    requests = event.payload.run_requests
    assert [r.run_key for r in requests] == ["r_edge|FAILURE", "r_late|FAILURE"]
    assert [r.tags for r in requests] == [
        {"arco/triggering_run": "r_edge"},
        {"arco/triggering_run": "r_late"},
    ]
    assert requests[0].asset_selection == ["summary"] and requests[0].partition_key is None
    # Without monitored assets: every run's outcome counts, with or without assets.
    every = run_status_sensor(
        name="w", run_status="FAILURE", target=[summary], default_status=RUNNING
    )
    (event,) = evaluate(snapshot(every), {"w": {"cursor": str(NOW)}}, inputs).events
    assert [r.run_key for r in event.payload.run_requests] == [
        "r_edge|FAILURE",
        "r_late|FAILURE",
        "r_no_assets|FAILURE",
        "r_other_asset|FAILURE",
    ]
