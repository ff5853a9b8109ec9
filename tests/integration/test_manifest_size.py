"""What every reader fetches does not grow with the ingest rate (issue 18): the names folded
inside the lookback window leave the manifest for a side object only the compactor reads."""

from __future__ import annotations

import pytest

from arco.clock import FixedClock
from arco.projections.compactor import AFTER_MANIFEST_WRITE
from arco.projections.manifest import RECENT_INLINE
from arco.services.operations.gc import collect_garbage
from arco.services.workspace import Workspace
from arco.storage.recording import RecordingObjectStore
from tests.integration.helpers import published_settings, set_setting

MANIFEST_BUDGET = 16 * 1024
OBJECTS = 2_000


def _manifest_bytes(ws: Workspace) -> int:
    stored = ws.store.get(ws.layout.manifest_key(ws.manifest().manifest_id))
    assert stored is not None
    return len(stored.data)


def _fill(ws: Workspace, clock: FixedClock, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        set_setting(ws, i % 50 + 1, f"r{i}")
        clock.advance(10)  # all inside the 60 s window


def test_the_manifest_stays_small_whatever_the_window_holds(
    ws: Workspace, clock: FixedClock
) -> None:
    _fill(ws, clock, 100)
    ws.compactor.compact_until_idle()
    few = ws.manifest()
    assert len(few.recent_objects) == 100 and few.recent_file is None  # inline while few
    _fill(ws, clock, OBJECTS, start=100)
    ws.compactor.compact_until_idle()
    many = ws.manifest()
    assert many.recent_objects == () and many.recent_file is not None
    assert many.recent_file.rows == OBJECTS + 100 > RECENT_INLINE
    assert _manifest_bytes(ws) <= MANIFEST_BUDGET  # it held 2,100 names inline: ~60 KB

    # A reader fetches the pointer, the manifest and tables; never the side object.
    recording = RecordingObjectStore(ws.store)
    reader = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    assert published_settings(reader)
    assert recording.count(prefix=many.recent_file.key) == 0


def test_a_cold_compactor_reads_the_side_object_once_and_refolds_nothing(
    ws: Workspace, clock: FixedClock
) -> None:
    _fill(ws, clock, 600)
    ws.compactor.compact_until_idle()
    side = ws.manifest().recent_file
    assert side is not None
    recording = RecordingObjectStore(ws.store)
    cold = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    assert not cold.compactor.compact().published  # all 600 names listed, all known
    assert recording.count(op="get", prefix=side.key) == 1
    assert recording.count(op="get", prefix=ws.layout.ledger_prefix) == 0
    recording.reset()
    _fill(ws, clock, 1, start=600)
    result = cold.compactor.compact()
    assert result.published and result.fold.objects == 1
    assert recording.count(op="get", prefix=ws.layout.ledger_prefix) == 1
    assert recording.count(op="get", prefix=side.key) == 0  # kept: it is immutable
    now = ws.manifest().recent_file
    assert now is not None and now.rows == 601


def test_names_leave_the_window_and_gc_keeps_only_the_side_objects_in_use(
    ws: Workspace, clock: FixedClock
) -> None:
    _fill(ws, clock, 400)
    ws.compactor.compact_until_idle()
    first = ws.manifest().recent_file
    assert first is not None
    clock.advance(120_000)  # the window moved past every name
    _fill(ws, clock, 1, start=400)
    ws.compactor.compact_until_idle()
    assert ws.manifest().recent_file is None and len(ws.manifest().recent_objects) == 1
    clock.advance(3_600_000)
    report = collect_garbage(ws, grace_ms=0)
    assert first.key in report.manifests_deleted
    assert ws.store.get(first.key) is None
    assert not ws.compactor.compact().published  # and nothing is refolded


class Crash(Exception):
    pass


def test_a_crash_in_a_first_publication_with_a_side_object_heals(
    ws: Workspace, clock: FixedClock
) -> None:
    _fill(ws, clock, 300)  # more names than a manifest holds: a side object is written

    def crash(point: str) -> None:
        if point == AFTER_MANIFEST_WRITE:
            raise Crash(point)

    ws.compactor.crash = crash
    with pytest.raises(Crash):
        ws.compactor.compact()  # manifest 1 and its side object written, no pointer
    listed = [o.key for o in ws.store.list(ws.layout.manifests_prefix)]
    assert any(".recent." in key for key in listed)
    survivor = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    assert survivor.compactor.compact().published  # the side object is no lost history
    assert published_settings(survivor)


def test_the_compactor_keeps_one_window_of_names_in_memory(
    ws: Workspace, clock: FixedClock
) -> None:
    from arco.projections.manifest import _RECENT

    for step in range(5):
        _fill(ws, clock, 300, start=300 * step)
        ws.compactor.compact_until_idle()
    assert len(_RECENT.get(ws.store, {})) == 1


def test_restore_pointer_skips_a_manifest_whose_side_object_is_gone(
    ws: Workspace, clock: FixedClock
) -> None:
    from arco.services.operations.recovery import restore_pointer

    _fill(ws, clock, 10)
    ws.compactor.compact_until_idle()
    inline = ws.manifest().manifest_id
    _fill(ws, clock, 300, start=10)
    ws.compactor.compact_until_idle()
    side = ws.manifest().recent_file
    assert side is not None and ws.manifest().manifest_id > inline
    ws.store.delete(side.key)
    assert restore_pointer(ws).manifest_id == inline  # the newest complete manifest


def test_doctor_reports_a_missing_side_object(ws: Workspace, clock: FixedClock) -> None:
    from arco.services.operations.doctor import run_doctor

    _fill(ws, clock, 300)
    ws.compactor.compact_until_idle()
    side = ws.manifest().recent_file
    assert side is not None
    assert {f.check: f for f in run_doctor(ws)}["table files"].status == "ok"
    ws.store.delete(side.key)
    files = {f.check: f for f in run_doctor(ws)}["table files"]
    assert files.status == "error" and files.details == [
        {"table": "(recent objects)", "file": side.key, "problem": "missing"}
    ]
