"""Schedules end to end on the local store, driven by the timer with explicit `now`s."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from arco.clock import FixedClock
from arco.domain.errors import NotFound
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.schedules import set_schedule_status
from arco.services.engines.timer import run_timer
from arco.services.queries.definitions import require_definitions
from arco.services.queries.schedules import list_schedules, schedule_ticks
from arco.services.workspace import Workspace

LOCATION = "tests.fixtures.scheduling:defs"
T0 = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def ws(store, monkeypatch: pytest.MonkeyPatch) -> Workspace:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCO_TEST_CODE_VERSION", raising=False)
    clock = FixedClock(int(T0.timestamp() * 1000))
    workspace = Workspace(store, "sched", clock=clock, lookback_ms=3_600_000)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def tick(ws: Workspace, now: str) -> dict[str, int]:
    moment = at(now)
    assert isinstance(ws.clock, FixedClock)
    ws.clock._now = int(moment.timestamp() * 1000)  # the writer stamps events with this time
    return run_timer(ws, moment).ticks


def ticks_of(ws: Workspace, name: str) -> list[tuple[str, str, list[str]]]:
    return [
        (t["tick_time"], t["status"], t["run_keys"])
        for t in reversed(schedule_ticks(ws, name, limit=1000))
    ]


def run_requests(ws: Workspace) -> list[dict]:  # type: ignore[type-arg]
    return sorted(ws.snapshot().table("run_requests").to_pylist(), key=lambda r: r["request_id"])


def test_deploying_the_same_snapshot_twice_records_nothing(ws: Workspace) -> None:
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    before = len(list(ws.store.list(ws.layout.ledger_prefix)))
    result = deploy(ws, snapshot, "test")
    assert result == {
        "content_hash": snapshot.content_hash,
        "changed": False,
        "ledger_object": None,
    }
    assert len(list(ws.store.list(ws.layout.ledger_prefix))) == before


def test_outage_latest_policy_runs_only_the_latest_missed_tick(ws: Workspace) -> None:
    tick(ws, "2024-01-01T10:10:00Z")  # down from 00:30 to 10:10
    assert ticks_of(ws, "hourly_latest") == [
        ("2024-01-01T10:00:00+00:00", "TRIGGERED", ["hourly_latest@2024-01-01T10:00:00Z"])
    ]


def test_outage_catch_up_policy_runs_every_tick_in_the_window_n_per_call(ws: Workspace) -> None:
    tick(ws, "2024-01-01T10:10:00Z")  # window 6 h: 05:00..10:00 are due, 3 per timer call
    assert [t[0][11:16] for t in ticks_of(ws, "hourly_catchup")] == ["05:00", "06:00", "07:00"]
    assert tick(ws, "2024-01-01T10:10:00Z") == {}  # the same `now` again changes nothing
    tick(ws, "2024-01-01T10:11:00Z")  # the next timer call goes on, oldest first
    assert [t[0][11:16] for t in ticks_of(ws, "hourly_catchup")] == [
        "05:00",
        "06:00",
        "07:00",
        "08:00",
        "09:00",
        "10:00",
    ]
    assert tick(ws, "2024-01-01T10:12:00Z") == {}


def test_the_same_tick_twice_changes_nothing(ws: Workspace) -> None:
    tick(ws, "2024-01-02T00:05:00Z")
    manifest = ws.manifest().manifest_id
    tables = {name: ws.snapshot().rows(name) for name in ("schedule_ticks", "run_requests")}
    assert tick(ws, "2024-01-02T00:05:00Z") == {}
    assert ws.manifest().manifest_id == manifest
    assert {name: ws.snapshot().rows(name) for name in tables} == tables


def test_two_timers_at_once_give_one_tick_and_one_run_request(ws: Workspace) -> None:
    moment = at("2024-01-02T00:05:00Z")
    run_timer(ws, moment, compact=False)
    run_timer(ws, moment, compact=False)  # a duplicate delivery before any compaction
    ws.compactor.compact_until_idle()
    daily = [r for r in run_requests(ws) if r["source_name"] == "daily_partitioned"]
    assert [(r["run_key"], r["partition_key"]) for r in daily] == [("2024-01-01", "2024-01-01")]
    assert len(ticks_of(ws, "daily_partitioned")) == 1


def test_partitioned_schedule_targets_the_window_that_just_closed(ws: Workspace) -> None:
    tick(ws, "2024-01-02T00:05:00Z")
    tick(ws, "2024-01-03T00:00:00Z")  # a tick exactly at now is processed
    assert ticks_of(ws, "daily_partitioned") == [
        ("2024-01-02T00:00:00+00:00", "TRIGGERED", ["2024-01-01"]),
        ("2024-01-03T00:00:00+00:00", "TRIGGERED", ["2024-01-02"]),
    ]
    static = [(t[1], t[2]) for t in ticks_of(ws, "regions_daily")]
    assert static == [("TRIGGERED", ["eu", "us"]), ("TRIGGERED", ["eu", "us"])]


def test_a_stopped_schedule_writes_skipped_ticks_and_no_run_requests(ws: Workspace) -> None:
    tick(ws, "2024-01-02T00:05:00Z")
    assert ticks_of(ws, "stopped_daily") == [("2024-01-02T00:00:00+00:00", "SKIPPED", [])]
    assert schedule_ticks(ws, "stopped_daily")[0]["skip_reason"] == "schedule is stopped"
    assert not [r for r in run_requests(ws) if r["source_name"] == "stopped_daily"]


def test_an_operator_stop_survives_a_redeploy(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_schedule_status(ws, "hourly_latest", "STOPPED", "op-1", "test")
    monkeypatch.setenv("ARCO_TEST_CODE_VERSION", "2")
    import importlib

    import tests.fixtures.scheduling as module

    try:
        importlib.reload(module)
        changed = deploy(ws, module.defs.snapshot(LOCATION), "test")
    finally:
        monkeypatch.delenv("ARCO_TEST_CODE_VERSION")
        importlib.reload(module)  # later tests deploy the original snapshot
    assert changed["changed"]
    tick(ws, "2024-01-01T02:00:00Z")
    assert ticks_of(ws, "hourly_latest") == [("2024-01-01T02:00:00+00:00", "SKIPPED", [])]
    listed = {s["name"]: s for s in list_schedules(ws, at("2024-01-01T02:00:00Z"))}
    assert listed["hourly_latest"]["status"] == "STOPPED"
    assert listed["hourly_latest"]["status_source"] == "operator"
    # Started again: ticks from the stopped period are never run.
    set_schedule_status(ws, "hourly_latest", "RUNNING", "op-2", "test")
    assert tick(ws, "2024-01-01T02:30:00Z") == {}
    tick(ws, "2024-01-01T03:00:00Z")
    assert ticks_of(ws, "hourly_latest")[-1][:2] == ("2024-01-01T03:00:00+00:00", "TRIGGERED")


def test_unknown_schedules(ws: Workspace) -> None:
    assert schedule_ticks(ws, "nope") == []
    with pytest.raises(NotFound):
        set_schedule_status(ws, "nope", "RUNNING", "r", "test")


def test_listing_shows_state_and_next_tick(ws: Workspace) -> None:
    listed = {s["name"]: s for s in list_schedules(ws, at("2024-01-01T00:30:00Z"))}
    assert listed["hourly_latest"]["next_tick"] == "2024-01-01T01:00:00+00:00"
    assert listed["stopped_daily"]["status"] == "STOPPED"
    assert listed["stopped_daily"]["next_tick"] is None
    assert listed["daily_partitioned"]["partitioned"] is True
    assert json.dumps(listed)  # JSON-able for --json and the API
    assert set(require_definitions(ws).schedules) == set(listed)


def test_doctor_notices_a_stopped_timer(ws: Workspace) -> None:
    from arco.services.operations.doctor import run_doctor

    tick(ws, "2024-01-01T01:00:00Z")
    assert {f.check: f for f in run_doctor(ws)}["schedules"].status == "ok"
    assert isinstance(ws.clock, FixedClock)
    ws.clock._now = int(at("2024-01-01T03:30:00Z").timestamp() * 1000)  # no timer since 01:00
    finding = {f.check: f for f in run_doctor(ws)}["schedules"]
    assert finding.status == "error" and "timer is not running" in finding.summary
    assert "hourly_latest" in {d["schedule"] for d in finding.details}


def test_doctor_tells_a_schedule_catching_up_from_a_stopped_timer(ws: Workspace) -> None:
    """A catch-up capped at 3 ticks per call is behind while the timer works through the
    window: doctor says it is catching up (a warning), not that the timer is stopped."""
    from arco.services.operations.doctor import run_doctor

    tick(ws, "2024-01-01T01:00:00Z")
    tick(ws, "2024-01-01T06:10:00Z")  # 5 missed hourly ticks in the 6 h window: 3 evaluated
    assert isinstance(ws.clock, FixedClock)
    ws.clock._now = int(at("2024-01-01T06:15:00Z").timestamp() * 1000)  # 06:00 late by 15 min
    finding = {f.check: f for f in run_doctor(ws)}["schedules"]
    assert finding.status == "warning", finding.as_dict()
    assert "catching up" in finding.summary
    assert [d["schedule"] for d in finding.details] == ["hourly_catchup"]
    # With no call for longer than the grace since the capped one, the timer has stopped.
    ws.clock._now = int(at("2024-01-01T06:21:00Z").timestamp() * 1000)
    finding = {f.check: f for f in run_doctor(ws)}["schedules"]
    assert finding.status == "error" and "timer is not running" in finding.summary
    # The next calls work through the window, and doctor is content again.
    tick(ws, "2024-01-01T07:31:00Z")
    tick(ws, "2024-01-01T07:32:00Z")
    assert {f.check: f for f in run_doctor(ws)}["schedules"].status == "ok"


def test_a_catch_up_schedule_restarted_never_replays_the_ticks_of_its_stopped_period(
    ws: Workspace,
) -> None:
    """Dagster starts a restarted schedule from the restart: nothing is caught up from the time
    it was stopped, even inside the catch-up window (6 hours here)."""
    assert isinstance(ws.clock, FixedClock)
    tick(ws, "2024-01-01T01:00:00Z")
    ws.clock._now = int(at("2024-01-01T01:30:00Z").timestamp() * 1000)
    set_schedule_status(ws, "hourly_catchup", "STOPPED", "stop-1", "test")
    tick(ws, "2024-01-01T03:00:00Z")
    ws.clock._now = int(at("2024-01-01T04:30:00Z").timestamp() * 1000)
    set_schedule_status(ws, "hourly_catchup", "RUNNING", "start-1", "test")
    tick(ws, "2024-01-01T04:40:00Z")
    tick(ws, "2024-01-01T05:00:00Z")
    triggered = [t for t, status, _ in ticks_of(ws, "hourly_catchup") if status == "TRIGGERED"]
    assert triggered == ["2024-01-01T01:00:00+00:00", "2024-01-01T05:00:00+00:00"], triggered
