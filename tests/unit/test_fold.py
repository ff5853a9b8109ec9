"""The fold engine's rules, one by one, on the pure core."""

from __future__ import annotations

import json

from arco.domain.catalog import default_registry
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.state import FoldState, StagedState
from tests.factories import BASE_MS, ledger_object, setting_event, ulid_at

REG = default_registry()


def fold(*objects: LedgerObject, state: FoldState | None = None):  # type: ignore[no-untyped-def]
    staged = StagedState(state or FoldState())
    report = fold_objects(staged, objects, REG, "default")
    return staged.commit(), report


def settings_rows(state: FoldState) -> dict[str, object]:
    return {k[0]: json.loads(r["value"]) for k, r in state.rows("workspace_settings").items()}


def test_last_writer_by_event_id_wins_regardless_of_arrival():
    early = setting_event(value=1, ms=BASE_MS)
    late = setting_event(value=2, ms=BASE_MS + 10)
    state, _ = fold(ledger_object([late]))
    state, report = fold(ledger_object([early]), state=state)
    assert settings_rows(state) == {"runs.max_in_flight": 2}
    assert report.events_superseded == 1
    # A superseded event is final: its key is recorded.
    assert (early.idempotency_key,) in state.rows("idempotency_keys")


def test_repeated_idempotency_key_is_a_noop():
    first = setting_event(value=1, request_id="same", ms=BASE_MS)
    again = setting_event(value=9, request_id="same", ms=BASE_MS + 5)
    state, report = fold(ledger_object([first]), ledger_object([again]))
    assert settings_rows(state) == {"runs.max_in_flight": 1}
    assert report.events_duplicate == 1


def test_rejected_event_does_not_burn_its_key():
    rejected = setting_event(name="no.such.setting", value=1)
    state, report = fold(ledger_object([rejected]))
    assert report.events_rejected == 1
    assert state.rows("idempotency_keys") == {}
    assert state.rows("workspace_settings") == {}


def test_unknown_event_type_is_a_recorded_noop():
    unknown = setting_event(event_type="future.thing_happened")
    known = setting_event(value=3)
    obj = ledger_object([unknown, known])
    state, report = fold(obj)
    assert report.events_unsupported == 1 and report.events_applied == 1
    assert settings_rows(state) == {"runs.max_in_flight": 3}
    row = state.rows("quarantine")[(obj.name, unknown.event_id)]
    assert row["kind"] == "unsupported_event"
    assert "future.thing_happened" in row["reason"]


def test_object_that_is_not_json_is_quarantined_whole():
    bad = LedgerObject(ulid_at(BASE_MS), b"\xff not json")
    state, report = fold(bad)
    assert report.objects_quarantined == 1
    assert state.rows("quarantine")[(bad.name, "")]["kind"] == "malformed_json"
    assert state.rows("ledger_objects")[(bad.name,)]["status"] == "quarantined"


def test_wrong_workspace_is_quarantined_and_nothing_applies():
    foreign = setting_event(workspace="other", value=7)
    obj = ledger_object([foreign], workspace="other")
    state, report = fold(obj)
    assert report.objects_quarantined == 1
    assert state.rows("quarantine")[(obj.name, "")]["kind"] == "wrong_workspace"
    assert state.rows("workspace_settings") == {}


def test_invalid_payload_quarantines_the_whole_batch():
    good = setting_event(value=1)
    broken = setting_event(value=2).model_copy(update={"payload": {"name": 5}})
    obj = ledger_object([good, broken])
    state, report = fold(obj)
    assert report.objects_quarantined == 1
    assert state.rows("workspace_settings") == {}  # atomic: the good event is not applied
    assert state.rows("quarantine")[(obj.name, "")]["kind"] == "invalid_payload"


def test_same_object_name_twice_is_skipped():
    obj = ledger_object([setting_event(value=1)])
    state, _ = fold(obj)
    _, report = fold(obj, state=state)
    assert report.objects_skipped == 1 and report.events_seen == 0


def test_staged_changes_are_invisible_until_commit():
    base = FoldState()
    staged = StagedState(base)
    fold_objects(staged, [ledger_object([setting_event(value=1)])], REG, "default")
    assert base.rows("workspace_settings") == {}
    assert staged.get("workspace_settings", ("runs.max_in_flight",)) is not None


def test_a_rule_that_raises_leaves_nothing_behind():
    from arco.domain.registry import EventType, Registry
    from arco.domain.settings import SettingChanged
    from arco.domain.system_tables import SYSTEM_TABLES

    def half_then_boom(ctx, event):  # type: ignore[no-untyped-def]
        ctx.put("workspace_settings", {"name": "partial", "value": "1"})
        raise RuntimeError("bug")

    registry = Registry()
    for spec in (*SYSTEM_TABLES, REG.table("workspace_settings")):
        registry.add_table(spec)
    registry.add_event(EventType("workspace.setting_changed", 1, SettingChanged, half_then_boom))
    staged = StagedState(FoldState())
    obj = ledger_object([setting_event(value=1)])
    report = fold_objects(staged, [obj], registry, "default")
    state = staged.commit()
    assert report.events_rejected == 1
    assert state.rows("workspace_settings") == {}
    assert state.rows("idempotency_keys") == {}
    (row,) = state.rows("quarantine").values()
    assert row["kind"] == "fold_error" and "bug" in row["reason"]
