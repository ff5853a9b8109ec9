"""What the timer decides about backfills at `now`. Pure: state in, events out.

For each backfill that is not terminal, in this order:

1. a planned chunk whose runs have all ended is finished: SUCCESS, or FAILURE / CANCELED if
   any run was (the chunk's failed partitions and their downstream were never launched: the
   run skipped them);
2. a planned chunk whose runs do not exist yet gets its `run.requested` events (one run per
   contiguous piece of anchor keys, scope `backfill:<id>`, run key `chunk-<n>-<piece>`), unless
   the backfill is being canceled;
3. a REQUESTED backfill plans its next chunks while fewer than `max_concurrent_runs` of its
   runs are in flight; the status filter (missing / failed) is applied to each chunk as it is
   planned, against `partition_status` at that moment;
4. a CANCELING backfill asks its runs in flight to cancel when `cancel_runs` was set;
5. the transition the backfill is ready for (complete, canceled), keyed by its status version
   so a transition that lost a race never blocks the next one.

Chunks are planned from the backfill's folded status version: a plan made from a stale view
(a pause raced it) is dropped by the fold, and no run is requested for a chunk the fold has
not recorded (requests come from the chunk rows, one timer step later).
"""

from __future__ import annotations

import bisect
import json
import math
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from arco.domain.backfills import (
    BACKFILL_CHUNK_FINISHED,
    BACKFILL_CHUNK_PLANNED,
    BACKFILL_STATUS_CHANGED,
    BackfillChunkFinished,
    BackfillChunkPlanned,
    BackfillStatusChanged,
    ChunkOutcome,
    Ranges,
    chunk_finished_key,
    chunk_key,
    chunk_ranges,
    next_action,
    status_key,
    unpack_ranges,
)
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.partitions import NO_DYNAMIC
from arco.domain.run_identity import backfill_scope, keyed_run_id
from arco.domain.run_requests import prepare_run, system_tags
from arco.domain.runs import (
    RUN_CANCEL_REQUESTED,
    RUN_REQUESTED,
    TERMINAL_RUN,
    RetrySpec,
    RunCancelRequested,
    RunRequested,
    run_requested_key,
)
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid

Dynamic = Mapping[str, Sequence[str]]


@dataclass
class BackfillDecisions:
    events: list[NewEvent] = field(default_factory=list)
    chunks_planned: int = 0
    chunks_finished: int = 0
    runs_requested: int = 0
    transitions: int = 0

    def merge(self, other: BackfillDecisions) -> None:
        self.events.extend(other.events)
        self.chunks_planned += other.chunks_planned
        self.chunks_finished += other.chunks_finished
        self.runs_requested += other.runs_requested
        self.transitions += other.transitions


@dataclass(frozen=True)
class BackfillView:
    """One backfill as the timer sees it: its row, its chunk rows, its runs' statuses, and
    (for a status filter) the anchor's partition statuses by key."""

    row: Row
    chunks: Sequence[Row] = ()
    run_status: Mapping[str, str] = field(default_factory=dict)
    anchor_status: Mapping[str, str] = field(default_factory=dict)


def piece_run_id(workspace: str, backfill_id: str, chunk: int, piece: int) -> str:
    return keyed_run_id(workspace, backfill_scope(backfill_id), f"chunk-{chunk}-{piece}")


def advance_backfills(
    workspace: str,
    defs: DefinitionsSnapshot,
    views: Sequence[BackfillView],
    now: datetime,
    now_ms: int,
    default_retry: RetrySpec,
    dynamic: Dynamic = NO_DYNAMIC,
) -> BackfillDecisions:
    decisions = BackfillDecisions()
    for view in views:
        # One backfill's trouble is that backfill's failure: the others go on.
        own = BackfillDecisions()
        try:
            _advance(workspace, defs, view, now, now_ms, default_retry, dynamic, own)
        except Exception:
            own = BackfillDecisions(events=[_failed(view.row, traceback.format_exc(), now_ms)])
            own.transitions = 1
        decisions.merge(own)
    return decisions


def _failed(row: Row, error: str, now_ms: int) -> NewEvent:
    """The backfill is FAILED with the error (once per status version, like every timer
    transition: two timers deciding it write one event)."""
    request_id = f"timer-fail-{row['status_version']}"
    payload = BackfillStatusChanged(
        backfill_id=row["backfill_id"],
        action="fail",
        request_id=request_id,
        changed_by="timer",
        error=error[-20_000:],
    )
    key = status_key(row["backfill_id"], request_id)
    return _event(BACKFILL_STATUS_CHANGED, payload, key, now_ms)


def _event(type_: str, payload: BaseModel, key: str, ms: int) -> NewEvent:
    return NewEvent(type_, payload, key, event_id=deterministic_ulid(ms, key))


def _advance(
    workspace: str,
    defs: DefinitionsSnapshot,
    view: BackfillView,
    now: datetime,
    now_ms: int,
    default_retry: RetrySpec,
    dynamic: Dynamic,
    decisions: BackfillDecisions,
) -> None:
    row = view.row
    status = row["status"]
    in_flight: list[str] = []
    for chunk in view.chunks:
        if chunk["status"] != "PLANNED":
            continue
        run_ids = json.loads(chunk["run_ids"] or "[]")
        statuses = [view.run_status.get(run_id) for run_id in run_ids]
        if all(s in TERMINAL_RUN for s in statuses):
            _finish(row, chunk["chunk"], _outcome(statuses), None, now_ms, decisions)
            continue
        in_flight.extend(r for r, s in zip(run_ids, statuses, strict=True) if s not in TERMINAL_RUN)
        if status in {"REQUESTED", "PAUSED"}:  # a paused backfill's chunks still run
            _request_runs(defs, view, chunk, now, now_ms, default_retry, dynamic, decisions)
    if status == "REQUESTED":
        _plan(workspace, defs, view, in_flight, now, now_ms, dynamic, decisions)
    if status == "CANCELING" and row.get("cancel_runs"):
        for run_id in in_flight:
            cancel = RunCancelRequested(
                run_id=run_id, requested_by=f"backfill {row['backfill_id']}"
            )
            decisions.events.append(
                _event(RUN_CANCEL_REQUESTED, cancel, f"cancel:{run_id}", now_ms)
            )
    action = next_action(row, len(in_flight) if status == "CANCELING" else _busy(view))
    if action is not None:
        request_id = f"timer-{action}-{row['status_version']}"
        change = BackfillStatusChanged(
            backfill_id=row["backfill_id"],
            action=action,  # type: ignore[arg-type]
            request_id=request_id,
            changed_by="timer",
        )
        key = status_key(row["backfill_id"], request_id)
        decisions.events.append(_event(BACKFILL_STATUS_CHANGED, change, key, now_ms))
        decisions.transitions += 1


def _outcome(statuses: Sequence[str | None]) -> ChunkOutcome:
    if "FAILURE" in statuses:
        return "FAILURE"
    return "CANCELED" if "CANCELED" in statuses else "SUCCESS"


def _finish(
    row: Row,
    chunk: int,
    outcome: ChunkOutcome,
    error: str | None,
    now_ms: int,
    decisions: BackfillDecisions,
) -> None:
    payload = BackfillChunkFinished(
        backfill_id=row["backfill_id"], chunk=chunk, outcome=outcome, error=error
    )
    key = chunk_finished_key(row["backfill_id"], chunk)
    decisions.events.append(_event(BACKFILL_CHUNK_FINISHED, payload, key, now_ms))
    decisions.chunks_finished += 1


def _request_runs(
    defs: DefinitionsSnapshot,
    view: BackfillView,
    chunk: Row,
    now: datetime,
    now_ms: int,
    default_retry: RetrySpec,
    dynamic: Dynamic,
    decisions: BackfillDecisions,
) -> None:
    """`run.requested` for each piece of a planned chunk whose run does not exist yet."""
    run_ids = json.loads(chunk["run_ids"] or "[]")
    pieces = json.loads(chunk["pieces"] or "[]")
    for piece, (run_id, (first, last)) in enumerate(zip(run_ids, pieces, strict=True)):
        if view.run_status.get(run_id) is not None:
            continue
        span = None if first is None else (first, last)
        event = _run_request(
            defs,
            view.row,
            (chunk["chunk"], piece),
            run_id,
            span,
            now_ms,
            now,
            default_retry,
            dynamic,
        )
        if isinstance(event, str):  # can never run: the chunk fails, saying why
            _finish(view.row, chunk["chunk"], "FAILURE", event, now_ms, decisions)
            return
        decisions.events.append(event)
        decisions.runs_requested += 1


def _busy(view: BackfillView) -> int:
    """Chunks still PLANNED (their runs not all ended, as folded)."""
    return sum(1 for chunk in view.chunks if chunk["status"] == "PLANNED")


def _run_request(
    defs: DefinitionsSnapshot,
    row: Row,
    position: tuple[int, int],
    run_id: str,
    span: tuple[str, str] | None,
    now_ms: int,
    now: datetime,
    default_retry: RetrySpec,
    dynamic: Dynamic,
) -> NewEvent | str:
    """The run of one piece (`position`: chunk, piece), or why it cannot be planned (the chunk
    then fails, with the reason)."""
    assets = json.loads(row["assets"])
    tags = dict(json.loads(row["tags"] or "{}"))
    try:
        prepared = prepare_run(defs, assets, None, span, tags, now, default_retry, dynamic)
    except InvalidInput as exc:
        return f"chunk {position[0]} {span or ''} cannot be planned: {exc}"
    backfill_id = row["backfill_id"]
    payload = RunRequested(
        run_id=run_id,
        run_key=f"chunk-{position[0]}-{position[1]}",
        scope=backfill_scope(backfill_id),
        fingerprint=prepared.fingerprint,
        source="backfill",
        selection=row["selection"],
        partition_range=span,
        tags={
            **tags,
            **(system_tags(None, span) if span else {}),
            "arco/backfill": backfill_id,
        },
        definitions_hash=defs.content_hash,
        plan=prepared.plan.to_json(),
        retries=prepared.retries,
    )
    key = run_requested_key(run_id)
    return NewEvent(RUN_REQUESTED, payload, key, event_id=deterministic_ulid(now_ms + 1, key))


def _plan(
    workspace: str,
    defs: DefinitionsSnapshot,
    view: BackfillView,
    in_flight: list[str],
    now: datetime,
    now_ms: int,
    dynamic: Dynamic,
    decisions: BackfillDecisions,
) -> None:
    row = view.row
    backfill_id = row["backfill_id"]
    capacity = int(row["max_concurrent_runs"]) - len(in_flight)
    planned = {int(chunk["chunk"]) for chunk in view.chunks}
    next_chunk = 0
    ranges: Ranges = unpack_ranges(json.loads(row["ranges"] or "[]"))
    anchor = row["anchor"]
    space = defs.assets[anchor].partitions.key_space(dynamic) if anchor else None  # type: ignore[union-attr]
    status_filter = row.get("status_filter")
    while capacity > 0 and next_chunk < int(row["chunks_total"]):
        if next_chunk in planned:
            next_chunk += 1
            continue
        if space is None:  # an unpartitioned backfill is one chunk, one run
            pieces: list[tuple[str | None, str | None]] = [(None, None)]
            count = 0
        else:
            indexes = [
                i
                for lo, hi in chunk_ranges(ranges, int(row["chunk_size"]), next_chunk)
                for i in range(lo, hi)
            ]
            by_index = {
                i: key
                for lo, hi in _contiguous(indexes)
                for i, key in zip(range(lo, hi + 1), space.keys_between(lo, hi + 1), strict=True)
            }
            kept = [
                i for i in indexes if _wanted(view.anchor_status.get(by_index[i]), status_filter)
            ]
            present = space.all_ranges(now)
            pieces = [(by_index[a], by_index[b]) for a, b in _spans(kept, present)]
            count = len(kept)
        run_ids = [piece_run_id(workspace, backfill_id, next_chunk, n) for n in range(len(pieces))]
        payload = BackfillChunkPlanned(
            backfill_id=backfill_id,
            chunk=next_chunk,
            partitions=count,
            pieces=pieces,  # type: ignore[arg-type]  # (str, str) or (None, None)
            run_ids=run_ids,
        )
        key = chunk_key(backfill_id, next_chunk, row["status_version"])
        decisions.events.append(_event(BACKFILL_CHUNK_PLANNED, payload, key, now_ms))
        decisions.chunks_planned += 1
        capacity -= max(1, len(run_ids))
        next_chunk += 1


def _wanted(status: str | None, status_filter: str | None) -> bool:
    """Whether an anchor key passes the filter: `missing` keeps keys never materialized,
    `failed` keeps keys whose last attempt failed, no filter keeps everything. (The caller
    reports a key as MATERIALIZED or FAILED accordingly.)"""
    if status_filter == "missing":
        return status != "MATERIALIZED"
    if status_filter == "failed":
        return status == "FAILED"
    return True


def _spans(indexes: Sequence[int], present: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted indexes as inclusive (first, last) runs with no present key left out between
    them: a gap of keys the definition excludes (a weekday-only schedule's weekend) does not
    split a run, as Dagster's key ranges skip excluded keys; a present key not wanted does."""
    out: list[tuple[int, int]] = []
    for i in indexes:
        if out and not _any_present(out[-1][1] + 1, i, present):
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def _any_present(lo: int, hi: int, present: Sequence[tuple[int, int]]) -> bool:
    """Is any index in [lo, hi) a key present now? (`present`: sorted half-open ranges.)"""
    if lo >= hi:
        return False
    at = bisect.bisect_right(present, (lo, math.inf)) - 1
    for a, b in present[max(at, 0) :]:
        if a >= hi:
            return False
        if b > lo:  # overlaps [lo, hi): it starts before hi and ends after lo
            return True
    return False


def _contiguous(indexes: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indexes as inclusive (first, last) runs of consecutive numbers."""
    out: list[tuple[int, int]] = []
    for i in indexes:
        if out and i == out[-1][1] + 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out
