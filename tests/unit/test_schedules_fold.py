"""The schedules fold rule by rule (found by mutation testing): what a deploy declares, what a
tick records (its requests above all), operator start/stop ordering, and the catch-up cap."""

from __future__ import annotations

import json
from typing import Any

from arco.domain import schedules
from arco.domain.fold import FoldContext
from arco.domain.registry import Registry
from arco.domain.schedules import (
    CatchUpCapped,
    RunRequestSpec,
    ScheduleStatusChanged,
    ScheduleTicked,
    capped_idempotency_key,
    status_idempotency_key,
    tick_idempotency_key,
)
from arco.domain.state import FoldState, StagedState
from arco.domain.system_tables import SYSTEM_TABLES
from arco.domain.tables import ROW_VERSION
from tests.factories import BASE_MS, EnvelopeWriter, FoldProjection


def _tables(registry: Registry) -> None:
    for spec in SYSTEM_TABLES:
        registry.add_table(spec)


REG = Registry().extend((_tables, schedules.install))


class P(FoldProjection):
    def __init__(self) -> None:
        super().__init__(REG)

    def sched(self, name: str = "s") -> dict[str, Any]:
        return dict(self.state.rows("schedule_state")[(name,)])


def tick(w: EnvelopeWriter, tick_ms: int, *requests: RunRequestSpec, ms: int | None = None) -> Any:
    payload = ScheduleTicked(
        schedule="s",
        tick_ms=tick_ms,
        tick_time="t",
        status="TRIGGERED" if requests else "SKIPPED",
        run_requests=list(requests),
        definitions_hash="h",
    )
    return w.envelope(schedules.SCHEDULE_TICKED, payload, tick_idempotency_key("s", tick_ms), ms)


def status(w: EnvelopeWriter, value: str, request_id: str, ms: int | None = None) -> Any:
    payload = ScheduleStatusChanged(
        schedule="s", status=value, changed_by="ops", request_id=request_id
    )
    key = status_idempotency_key("s", request_id)
    return w.envelope(schedules.SCHEDULE_STATUS_CHANGED, payload, key, ms)


def capped(w: EnvelopeWriter, now_ms: int) -> Any:
    payload = CatchUpCapped(schedule="s", now_ms=now_ms)
    return w.envelope(
        schedules.SCHEDULE_CATCH_UP_CAPPED, payload, capped_idempotency_key("s", now_ms)
    )


def test_a_tick_records_its_requests_once_and_moves_the_last_tick_forward_only() -> None:
    w, p = EnvelopeWriter(), P()
    requests = (
        RunRequestSpec(run_key="k1", asset_selection=["a"], tags={"z": "1", "b": "2"}),
        RunRequestSpec(run_key="k2", partition_key="2024-01-01", asset_selection=["a", "b"]),
    )
    assert p.deliver(tick(w, 2_000, *requests)) == ["applied"]
    assert p.sched()["last_tick_ms"] == 2_000
    rows = p.state.rows("run_requests")
    first = {k: v for k, v in rows[("schedule:s:2000:0",)].items() if not k.startswith("_")}
    assert {k: first[k] for k in first if k not in ("run_id", "error", "row_version")} == {
        "request_id": "schedule:s:2000:0",
        "source": "schedule",
        "source_name": "s",
        "tick_ms": 2_000,
        "run_key": "k1",
        "partition_key": None,
        "asset_selection": '["a"]',
        "tags": '{"b": "2", "z": "1"}',
        "status": "REQUESTED",
        "run_config": None,
    }
    second = rows[("schedule:s:2000:1",)]
    assert (second["partition_key"], second["asset_selection"]) == ("2024-01-01", '["a", "b"]')
    ticked = p.state.rows("schedule_ticks")[("s", 2_000)]
    assert json.loads(ticked["run_keys"]) == ["k1", "k2"]
    assert json.loads(ticked["partition_keys"]) == ["2024-01-01"]  # None keys left out
    # The same tick again (another timer): superseded, nothing added.
    assert p.deliver(tick(w, 2_000)) == ["duplicate"]  # the same key
    again = ScheduleTicked(
        schedule="s", tick_ms=2_000, tick_time="t", status="SKIPPED", definitions_hash="h"
    )
    assert p.deliver(w.envelope(schedules.SCHEDULE_TICKED, again, "other")) == ["superseded"]
    assert len(p.state.rows("run_requests")) == 2
    # An older tick folded late: recorded, but the last tick stays.
    assert p.deliver(tick(w, 1_000)) == ["applied"]
    assert p.sched()["last_tick_ms"] == 2_000
    assert p.deliver(tick(w, 0)) == ["applied"]  # the epoch tick: recorded, last tick stays
    assert p.sched()["last_tick_ms"] == 2_000


def test_the_first_tick_at_the_epoch_sets_the_last_tick() -> None:
    w, p = EnvelopeWriter(), P()
    p.deliver(tick(w, 0))
    assert p.sched()["last_tick_ms"] == 0


def test_operator_changes_apply_in_event_order_and_record_who_and_which() -> None:
    w, p = EnvelopeWriter(), P()
    late = status(w, "STOPPED", "r2", ms=BASE_MS + 10_000)
    early = status(w, "RUNNING", "r1", ms=BASE_MS + 5_000)
    assert p.deliver(late) == ["applied"]
    row = p.sched()
    assert (row["operator_status"], row["operator_changed_by"]) == ("STOPPED", "ops")
    assert row["operator_version"] == late.event_id
    assert row["operator_changed_at_ms"] == BASE_MS + 10_000
    assert p.deliver(early) == ["superseded"]  # older than what is recorded
    assert p.sched()["operator_status"] == "STOPPED"


def test_the_catch_up_cap_only_moves_forward() -> None:
    w, p = EnvelopeWriter(), P()
    assert p.deliver(capped(w, 5_000)) == ["applied"]
    assert p.sched()["capped_at_ms"] == 5_000
    assert p.deliver(
        w.envelope(
            schedules.SCHEDULE_CATCH_UP_CAPPED,
            CatchUpCapped(schedule="s", now_ms=5_000),
            "another-key",
        )
    ) == ["superseded"]
    assert p.deliver(capped(w, 4_000)) == ["superseded"]
    assert p.sched()["capped_at_ms"] == 5_000
    assert p.deliver(capped(w, 0)) == ["superseded"]
    fresh = P()
    assert fresh.deliver(capped(w, 0)) == ["applied"]  # nothing recorded yet: even 0 moves it


def test_a_deploy_declares_schedules_and_tracks_their_default_running_time() -> None:
    w = EnvelopeWriter()
    staged = StagedState(FoldState())

    def deploy(ms: int, *declared: tuple[str, str]) -> None:
        envelope = w.envelope(
            schedules.SCHEDULE_CATCH_UP_CAPPED, CatchUpCapped(schedule="x", now_ms=1), f"d{ms}", ms
        )
        ctx = FoldContext(staged, REG, envelope)
        snapshot = {"schedules": [{"name": n, "default_status": s} for n, s in declared]}
        schedules.on_deployed(ctx, snapshot)

    def row(name: str) -> dict[str, Any]:
        found = staged.get("schedule_state", (name,))
        assert found is not None
        return found

    deploy(1_000, ("b", "RUNNING"), ("a", "STOPPED"))
    assert (row("a")["declared_since_ms"], row("a")["default_running_since_ms"]) == (1_000, None)
    assert (row("b")["declared_since_ms"], row("b")["default_running_since_ms"]) == (1_000, 1_000)
    stamps = {n: row(n)[ROW_VERSION] for n in "ab"}
    deploy(2_000, ("a", "STOPPED"), ("b", "RUNNING"))  # unchanged: nothing moves
    assert row("b")["declared_since_ms"] == 1_000 and row("b")["default_running_since_ms"] == 1_000
    assert {n: row(n)[ROW_VERSION] for n in "ab"} == stamps  # not even rewritten
    deploy(3_000, ("b", "STOPPED"))
    assert row("b")["default_running_since_ms"] is None and row("b")["declared_since_ms"] == 1_000
    deploy(4_000, ("b", "RUNNING"))
    assert row("b")["default_running_since_ms"] == 4_000
    deploy(5_000)  # no schedules at all
    empty = w.envelope(
        schedules.SCHEDULE_CATCH_UP_CAPPED, CatchUpCapped(schedule="x", now_ms=1), "e"
    )
    schedules.on_deployed(FoldContext(staged, REG, empty), {})
    assert row("b")["default_running_since_ms"] == 4_000
