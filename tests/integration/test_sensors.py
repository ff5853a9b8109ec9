"""Poll, asset and run-status sensors driven by the timer, on the local store, with the
in-process executor: cursors, compare-and-set races, minimum intervals, run keys."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import Clock, FixedClock, OffsetClock
from arco.domain.sensor_controller import SensorOrder
from arco.domain.sensors import STALE_CURSOR
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.sensor_poll import evaluate_poll_sensor
from arco.services.engines.timer import TimerResult, run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import sensors_graph
from tests.fixtures.sensors_graph import BROKEN_DAY, INBOX
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.sensors_graph:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def inbox() -> Iterator[sensors_graph.Inbox]:
    INBOX.files, INBOX.fail, INBOX.calls = [], False, 0
    yield INBOX
    INBOX.files, INBOX.fail, INBOX.calls = [], False, 0


def open_ws(root: Path, clock: Clock) -> Workspace:
    return Workspace(LocalObjectStore(root), "sensors", clock=clock, lookback_ms=3_600_000)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = open_ws(tmp_path / "store", FixedClock(int(T0.timestamp() * 1000)))
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def tick(ws: Workspace) -> TimerResult:
    return run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(LOCATION)))


def advance(ws: Workspace, seconds: int) -> None:
    if isinstance(ws.clock, OffsetClock):
        ws.clock.offset_ms += seconds * 1000
    else:
        assert isinstance(ws.clock, FixedClock)
        ws.clock.advance(seconds * 1000)


def state(ws: Workspace, sensor: str) -> dict[str, Any]:
    ws.compactor.compact_until_idle()
    return dict(ws.snapshot().rows("sensor_state").get((sensor,)) or {})


def ticks(ws: Workspace, sensor: str) -> list[dict[str, Any]]:
    ws.compactor.compact_until_idle()
    rows = ws.snapshot().rows("sensor_ticks")
    return [row for key, row in sorted(rows.items()) if key[0] == sensor]


def runs_of(ws: Workspace, sensor: str) -> list[dict[str, Any]]:
    rows = ws.snapshot().rows("runs").values()
    return sorted(
        (r for r in rows if r["scope"] == f"sensor:{sensor}"), key=lambda r: r["created_ms"]
    )


def test_the_poll_cursor_advances_survives_a_cold_reload_and_is_kept_on_failure(
    tmp_path: Path,
) -> None:
    # Simulated time that flows, as `arco tick --now` uses: events written later in one
    # simulated moment get later ids, so a rebuild (in id order) folds what the compactor did.
    clock = OffsetClock()
    clock.set_now(int(T0.timestamp() * 1000))
    ws = open_ws(tmp_path / "store", clock)
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    INBOX.files = ["2024-01-02-a", "2024-01-03-a"]
    tick(ws)
    assert state(ws, "new_files")["cursor"] == "2024-01-03-a"
    assert {r["run_key"] for r in runs_of(ws, "new_files")} == {"2024-01-02-a", "2024-01-03-a"}

    # A cold reload: a new process, a new snapshot cache, the same store.
    cold = open_ws(tmp_path / "store", clock)
    assert cold.snapshot().rows("sensor_state")[("new_files",)]["cursor"] == "2024-01-03-a"

    advance(cold, 30)
    INBOX.files.append("2024-01-04-a")
    INBOX.fail = True
    tick(cold)
    [*_, failed] = ticks(cold, "new_files")
    assert failed["status"] == "FAILURE" and "bucket listing failed" in failed["error"]
    assert state(cold, "new_files")["cursor"] == "2024-01-03-a"  # kept on failure

    advance(cold, 30)
    INBOX.fail = False
    tick(cold)
    [*_, recovered] = ticks(cold, "new_files")
    assert (recovered["status"], recovered["cursor_before"], recovered["cursor_after"]) == (
        "SUCCESS",
        "2024-01-03-a",
        "2024-01-04-a",
    )
    assert len(runs_of(cold, "new_files")) == 3

    advance(cold, 30)
    tick(cold)
    [*_, idle] = ticks(cold, "new_files")
    assert (idle["status"], idle["skip_reason"]) == ("SKIPPED", "no new files")
    assert state(cold, "new_files")["cursor"] == "2024-01-04-a"  # saved on skip as well
    # Everything the sensors folded is what a rebuild from the ledger folds.
    from arco.services.operations.rebuild import verify

    report = verify(cold)
    assert report.identical, report.diffs
    assert report.tables["sensor_run_keys"] == len(cold.snapshot().rows("sensor_run_keys")) > 0


def test_two_evaluations_racing_from_one_cursor_version_have_one_winner(ws: Workspace) -> None:
    definitions = load_definitions(LOCATION)
    INBOX.files = ["2024-01-02-a"]
    version = str(state(ws, "new_files").get("cursor_version") or "")
    first = SensorOrder(ws.name, "new_files", version, 0)
    second = SensorOrder(ws.name, "new_files", version, 30_000)
    assert evaluate_poll_sensor(ws, definitions, first).outcome == "REQUESTED"
    advance(ws, 1)
    INBOX.files.append("2024-01-03-a")  # the loser saw more, and must not request it
    assert evaluate_poll_sensor(ws, definitions, second).outcome == "REQUESTED"

    winner, loser = ticks(ws, "new_files")
    assert winner["status"] == "SUCCESS" and json.loads(winner["run_keys"]) == ["2024-01-02-a"]
    assert (loser["status"], loser["skip_reason"]) == ("SKIPPED", STALE_CURSOR)
    assert json.loads(loser["request_ids"]) == []
    assert state(ws, "new_files")["cursor"] == "2024-01-02-a"
    requests = ws.snapshot().rows("run_requests").values()
    assert [r["run_key"] for r in requests] == ["2024-01-02-a"]
    # An order whose version the state has moved past is not evaluated at all.
    calls = INBOX.calls
    assert evaluate_poll_sensor(ws, definitions, first).outcome == "STALE"
    assert INBOX.calls == calls


def test_the_minimum_interval_holds_when_the_timer_fires_every_10_seconds(
    ws: Workspace,
) -> None:
    for _ in range(13):  # two minutes of timer calls
        tick(ws)
        advance(ws, 10)
    times = [t["evaluated_ms"] for t in ticks(ws, "new_files")]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5 and INBOX.calls == 5  # at 0, 30, 60, 90 and 120 s
    assert all(gap >= 30_000 for gap in gaps)


def test_an_asset_sensor_fires_once_per_materialization_even_when_it_folds_twice(
    ws: Workspace,
) -> None:
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    request = LaunchRequest(selection="key:orders", partition="2024-01-02")
    launch_run(ws, request)
    run_timer(ws, now_of(ws), dispatcher=executor)  # launch + execute orders[2024-01-02]
    _fold_every_ledger_object_again(ws)

    for _ in range(4):
        advance(ws, 30)
        tick(ws)
    revenue = runs_of(ws, "revenue_after_orders")
    assert [(r["partition"], r["status"]) for r in revenue] == [("2024-01-02", "SUCCESS")]
    [fired] = [t for t in ticks(ws, "revenue_after_orders") if t["status"] == "SUCCESS"]
    assert json.loads(fired["run_ids"]) == [revenue[0]["run_id"]]
    assert len(ticks(ws, "revenue_after_orders")) == 1  # nothing new: no tick written

    # A new materialization of the same partition is new: it fires again, once.
    launch_run(ws, request)
    for _ in range(3):
        advance(ws, 30)
        tick(ws)
    assert len(runs_of(ws, "revenue_after_orders")) == 2


def _fold_every_ledger_object_again(ws: Workspace) -> None:
    """Copy every ledger object under a new name: each event arrives (and folds) twice."""
    from arco.domain.ulid import deterministic_ulid

    ws.compactor.compact_until_idle()
    folded = len(ws.snapshot().rows("ledger_objects"))
    for listed in list(ws.store.list(ws.layout.ledger_prefix)):
        stored = ws.store.get(listed.key)
        assert stored is not None
        copy = deterministic_ulid(ws.clock.now_ms(), listed.key)
        ws.store.create(ws.layout.ledger_key(copy), stored.data)
    ws.compactor.compact_until_idle()
    assert len(ws.snapshot().rows("ledger_objects")) == 2 * folded


def test_a_run_status_sensor_fires_for_failed_runs_of_its_assets(ws: Workspace) -> None:
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    launch_run(ws, LaunchRequest(selection="key:orders", partition=BROKEN_DAY))
    launch_run(ws, LaunchRequest(selection="key:orders", partition="2024-01-08"))
    for _ in range(6):
        run_timer(ws, now_of(ws), dispatcher=executor)
        advance(ws, 40)  # past the retry delay and the sensor's interval
    cleanup = runs_of(ws, "cleanup_after_failure")
    assert len(cleanup) == 1, [t["status"] for t in ticks(ws, "cleanup_after_failure")]
    failed = [r for r in ws.snapshot().rows("runs").values() if r["status"] == "FAILURE"]
    assert [r["partition"] for r in failed] == [BROKEN_DAY]
    assert json.loads(cleanup[0]["tags"])["arco/triggering_run"] == failed[0]["run_id"]


def test_a_stopped_sensor_is_not_evaluated_and_a_started_one_is(ws: Workspace) -> None:
    from arco.domain.sensors import SENSOR_STATUS_CHANGED, SensorStatusChanged
    from arco.ledger.writer import NewEvent

    stop = SensorStatusChanged(sensor="new_files", status="STOPPED", request_id="op-1")
    ws.writer.append([NewEvent(SENSOR_STATUS_CHANGED, stop, "stop-new-files")])
    INBOX.files = ["2024-01-02-a"]
    advance(ws, 1)
    tick(ws)
    assert INBOX.calls == 0 and ticks(ws, "new_files") == []
    start = SensorStatusChanged(sensor="new_files", status="RUNNING", request_id="op-2")
    ws.writer.append([NewEvent(SENSOR_STATUS_CHANGED, start, "start-new-files")])
    advance(ws, 1)
    tick(ws)
    assert INBOX.calls == 1 and len(runs_of(ws, "new_files")) == 1


def test_an_idle_timer_writes_nothing(ws: Workspace) -> None:
    """Built-in sensors with nothing new, a stopped poll sensor, no runs: no ledger object."""
    from arco.domain.sensors import SENSOR_STATUS_CHANGED, SensorStatusChanged
    from arco.ledger.writer import NewEvent
    from arco.storage.recording import RecordingObjectStore

    stop = SensorStatusChanged(sensor="new_files", status="STOPPED", request_id="idle")
    ws.writer.append([NewEvent(SENSOR_STATUS_CHANGED, stop, "stop-idle")])
    tick(ws)
    store = RecordingObjectStore(ws.store)
    assert isinstance(ws.clock, FixedClock)
    idle = open_ws_on(store, ws.clock)
    for _ in range(3):
        advance(idle, 60)
        run_timer(
            idle, now_of(idle), dispatcher=InProcessExecutor(idle, load_definitions(LOCATION))
        )
    assert store.count("create", idle.layout.ledger_prefix) == 0


def open_ws_on(store: Any, clock: Clock) -> Workspace:
    return Workspace(store, "sensors", clock=clock, lookback_ms=3_600_000)


def test_a_request_that_can_never_run_fails_its_tick_with_the_reason(tmp_path: Path) -> None:
    """A sensor asking for a partition its target does not have: the tick is a FAILURE naming
    the request and why (it once showed SUCCESS with no run, the failure only in a table)."""
    clock = OffsetClock()
    clock.set_now(int(T0.timestamp() * 1000))
    ws = open_ws(tmp_path / "store", clock)
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    INBOX.files, INBOX.fail = ["1999-01-01-a"], False  # before the daily partitions start
    tick(ws)
    [failed] = ticks(ws, "new_files")
    assert failed["status"] == "FAILURE"
    assert "run request 0 failed" in failed["error"] and "1999-01-01" in failed["error"]
    assert json.loads(failed["run_ids"]) == []
    assert state(ws, "new_files")["last_tick_status"] == "FAILURE"
    from arco.services.operations.rebuild import verify

    assert verify(ws).identical


def test_a_request_whose_planning_raises_fails_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug planning one request fails that request and its tick, not the timer call: the
    other requests of the call become runs."""
    from arco.domain import run_requests

    clock = OffsetClock()
    clock.set_now(int(T0.timestamp() * 1000))
    ws = open_ws(tmp_path / "store", clock)
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    real = run_requests.prepare_run

    def prepare(defs: Any, selection: Any, partition: Any, *args: Any, **kwargs: Any) -> Any:
        if partition == "2024-01-03":
            raise RuntimeError("planner bug")
        return real(defs, selection, partition, *args, **kwargs)

    monkeypatch.setattr(run_requests, "prepare_run", prepare)
    INBOX.files, INBOX.fail = ["2024-01-02-a", "2024-01-03-a"], False
    tick(ws)
    [evaluated] = ticks(ws, "new_files")
    assert evaluated["status"] == "FAILURE" and "RuntimeError: planner bug" in evaluated["error"]
    assert [r["run_key"] for r in runs_of(ws, "new_files")] == ["2024-01-02-a"]
