"""The timer's sensor decisions: poll orders when due, built-in sensors from tables. Pure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.sensor_controller import SensorInputs, SensorOrder, evaluate_sensors
from arco.sdk import (
    DailyPartitionsDefinition,
    Definitions,
    asset,
    asset_sensor,
    run_status_sensor,
    sensor,
)

daily = DailyPartitionsDefinition(start_date="2024-01-01")
NOW = 1_706_745_600_000
LOOKBACK = 60_000


@asset(partitions_def=daily)
def orders() -> None: ...


@asset(partitions_def=daily, deps=["orders"])
def revenue() -> None: ...


@asset
def summary() -> None: ...


def snapshot() -> DefinitionsSnapshot:
    return Definitions(
        assets=[orders, revenue, summary],
        sensors=[
            sensor(target=[orders], name="poll", minimum_interval_seconds=60)(lambda: None),
            asset_sensor(name="daily", monitored_assets=[orders], target=[revenue]),
            asset_sensor(name="whole", monitored_assets=[orders], target=[summary]),
            run_status_sensor(name="failed", run_status="FAILURE", target=[summary]),
        ],
    ).snapshot("t")


RUNNING = {"status": "RUNNING", "cursor_version": ""}


def states(**extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    base = {name: dict(RUNNING, sensor=name) for name in ("poll", "daily", "whole", "failed")}
    for name, row in extra.items():
        base[name] = {**base[name], **row}
    return base


def materialization(partition: str, ms: int, version: str) -> dict[str, Any]:
    return {
        "asset": "orders",
        "partition": partition,
        "materialized_ms": ms,
        "materialized_version": version,
    }


def test_poll_sensors_are_ordered_when_due_and_only_then() -> None:
    decisions = evaluate_sensors("ws", snapshot(), states(), SensorInputs(), NOW, LOOKBACK)
    [order] = decisions.orders
    assert (order.sensor, order.cursor_version, order.slot_ms % 60_000) == ("poll", "", 0)
    recent = states(poll={"last_evaluation_ms": NOW - 59_999})
    assert evaluate_sensors("ws", snapshot(), recent, SensorInputs(), NOW, LOOKBACK).orders == []
    due = states(poll={"last_evaluation_ms": NOW - 60_000})
    assert len(evaluate_sensors("ws", snapshot(), due, SensorInputs(), NOW, LOOKBACK).orders) == 1
    stopped = states(poll={"status": "STOPPED"})
    assert evaluate_sensors("ws", snapshot(), stopped, SensorInputs(), NOW, LOOKBACK).orders == []
    # Not started by an operator: the definition's default (STOPPED) applies.
    default = {k: v for k, v in states().items() if k != "poll"}
    assert evaluate_sensors("ws", snapshot(), default, SensorInputs(), NOW, LOOKBACK).orders == []


def test_orders_round_trip_and_bad_orders_are_refused() -> None:
    order = SensorOrder("ws", "poll", "01ABC", 60_000)
    assert SensorOrder.from_json(order.to_json()) == order
    assert order.dispatch_name.startswith("sensor-") and len(order.dispatch_name) == 47
    assert SensorOrder("ws", "poll", "01ABC", 120_000).dispatch_name != order.dispatch_name
    for bad in ({"kind": "task"}, {**order.to_json(), "slot_ms": "x"}, [], None):
        with pytest.raises(InvalidInput):
            SensorOrder.from_json(bad)


def test_asset_sensors_request_each_new_materialization_once_with_its_partition() -> None:
    rows = [materialization("2024-01-02", NOW - 10, "v1"), materialization("2024-01-03", NOW, "v2")]
    inputs = SensorInputs(materializations=rows)
    first = evaluate_sensors("ws", snapshot(), states(), inputs, NOW, LOOKBACK)
    by_sensor = {e.payload.sensor: e.payload for e in first.events}
    daily = by_sensor["daily"]
    assert [(r.partition_key, r.asset_selection) for r in daily.run_requests] == [
        ("2024-01-02", ["revenue"]),
        ("2024-01-03", ["revenue"]),
    ]
    assert daily.cursor_after == str(NOW)
    # An unpartitioned target runs whole.
    assert [r.partition_key for r in by_sensor["whole"].run_requests] == [None, None]
    # The same decision by a second timer is the same events (keys and ids).
    again = evaluate_sensors("ws", snapshot(), states(), inputs, NOW, LOOKBACK)
    assert [(e.idempotency_key, e.event_id) for e in again.events] == [
        (e.idempotency_key, e.event_id) for e in first.events
    ]
    # Claimed run keys (already requested) are not requested again: no tick at all.
    claimed = {
        "daily": frozenset(str(r.run_key) for r in daily.run_requests),
        "whole": frozenset(str(r.run_key) for r in by_sensor["whole"].run_requests),
    }
    later = states(daily={"cursor": str(NOW)}, whole={"cursor": str(NOW)})
    quiet = SensorInputs(materializations=rows, claimed=claimed)
    assert evaluate_sensors("ws", snapshot(), later, quiet, NOW + 1, LOOKBACK).events == []


def test_materializations_older_than_the_cursor_minus_the_lookback_are_not_seen() -> None:
    old = materialization("2024-01-01", NOW - LOOKBACK - 1, "v0")
    late = materialization("2024-01-02", NOW - LOOKBACK + 1, "v1")  # folded late, still seen
    cursor = states(daily={"cursor": str(NOW)})
    inputs = SensorInputs(materializations=[old, late])
    events = evaluate_sensors("ws", snapshot(), cursor, inputs, NOW, LOOKBACK).events
    [daily] = [e.payload for e in events if e.payload.sensor == "daily"]
    assert [r.partition_key for r in daily.run_requests] == ["2024-01-02"]
    assert daily.cursor_after == str(NOW)  # never moves backwards


def run_row(run_id: str, status: str, assets: list[str], scope: str = "manual") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "status": status,
        "scope": scope,
        "assets": json.dumps(assets),
        "finished_ms": NOW,
    }


def test_run_status_sensors_watch_their_statuses_and_never_their_own_runs() -> None:
    runs = [
        run_row("run_a", "FAILURE", ["orders"]),
        run_row("run_b", "SUCCESS", ["orders"]),
        run_row("run_c", "FAILURE", ["summary"], scope="sensor:failed"),
    ]
    events = evaluate_sensors(
        "ws", snapshot(), states(), SensorInputs(finished_runs=runs), NOW, LOOKBACK
    ).events
    [failed] = [e.payload for e in events if e.payload.sensor == "failed"]
    assert [r.run_key for r in failed.run_requests] == ["run_a|FAILURE"]
    assert failed.run_requests[0].tags == {"arco/triggering_run": "run_a"}


def test_a_sensor_the_timer_cannot_evaluate_is_a_failure_of_that_sensor_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arco.domain import sensor_controller

    real = sensor_controller._new_materializations

    def broken(defs: Any, node: Any, *args: Any) -> Any:
        if node.name == "daily":
            raise RuntimeError("mapping exploded")
        return real(defs, node, *args)

    monkeypatch.setattr(sensor_controller, "_new_materializations", broken)
    inputs = SensorInputs(materializations=[materialization("2024-01-02", NOW, "v1")])
    decisions = evaluate_sensors("ws", snapshot(), states(), inputs, NOW, LOOKBACK)
    by_sensor = {e.payload.sensor: e.payload for e in decisions.events}
    assert by_sensor["daily"].outcome == "FAILED"
    assert "mapping exploded" in (by_sensor["daily"].error or "")
    assert by_sensor["whole"].outcome == "REQUESTED"  # the others go on
    assert [o.sensor for o in decisions.orders] == ["poll"]


def _fold_ticks(events: list[Any], sensors: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Fold the timer's events after an operator started each sensor: the tick each one got."""
    from tests.unit.test_sensors_fold import Projection, Writer

    w, p = Writer(), Projection()
    for name in sensors:
        p.deliver(w.status("RUNNING", f"start-{name}", sensor=name))
    ticks = {}
    for event in events:
        envelope = w.envelope(event.type, event.payload, event.idempotency_key)
        assert p.deliver(envelope) == ["applied"]
        ticks[event.payload.sensor] = {
            **p.tick(envelope, sensor=event.payload.sensor),
            "requests": [r for r in p.requests() if r["source_name"] == event.payload.sensor],
        }
    return ticks


def test_built_in_sensors_that_find_something_record_a_success_tick() -> None:
    rows = [materialization("2024-01-02", NOW - 10, "v1")]
    runs = [run_row("run_a", "FAILURE", ["orders"])]
    inputs = SensorInputs(materializations=rows, finished_runs=runs)
    events = evaluate_sensors("ws", snapshot(), states(), inputs, NOW, LOOKBACK).events
    assert sorted(e.payload.sensor for e in events) == ["daily", "failed", "whole"]
    assert {e.payload.outcome for e in events} == {"REQUESTED"}
    ticks = _fold_ticks(events, ("daily", "whole", "failed"))
    for name in ("daily", "whole", "failed"):
        assert ticks[name]["status"] == "SUCCESS", (name, ticks[name])
        assert ticks[name]["skip_reason"] is None and ticks[name]["error"] is None
        assert len(ticks[name]["requests"]) == 1
    assert ticks["daily"]["requests"][0]["partition_key"] == "2024-01-02"
    assert ticks["failed"]["requests"][0]["run_key"] == "run_a|FAILURE"
