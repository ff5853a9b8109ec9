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


def test_a_first_publication_in_flight_is_waited_for_not_called_lost(
    ws: Workspace, clock: FixedClock
) -> None:
    from arco.domain.errors import ConflictError
    from arco.projections.compactor import BEFORE_POINTER_CAS

    class Crash(Exception):
        pass

    def crash(point: str) -> None:
        if point == BEFORE_POINTER_CAS:
            raise Crash

    set_setting(ws, 1, "a")
    first = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    first.compactor.crash = crash
    with pytest.raises(Crash):
        first.compactor.compact()  # manifest 1 written, pointer not yet created
    other = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    # Recent: another compactor may be about to create the pointer, so this one backs off.
    with pytest.raises(ConflictError):
        other.compactor.compact()
    # Long after, nobody created it: that is a lost pointer, not a race.
    clock.advance(ws.lookback_ms + 1)
    with pytest.raises(CorruptState, match="restore-pointer"):
        other.compactor.compact()
