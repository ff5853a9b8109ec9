"""Runs still in progress are never counted as ended: not by the controller (a chunk with a run
in flight is not finished, nor counted canceled), not by the fold's chunk counters, not by the
per-asset counts `show_backfill` serves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from arco.domain.backfill_controller import BackfillView, advance_backfills
from arco.domain.backfills import (
    BACKFILLS,
    BackfillChunkFinished,
    BackfillStatusChanged,
    next_action,
)
from arco.domain.deployments import CURRENT_DEPLOYMENT
from arco.domain.run_identity import backfill_scope
from arco.domain.runs import RUNS, TASKS, RetrySpec, RunCancelRequested
from arco.domain.tables import Row
from arco.projections.parquet import arrow_schema
from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions
from arco.services.queries.backfills import show_backfill

B = "bf_1"
NOW = datetime(2024, 3, 1, tzinfo=UTC)
NOW_MS = 1_709_251_200_000
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
DEFS = Definitions(assets=[AssetSpec("a", partitions_def=DAILY)]).snapshot("t")
RETRY = RetrySpec(max_attempts=1, delay_ms=0)
IN_PROGRESS_RUN = ("QUEUED", "STARTING", "STARTED", "CANCELING")
IN_PROGRESS_TASK = ("PENDING", "DISPATCHED", "STARTED", "RETRY_WAIT")


def backfill(status: str = "REQUESTED", **extra: Any) -> Row:
    row: Row = dict.fromkeys(c.name for c in BACKFILLS.columns)
    row.update(
        backfill_id=B,
        status=status,
        selection="key:a",
        assets='["a"]',
        anchor="a",
        ranges="[[0, 2]]",
        total_partitions=2,
        chunk_size=1,
        chunks_total=2,
        chunks_planned=2,
        chunks_succeeded=0,
        chunks_failed=0,
        chunks_canceled=0,
        max_concurrent_runs=10,
        cancel_runs=True,
        status_version="v1",
        tags="{}",
        created_ms=1,
        status_changed_ms=1,
    )
    row.update(extra)
    return row


def chunk(n: int, *run_ids: str) -> Row:
    return {
        "backfill_id": B,
        "chunk": n,
        "status": "PLANNED",
        "run_ids": json.dumps(list(run_ids)),
        "pieces": json.dumps([[None, None]] * len(run_ids)),
        "partitions": 1,
    }


def advance(row: Row, chunks: list[Row], runs: dict[str, str]) -> list[Any]:
    view = BackfillView(row=row, chunks=chunks, run_status=runs)
    decisions = advance_backfills("ws", DEFS, [view], NOW, NOW_MS, RETRY)
    return [e.payload for e in decisions.events]


@pytest.mark.parametrize("running", IN_PROGRESS_RUN)
def test_a_chunk_with_a_run_in_flight_is_not_finished(running: str) -> None:
    payloads = advance(backfill(), [chunk(0, "r1", "r2")], {"r1": "SUCCESS", "r2": running})
    assert not any(isinstance(p, BackfillChunkFinished) for p in payloads)
    assert not any(isinstance(p, BackfillStatusChanged) for p in payloads)


@pytest.mark.parametrize("running", IN_PROGRESS_RUN)
def test_a_canceling_backfill_cancels_its_runs_in_flight_and_waits(running: str) -> None:
    payloads = advance(
        backfill("CANCELING"),
        [chunk(0, "r1", "r2"), chunk(1, "r3")],
        {"r1": "CANCELED", "r2": running, "r3": "SUCCESS"},
    )
    finished = [p for p in payloads if isinstance(p, BackfillChunkFinished)]
    assert [(p.chunk, p.outcome) for p in finished] == [(1, "SUCCESS")]  # chunk 0 still runs
    assert [p.run_id for p in payloads if isinstance(p, RunCancelRequested)] == ["r2"]
    assert not any(isinstance(p, BackfillStatusChanged) for p in payloads)  # not canceled yet


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (("SUCCESS", "SUCCESS"), "SUCCESS"),
        (("SUCCESS", "CANCELED"), "CANCELED"),
        (("CANCELED", "FAILURE"), "FAILURE"),
        (("FAILURE", "SUCCESS"), "FAILURE"),
    ],
)
def test_a_chunk_whose_runs_all_ended_finishes_with_the_worst_outcome(
    statuses: tuple[str, str], outcome: str
) -> None:
    runs = dict(zip(("r1", "r2"), statuses, strict=True))
    payloads = advance(backfill(), [chunk(0, "r1", "r2")], runs)
    finished = [p for p in payloads if isinstance(p, BackfillChunkFinished)]
    assert [(p.chunk, p.outcome) for p in finished] == [(0, outcome)]


def test_the_canceled_transition_waits_for_every_run_in_flight() -> None:
    row = backfill("CANCELING")
    assert next_action(row, 1) is None
    assert next_action(row, 0) == "canceled"
    done = backfill(chunks_succeeded=1, chunks_canceled=1)
    assert next_action(done, 0) == "complete_failed"
    assert next_action(done, 1) is None
    assert next_action(backfill(chunks_succeeded=1), 0) is None  # one chunk not finished
    assert next_action(backfill(chunks_succeeded=2), 0) == "complete_success"


class _Snapshot:
    def __init__(self, row: Row, runs: list[Row], tasks: list[Row]) -> None:
        self._rows = {BACKFILLS.name: {(B,): row}, "backfill_chunks": {}}
        self._tables = {
            RUNS.name: pa.Table.from_pylist(runs, schema=arrow_schema(RUNS)),
            TASKS.name: pa.Table.from_pylist(tasks, schema=arrow_schema(TASKS)),
            # nothing deployed: the view lists no key ranges
            CURRENT_DEPLOYMENT.name: pa.Table.from_pylist([], arrow_schema(CURRENT_DEPLOYMENT)),
        }

    def rows(self, name: str) -> dict[tuple[Any, ...], Row]:
        return self._rows.get(name, {})

    def table(self, name: str) -> pa.Table:
        return self._tables[name]


class _Workspace:
    def __init__(self, snapshot: _Snapshot) -> None:
        self._snapshot = snapshot

    def snapshot(self) -> _Snapshot:
        return self._snapshot


def test_show_backfill_counts_tasks_in_progress_as_in_progress() -> None:
    runs = [{"run_id": "r1", "scope": backfill_scope(B), "status": "STARTED"}]
    statuses = [
        "SUCCESS",
        "FAILURE",
        "SKIPPED",
        "CANCELED",
        *IN_PROGRESS_TASK,
    ]
    tasks = [
        {"run_id": "r1", "task_key": f"t{i}", "asset": "a", "status": s}
        for i, s in enumerate(statuses)
    ]
    view = show_backfill(_Workspace(_Snapshot(backfill(), runs, tasks)), B)  # type: ignore[arg-type]
    assert view["per_asset"] == {
        "a": {"materialized": 1, "failed": 2, "canceled": 1, "in_progress": 4}
    }
    assert view["anchor_partitions_planned"] == 0
    assert view["anchor_partitions_not_started"] == 2


# --- the controller, rule by rule (mutation testing) --------------------------------------------


def decide(row: Row, chunks: list[Row], runs: dict[str, str], **view: Any) -> Any:
    full = BackfillView(row=row, chunks=chunks, run_status=runs, **view)
    return advance_backfills("ws", DEFS, [full], NOW, NOW_MS, RETRY)


def pieces(n: int, *spans: tuple[str, str], status: str = "PLANNED") -> Row:
    from arco.domain.backfill_controller import piece_run_id

    return {
        "backfill_id": B,
        "chunk": n,
        "status": status,
        "run_ids": json.dumps([piece_run_id("ws", B, n, i) for i in range(len(spans))]),
        "pieces": json.dumps([list(s) for s in spans]),
        "partitions": len(spans),
    }


def test_a_planned_chunk_gets_one_run_requested_per_missing_piece() -> None:
    from arco.domain.backfill_controller import piece_run_id
    from arco.domain.runs import RUN_REQUESTED, RunRequested, run_requested_key
    from arco.domain.ulid import deterministic_ulid

    done = pieces(0, ("2024-01-01", "2024-01-01"), status="SUCCESS")
    chunk = pieces(1, ("2024-01-02", "2024-01-02"), ("2024-01-04", "2024-01-05"))
    first = piece_run_id("ws", B, 1, 0)
    row = backfill(chunks_total=2, chunks_planned=2, tags='{"team": "data"}')
    decisions = decide(row, [done, chunk], {first: "STARTED"})
    (event,) = decisions.events
    assert decisions.runs_requested == 1 and decisions.transitions == 0
    run = event.payload
    assert isinstance(run, RunRequested) and event.type == RUN_REQUESTED
    second = piece_run_id("ws", B, 1, 1)
    assert (run.run_id, run.run_key, run.scope) == (second, "chunk-1-1", "backfill:bf_1")
    assert (run.source, run.selection) == ("backfill", "key:a")
    assert run.partition_range == ("2024-01-04", "2024-01-05")
    assert run.tags == {
        "team": "data",
        "arco/asset_partition_range_start": "2024-01-04",
        "arco/asset_partition_range_end": "2024-01-05",
        "arco/backfill": B,
    }
    assert run.definitions_hash == DEFS.content_hash and run.retries == {"a": RETRY}
    key = run_requested_key(second)
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW_MS + 1, key))
    # Paused: the chunk's runs still start; canceling: they do not.
    assert (
        decide({**row, "status": "PAUSED"}, [done, chunk], {first: "STARTED"}).runs_requested == 1
    )
    canceling = {**row, "status": "CANCELING", "cancel_runs": False}
    assert decide(canceling, [done, chunk], {first: "STARTED"}).events == []


def test_a_piece_that_cannot_be_planned_fails_its_chunk_saying_why() -> None:
    chunk = pieces(0, ("2023-12-30", "2023-12-31"))  # before the partitions start
    decisions = decide(backfill(chunks_total=1, chunks_planned=1), [chunk], {})
    (event,) = decisions.events
    assert isinstance(event.payload, BackfillChunkFinished)
    assert (event.payload.chunk, event.payload.outcome) == (0, "FAILURE")
    assert event.payload.error is not None
    assert event.payload.error.startswith("chunk 0 ('2023-12-30', '2023-12-31') cannot be planned:")
    assert decisions.chunks_finished == 1 and decisions.runs_requested == 0


def test_a_backfill_the_controller_cannot_advance_fails_with_the_traceback() -> None:
    from arco.domain.backfills import status_key
    from arco.domain.ulid import deterministic_ulid

    unpartitioned = Definitions(assets=[AssetSpec("a")]).snapshot("t")  # the anchor lost them
    row = backfill(chunks_planned=0)
    view = BackfillView(row=row)
    decisions = advance_backfills("ws", unpartitioned, [view], NOW, NOW_MS, RETRY)
    (event,) = decisions.events
    change = event.payload
    assert isinstance(change, BackfillStatusChanged)
    assert (change.backfill_id, change.action, change.changed_by) == (B, "fail", "timer")
    assert change.request_id == "timer-fail-v1"
    assert change.error is not None and change.error.startswith("Traceback")
    assert "AttributeError" in change.error
    key = status_key(B, "timer-fail-v1")
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW_MS, key))
    assert decisions.transitions == 1


def test_the_transition_a_backfill_is_ready_for_is_recorded_once_per_status_version() -> None:
    from arco.domain.backfills import status_key
    from arco.domain.ulid import deterministic_ulid

    row = backfill(chunks_succeeded=2)
    finished = [
        pieces(0, ("2024-01-01", "2024-01-01"), status="SUCCESS"),
        pieces(1, ("2024-01-02", "2024-01-02"), status="SUCCESS"),
    ]
    decisions = decide(row, finished, {})
    (event,) = decisions.events
    change = event.payload
    assert isinstance(change, BackfillStatusChanged)
    assert (change.action, change.request_id, change.changed_by) == (
        "complete_success",
        "timer-complete_success-v1",
        "timer",
    )
    key = status_key(B, "timer-complete_success-v1")
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(NOW_MS, key))
    assert decisions.transitions == 1
    # A chunk still planned keeps a REQUESTED backfill open, even with no run in flight yet.
    waiting = [finished[0], pieces(1, ("2024-01-02", "2024-01-02"))]
    from arco.domain.backfill_controller import piece_run_id

    ended = {piece_run_id("ws", B, 1, 0): "QUEUED"}
    assert decide(backfill(chunks_succeeded=1), waiting, ended).transitions == 0


def test_decisions_merge_every_counter() -> None:
    from arco.domain.backfill_controller import BackfillDecisions

    total = BackfillDecisions()
    assert (total.chunks_planned, total.chunks_finished, total.runs_requested) == (0, 0, 0)
    assert total.transitions == 0 and total.events == []
    total.merge(BackfillDecisions(chunks_planned=1, chunks_finished=2, runs_requested=3))
    total.merge(BackfillDecisions(chunks_planned=1, transitions=4))
    assert (total.chunks_planned, total.chunks_finished, total.runs_requested) == (2, 2, 3)
    assert total.transitions == 4


def test_planning_fills_the_free_run_slots_and_applies_the_status_filter() -> None:
    from arco.domain.backfills import BackfillChunkPlanned

    row = backfill(
        chunks_total=4,
        chunks_planned=0,
        ranges="[[0, 4]]",
        total_partitions=4,
        max_concurrent_runs=3,
        status_filter="missing",
    )
    materialized = {"2024-01-02": "MATERIALIZED", "2024-01-03": "FAILED"}
    decisions = decide(row, [], {}, anchor_status=materialized)
    plans = [e.payload for e in decisions.events if isinstance(e.payload, BackfillChunkPlanned)]
    # 3 slots: chunks 0, 1 (empty: its key is materialized, no run but a slot), 2.
    assert [(p.chunk, p.partitions, p.pieces) for p in plans] == [
        (0, 1, [("2024-01-01", "2024-01-01")]),
        (1, 0, []),
        (2, 1, [("2024-01-03", "2024-01-03")]),
    ]
    assert decisions.chunks_planned == 3
    # A run in flight takes a slot: two chunks, then one more once the chunk 0 is planned.
    in_flight = [pieces(0, ("2024-01-01", "2024-01-01"))]
    from arco.domain.backfill_controller import piece_run_id

    running = {piece_run_id("ws", B, 0, 0): "STARTED"}
    later = decide({**row, "chunks_planned": 1}, in_flight, running, anchor_status=materialized)
    plans = [e.payload for e in later.events if isinstance(e.payload, BackfillChunkPlanned)]
    assert [p.chunk for p in plans] == [1, 2]


# --- the backfill fold, rule by rule (mutation testing) -----------------------------------------


def test_the_backfill_fold_records_each_step_and_says_what_it_did() -> None:
    from arco.domain import backfills as b
    from tests.unit.test_backfills_domain import Projection, Writer

    w, p = Writer(), Projection()
    created = w.created(chunks=3, size=2)
    assert p.deliver(created) == ["applied"]
    row = p.backfill()
    assert (row["cancel_runs"], row["root_backfill_id"], row["tags"]) == (False, B, "{}")
    assert (row["created_ms"], row["status_changed_ms"]) == (w.ms, w.ms)
    assert row["status_version"] == created.event_id
    again = w.envelope(b.BACKFILL_CREATED, created_payload(), "other-key")
    assert p.deliver(again) == ["superseded"]  # the same backfill id: created once

    assert p.deliver(w.planned(0, run_id=None)) == ["applied"]  # emptied by the filter: done
    assert p.backfill()["chunks_succeeded"] == 1 and p.backfill()["chunks_planned"] == 1
    assert p.deliver(w.planned(1)) == ["applied"]
    assert p.deliver(w.planned(1, version="v1")) == ["superseded"]  # planned once
    assert p.deliver(w.planned(9, version="v9")) == ["superseded"]  # beyond the last chunk
    finished = w.finished(1, "CANCELED")
    assert p.deliver(finished) == ["applied"]
    chunk = p.state.rows("backfill_chunks")[(B, 1)]
    assert (chunk["status"], chunk["finished_ms"]) == ("CANCELED", w.ms)
    counts = p.backfill()
    assert (counts["chunks_succeeded"], counts["chunks_failed"], counts["chunks_canceled"]) == (
        1,
        0,
        1,
    )
    assert p.deliver(w.envelope(b.BACKFILL_CHUNK_FINISHED, finished_payload(1), "k2")) == [
        "superseded"
    ]  # a chunk ends once

    cancel = w.envelope(
        b.BACKFILL_STATUS_CHANGED,
        BackfillStatusChanged(backfill_id=B, action="cancel", request_id="c1", cancel_runs=True),
        b.status_key(B, "c1"),
    )
    assert p.deliver(cancel) == ["applied"]
    row = p.backfill()
    assert (row["status"], row["cancel_runs"], row["status_changed_ms"]) == (
        "CANCELING",
        True,
        w.ms,
    )
    assert row["status_version"] == cancel.event_id
    assert p.deliver(w.action("cancel", "c2")) == ["superseded"]  # already canceling


def created_payload() -> Any:
    from arco.domain.backfills import BackfillCreated, PartitionSelection

    return BackfillCreated(
        backfill_id=B,
        selection="key:orders",
        assets=["orders"],
        anchor="orders",
        partitions=PartitionSelection(kind="all"),
        range_runs=[(0, 6, 6, 1)],
        chunk_size=2,
        max_concurrent_runs=2,
        fingerprint="f",
        tags={"b": "2", "a": "1"},
        root_backfill_id="bf_0",
    )


def finished_payload(chunk: int) -> BackfillChunkFinished:
    return BackfillChunkFinished(backfill_id=B, chunk=chunk, outcome="SUCCESS")


def test_a_created_backfill_keeps_its_root_and_sorted_tags() -> None:
    from arco.domain import backfills as b
    from tests.unit.test_backfills_domain import Projection, Writer

    w, p = Writer(), Projection()
    p.deliver(w.envelope(b.BACKFILL_CREATED, created_payload(), b.created_key(B)))
    row = p.backfill()
    assert row["root_backfill_id"] == "bf_0" and row["tags"] == '{"a": "1", "b": "2"}'


def test_events_about_an_unknown_backfill_are_rejected_and_a_failure_keeps_its_error() -> None:
    from arco.domain import backfills as b
    from tests.unit.test_backfills_domain import Projection, Writer

    w, p = Writer(), Projection()
    assert p.deliver(w.action("pause", "r1")) == ["rejected"]
    assert p.deliver(w.planned(0)) == ["rejected"]
    assert p.deliver(w.finished(0)) == ["rejected"]
    p.deliver(w.created())
    assert p.deliver(w.finished(0)) == ["rejected"]  # no such chunk yet
    fail = BackfillStatusChanged(backfill_id=B, action="fail", request_id="f", error="boom")
    assert p.deliver(w.envelope(b.BACKFILL_STATUS_CHANGED, fail, b.status_key(B, "f"))) == [
        "applied"
    ]
    row = p.backfill()
    assert (row["status"], row["error"], row["cancel_runs"]) == ("FAILED", "boom", False)
    assert p.deliver(w.planned(0)) == ["superseded"]  # not REQUESTED any more


def test_a_backfill_whose_chunks_all_succeeded_completes_successfully() -> None:
    row = backfill(chunks_succeeded=2, chunks_failed=0, chunks_canceled=0)
    assert next_action(row, 0) == "complete_success"
    assert next_action(backfill(chunks_succeeded=1, chunks_failed=1), 0) == "complete_failed"
    assert next_action(backfill(chunks_succeeded=0, chunks_canceled=2), 0) == "complete_failed"
    assert next_action(backfill(chunks_planned=1, chunks_succeeded=1), 0) is None


def test_a_finished_chunk_does_not_stop_the_next_from_getting_its_runs() -> None:
    from arco.domain.backfill_controller import piece_run_id

    first = pieces(0, ("2024-01-01", "2024-01-01"))
    second = pieces(1, ("2024-01-02", "2024-01-02"))
    runs = {piece_run_id("ws", B, 0, 0): "SUCCESS"}
    decisions = decide(backfill(), [first, second], runs)
    assert decisions.chunks_finished == 1 and decisions.runs_requested == 1


def test_without_a_status_filter_every_key_is_planned() -> None:
    from arco.domain.backfills import BackfillChunkPlanned

    row = backfill(chunks_total=2, chunks_planned=0, ranges="[[0, 2]]", max_concurrent_runs=5)
    decisions = decide(row, [], {}, anchor_status={"2024-01-01": "MATERIALIZED"})
    plans = [e.payload for e in decisions.events if isinstance(e.payload, BackfillChunkPlanned)]
    assert [(p.chunk, p.partitions) for p in plans] == [(0, 1), (1, 1)]


# The lifecycle, spelled out independently of backfills.TRANSITIONS.
LIFECYCLE = {
    "pause": {"REQUESTED": "PAUSED"},
    "resume": {"PAUSED": "REQUESTED"},
    "cancel": {"REQUESTED": "CANCELING", "PAUSED": "CANCELING"},
    "canceled": {"CANCELING": "CANCELED"},
    "complete_success": {"REQUESTED": "COMPLETED_SUCCESS"},
    "complete_failed": {"REQUESTED": "COMPLETED_FAILED"},
    "fail": {"REQUESTED": "FAILED", "PAUSED": "FAILED", "CANCELING": "FAILED"},
}
# How to reach each status from REQUESTED.
PATHS = {
    "REQUESTED": [],
    "PAUSED": ["pause"],
    "CANCELING": ["cancel"],
    "CANCELED": ["cancel", "canceled"],
    "COMPLETED_SUCCESS": ["complete_success"],
    "COMPLETED_FAILED": ["complete_failed"],
    "FAILED": ["fail"],
}


@pytest.mark.parametrize("action", sorted(LIFECYCLE))
@pytest.mark.parametrize("start", sorted(PATHS))
def test_every_transition_of_the_lifecycle(action: str, start: str) -> None:
    from tests.unit.test_backfills_domain import Projection, Writer

    w, p = Writer(), Projection()
    p.deliver(w.created())
    for n, step in enumerate(PATHS[start]):
        assert p.deliver(w.action(step, f"path-{n}")) == ["applied"]
    assert p.backfill()["status"] == start
    target = LIFECYCLE[action].get(start)
    outcome = p.deliver(w.action(action, "the-action"))
    assert outcome == (["applied"] if target else ["superseded"])
    assert p.backfill()["status"] == (target or start)


def test_the_terminal_statuses() -> None:
    from arco.domain.backfills import TERMINAL

    assert frozenset({"CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"}) == TERMINAL


def test_a_canceling_backfill_whose_last_runs_just_ended_is_canceled_in_the_same_call() -> None:
    from arco.domain.backfill_controller import piece_run_id

    chunk = pieces(0, ("2024-01-01", "2024-01-01"))
    ended = {piece_run_id("ws", B, 0, 0): "CANCELED"}
    decisions = decide(backfill("CANCELING"), [chunk], ended)
    finished, change = (e.payload for e in decisions.events)
    assert isinstance(finished, BackfillChunkFinished) and finished.outcome == "CANCELED"
    assert isinstance(change, BackfillStatusChanged) and change.action == "canceled"
    # A run still in flight: it is asked to cancel, by this backfill, and the backfill waits.
    running = {piece_run_id("ws", B, 0, 0): "STARTED"}
    (cancel,) = (e.payload for e in decide(backfill("CANCELING"), [chunk], running).events)
    assert isinstance(cancel, RunCancelRequested)
    assert cancel.requested_by == "backfill bf_1"


def test_a_failure_keeps_the_last_20000_characters_of_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arco.domain import backfill_controller

    def boom(*args: object) -> None:
        raise ValueError("x" * 30_000 + "END")

    monkeypatch.setattr(backfill_controller, "_advance", boom)
    (event,) = decide(backfill(), [], {}).events
    assert isinstance(event.payload, BackfillStatusChanged)
    error = event.payload.error
    assert error is not None and len(error) == 20_000 and error.rstrip().endswith("END")


def test_selection_bounds_and_chunk_arguments() -> None:
    from arco.domain.backfills import (
        MAX_EXPLICIT_KEYS,
        PartitionSelection,
        chunk_ranges,
        resolve_selection,
        total,
    )
    from arco.domain.errors import InvalidInput

    assert MAX_EXPLICIT_KEYS == 1_000_000
    keys = tuple(str(i) for i in range(1_000_000))
    many = PartitionSelection(kind="keys", keys=keys)
    assert len(many.keys) == 1_000_000  # exactly the limit is allowed
    with pytest.raises(ValueError, match="at most 1000000 explicit keys"):
        PartitionSelection(kind="keys", keys=(*keys, "one more"))
    space = DAILY.key_space()
    now = datetime(2024, 3, 1, tzinfo=UTC)
    one = PartitionSelection(kind="range", first="2024-01-05", last="2024-01-05")
    assert total(resolve_selection(one, space, now)) == 1  # a one-key range is not reversed
    not_yet = PartitionSelection(kind="keys", keys=("2024-03-01",))  # closes at Mar 2
    with pytest.raises(InvalidInput, match="outside"):
        resolve_selection(not_yet, space, now)
    for size, chunk_index in ((0, 0), (1, -1)):
        with pytest.raises(InvalidInput, match="chunk size must be at least 1"):
            chunk_ranges(((0, 5),), size, chunk_index)


def test_the_fold_records_chunk_bounds_errors_and_counters() -> None:
    from arco.domain import backfills as b
    from arco.domain.backfills import BackfillChunkPlanned, BackfillCreated
    from tests.unit.test_backfills_domain import Projection, Writer

    w, p = Writer(), Projection()
    whole = BackfillCreated(
        backfill_id=B,
        selection="key:flat",
        assets=["flat"],
        chunk_size=1,
        max_concurrent_runs=1,
        fingerprint="f",
    )
    p.deliver(w.envelope(b.BACKFILL_CREATED, whole, b.created_key(B)))
    assert p.backfill()["chunks_total"] == 1  # an unpartitioned backfill is one chunk
    w, p = Writer(), Projection()
    p.deliver(w.created(chunks=3, size=2))
    planned = BackfillChunkPlanned(
        backfill_id=B, chunk=0, partitions=3, pieces=[("a", "b"), ("d", "e")], run_ids=["r1", "r2"]
    )
    p.deliver(w.envelope(b.BACKFILL_CHUNK_PLANNED, planned, b.chunk_key(B, 0, "v0")))
    chunk = p.state.rows("backfill_chunks")[(B, 0)]
    assert (chunk["first_key"], chunk["last_key"]) == ("a", "e")
    failed = BackfillChunkFinished(backfill_id=B, chunk=0, outcome="FAILURE", error="boom")
    p.deliver(w.envelope(b.BACKFILL_CHUNK_FINISHED, failed, b.chunk_finished_key(B, 0)))
    chunk = p.state.rows("backfill_chunks")[(B, 0)]
    assert (chunk["status"], chunk["error"]) == ("FAILURE", "boom")
    row = p.backfill()
    assert (row["chunks_failed"], row["chunks_canceled"], row["chunks_succeeded"]) == (1, 0, 0)
    # A chunk that does not exist is rejected by the rule (not a fold error).
    p.deliver(w.finished(7))
    kinds = {r["kind"] for r in p.state.rows("quarantine").values()}
    assert kinds == {"rejected"}


def test_failed_and_canceled_chunks_both_make_the_backfill_failed() -> None:
    row = backfill(chunks_succeeded=0, chunks_failed=1, chunks_canceled=1)
    assert next_action(row, 0) == "complete_failed"


def test_an_unpartitioned_backfill_is_planned_as_one_chunk_of_one_run() -> None:
    from arco.domain.backfill_controller import piece_run_id
    from arco.domain.backfills import BackfillChunkPlanned

    row = backfill(anchor=None, ranges="[]", chunks_total=1, chunks_planned=0, total_partitions=0)
    (event,) = decide(row, [], {}).events
    plan = event.payload
    assert isinstance(plan, BackfillChunkPlanned)
    assert (plan.chunk, plan.partitions, plan.pieces) == (0, 0, [(None, None)])
    assert plan.run_ids == [piece_run_id("ws", B, 0, 0)]


def test_a_chunk_over_excluded_days_is_one_run_whose_range_skips_them() -> None:
    """Dagster keeps one key range over a weekday-only definition's weekends; so does a chunk:
    one piece, one run (whose range expands to the weekdays only). Keys the backfill did not
    select, or that a status filter left out, still split it."""
    from arco.domain.backfills import BackfillChunkPlanned, resolve_selection
    from arco.sdk import TimeWindowPartitionsDefinition

    weekdays = TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * *",
        start="2024-01-01",  # a Monday
        fmt="%Y-%m-%d",
        exclusions=["0 0 * * 6", "0 0 * * 0"],  # Saturdays and Sundays
    )
    defs = Definitions(assets=[AssetSpec("a", partitions_def=weekdays)]).snapshot("t")
    space = weekdays.key_space()
    selection = resolve_selection_of(resolve_selection, "2024-01-04", "2024-01-09", space)

    def plan(status_filter: str | None = None, status: dict[str, str] | None = None) -> Any:
        row = backfill(
            chunks_total=1, chunks_planned=0, ranges=json.dumps(selection), total_partitions=4,
            chunk_size=4, status_filter=status_filter,
        )  # fmt: skip
        view = BackfillView(row=row, chunks=[], run_status={}, anchor_status=status or {})
        decisions = advance_backfills("ws", defs, [view], NOW, NOW_MS, RETRY)
        (planned,) = [
            e.payload for e in decisions.events if isinstance(e.payload, BackfillChunkPlanned)
        ]
        return planned.partitions, planned.pieces

    # Thursday 4th to Tuesday 9th: two ranges of the key space (the weekend is a hole).
    assert len(selection) == 2
    assert plan() == (4, [("2024-01-04", "2024-01-09")])
    assert weekdays.keys_in_range("2024-01-04", "2024-01-09", NOW) == [
        "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09",
    ]  # fmt: skip
    # A present key left out by the filter splits the chunk as before.
    assert plan("missing", {"2024-01-05": "MATERIALIZED"}) == (
        3, [("2024-01-04", "2024-01-04"), ("2024-01-08", "2024-01-09")],
    )  # fmt: skip


def resolve_selection_of(resolve: Any, first: str, last: str, space: Any) -> list[list[int]]:
    from arco.domain.backfills import PartitionSelection

    ranges = resolve(PartitionSelection(kind="range", first=first, last=last), space, NOW)
    return [list(r) for r in ranges]
