"""Declarative automation driven by the timer on the local store, with the in-process executor:
started and stopped like a sensor, conditions requesting runs once, two timers racing, a broken
condition failing its own tick, and the CLI and HTTP views of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock
from arco.domain.automation import STALE, STOPPED
from arco.domain.automation_controller import evaluate_conditions
from arco.services.code_location import load_definitions
from arco.services.commands.automation import set_automation_status
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import TimerResult, run_timer
from arco.services.queries.automation import automation_inputs, why
from arco.services.queries.definitions import current_definitions
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.automation_graph:defs"
T0 = datetime(2024, 2, 1, 10, 30, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path / "store"),
        "auto",
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=120_000,
    )
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def tick(ws: Workspace, seconds: int = 60) -> TimerResult:
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(seconds * 1000)
    result = run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(LOCATION)))
    ws.compactor.compact_until_idle()
    return result


def automation_runs(ws: Workspace) -> list[tuple[list[str], str | None]]:
    rows = sorted(ws.snapshot().rows("runs").values(), key=lambda r: r["created_ms"])
    return [(json.loads(r["assets"]), r["partition"]) for r in rows if r["source"] == "automation"]


def ticks(ws: Workspace) -> list[dict[str, Any]]:
    rows = ws.snapshot().rows("automation_ticks").values()
    return sorted(rows, key=lambda r: r["tick_id"])


def materialize(ws: Workspace, selection: str) -> None:
    launch_run(ws, LaunchRequest(selection=selection))


def test_stopped_by_default_nothing_is_evaluated_or_written(ws: Workspace) -> None:
    materialize(ws, "key:raw")
    for _ in range(3):
        result = tick(ws)
        assert result.automation_evaluations == 0
    assert automation_runs(ws) == []
    assert ticks(ws) == []


def test_eager_children_are_requested_once_per_parent_update(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)  # the first evaluation requests nothing (Dagster)
    materialize(ws, "key:raw")
    tick(ws)  # raw runs
    tick(ws)  # its update is seen: cleaned, report (same run) and fragile
    assert automation_runs(ws) == [(["cleaned", "fragile", "report"], None)]
    for _ in range(3):
        tick(ws)
    assert len(automation_runs(ws)) == 1  # not again until raw updates again
    materialize(ws, "key:raw")
    for _ in range(3):
        tick(ws)
    assert len(automation_runs(ws)) == 2
    run = min(
        (r for r in ws.snapshot().rows("runs").values() if r["source"] == "automation"),
        key=lambda r: r["created_ms"],
    )
    tags = json.loads(run["tags"])
    assert tags["arco/from_automation_condition"] == "true"
    assert tags["arco/asset_evaluation_id"] in {t["tick_id"] for t in ticks(ws)}
    success = [t for t in ticks(ws) if t["status"] == "SUCCESS"]
    assert json.loads(success[0]["run_ids"]) == [run["run_id"]]


def test_two_timers_at_once_request_each_run_once(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    materialize(ws, "key:raw")
    tick(ws)
    # Two timers read the same published state a millisecond apart and both evaluate.
    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    assert defs is not None
    now_ms = ws.clock.now_ms() + 60_000
    events = []
    for offset in (0, 1):
        inputs = automation_inputs(snapshot, defs, now_ms + offset)
        assert inputs is not None
        events += evaluate_conditions(defs, inputs, now_ms + offset)
    assert len(events) == 2 and events[0].event_id != events[1].event_id
    for event in events:  # each timer appends its own evaluation
        ws.writer.append([event])
    ws.compactor.compact_until_idle()
    statuses = sorted((t["status"], t["skip_reason"]) for t in ticks(ws)[-2:])
    assert statuses == [("SKIPPED", STALE), ("SUCCESS", None)]
    tick(ws)
    assert automation_runs(ws) == [(["cleaned", "fragile", "report"], None)]


def test_stopping_it_stops_requests_and_is_recorded(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    assert defs is not None
    materialize(ws, "key:raw")
    tick(ws)
    inputs = automation_inputs(ws.snapshot(), defs, ws.clock.now_ms() + 60_000)
    assert inputs is not None
    evaluation = evaluate_conditions(defs, inputs, ws.clock.now_ms() + 60_000)
    set_automation_status(ws, "STOPPED", "stop", "test")  # lands first
    ws.writer.append(evaluation)
    ws.compactor.compact_until_idle()
    assert (ticks(ws)[-1]["status"], ticks(ws)[-1]["skip_reason"]) == ("SKIPPED", STOPPED)
    tick(ws)
    assert automation_runs(ws) == []


def test_dry_run_records_what_it_would_request_and_requests_it_once_turned_off(
    ws: Workspace,
) -> None:
    change_setting(ws, "automation.dry_run", True, "dry", "test")
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    materialize(ws, "key:raw")
    tick(ws)
    tick(ws)
    assert automation_runs(ws) == []
    held = [t for t in ticks(ws) if json.loads(t["held"])]
    assert held and held[-1]["skip_reason"] == "dry run: 1 run(s) would be requested"
    assert json.loads(held[-1]["held"])[0]["assets"] == ["cleaned", "fragile", "report"]
    change_setting(ws, "automation.dry_run", False, "wet", "test")
    tick(ws)
    assert automation_runs(ws) == [(["cleaned", "fragile", "report"], None)]


def test_the_hourly_limit_holds_runs_and_requests_them_later(ws: Workspace) -> None:
    change_setting(ws, "automation.max_runs_per_hour", 1, "limit", "test")
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    materialize(ws, "key:raw")
    tick(ws)
    tick(ws)
    assert len(automation_runs(ws)) == 1
    materialize(ws, "key:raw")
    tick(ws)
    tick(ws)
    assert len(automation_runs(ws)) == 1  # held: one run in the last hour already
    assert any("max_runs_per_hour is 1" in (t["skip_reason"] or "") for t in ticks(ws))
    tick(ws, 3600)
    assert len(automation_runs(ws)) == 2


def test_why_explains_each_node_and_writes_nothing(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    materialize(ws, "key:raw")
    tick(ws)
    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    assert defs is not None
    objects = len(list(ws.store.list("")))
    result = why(snapshot, defs, "cleaned", ws.clock.now_ms() + 60_000)
    assert result["would_request"] == [""] and result["condition"] == "eager"
    labels = [child.get("label") or child["name"] for child in result["tree"]["children"]]
    assert labels == ["in_latest_time_window", "SINCE", "NOT", "NOT", "NOT"]
    assert result["tree"]["children"][1]["true"] == 1  # the parent's update latched
    daily = why(snapshot, defs, "daily_totals", ws.clock.now_ms(), "2024-01-31")
    assert daily["tree"]["children"][0]["holds"] is True  # the latest window
    assert daily["tree"]["children"][0]["sample"] == ["2024-01-31"]
    assert len(list(ws.store.list(""))) == objects
