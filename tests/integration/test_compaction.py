"""Compaction end to end on real stores (memory and local files)."""

from __future__ import annotations

import pytest

from arco.clock import FixedClock
from arco.domain.fold import LedgerObject
from arco.domain.ulid import encode_ulid
from arco.projections import table_files
from arco.projections.manifest import read_pointer, swap_pointer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import publish, verify
from arco.services.workspace import Workspace
from arco.storage.recording import RecordingObjectStore
from tests.factories import BASE_MS, batch_bytes, setting_event
from tests.integration.helpers import published_settings, set_setting


def test_append_compact_read(ws: Workspace) -> None:
    for i in range(5):
        set_setting(ws, i, f"r{i}")
    result = ws.compactor.compact()
    assert result.published and result.manifest_id == 1
    assert result.fold.events_applied == 5
    assert published_settings(ws) == {"runs.max_in_flight": "4"}
    again = ws.compactor.compact()
    assert not again.published and again.manifest_id == 1


def test_each_compaction_publishes_the_next_manifest(ws: Workspace, clock: FixedClock) -> None:
    for step in range(1, 6):
        set_setting(ws, step, f"r{step}")
        clock.advance(1000)
        assert ws.compactor.compact().manifest_id == step
    manifest = ws.manifest()
    assert manifest.parent_id == 4 and manifest.events_total == 5
    assert verify(ws).identical


def test_append_is_one_write(ws: Workspace) -> None:
    recording = RecordingObjectStore(ws.store)
    writer_ws = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    set_setting(writer_ws, 1, "r1")
    assert [c.op for c in recording.calls] == ["create"]


def test_idle_compaction_is_one_list_plus_pointer_read(ws: Workspace) -> None:
    set_setting(ws, 1, "r1")
    recording = RecordingObjectStore(ws.store)
    compacting = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    compacting.compactor.compact()
    recording.reset()
    assert not compacting.compactor.compact().published
    ops = sorted(c.op for c in recording.calls)
    assert ops == ["get", "list"]
    assert recording.calls[0].key.endswith("state/pointer.json")


def test_cold_idle_compaction_reads_no_tables(ws: Workspace) -> None:
    set_setting(ws, 1, "r1")
    ws.compactor.compact()
    recording = RecordingObjectStore(ws.store)
    cold = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    assert not cold.compactor.compact().published
    assert recording.count(prefix="workspaces/default/state/tables/") == 0
    assert recording.count(op="list") == 1


def test_reading_state_never_touches_the_ledger(ws: Workspace) -> None:
    for i in range(3):
        set_setting(ws, i, f"r{i}")
    ws.compactor.compact()
    recording = RecordingObjectStore(ws.store)
    reader = Workspace(recording, "default", clock=ws.clock, lookback_ms=ws.lookback_ms)
    published_settings(reader)
    assert recording.count(prefix="workspaces/default/ledger/") == 0
    assert recording.count(op="list") == 0


@pytest.fixture
def deltas_for_small_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small tables are normally rewritten whole; make them take deltas like big ones."""
    monkeypatch.setattr(table_files, "SMALL_TABLE_ROWS", 0)
    monkeypatch.setattr(table_files, "MERGE_FRACTION", 1e9)


@pytest.mark.usefixtures("deltas_for_small_tables")
def test_reader_cache_advances_by_new_deltas_only(ws: Workspace, clock: FixedClock) -> None:
    set_setting(ws, 1, "r1", name="runs.max_in_flight")
    ws.compactor.compact()
    recording = RecordingObjectStore(ws.store)
    reader = Workspace(recording, "default", clock=clock, lookback_ms=ws.lookback_ms)
    assert published_settings(reader) == {"runs.max_in_flight": "1"}
    clock.advance(1000)
    set_setting(ws, 2, "r2", name="reconciliation.max_runs_per_hour")
    ws.compactor.compact()
    recording.reset()
    assert published_settings(reader) == {
        "runs.max_in_flight": "1",
        "reconciliation.max_runs_per_hour": "2",
    }
    assert reader.snapshots.last.advanced == 1
    table_reads = [c.key for c in recording.calls if "/tables/" in c.key]
    assert len(table_reads) == 1 and ".delta." in table_reads[0]


@pytest.mark.usefixtures("deltas_for_small_tables")
def test_second_compactor_advances_its_cache_from_deltas(ws: Workspace, clock: FixedClock) -> None:
    other = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    set_setting(ws, 1, "r1")
    ws.compactor.compact()
    other.compactor.compact()  # idle, but loads nothing yet
    clock.advance(1000)
    set_setting(ws, 2, "r2")
    other.compactor.compact()
    clock.advance(1000)
    set_setting(ws, 3, "r3")
    result = ws.compactor.compact()  # ws must first catch up with other's manifest
    assert result.manifest_id == 3
    assert ws.compactor.cache.last.advanced >= 1
    assert published_settings(ws) == {"runs.max_in_flight": "3"}
    assert verify(ws).identical


def test_bad_objects_are_quarantined_and_compaction_goes_on(ws: Workspace) -> None:
    layout = ws.layout
    not_json = encode_ulid(BASE_MS - 10, 1)
    unknown = encode_ulid(BASE_MS - 9, 2)
    foreign = encode_ulid(BASE_MS - 8, 3)
    ws.store.create(layout.ledger_key(not_json), b"this is not json")
    ws.store.create(
        layout.ledger_key(unknown), batch_bytes([setting_event(event_type="brand.new_event")])
    )
    ws.store.create(
        layout.ledger_key(foreign),
        batch_bytes([setting_event(workspace="elsewhere")], workspace="elsewhere"),
    )
    set_setting(ws, 7, "good")
    result = ws.compactor.compact()
    assert result.published
    assert result.fold.objects_quarantined == 2
    assert result.fold.events_unsupported == 1
    assert published_settings(ws) == {"runs.max_in_flight": "7"}
    kinds = {r["kind"] for r in ws.snapshot().table("quarantine").to_pylist()}
    assert kinds == {"malformed_json", "wrong_workspace", "unsupported_event"}
    findings = {f.check: f for f in run_doctor(ws)}
    assert findings["quarantine"].status == "error"
    listed = {d["object"] for d in findings["quarantine"].details}
    assert listed == {not_json, unknown, foreign}
    assert all(d["action"] for d in findings["quarantine"].details)
    # Quarantine is reproducible from the ledger too.
    assert verify(ws).identical
    # And it is recorded once: the next compaction does not re-quarantine.
    assert not ws.compactor.compact().published


def test_objects_behind_the_window_are_found_and_swept(ws: Workspace, clock: FixedClock) -> None:
    set_setting(ws, 1, "r1")
    ws.compactor.compact()
    # A writer whose clock is 10 minutes slow: its object lands behind the lookback window.
    late = encode_ulid(BASE_MS - 600_000, 5)
    ws.store.create(
        ws.layout.ledger_key(late),
        batch_bytes(
            [setting_event(name="reconciliation.enabled", value=True, ms=BASE_MS - 600_000)]
        ),
    )
    clock.advance(1000)
    assert not ws.compactor.compact().published  # the normal path cannot see it
    ledger = {f.check: f for f in run_doctor(ws)}["ledger"]
    assert ledger.status == "error" and ledger.details == [late]
    assert "--sweep" in (ledger.action or "")
    swept = ws.compactor.compact(sweep=True)
    assert swept.published and swept.fold.events_applied == 1
    assert {f.check: f for f in run_doctor(ws)}["ledger"].status == "ok"
    assert verify(ws).identical


def test_objects_from_the_future_wait_for_the_clock(ws: Workspace, clock: FixedClock) -> None:
    future = encode_ulid(BASE_MS + 3_600_000, 9)
    ws.store.create(
        ws.layout.ledger_key(future), batch_bytes([setting_event(ms=BASE_MS + 3_600_000)])
    )
    result = ws.compactor.compact()
    assert not result.published and result.objects_deferred == 1
    clock.advance(3_600_000)
    assert ws.compactor.compact().published


def test_workspaces_share_a_store_without_seeing_each_other(ws: Workspace) -> None:
    other = Workspace(ws.store, "other", clock=ws.clock, lookback_ms=ws.lookback_ms)
    set_setting(ws, 1, "a")
    set_setting(other, 2, "b")
    ws.compactor.compact()
    other.compactor.compact()
    assert published_settings(ws) == {"runs.max_in_flight": "1"}
    assert published_settings(other) == {"runs.max_in_flight": "2"}
    assert ws.manifest().objects_total == 1 and other.manifest().objects_total == 1


def test_large_backlog_is_compacted_in_bounded_steps(ws: Workspace) -> None:
    ws.compactor.max_objects = 10
    for i in range(25):
        set_setting(ws, i, f"r{i}")
    results = ws.compactor.compact_until_idle()
    assert [r.fold.objects for r in results if r.published] == [10, 10, 5]
    assert published_settings(ws) == {"runs.max_in_flight": "24"}


def test_small_tables_are_rewritten_as_one_file(ws: Workspace, clock: FixedClock) -> None:
    for i in range(3):
        set_setting(ws, i, f"r{i}")
        clock.advance(1000)
        ws.compactor.compact()
    entry = ws.manifest().tables["workspace_settings"]
    assert entry.base is not None and entry.deltas == ()


def test_verify_refolds_in_the_order_the_compactions_folded(
    ws: Workspace, clock: FixedClock
) -> None:
    """One key written under two ids (two timers deciding the same thing), the later id landing
    and being published first: the fold keeps the first it folded. `verify` refolds call by
    call, so that is no difference; a full rebuild folds in id order and keeps the other."""
    ws.store.create(
        ws.layout.ledger_key(encode_ulid(BASE_MS + 5, 2)),
        batch_bytes([setting_event(value=2, request_id="same", ms=BASE_MS + 5)]),
    )
    ws.compactor.compact()
    clock.advance(1000)
    ws.store.create(
        ws.layout.ledger_key(encode_ulid(BASE_MS, 1)),
        batch_bytes([setting_event(value=1, request_id="same", ms=BASE_MS)]),
    )
    late = ws.compactor.compact()
    assert late.published and late.fold.events_duplicate == 1
    assert published_settings(ws) == {"runs.max_in_flight": "2"}
    report = verify(ws)
    assert report.identical, [d.as_dict() for d in report.diffs]
    assert report.objects == 2
    publish(ws)
    assert published_settings(ws) == {"runs.max_in_flight": "1"}  # the lowest id, in id order
    assert verify(ws).identical


def test_verify_finds_a_published_table_that_differs_from_the_ledger(ws: Workspace) -> None:
    set_setting(ws, 3, "r3")
    ws.compactor.compact()
    manifest = ws.manifest()
    state = table_files.load_fold_state(ws.store, manifest, ws.registry)
    rows = state.tables["workspace_settings"]
    key = next(iter(rows))
    rows[key] = {**rows[key], "value": "9"}  # someone edited the table file
    edited_id = manifest.manifest_id + 1
    spec = ws.registry.table("workspace_settings")
    tables = {
        **manifest.tables,
        spec.name: table_files.write_base(ws.store, ws.layout, edited_id, spec, rows),
    }
    edited = manifest.model_copy(update={"manifest_id": edited_id, "tables": tables})
    ws.store.create(ws.layout.manifest_key(edited_id), edited.to_bytes())
    _, version = read_pointer(ws.store, ws.layout)
    assert swap_pointer(ws.store, ws.layout, edited_id, version, "2026-12-08T00:00:00.000Z")
    report = verify(ws)
    assert [d.table for d in report.diffs] == ["workspace_settings"]
    assert [(p["value"], r["value"]) for _, p, r in report.diffs[0].changed] == [("9", "3")]


def test_verify_refolds_each_fold_call_of_one_publication_in_turn(ws: Workspace) -> None:
    """The timer folds each step's decisions as it writes them, in one publication."""
    later = LedgerObject(
        encode_ulid(BASE_MS + 5, 2),
        batch_bytes([setting_event(value=2, request_id="same", ms=BASE_MS + 5)]),
    )
    earlier = LedgerObject(
        encode_ulid(BASE_MS, 1),
        batch_bytes([setting_event(value=1, request_id="same", ms=BASE_MS)]),
    )
    session = ws.compactor.begin()
    for obj in (later, earlier):
        ws.store.create(ws.layout.ledger_key(obj.name), obj.data)
        session.fold([obj])
    assert session.publish() is not None
    assert published_settings(ws) == {"runs.max_in_flight": "2"}
    report = verify(ws)
    assert report.identical, [d.as_dict() for d in report.diffs]


def _as_an_older_build_published(ws: Workspace) -> None:
    """Republish the current state with `ledger_objects` as a build that did not record fold
    calls wrote it (the two columns absent: read as nulls)."""
    manifest = ws.manifest()
    state = table_files.load_fold_state(ws.store, manifest, ws.registry)
    rows = {
        key: {**row, "fold_after_manifest": None, "fold_call": None}
        for key, row in state.tables["ledger_objects"].items()
    }
    older_id = manifest.manifest_id + 1
    spec = ws.registry.table("ledger_objects")
    entry = table_files.write_base(ws.store, ws.layout, older_id, spec, rows)
    older = manifest.model_copy(
        update={"manifest_id": older_id, "tables": {**manifest.tables, spec.name: entry}}
    )
    ws.store.create(ws.layout.manifest_key(older_id), older.to_bytes())
    _, version = read_pointer(ws.store, ws.layout)
    assert swap_pointer(ws.store, ws.layout, older_id, version, "2026-12-08T00:00:00.000Z")


def test_verify_reads_a_state_published_before_fold_calls_were_recorded(
    ws: Workspace, clock: FixedClock
) -> None:
    for step in range(3):
        set_setting(ws, step + 1, f"r{step}")
        clock.advance(1000)
        ws.compactor.compact()
    _as_an_older_build_published(ws)
    report = verify(ws)
    assert report.identical, [d.as_dict() for d in report.diffs]
    # and after the upgrade, new compactions record their calls next to the older rows
    set_setting(ws, 7, "after")
    clock.advance(1000)
    assert ws.compactor.compact().published
    rows = ws.snapshot().rows("ledger_objects").values()
    assert sorted(r["fold_call"] is None for r in rows) == [False, True, True, True]
    report = verify(ws)
    assert report.identical, [d.as_dict() for d in report.diffs]
