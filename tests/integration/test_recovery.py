"""Lost pointers and missing table files: reported by doctor, repaired by the CLI's tools."""

from __future__ import annotations

import pytest

from arco.clock import FixedClock
from arco.domain.errors import CorruptState
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import publish, verify
from arco.services.operations.recovery import restore_pointer
from arco.services.workspace import Workspace
from tests.integration.helpers import published_settings, set_setting


def two_manifests(ws: Workspace, clock: FixedClock) -> None:
    set_setting(ws, 1, "a")
    ws.compactor.compact()
    clock.advance(1000)
    set_setting(ws, 2, "b")
    ws.compactor.compact()


def test_lost_pointer_stops_compaction_and_is_restored(ws: Workspace, clock: FixedClock) -> None:
    two_manifests(ws, clock)
    ws.store.delete(ws.layout.pointer_key)
    (finding,) = run_doctor(ws)
    assert finding.status == "error" and "restore-pointer" in (finding.action or "")
    fresh = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    with pytest.raises(CorruptState, match="restore-pointer"):
        fresh.compactor.compact()
    assert restore_pointer(fresh).manifest_id == 2
    assert published_settings(fresh) == {"runs.max_in_flight": "2"}
    assert verify(fresh).identical


def test_restore_skips_a_manifest_with_missing_files(ws: Workspace, clock: FixedClock) -> None:
    two_manifests(ws, clock)
    latest = ws.manifest()
    missing = latest.tables["workspace_settings"].files[-1].key
    ws.store.delete(missing)
    files = {f.check: f for f in run_doctor(ws)}["table files"]
    assert files.status == "error" and files.details[0]["file"] == missing
    assert restore_pointer(ws).manifest_id == 1


def test_doctor_reports_unreadable_system_tables(ws: Workspace, clock: FixedClock) -> None:
    two_manifests(ws, clock)
    for file in ws.manifest().tables["ledger_objects"].files:
        ws.store.delete(file.key)
    fresh = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    findings = {f.check: f for f in run_doctor(fresh)}
    assert findings["tables"].status == "error"
    assert "rebuild" in (findings["tables"].action or "")
    publish(fresh)
    assert all(f.status == "ok" for f in run_doctor(fresh) if f.check != "orphans")


def test_rebuild_publishes_above_every_manifest_id(ws: Workspace, clock: FixedClock) -> None:
    two_manifests(ws, clock)
    ws.store.create(ws.layout.manifest_key(7), b"{}")  # debris above the pointer
    manifest = publish(ws)
    assert manifest.manifest_id == 8 and manifest.parent_id == 2
    assert published_settings(ws) == {"runs.max_in_flight": "2"}


def test_a_first_publication_in_flight_neither_blocks_nor_loses_anything(
    ws: Workspace, clock: FixedClock
) -> None:
    """Two first publications race: the one stopped before creating the pointer blocks nobody
    (the other publishes at once), and when it resumes its pointer create loses, so it
    re-reads and folds only what is still new."""
    from arco.projections.compactor import BEFORE_POINTER_CAS

    paused: list[str] = []

    def pause(point: str) -> None:
        if point == BEFORE_POINTER_CAS and not paused:
            paused.append(point)
            # While this compactor sits between its manifest and the pointer, another runs.
            other = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
            assert other.compactor.compact().published

    set_setting(ws, 1, "a")
    first = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    first.compactor.crash = pause
    result = first.compactor.compact()
    assert paused and result.attempts >= 2  # lost the pointer create once, then caught up
    assert published_settings(ws) == {"runs.max_in_flight": "1"}
    assert ws.manifest().events_total == 1
