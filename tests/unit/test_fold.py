"""The fold engine's rules, one by one, on the pure core."""

from __future__ import annotations

import json

import pytest

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


def test_an_event_of_another_workspace_in_this_workspaces_batch_quarantines_the_object():
    # The batch header says "default", one event inside says "other": the event-level check
    # quarantines the whole object, the good event included.
    good = setting_event(value=1, ms=BASE_MS)
    stray = setting_event(workspace="other", value=7, request_id="stray", ms=BASE_MS + 1)
    obj = ledger_object([good, stray], workspace="default")
    state, report = fold(obj)
    assert report.objects_quarantined == 1 and report.events_applied == 0
    row = state.rows("quarantine")[(obj.name, "")]
    assert row["kind"] == "wrong_workspace"
    assert "'other'" in row["reason"]
    assert state.rows("workspace_settings") == {}
    assert state.rows("ledger_objects")[(obj.name,)]["status"] == "quarantined"


def test_a_batch_of_another_workspace_is_quarantined_even_if_its_events_say_ours():
    ours = setting_event(value=1)
    obj = ledger_object([ours], workspace="other")
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


# --- rules' table access, the report, and what the fold records (mutation testing) ----------


def _registry_with(rule):  # type: ignore[no-untyped-def]
    """The settings event folded by `rule` instead of its own."""
    from arco.domain.registry import EventType, Registry
    from arco.domain.settings import SettingChanged
    from arco.domain.system_tables import SYSTEM_TABLES

    registry = Registry()
    for spec in (*SYSTEM_TABLES, REG.table("workspace_settings")):
        registry.add_table(spec)
    registry.add_event(EventType("workspace.setting_changed", 1, SettingChanged, rule))
    return registry


def _fold_with(registry, *objects, state=None):  # type: ignore[no-untyped-def]
    staged = StagedState(state or FoldState())
    report = fold_objects(staged, objects, registry, "default")
    return staged.commit(), report


def test_a_rule_writing_an_unknown_column_is_a_fold_error():
    from arco.domain.fold import Outcome

    def bogus(ctx, event):  # type: ignore[no-untyped-def]
        ctx.put("workspace_settings", {"name": "x", "value": "1", "colour": "red"})
        return Outcome.APPLIED

    state, report = _fold_with(_registry_with(bogus), ledger_object([setting_event(value=1)]))
    assert report.events_rejected == 1 and report.events_applied == 0
    (row,) = state.rows("quarantine").values()
    assert row["kind"] == "fold_error"
    assert row["reason"] == "ValueError: table workspace_settings: unknown columns ['colour']"
    assert state.rows("workspace_settings") == {}


def test_put_stamps_the_newest_event_whatever_the_arrival_order():
    from arco.domain.fold import Outcome
    from arco.domain.tables import ROW_VERSION

    def touch(ctx, event):  # type: ignore[no-untyped-def]
        ctx.put("workspace_settings", {"name": "n", "value": json.dumps(event.value)})
        return Outcome.APPLIED

    registry = _registry_with(touch)
    late = setting_event(value=2, request_id="late", ms=BASE_MS + 10)
    early = setting_event(value=1, request_id="early", ms=BASE_MS)
    state, _ = _fold_with(registry, ledger_object([late], name=ulid_at(BASE_MS, 1)))
    state, _ = _fold_with(registry, ledger_object([early], name=ulid_at(BASE_MS, 2)), state=state)
    row = state.rows("workspace_settings")[("n",)]
    assert row["value"] == "1"  # `put` writes (the rule decides what wins) ...
    assert row[ROW_VERSION] == late.event_id  # ... stamped with the newest event that touched it

    def versioned(ctx, event):  # type: ignore[no-untyped-def]
        ctx.put("workspace_settings", {"name": "n", "value": "v"}, version="0" * 26)
        return Outcome.APPLIED

    state, _ = _fold_with(_registry_with(versioned), ledger_object([early]))
    assert state.rows("workspace_settings")[("n",)][ROW_VERSION] == "0" * 26  # as given


def test_the_report_counts_every_outcome():
    from arco.domain.fold import FoldReport

    early = setting_event(value=1, request_id="a", ms=BASE_MS)
    late = setting_event(value=2, request_id="b", ms=BASE_MS + 10)
    again = setting_event(value=3, request_id="b", ms=BASE_MS + 20)
    rejected = setting_event(name="no.such.setting", value=1, request_id="c", ms=BASE_MS + 30)
    unknown = setting_event(event_type="future.thing_happened", request_id="d", ms=BASE_MS + 40)
    first = ledger_object([late], name=ulid_at(BASE_MS, 1))
    second = ledger_object([early, again, rejected, unknown], name=ulid_at(BASE_MS, 2))
    bad = LedgerObject(ulid_at(BASE_MS, 3), b"[]")
    state, report = fold(first)
    state, more = fold(second, bad, first, state=state)
    assert report.as_dict() == {
        "objects": 1,
        "objects_skipped": 0,
        "objects_quarantined": 0,
        "events_applied": 1,
        "events_superseded": 0,
        "events_duplicate": 0,
        "events_rejected": 0,
        "events_unsupported": 0,
    }
    assert more.as_dict() == {
        "objects": 2,
        "objects_skipped": 1,
        "objects_quarantined": 1,
        "events_applied": 0,
        "events_superseded": 1,
        "events_duplicate": 1,
        "events_rejected": 1,
        "events_unsupported": 1,
    }
    assert more.events_seen == 4 and report.events_seen == 1
    assert more.quarantined == [(bad.name, "<root>: Input should be an object")]
    total = FoldReport()
    total.add(report)
    total.add(more)
    assert total.as_dict() == {
        "objects": 3,
        "objects_skipped": 1,
        "objects_quarantined": 1,
        "events_applied": 1,
        "events_superseded": 1,
        "events_duplicate": 1,
        "events_rejected": 1,
        "events_unsupported": 1,
    }
    assert total.quarantined == more.quarantined and total.events_seen == 5


def test_what_the_fold_records_per_object_event_and_key():
    applied = setting_event(value=1, request_id="a", ms=BASE_MS)
    rejected = setting_event(name="no.such.setting", value=1, request_id="c", ms=BASE_MS + 1)
    obj = ledger_object([applied, rejected])
    state, _ = fold(obj)
    ledger = state.rows("ledger_objects")[(obj.name,)]
    assert (ledger["event_count"], ledger["status"]) == (2, "folded")
    key = state.rows("idempotency_keys")[(applied.idempotency_key,)]
    assert (key["event_id"], key["event_type"]) == (applied.event_id, "workspace.setting_changed")
    row = state.rows("quarantine")[(obj.name, rejected.event_id)]
    assert row["kind"] == "rejected" and row["reason"]
    bad = LedgerObject(ulid_at(BASE_MS, 9), b"[]")
    state, _ = fold(bad)
    ledger = state.rows("ledger_objects")[(bad.name,)]
    assert (ledger["event_count"], ledger["status"]) == (0, "quarantined")
    row = state.rows("quarantine")[(bad.name, "")]
    assert (row["kind"], row["reason"]) == ("invalid_batch", "<root>: Input should be an object")


def test_a_rejection_without_a_reason_names_the_event_type():
    from arco.domain.fold import Outcome

    def refuse(ctx, event):  # type: ignore[no-untyped-def]
        return Outcome.REJECTED

    def refuse_saying(ctx, event):  # type: ignore[no-untyped-def]
        return ctx.reject("not today")

    obj = ledger_object([setting_event(value=1)])
    state, _ = _fold_with(_registry_with(refuse), obj)
    (row,) = state.rows("quarantine").values()
    assert row["reason"] == "workspace.setting_changed names something this state does not have"
    state, _ = _fold_with(_registry_with(refuse_saying), obj)
    (row,) = state.rows("quarantine").values()
    assert (row["kind"], row["reason"]) == ("rejected", "not today")


@pytest.mark.parametrize(
    ("count", "tail"),
    [(5, "events.4: Input should be an object"), (6, "and 1 more"), (7, "and 2 more")],
)
def test_a_batch_with_many_errors_lists_five_and_counts_the_rest(count: int, tail: str):
    body = json.dumps({"format": "arco.ledger/1", "workspace": "default", "events": [1] * count})
    bad = LedgerObject(ulid_at(BASE_MS, 5), body.encode())
    state, _ = fold(bad)
    reason = state.rows("quarantine")[(bad.name, "")]["reason"]
    parts = reason.split("; ")
    assert parts[:5] == [f"events.{i}: Input should be an object" for i in range(5)]
    assert parts[-1] == tail and len(parts) == (5 if count == 5 else 6)


def test_an_event_of_an_unsupported_version_is_quarantined_with_the_registrys_reason():
    unknown = setting_event(event_type="future.thing_happened")
    obj = ledger_object([unknown])
    state, report = fold(obj)
    row = state.rows("quarantine")[(obj.name, unknown.event_id)]
    assert row["kind"] == "unsupported_event" and report.quarantined == []
    assert row["reason"] and "future.thing_happened" in row["reason"]


def test_each_object_records_the_fold_call_that_took_it():
    from arco.domain.fold import FoldCall

    good = ledger_object([setting_event(value=1, request_id="a", ms=BASE_MS)])
    bad = LedgerObject(ulid_at(BASE_MS, 9), b"[]")
    staged = StagedState(FoldState())
    fold_objects(staged, [good, bad], REG, "default", FoldCall(41, 3))
    again = fold_objects(staged, [good], REG, "default", FoldCall(42, 1))
    state = staged.commit()
    assert again.objects_skipped == 1  # already taken: its record stays the first call's
    for name in (good.name, bad.name):
        row = state.rows("ledger_objects")[(name,)]
        assert (row["fold_after_manifest"], row["fold_call"]) == (41, 3)
