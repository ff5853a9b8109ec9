"""The timer as a pipeline: each step reads what the steps before it decided, folded in memory,
and the call publishes once; a step that raises fails alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arco.clock import FixedClock
from arco.domain.backfills import PartitionSelection
from arco.services.code_location import load_definitions
from arco.services.commands.backfills import BackfillRequest, create_backfill
from arco.services.commands.deploy import deploy
from arco.services.engines import timer
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.recording import RecordingObjectStore

LOCATION = "tests.fixtures.scheduling:defs"
DEPLOYED = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
T0 = datetime(2024, 1, 2, 0, 5, tzinfo=UTC)  # daily and hourly schedules are due since


@pytest.fixture
def ws(store, monkeypatch: pytest.MonkeyPatch) -> Workspace:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("ARCO_TEST_CODE_VERSION", raising=False)
    clock = FixedClock(int(DEPLOYED.timestamp() * 1000))
    workspace = Workspace(RecordingObjectStore(store), "pipe", clock=clock, lookback_ms=3_600_000)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    run_timer(workspace, DEPLOYED)  # the schedules start from here
    clock.advance(int((T0 - DEPLOYED).total_seconds() * 1000))
    return workspace


def _manifest_writes(ws: Workspace) -> int:
    assert isinstance(ws.store, RecordingObjectStore)
    prefix = ws.layout.manifests_prefix
    return sum(1 for c in ws.store.calls if c.op == "create" and c.key.startswith(prefix))


def test_a_busy_call_decides_every_step_on_the_steps_before_it_and_publishes_once(
    ws: Workspace,
) -> None:
    selection = PartitionSelection(kind="keys", keys=("eu", "us"))
    create_backfill(ws, BackfillRequest("key:regions", selection, chunk_size=1), "test")
    before = _manifest_writes(ws)
    waiting = NoWorkers()

    result = run_timer(ws, T0, dispatcher=waiting)

    # Schedules ticked, their requests became runs, the backfill planned chunks and asked for
    # their runs, and the runs step launched them and dispatched their first tasks: all from
    # decisions no publication had shown yet.
    assert result.ticks.get("TRIGGERED", 0) >= 2
    assert result.runs_requested >= 2
    assert result.backfill_chunks_planned == 2 and result.backfill_runs_requested == 2
    assert result.runs_launched == result.runs_requested + result.backfill_runs_requested
    assert result.tasks_dispatched >= result.runs_launched
    assert len(waiting.pending) == result.tasks_dispatched
    # One publication (the backfill's creation, pending at the start, folded into it too).
    assert result.compactions == 1
    assert _manifest_writes(ws) - before == 1
    assert not result.failed_steps
    report = verify(ws)
    assert report.identical and report.pending == 0


def test_orders_go_out_only_after_the_call_published_the_runs_they_name(ws: Workspace) -> None:
    published_at_dispatch: list[set[str]] = []

    class Watching(NoWorkers):
        def dispatch(self, orders):  # type: ignore[no-untyped-def]
            runs = ws.snapshot().table("runs").column("run_id").to_pylist()
            published_at_dispatch.append(set(runs))
            return super().dispatch(orders)

    watching = Watching()
    run_timer(ws, T0, dispatcher=watching)
    assert watching.pending
    assert {o.run_id for o in watching.pending} <= published_at_dispatch[0]


def test_an_idle_call_lists_the_ledger_once_and_writes_nothing(ws: Workspace) -> None:
    run_timer(ws, T0)
    assert isinstance(ws.store, RecordingObjectStore)
    start = len(ws.store.calls)
    result = run_timer(ws, T0)
    calls = ws.store.calls[start:]
    assert result.compactions == 0
    assert [c.op for c in calls if c.op in ("create", "replace", "delete")] == []
    assert sum(1 for c in calls if c.op == "list") == 1


def test_a_step_that_raises_fails_alone_and_the_call_goes_on(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: timer.TimerCall, defs: object) -> None:
        raise RuntimeError("a bug in the backfills step")

    steps = tuple((n, broken if n == "backfills" else s) for n, s in timer.AUTOMATION_STEPS)
    monkeypatch.setattr(timer, "AUTOMATION_STEPS", steps)
    result = run_timer(ws, T0)
    assert result.failed_steps == {"backfills": "RuntimeError: a bug in the backfills step"}
    assert result.ticks.get("TRIGGERED", 0) >= 2  # before it
    assert result.runs_launched == result.runs_requested >= 2  # after it
    assert result.compactions == 1
    assert "failed_steps" in result.as_dict()


def test_a_store_that_cannot_be_written_fails_the_call(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco.domain.errors import StorageUnavailable

    def down(*args: object, **kwargs: object) -> None:
        raise StorageUnavailable("the store is down")

    monkeypatch.setattr(type(ws.writer), "append", down)
    with pytest.raises(StorageUnavailable):
        run_timer(ws, T0)


def test_a_run_the_timer_cannot_advance_fails_alone_and_says_why(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from arco.cli.main import cli
    from arco.domain import run_controller
    from arco.services.commands.runs import LaunchRequest, launch_run

    broken = launch_run(ws, LaunchRequest("key:regions", partition="eu"))
    healthy = launch_run(ws, LaunchRequest("key:regions", partition="us"))
    advance_one = run_controller._advance_run

    def advance(workspace, run, *args):  # type: ignore[no-untyped-def]
        if run["run_id"] == broken.run_id:
            raise KeyError("a column this build cannot read")
        return advance_one(workspace, run, *args)

    monkeypatch.setattr(run_controller, "_advance_run", advance)
    waiting = NoWorkers()
    result = run_timer(ws, T0, dispatcher=waiting)
    assert result.runs_failed == 1
    assert healthy.run_id in {o.run_id for o in waiting.pending}
    assert broken.run_id not in {o.run_id for o in waiting.pending}

    store = ws.store.inner if isinstance(ws.store, RecordingObjectStore) else ws.store
    if not store.url.startswith("file://"):
        return  # the CLI needs a store it can open by URL
    from tests.workspaces import create_workspaces

    create_workspaces(store, "pipe")
    shown = CliRunner().invoke(
        cli, ["--store", store.url, "--workspace", "pipe", "status", broken.run_id, "--json"]
    )
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.output)
    assert view["status"] == "FAILURE"
    assert view["error"].startswith("the timer could not advance this run: KeyError")
    assert {t["status"] for t in view["task_list"]} == {"SKIPPED"}
