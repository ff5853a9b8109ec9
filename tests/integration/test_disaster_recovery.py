"""Disaster recovery: every projection of a workspace is lost (everything under its `state/`
prefix: the pointer, every manifest, every table file) and `arco rebuild` brings it back from
the ledger alone, so the API and the queries answer exactly as before the loss.

The history is a real one: a deployment, a week of a three-layer graph run in process (a retry,
a failure for good, a skipped task, logs, data versions), a re-execution from failure, an
unpartitioned run, a backfill and settings. The answers are read over HTTP by a fresh process
(a new store object: nothing cached), before the loss and after the rebuild.

test_recovery.py covers the partial losses (a lost pointer, missing table files, unreadable
system tables); this file covers the total one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from arco.clock import Clock, FixedClock, OffsetClock, clock_now
from arco.domain.backfills import PartitionSelection
from arco.services.code_location import load_definitions
from arco.services.commands.backfills import BackfillRequest, create_backfill
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run, rerun
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.engines.timer import run_timer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import publish, verify
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.runs_graph:defs"
NAME = "dr"
T0 = datetime(2024, 2, 1, tzinfo=UTC)
WEEK = ("2024-01-01", "2024-01-07")
THREE_LAYERS = (
    "key:raw_events or key:clean_events or key:daily_report or key:bad_metric or key:bad_report"
)
ASSETS = ("raw_events", "clean_events", "bad_metric", "daily_report", "bad_report")
URL = f"/v1/workspaces/{NAME}"
# Fields that name the publication an answer was read from: a rebuild publishes the same rows
# under a new manifest id.
PUBLICATION_FIELDS = frozenset({"manifest_id"})
LOOKBACK_MS = 3_600_000


def simulated() -> OffsetClock:
    """Simulated time that flows, as `arco tick` uses: a clock that stood still would date a
    worker's report in the same millisecond as the dispatch it answers, and a rebuild (in
    event-id order) would then fold the report first."""
    clock = OffsetClock()
    clock.set_now(int(T0.timestamp() * 1000))
    return clock


def workspace(root: Path, clock: Clock) -> Workspace:
    """A workspace on a new store object: a new process, nothing cached."""
    return Workspace(LocalObjectStore(root), NAME, clock=clock, lookback_ms=LOOKBACK_MS)


def api(root: Path, clock: Clock) -> FlaskClient:
    """The API as a newly started function instance would serve it (local admin caller)."""
    from arco.api.app import create_app
    from arco.services.auth import LoopbackGate
    from arco.services.workspaces import WorkspaceDirectory

    store = LocalObjectStore(root)
    directory = WorkspaceDirectory(
        store, build=lambda name: Workspace(store, name, clock=clock, lookback_ms=LOOKBACK_MS)
    )
    return create_app(directory, LoopbackGate()).test_client()


def without_publication(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_publication(v) for k, v in value.items() if k not in PUBLICATION_FIELDS}
    if isinstance(value, list):
        return [without_publication(v) for v in value]
    return value


def answers(root: Path, at_ms: int) -> dict[str, Any]:
    """What a reader sees at `at_ms`: every read route of the workspace, with its status."""
    client = api(root, FixedClock(at_ms))
    runs = client.get(f"{URL}/runs?limit=100").json
    assert isinstance(runs, dict)
    run_ids = sorted(r["run_id"] for r in runs["runs"])
    backfills = client.get(f"{URL}/backfills").json
    assert isinstance(backfills, dict)
    paths = [
        f"{URL}/settings",
        f"{URL}/assets",
        *(f"{URL}/assets/{asset}/partitions" for asset in ASSETS),
        f"{URL}/runs?limit=100",
        *(f"{URL}/runs/{run_id}" for run_id in run_ids),
        *(f"{URL}/runs/{run_id}/logs" for run_id in run_ids),
        f"{URL}/backfills",
        *(f"{URL}/backfills/{b['backfill_id']}" for b in backfills["backfills"]),
        *(f"{URL}/backfills/{b['backfill_id']}/runs" for b in backfills["backfills"]),
        f"{URL}/staleness?limit=500",
        f"{URL}/staleness/summary",
        f"{URL}/reconciliation/plan",
        f"{URL}/schedules",
        f"{URL}/sensors",
    ]
    seen = {}
    for path in paths:
        response = client.get(path)
        seen[path] = (response.status_code, without_publication(response.json))
    return seen


def history(root: Path, clock: OffsetClock) -> None:
    """Build a workspace with something of everything in its projections."""
    store = LocalObjectStore(root)
    create_workspaces(store, NAME)
    ws = workspace(root, clock)
    definitions = load_definitions(LOCATION)
    deploy(ws, definitions.snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    executor = InProcessExecutor(ws, definitions)

    def advance(seconds: float) -> None:
        clock.offset_ms += round(seconds * 1000)

    def drive(run_id: str) -> str:
        return drive_run(ws, run_id, executor, timeout_s=60, sleep=advance)

    week = launch_run(ws, LaunchRequest(THREE_LAYERS, partition_range=WEEK))
    assert drive(week.run_id) == "FAILURE"  # bad_metric fails for good on 2024-01-05
    again = rerun(ws, week.run_id, from_failure_=True, requested_by="alice")
    drive(again.run_id)
    advance(3 * LOOKBACK_MS / 1000)  # the rest comes hours later: far behind the lookback
    summary = launch_run(ws, LaunchRequest("key:unpartitioned_summary"))
    assert drive(summary.run_id) == "SUCCESS"
    change_setting(ws, "runs.max_in_flight", "4", "max-1", "alice")
    days = PartitionSelection(kind="range", first="2024-01-08", last="2024-01-10")
    create_backfill(ws, BackfillRequest("key:raw_events", days, chunk_size=2), "alice")
    for _ in range(6):
        advance(60)
        run_timer(ws, clock_now(clock), dispatcher=executor)
    ws.compactor.compact_until_idle()
    assert verify(ws).identical


def lose_every_projection(root: Path) -> int:
    store = LocalObjectStore(root)
    prefix = f"workspaces/{NAME}/state/"
    lost = [listed.key for listed in store.list(prefix)]
    for key in lost:
        store.delete(key)
    assert list(store.list(prefix)) == []
    assert list(store.list(f"workspaces/{NAME}/ledger/"))  # the ledger is intact
    return len(lost)


def rebuild_with_the_cli(root: Path, clock: Clock) -> int:
    result = CliRunner().invoke(
        __import__("arco.cli.main", fromlist=["cli"]).cli,
        ["--store", f"file://{root}", "--workspace", NAME, "rebuild", "--json"],
    )
    assert result.exit_code == 0, result.output
    manifest_id: int = json.loads(result.output)["published_manifest_id"]
    return manifest_id


def rebuild_with_the_service(root: Path, clock: Clock) -> int:
    return publish(workspace(root, clock)).manifest_id


@pytest.mark.parametrize("rebuild", [rebuild_with_the_cli, rebuild_with_the_service])
def test_losing_every_projection_is_repaired_by_a_rebuild_from_the_ledger(
    tmp_path: Path, rebuild: Any
) -> None:
    root = tmp_path / "store"
    clock = simulated()
    history(root, clock)
    read_at = clock.now_ms()
    before = answers(root, read_at)
    assert before[f"{URL}/runs?limit=100"][0] == 200
    assert len(before[f"{URL}/runs?limit=100"][1]["runs"]) >= 4  # 3 launched + backfill runs

    lost_id = workspace(root, clock).manifest().manifest_id
    assert lose_every_projection(root) > 0
    # What a reader sees now: a workspace with nothing published.
    lost = api(root, clock).get(f"{URL}/runs?limit=100")
    assert lost.status_code == 200 and lost.json["runs"] == []  # type: ignore[index]

    # No manifest is left to number above: the rebuild still never reuses an id (one a process
    # alive before the loss may have cached).
    assert rebuild(root, clock) > lost_id
    ws = workspace(root, clock)
    report = verify(ws)
    assert report.identical and report.pending == 0
    assert [f.check for f in run_doctor(ws) if f.status == "error"] == []
    assert answers(root, read_at) == before

    # And life goes on: compactions and the timer publish on top of the rebuilt state.
    change_setting(ws, "runs.max_in_flight", "6", "max-2", "alice")
    assert ws.compactor.compact().published
    settings = api(root, clock).get(f"{URL}/settings").json
    assert {s["name"]: s["value"] for s in settings["settings"]}["runs.max_in_flight"] == 6  # type: ignore[index]
    assert verify(workspace(root, clock)).identical


def test_a_compaction_alone_also_republishes_a_workspace_that_lost_every_projection(
    tmp_path: Path,
) -> None:
    """With no manifest left there is no published history to protect: the next compaction
    (the compactor function, a timer call) makes a first publication of the whole ledger."""
    root = tmp_path / "store"
    clock = simulated()
    history(root, clock)
    read_at = clock.now_ms()
    before = answers(root, read_at)
    lose_every_projection(root)

    ws = workspace(root, clock)
    ws.compactor.compact_until_idle()
    assert verify(ws).identical
    assert answers(root, read_at) == before


def test_an_instance_alive_across_the_loss_sees_only_the_rebuilt_state(tmp_path: Path) -> None:
    root = tmp_path / "store"
    clock = simulated()
    history(root, clock)
    alive = workspace(root, clock)  # an instance that served before the loss and still runs
    assert alive.compactor.compact_until_idle()
    cached_id = alive.manifest().manifest_id
    lose_every_projection(root)
    ws = workspace(root, clock)
    publish(ws)
    # The rebuilt chain never reuses an id the old instance may have cached.
    assert ws.manifest().manifest_id > cached_id
    while ws.manifest().manifest_id < cached_id:  # (would reach the cached id if it did)
        change_setting(ws, "runs.max_in_flight", "1", f"at-{ws.manifest().manifest_id}", "alice")
        ws.compactor.compact()
    change_setting(ws, "runs.max_in_flight", "99", "last", "alice")
    alive.compactor.compact_until_idle()
    fresh = workspace(root, clock)
    assert verify(fresh).identical
    settings = fresh.snapshot().rows("workspace_settings")
    assert settings[("runs.max_in_flight",)]["value"] == "99"
