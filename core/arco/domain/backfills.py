"""Backfills: a partition selection over an asset selection, planned chunk by chunk into runs.

The compact partition selection, its resolution to index ranges of the anchor's key space,
chunk arithmetic, the lifecycle and its fold rules. Pure.

- The selection is stored compactly: an explicit key list, a range, or "all", resolved once at
  creation to sorted, disjoint, half-open index ranges of the anchor asset's key space, stored
  as runs of equally spaced ranges (a 100,000-partition range is one run, and so is a
  100,000-key every-other-hour list; an explicit list keeps only its count). Chunk `i` is
  positions `[i * size, (i + 1) * size)` of the concatenated ranges, computed without listing
  keys.
- Lifecycle (Dagster's `BulkActionStatus` without its deprecated COMPLETED and its FAILING,
  plus PAUSED, which Dagster OSS lacks; docs/backfills.md §3):

      REQUESTED --pause--> PAUSED --resume--> REQUESTED
      REQUESTED | PAUSED --cancel--> CANCELING --canceled (no run in flight)--> CANCELED
      REQUESTED --complete--> COMPLETED_SUCCESS | COMPLETED_FAILED
      REQUESTED | PAUSED | CANCELING --fail (the timer's decision raised)--> FAILED

  Terminal states are final. A transition is applied when the backfill is in one of its
  source states and superseded otherwise (a duplicate, or a race the service already refused
  with a 409), so duplicate delivery changes nothing and statuses never move backwards.
- `backfill_chunks` records each planned chunk (keys, run id) and, once its run ends, the
  outcome; the backfill's counters follow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arco.domain.errors import InvalidInput
from arco.domain.fold import FoldContext
from arco.domain.partitions.base import KeySpace
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import ROW_VERSION, Column, Row, TableSpec

BACKFILL_CREATED = "backfill.created"
# 2: the resolved ranges are packed into runs (`range_runs`)
BACKFILL_CREATED_VERSION = 2
BACKFILL_STATUS_CHANGED = "backfill.status_changed"
BACKFILL_CHUNK_PLANNED = "backfill.chunk_planned"
BACKFILL_CHUNK_FINISHED = "backfill.chunk_finished"

BackfillStatus = Literal[
    "REQUESTED",
    "PAUSED",
    "CANCELING",
    "CANCELED",
    "COMPLETED_SUCCESS",
    "COMPLETED_FAILED",
    "FAILED",
]
Action = Literal[
    "pause", "resume", "cancel", "canceled", "complete_success", "complete_failed", "fail"
]
ChunkOutcome = Literal["SUCCESS", "FAILURE", "CANCELED"]
StatusFilter = Literal["missing", "failed"]

TERMINAL: frozenset[str] = frozenset(
    {"CANCELED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED"}
)
# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "pause": (frozenset({"REQUESTED"}), "PAUSED"),
    "resume": (frozenset({"PAUSED"}), "REQUESTED"),
    "cancel": (frozenset({"REQUESTED", "PAUSED"}), "CANCELING"),
    "canceled": (frozenset({"CANCELING"}), "CANCELED"),
    "complete_success": (frozenset({"REQUESTED"}), "COMPLETED_SUCCESS"),
    "complete_failed": (frozenset({"REQUESTED"}), "COMPLETED_FAILED"),
    # Dagster's FAILED: the backfill could not be processed (the timer's decision raised); the
    # error says why. Its runs in flight go on; retry-failed starts over what did not succeed.
    "fail": (frozenset({"REQUESTED", "PAUSED", "CANCELING"}), "FAILED"),
}
MAX_EXPLICIT_KEYS = 1_000_000
MAX_CHUNK_SIZE = 10_000
MAX_CONCURRENT_RUNS = 1_000
# Explicit lists longer than this are looked up in a table of the present keys (listed in bulk)
# while there are at most _LOOKUP_LIMIT of them; shorter lists parse each key.
_LOOKUP_FROM = 64
_LOOKUP_LIMIT = 2_000_000

Ranges = tuple[tuple[int, int], ...]

BACKFILLS = TableSpec(
    name="backfills",
    key=("backfill_id",),
    columns=(
        Column("backfill_id", "string"),
        Column("status", "string"),
        Column("selection", "string"),
        Column("assets", "json"),
        Column("anchor", "string"),
        Column("partitions", "json"),
        Column("ranges", "json"),
        Column("status_filter", "string"),
        Column("total_partitions", "int64"),
        Column("chunk_size", "int64"),
        Column("chunks_total", "int64"),
        Column("chunks_planned", "int64"),
        Column("chunks_succeeded", "int64"),
        Column("chunks_failed", "int64"),
        Column("chunks_canceled", "int64"),
        Column("max_concurrent_runs", "int64"),
        Column("cancel_runs", "bool"),
        Column("parent_backfill_id", "string"),
        Column("root_backfill_id", "string"),
        Column("idempotency_key", "string"),
        Column("fingerprint", "string"),
        Column("tags", "json"),
        Column("created_ms", "int64"),
        Column("status_changed_ms", "int64"),
        Column("status_version", "string"),
        Column("error", "string"),
    ),
    description="Per backfill: what it targets (compactly), its status and chunk counters.",
)

BACKFILL_CHUNKS = TableSpec(
    name="backfill_chunks",
    key=("backfill_id", "chunk"),
    columns=(
        Column("backfill_id", "string"),
        Column("chunk", "int64"),
        Column("first_key", "string"),
        Column("last_key", "string"),
        Column("partitions", "int64"),
        Column("pieces", "json"),
        Column("run_ids", "json"),
        Column("status", "string"),
        Column("error", "string"),
        Column("planned_ms", "int64"),
        Column("finished_ms", "int64"),
    ),
    description="Each planned chunk of a backfill: its keys, its runs, their outcome.",
)


# --- the partition selection -------------------------------------------------------------------


class PartitionSelection(BaseModel):
    """What a user asked for, as given: explicit keys, an inclusive range, or every key; and
    optionally only those MISSING or FAILED when each chunk is planned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["keys", "range", "all"]
    keys: tuple[str, ...] = ()
    first: str | None = None
    last: str | None = None
    status: StatusFilter | None = None
    # How many keys an explicit list named, once stored without them (see `stored`).
    key_count: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _shape(self) -> PartitionSelection:
        if self.kind == "keys":
            if not self.keys and self.key_count is None:
                raise ValueError("an explicit partition selection names at least one key")
            if len(self.keys) > MAX_EXPLICIT_KEYS:
                raise ValueError(f"at most {MAX_EXPLICIT_KEYS} explicit keys; use a range for more")
        elif self.keys:
            raise ValueError(f"a {self.kind} selection takes no explicit keys")
        if (self.kind == "range") != (self.first is not None and self.last is not None):
            raise ValueError("a range selection needs both first and last (and only it does)")
        if self.key_count is not None and (self.kind != "keys" or self.keys):
            raise ValueError("key_count stands for the keys of a stored explicit list")
        return self

    def stored(self) -> PartitionSelection:
        """The selection as a backfill records it: an explicit list becomes its count (the
        resolved index ranges say which keys; a million keys are not written twice)."""
        if self.kind != "keys" or not self.keys:
            return self
        return PartitionSelection(kind="keys", key_count=len(set(self.keys)), status=self.status)


def resolve_selection(selection: PartitionSelection, space: KeySpace, now: datetime) -> Ranges:
    """The selection as sorted, disjoint, half-open index ranges of keys present at `now`.

    InvalidInput names what is wrong: a key the definition does not have (or not yet), a
    reversed range, a selection that resolves to nothing.
    """
    present = space.all_ranges(now)
    if selection.kind == "all":
        ranges = tuple(present)
        if not ranges:
            raise InvalidInput("the anchor asset has no partitions yet")
        return ranges
    if selection.kind == "range":
        assert selection.first is not None and selection.last is not None
        lo = _index(space, present, selection.first)
        hi = _index(space, present, selection.last)
        if hi < lo:
            raise InvalidInput(
                f"reversed range: {selection.first!r} comes after {selection.last!r}"
            )
        return _intersect(((lo, hi + 1),), present)
    if len(selection.keys) > _LOOKUP_FROM:
        indexes = _indexes(space, present, selection.keys)
    else:
        indexes = sorted({_index(space, present, key) for key in selection.keys})
    return _merge((i, i + 1) for i in indexes)


def _indexes(space: KeySpace, present: Sequence[tuple[int, int]], keys: Sequence[str]) -> list[int]:
    """Indexes of many keys at once: the present keys listed in bulk into a lookup table (a key
    not in it gets `_index`'s own error)."""
    if total(tuple(present)) > _LOOKUP_LIMIT:
        return sorted({_index(space, present, key) for key in keys})
    table = {key: i for lo, hi in present for i, key in enumerate(space.keys_between(lo, hi), lo)}
    found: set[int] = set()
    for key in keys:
        index = table.get(key) if isinstance(key, str) else None
        found.add(_index(space, present, key) if index is None else index)
    return sorted(found)


def _index(space: KeySpace, present: Sequence[tuple[int, int]], key: str) -> int:
    index = space.index_of(key) if isinstance(key, str) else None
    if index is None:
        raise InvalidInput(f"partition {key!r} is not a key of the anchor asset's partitions")
    if not any(lo <= index < hi for lo, hi in present):
        raise InvalidInput(f"partition {key!r} is outside the anchor asset's partitions today")
    return index


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(ranges: Ranges, present: Sequence[tuple[int, int]]) -> Ranges:
    """Index ranges also present (a range may span keys an exclusion removed)."""
    out = []
    for lo, hi in ranges:
        for plo, phi in present:
            a, b = max(lo, plo), min(hi, phi)
            if a < b:
                out.append((a, b))
    return _merge(out)


def pack_ranges(ranges: Ranges) -> list[tuple[int, int, int, int]]:
    """Ranges as runs `(start, width, period, count)`: `count` ranges of `width` indexes, one
    every `period` from `start` (10,000 contiguous keys and 100,000 every-other keys are one run
    each)."""
    runs: list[list[int]] = []
    for lo, hi in ranges:
        if runs:
            start, width, period, count = runs[-1]
            last = start + (count - 1) * period
            if hi - lo == width and (count == 1 or lo - last == period) and lo > last:
                runs[-1] = [start, width, lo - start if count == 1 else period, count + 1]
                continue
        runs.append([lo, hi - lo, hi - lo, 1])
    return [(a, b, c, d) for a, b, c, d in runs]


def unpack_ranges(runs: Iterable[Sequence[int]]) -> Ranges:
    """The ranges of `pack_ranges`' runs; a pair `(lo, hi)` (as older backfills stored them) is
    a range of its own."""
    out: list[tuple[int, int]] = []
    for run in runs:
        if len(run) == 2:
            out.append((run[0], run[1]))
            continue
        start, width, period, count = run
        out.extend((lo, lo + width) for lo in range(start, start + count * period, period))
    return tuple(out)


def total(ranges: Ranges) -> int:
    return sum(hi - lo for lo, hi in ranges)


def chunk_count(ranges: Ranges, chunk_size: int) -> int:
    return -(-total(ranges) // chunk_size)


def chunk_ranges(ranges: Ranges, chunk_size: int, chunk: int) -> Ranges:
    """Chunk `chunk`'s index ranges: positions [chunk * size, (chunk + 1) * size) of the
    concatenated ranges. Never lists the keys of other chunks."""
    if chunk_size < 1 or chunk < 0:
        raise InvalidInput("chunk size must be at least 1 and chunk index not negative")
    start, end = chunk * chunk_size, (chunk + 1) * chunk_size
    out, position = [], 0
    for lo, hi in ranges:
        size = hi - lo
        a, b = max(start, position), min(end, position + size)
        if a < b:
            out.append((lo + a - position, lo + b - position))
        position += size
        if position >= end:
            break
    return tuple(out)


def chunk_keys(space: KeySpace, ranges: Ranges) -> list[str]:
    return [key for lo, hi in ranges for key in space.keys_between(lo, hi)]


# --- events ------------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BackfillCreated(_Payload):
    backfill_id: str = Field(min_length=1, max_length=100)
    selection: str = Field(min_length=1, max_length=10_000)
    assets: list[str] = Field(min_length=1)
    anchor: str | None = None
    partitions: PartitionSelection | None = None
    # the resolved index ranges, as runs (pack_ranges); version 1 listed one pair per range
    range_runs: list[tuple[int, int, int, int]] = Field(default_factory=list)
    chunk_size: int = Field(ge=1, le=MAX_CHUNK_SIZE)
    max_concurrent_runs: int = Field(ge=1, le=MAX_CONCURRENT_RUNS)
    parent_backfill_id: str | None = None
    root_backfill_id: str | None = None
    idempotency_key: str | None = Field(default=None, max_length=500)
    fingerprint: str = Field(min_length=1, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict)


class BackfillStatusChanged(_Payload):
    backfill_id: str = Field(min_length=1, max_length=100)
    action: Action
    request_id: str = Field(min_length=1, max_length=200)
    changed_by: str = Field(default="unknown", max_length=200)
    cancel_runs: bool = False
    error: str | None = Field(default=None, max_length=20_000)


class BackfillChunkPlanned(_Payload):
    """A chunk's anchor keys, as contiguous pieces (one run each). No pieces: the status
    filter left nothing to run in this chunk."""

    backfill_id: str = Field(min_length=1, max_length=100)
    chunk: int = Field(ge=0)
    partitions: int = Field(ge=0)
    # (first, last) anchor keys; (None, None) is the one run of an unpartitioned backfill.
    pieces: list[tuple[str, str] | tuple[None, None]] = Field(default_factory=list)
    run_ids: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_run_per_piece(self) -> BackfillChunkPlanned:
        if len(self.pieces) != len(self.run_ids):
            raise ValueError("a chunk has one run per piece")
        return self


class BackfillChunkFinished(_Payload):
    backfill_id: str = Field(min_length=1, max_length=100)
    chunk: int = Field(ge=0)
    outcome: ChunkOutcome
    error: str | None = Field(default=None, max_length=8000)


def created_key(backfill_id: str) -> str:
    return f"backfill_created:{backfill_id}"


def status_key(backfill_id: str, request_id: str) -> str:
    return f"backfill_status:{backfill_id}:{request_id}"


def chunk_key(backfill_id: str, chunk: int, status_version: str) -> str:
    """Planned from the backfill's `status_version`: two timers with the same view write one
    key; a plan dropped because a pause raced it leaves its key taken, and the plan after the
    resume (a new version) gets a new one."""
    return f"backfill_chunk:{backfill_id}:{chunk}:{status_version}"


def chunk_finished_key(backfill_id: str, chunk: int) -> str:
    return f"backfill_chunk_finished:{backfill_id}:{chunk}"


def can(status: str, action: str) -> bool:
    """Whether `action` is legal from `status` (the service answers 409 otherwise)."""
    return status in TRANSITIONS[action][0]


# --- fold rules --------------------------------------------------------------------------------


def _copy(row: Row | None) -> dict[str, Any] | None:
    return None if row is None else {k: v for k, v in row.items() if k != ROW_VERSION}


def fold_created(ctx: FoldContext, event: BackfillCreated) -> Outcome:
    if ctx.get(BACKFILLS.name, event.backfill_id) is not None:
        return Outcome.SUPERSEDED
    ranges = unpack_ranges(event.range_runs)
    chunks = chunk_count(ranges, event.chunk_size) if event.anchor else 1
    ctx.put(
        BACKFILLS.name,
        {
            "backfill_id": event.backfill_id,
            "status": "REQUESTED",
            "selection": event.selection,
            "assets": json.dumps(event.assets),
            "anchor": event.anchor,
            "partitions": event.partitions.model_dump_json() if event.partitions else None,
            "ranges": json.dumps([list(r) for r in pack_ranges(ranges)]),
            "status_filter": event.partitions.status if event.partitions else None,
            "total_partitions": total(ranges),
            "chunk_size": event.chunk_size,
            "chunks_total": chunks,
            "chunks_planned": 0,
            "chunks_succeeded": 0,
            "chunks_failed": 0,
            "chunks_canceled": 0,
            "max_concurrent_runs": event.max_concurrent_runs,
            "cancel_runs": False,
            "parent_backfill_id": event.parent_backfill_id,
            "root_backfill_id": event.root_backfill_id or event.backfill_id,
            "idempotency_key": event.idempotency_key,
            "fingerprint": event.fingerprint,
            "tags": json.dumps(event.tags, sort_keys=True),
            "created_ms": ctx.time_ms,
            "status_changed_ms": ctx.time_ms,
            "status_version": ctx.event_id,
        },
    )
    return Outcome.APPLIED


def fold_status_changed(ctx: FoldContext, event: BackfillStatusChanged) -> Outcome:
    row = _copy(ctx.get(BACKFILLS.name, event.backfill_id))
    if row is None:
        return Outcome.REJECTED
    sources, target = TRANSITIONS[event.action]
    if row["status"] not in sources:
        return Outcome.SUPERSEDED  # a duplicate, or a transition that lost a race
    row.update(status=target, status_changed_ms=ctx.time_ms, status_version=ctx.event_id)
    if event.action == "cancel":
        row["cancel_runs"] = event.cancel_runs
    if event.action == "fail":
        row["error"] = event.error
    ctx.put(BACKFILLS.name, row)
    return Outcome.APPLIED


def fold_chunk_planned(ctx: FoldContext, event: BackfillChunkPlanned) -> Outcome:
    """A chunk is planned once, and only while the backfill is REQUESTED: a chunk the timer
    planned from a stale view (the backfill was paused or canceled meanwhile) is dropped.
    Chunks planned together may fold in any order (their ids share a millisecond)."""
    row = _copy(ctx.get(BACKFILLS.name, event.backfill_id))
    if row is None:
        return Outcome.REJECTED
    if (
        row["status"] != "REQUESTED"
        or event.chunk >= row["chunks_total"]
        or ctx.get(BACKFILL_CHUNKS.name, event.backfill_id, event.chunk) is not None
    ):
        return Outcome.SUPERSEDED
    runs = bool(event.run_ids)
    ctx.put(
        BACKFILL_CHUNKS.name,
        {
            "backfill_id": event.backfill_id,
            "chunk": event.chunk,
            "first_key": event.pieces[0][0] if runs else None,
            "last_key": event.pieces[-1][1] if runs else None,
            "partitions": event.partitions,
            "pieces": json.dumps([list(p) for p in event.pieces]),
            "run_ids": json.dumps(event.run_ids),
            # A chunk the status filter emptied has nothing to run: it is done at once.
            "status": "PLANNED" if runs else "SUCCESS",
            "error": None,
            "planned_ms": ctx.time_ms,
            "finished_ms": None if runs else ctx.time_ms,
        },
    )
    row["chunks_planned"] += 1
    if not runs:
        row["chunks_succeeded"] += 1
    ctx.put(BACKFILLS.name, row)
    return Outcome.APPLIED


def fold_chunk_finished(ctx: FoldContext, event: BackfillChunkFinished) -> Outcome:
    chunk = _copy(ctx.get(BACKFILL_CHUNKS.name, event.backfill_id, event.chunk))
    row = _copy(ctx.get(BACKFILLS.name, event.backfill_id))
    if chunk is None or row is None:
        return Outcome.REJECTED
    if chunk["status"] != "PLANNED":
        return Outcome.SUPERSEDED  # a run ends once
    chunk.update(status=event.outcome, error=event.error, finished_ms=ctx.time_ms)
    ctx.put(BACKFILL_CHUNKS.name, chunk)
    counter = {"SUCCESS": "chunks_succeeded", "FAILURE": "chunks_failed"}.get(
        event.outcome, "chunks_canceled"
    )
    row[counter] += 1
    ctx.put(BACKFILLS.name, row)
    return Outcome.APPLIED


def next_action(row: Row, runs_in_flight: int) -> str | None:
    """The transition the timer should record for a backfill, if any.

    REQUESTED with every chunk planned and none in flight: complete (FAILED if any chunk
    failed or was canceled, as Dagster marks a backfill whose partitions did not all
    materialize). CANCELING with no run in flight: canceled.
    """
    status = row["status"]
    if status == "CANCELING" and runs_in_flight == 0:
        return "canceled"
    if status != "REQUESTED" or runs_in_flight:
        return None
    if row["chunks_planned"] < row["chunks_total"]:
        return None
    finished = row["chunks_succeeded"] + row["chunks_failed"] + row["chunks_canceled"]
    if finished < row["chunks_planned"]:
        return None
    bad = row["chunks_failed"] + row["chunks_canceled"]
    return "complete_failed" if bad else "complete_success"


def _created_from_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 listed the resolved ranges one pair each (`ranges`); version 2 packs them."""
    pairs = tuple((int(lo), int(hi)) for lo, hi in data.get("ranges") or ())
    upgraded = {k: v for k, v in data.items() if k != "ranges"}
    upgraded["range_runs"] = [list(run) for run in pack_ranges(pairs)]
    return upgraded


def install(registry: Registry) -> None:
    """Register the backfill tables and events."""
    for spec in (BACKFILLS, BACKFILL_CHUNKS):
        registry.add_table(spec)
    registry.add_event(
        EventType(
            name=BACKFILL_CREATED,
            version=BACKFILL_CREATED_VERSION,
            payload=BackfillCreated,
            rule=fold_created,
            upcasters={1: _created_from_v1},
            description="A backfill was created.",
        )
    )
    for name, payload, rule, description in (
        (
            BACKFILL_STATUS_CHANGED,
            BackfillStatusChanged,
            fold_status_changed,
            "A backfill was paused, resumed, canceled or completed.",
        ),
        (
            BACKFILL_CHUNK_PLANNED,
            BackfillChunkPlanned,
            fold_chunk_planned,
            "The timer planned a backfill's next chunk into a run.",
        ),
        (
            BACKFILL_CHUNK_FINISHED,
            BackfillChunkFinished,
            fold_chunk_finished,
            "A backfill chunk's run ended.",
        ),
    ):
        registry.add_event(
            EventType(name=name, version=1, payload=payload, rule=rule, description=description)
        )
