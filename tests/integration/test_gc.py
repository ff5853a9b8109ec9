"""Garbage collection: storage stays bounded on a busy workspace, nothing a reader may still be
inside is deleted, and the state is what a rebuild from the ledger gives."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from arco.cli.main import cli
from arco.clock import FixedClock
from arco.projections.manifest import read_manifest
from arco.services.commands.settings import change_setting
from arco.services.engines.timer import run_timer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.gc import collect_garbage
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.factories import BASE_MS
from tests.integration.helpers import now_of
from tests.workspaces import create_workspaces

MINUTE = 60_000


def _busy_workspace(tmp_path: Path) -> tuple[Workspace, FixedClock]:
    clock = FixedClock(BASE_MS)
    store = LocalObjectStore(tmp_path)
    create_workspaces(store, "w")
    return Workspace(store, "w", clock=clock, lookback_ms=MINUTE), clock


def _objects(ws: Workspace, prefix: str) -> set[str]:
    return {o.key for o in ws.store.list(prefix)}


def test_the_timer_keeps_storage_bounded_with_gc_on(tmp_path: Path) -> None:
    ws, clock = _busy_workspace(tmp_path)
    change_setting(ws, "gc.enabled", True, "on", "test")
    change_setting(ws, "gc.grace_minutes", 5, "grace", "test")
    peak_manifests = peak_files = 0
    for call in range(300):  # a write and a timer call every minute: 300 manifests published
        change_setting(ws, "runs.max_in_flight", call % 50 + 1, f"r{call}", "test")
        result = run_timer(ws, now_of(ws))
        assert result.gc is not None and "error" not in result.gc
        peak_manifests = max(peak_manifests, len(_objects(ws, ws.layout.manifests_prefix)))
        peak_files = max(peak_files, len(_objects(ws, ws.layout.tables_prefix)))
        clock.advance(MINUTE)
    current = ws.manifest()
    assert current.manifest_id >= 300
    # Bounded: about one grace period of manifests (5 minutes, one a minute, plus the one that
    # was current when the period began), whatever the history's length.
    assert peak_manifests <= 8, peak_manifests
    assert peak_files <= 60, peak_files
    assert len(list(ws.store.list(ws.layout.ledger_prefix))) >= 300  # the ledger is never touched
    assert verify(ws).identical
    assert {f.check: f for f in run_doctor(ws)}["table files"].status == "ok"


def test_nothing_a_reader_may_still_be_inside_is_deleted(tmp_path: Path) -> None:
    ws, clock = _busy_workspace(tmp_path)
    published = []
    for call in range(6):
        change_setting(ws, "runs.max_in_flight", call + 1, f"r{call}", "test")
        ws.compactor.compact_until_idle()
        published.append(ws.manifest())
        clock.advance(MINUTE)
    # 6 manifests, a minute apart; the newest is current. A 150 s grace keeps the manifests
    # published within it and the one that was current when it began.
    report = collect_garbage(ws, grace_ms=150_000)
    kept = {m.manifest_id for m in published if m.manifest_id >= report.oldest_kept_manifest_id}
    # now = 6 min after the first; cutoff 3.5 min: manifests 5 and 6, and 4 (current then).
    assert report.oldest_kept_manifest_id == published[-3].manifest_id
    for manifest in published:
        if manifest.manifest_id in kept:  # every file it names still reads back
            read_manifest(ws.store, ws.layout, manifest.manifest_id)
            for entry in manifest.tables.values():
                for f in entry.files:
                    assert ws.store.get(f.key) is not None, f.key
    assert {
        ws.layout.manifest_key(m.manifest_id) for m in published if m.manifest_id not in kept
    } == set(report.manifests_deleted)
    # A dry run deletes nothing; a grace of hours deletes nothing more.
    before = _objects(ws, ws.layout.state_prefix)
    assert collect_garbage(ws, grace_ms=3_600_000, dry_run=True).manifests_deleted == []
    assert _objects(ws, ws.layout.state_prefix) == before


def test_arco_gc_from_the_cli(tmp_path: Path) -> None:
    ws, _ = _busy_workspace(tmp_path)
    for call in range(4):
        change_setting(ws, "runs.max_in_flight", call + 1, f"r{call}", "test")
        ws.compactor.compact_until_idle()
    runner = CliRunner()
    args = ["--store", f"file://{tmp_path}", "--workspace", "w", "gc", "--grace-minutes", "0"]
    dry = runner.invoke(cli, [*args, "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] and planned["manifests_deleted"] >= 2
    done = runner.invoke(cli, [*args, "--json"])
    assert (
        done.exit_code == 0
        and json.loads(done.output)["manifests_deleted"] == (planned["manifests_deleted"])
    )
    assert verify(Workspace(ws.store, "w", lookback_ms=MINUTE)).identical


def test_claims_of_attempts_over_are_collected_and_a_late_redelivery_still_runs_nothing(
    tmp_path: Path,
) -> None:
    from arco.services.code_location import load_definitions
    from arco.services.commands.deploy import deploy
    from arco.services.commands.runs import LaunchRequest, launch_run
    from arco.services.engines.dispatch import NoWorkers
    from arco.services.engines.worker import execute_task
    from tests.fixtures.runs_graph import RAW_EXECUTIONS

    location = "tests.fixtures.runs_graph:defs"
    ws, clock = _busy_workspace(tmp_path)
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    done = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"))
    held = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-03"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    orders = {o.run_id: o for o in waiting.pending}
    definitions = load_definitions(location)
    assert execute_task(ws, definitions, orders[done.run_id]).outcome == "SUCCESS"
    # The other attempt is claimed by a worker that is still running it (or died in it).
    held_order = orders[held.run_id]
    held_claim = ws.layout.attempt_claim_key(held.run_id, held_order.task, held_order.attempt)
    assert ws.store.create(held_claim, b'{"worker": "elsewhere"}').ok
    done_claim = ws.layout.attempt_claim_key(done.run_id, 0, 1)
    run_timer(ws, now_of(ws), dispatcher=waiting)  # folds the report: the attempt is over

    # Within the grace period the manifest current when it began does not show it over yet.
    assert collect_garbage(ws, grace_ms=5 * MINUTE).claims_deleted == []
    clock.advance(10 * MINUTE)
    run_timer(ws, now_of(ws), dispatcher=waiting)
    report = collect_garbage(ws, grace_ms=5 * MINUTE)
    assert report.claims_deleted == [done_claim]
    assert _objects(ws, ws.layout.claims_prefix) == {held_claim}

    # Cloud Tasks delivers the finished attempt once more, after its claim is gone.
    assert execute_task(ws, definitions, orders[done.run_id]).outcome == "STALE"
    assert RAW_EXECUTIONS[(done.run_id, "2024-01-02", 1)] == 1
    assert verify(ws).identical
