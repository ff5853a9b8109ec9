"""Backfill groundwork: the compact partition selection, chunk arithmetic, the lifecycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from arco.domain import backfills
from arco.domain.backfills import (
    BackfillChunkFinished,
    BackfillChunkPlanned,
    BackfillCreated,
    BackfillStatusChanged,
    PartitionSelection,
    chunk_count,
    chunk_keys,
    chunk_ranges,
    resolve_selection,
    total,
)
from arco.domain.envelope import EventEnvelope
from arco.domain.errors import InvalidInput
from arco.domain.partitions import DailyPartitionsDefinition, HourlyPartitionsDefinition
from arco.domain.registry import Registry
from arco.domain.system_tables import SYSTEM_TABLES
from arco.domain.tables import Row
from tests.factories import EnvelopeWriter, FoldProjection

NOW = datetime(2024, 3, 1, tzinfo=UTC)
DAILY = DailyPartitionsDefinition(start_date="2024-01-01").key_space()
HOURLY = HourlyPartitionsDefinition(start_date="2012-01-01-00:00").key_space()


def sel(**fields: Any) -> PartitionSelection:
    return PartitionSelection(**fields)


# --- the selection -----------------------------------------------------------------------------


def test_a_range_all_and_explicit_keys_resolve_to_index_ranges() -> None:
    ranges = resolve_selection(sel(kind="range", first="2024-01-03", last="2024-01-07"), DAILY, NOW)
    assert total(ranges) == 5 and chunk_keys(DAILY, ranges)[0] == "2024-01-03"
    everything = resolve_selection(sel(kind="all"), DAILY, NOW)
    assert total(everything) == 60  # Jan 1 .. Feb 29 have closed by Mar 1
    keys = sel(kind="keys", keys=("2024-01-05", "2024-01-02", "2024-01-03", "2024-01-05"))
    assert chunk_keys(DAILY, resolve_selection(keys, DAILY, NOW)) == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-05",
    ]
    assert len(resolve_selection(keys, DAILY, NOW)) == 2  # merged into two ranges


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (sel(kind="range", first="2024-01-07", last="2024-01-03"), "reversed range"),
        (sel(kind="range", first="2023-12-01", last="2024-01-03"), "not a key"),
        (sel(kind="range", first="2024-01-01", last="2024-03-05"), "outside"),
        (sel(kind="keys", keys=("yesterday",)), "not a key"),
    ],
)
def test_bad_selections_name_the_problem(selection: PartitionSelection, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve_selection(selection, DAILY, NOW)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "keys"},
        {"kind": "range", "first": "a"},
        {"kind": "all", "keys": ("a",)},
        {"kind": "keys", "keys": tuple(str(i) for i in range(1_000_001))},
        {"kind": "all", "status": "stale"},
    ],
)
def test_malformed_selections_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PartitionSelection(**fields)


def test_100000_hourly_partitions_are_one_range_planned_chunk_by_chunk() -> None:
    first = HOURLY.key_at(0)
    last = HOURLY.key_at(99_999)
    ranges = resolve_selection(sel(kind="range", first=first, last=last), HOURLY, NOW)
    assert ranges == ((0, 100_000),)
    assert chunk_count(ranges, 24) == 4167
    last_chunk = chunk_ranges(ranges, 24, 4166)
    assert last_chunk == ((99_984, 100_000),)
    assert chunk_keys(HOURLY, last_chunk)[-1] == last


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(1, 20)), min_size=1, max_size=12),
    st.integers(1, 40),
)
def test_chunks_cover_the_selection_exactly_once_in_order(
    spans: list[tuple[int, int]], size: int
) -> None:
    ranges = backfills._merge((lo, lo + n) for lo, n in spans)
    covered: list[int] = []
    for chunk in range(chunk_count(ranges, size)):
        indexes = [i for lo, hi in chunk_ranges(ranges, size, chunk) for i in range(lo, hi)]
        assert 1 <= len(indexes) <= size
        covered.extend(indexes)
    assert covered == [i for lo, hi in ranges for i in range(lo, hi)]
    assert chunk_ranges(ranges, size, chunk_count(ranges, size)) == ()


# --- the lifecycle -----------------------------------------------------------------------------


def _install_system_tables(registry: Registry) -> None:
    for spec in SYSTEM_TABLES:
        registry.add_table(spec)


REG = Registry().extend((_install_system_tables, backfills.install))
B = "bf_1"


class Writer(EnvelopeWriter):
    def created(self, chunks: int = 3, size: int = 2) -> EventEnvelope:
        payload = BackfillCreated(
            backfill_id=B,
            selection="key:orders",
            assets=["orders"],
            anchor="orders",
            partitions=sel(kind="all"),
            range_runs=backfills.pack_ranges(((0, chunks * size),)),
            chunk_size=size,
            max_concurrent_runs=2,
            fingerprint="f",
        )
        return self.envelope(backfills.BACKFILL_CREATED, payload, backfills.created_key(B))

    def action(self, action: str, request_id: str) -> EventEnvelope:
        payload = BackfillStatusChanged(
            backfill_id=B,
            action=action,  # type: ignore[arg-type]
            request_id=request_id,
        )
        key = backfills.status_key(B, request_id)
        return self.envelope(backfills.BACKFILL_STATUS_CHANGED, payload, key)

    def planned(
        self, chunk: int, run_id: str | None = "run_x", version: str = "v0"
    ) -> EventEnvelope:
        """`version`: the backfill's status version the timer planned from."""
        payload = BackfillChunkPlanned(
            backfill_id=B,
            chunk=chunk,
            partitions=2 if run_id else 0,
            pieces=[("a", "b")] if run_id else [],
            run_ids=[run_id] if run_id else [],
        )
        key = backfills.chunk_key(B, chunk, version)
        return self.envelope(backfills.BACKFILL_CHUNK_PLANNED, payload, key)

    def finished(self, chunk: int, outcome: str = "SUCCESS") -> EventEnvelope:
        payload = BackfillChunkFinished(backfill_id=B, chunk=chunk, outcome=outcome)  # type: ignore[arg-type]
        key = backfills.chunk_finished_key(B, chunk)
        return self.envelope(backfills.BACKFILL_CHUNK_FINISHED, payload, key)


class Projection(FoldProjection):
    def __init__(self) -> None:
        super().__init__(REG)

    def backfill(self) -> Row:
        return self.state.rows("backfills")[(B,)]

    def chunks(self) -> dict[int, str]:
        return {k[1]: r["status"] for k, r in self.state.rows("backfill_chunks").items()}


@pytest.fixture
def w() -> Writer:
    return Writer()


@pytest.fixture
def p() -> Projection:
    return Projection()


def test_pause_resume_cancel_and_illegal_transitions(w: Writer, p: Projection) -> None:
    p.deliver(w.created())
    assert p.backfill()["status"] == "REQUESTED"
    for action, expected in [
        ("resume", "REQUESTED"),  # illegal from REQUESTED: nothing changes
        ("pause", "PAUSED"),
        ("pause", "PAUSED"),
        ("complete_success", "PAUSED"),  # the timer never completes a paused backfill
        ("resume", "REQUESTED"),
        ("cancel", "CANCELING"),
        ("resume", "CANCELING"),
        ("canceled", "CANCELED"),
        ("resume", "CANCELED"),  # terminal is final
    ]:
        p.deliver(w.action(action, f"r-{w.n}"))
        assert p.backfill()["status"] == expected, action
    assert backfills.can("PAUSED", "resume") and not backfills.can("CANCELED", "cancel")


def test_chunks_are_planned_once_and_only_while_requested(w: Writer, p: Projection) -> None:
    p.deliver(w.created(), w.planned(1))  # planned together, folded in any order
    assert p.chunks() == {1: "PLANNED"}
    p.deliver(w.planned(0), w.planned(0))
    assert p.chunks() == {0: "PLANNED", 1: "PLANNED"} and p.backfill()["chunks_planned"] == 2
    p.deliver(w.action("pause", "p1"), w.planned(2))
    assert p.backfill()["chunks_planned"] == 2  # planned from a stale view: dropped
    # Replanned after the resume: a new status version, so a new key (the dropped plan's key
    # is taken).
    p.deliver(w.action("resume", "r1"), w.planned(2, run_id=None, version="v1"))
    assert p.chunks() == {0: "PLANNED", 1: "PLANNED", 2: "SUCCESS"}
    p.deliver(w.planned(3))
    assert p.backfill()["chunks_planned"] == 3  # there is no chunk 3


def test_completion_follows_the_chunks(w: Writer, p: Projection) -> None:
    p.deliver(w.created(chunks=2), w.planned(0), w.planned(1))
    assert backfills.next_action(p.backfill(), runs_in_flight=2) is None
    p.deliver(w.finished(0), w.finished(0, "FAILURE"))  # a run ends once
    p.deliver(w.finished(1, "FAILURE"))
    assert p.chunks() == {0: "SUCCESS", 1: "FAILURE"}
    assert backfills.next_action(p.backfill(), runs_in_flight=0) == "complete_failed"
    p.deliver(w.action("complete_failed", "timer"))
    assert p.backfill()["status"] == "COMPLETED_FAILED"


def test_a_backfill_with_only_successes_completes_successfully(w: Writer, p: Projection) -> None:
    p.deliver(w.created(chunks=1), w.planned(0))
    assert backfills.next_action(p.backfill(), 0) is None  # its run has not ended
    p.deliver(w.finished(0))
    assert backfills.next_action(p.backfill(), 0) == "complete_success"
    p.deliver(w.action("cancel", "c1"))
    assert backfills.next_action(p.backfill(), 1) is None  # CANCELING waits for its runs
    assert backfills.next_action(p.backfill(), 0) == "canceled"


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_duplicate_delivery_of_every_event_changes_nothing(data: st.DataObject) -> None:
    w = Writer()
    script = [w.created(chunks=3)]
    for step in data.draw(
        st.lists(
            st.sampled_from(["pause", "resume", "cancel", "plan", "finish", "fail"]), max_size=12
        )
    ):
        if step == "plan":
            script.append(w.planned(data.draw(st.integers(0, 3))))
        elif step in ("finish", "fail"):
            outcome = "SUCCESS" if step == "finish" else "FAILURE"
            script.append(w.finished(data.draw(st.integers(0, 2)), outcome))
        else:
            script.append(w.action(step, f"{step}-{len(script)}"))
    once, twice = Projection(), Projection()
    once.deliver(*script)
    twice.deliver(*[e for event in script for e in (event, event)])
    assert once.state.rows("backfills") == twice.state.rows("backfills")
    assert once.state.rows("backfill_chunks") == twice.state.rows("backfill_chunks")


# --- the controller's planning -----------------------------------------------------------------


def test_a_failed_filter_plans_one_run_per_contiguous_piece_and_skips_empty_chunks() -> None:
    from arco.domain.backfill_controller import BackfillView, advance_backfills
    from arco.domain.runs import RetrySpec
    from arco.sdk import Definitions, asset

    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=daily)
    def events() -> None: ...

    defs = Definitions(assets=[events]).snapshot("t")
    row = {
        "backfill_id": B,
        "status": "REQUESTED",
        "selection": "key:events",
        "assets": '["events"]',
        "anchor": "events",
        "ranges": "[[0, 10]]",
        "status_filter": "failed",
        "chunk_size": 5,
        "chunks_total": 2,
        "chunks_planned": 0,
        "max_concurrent_runs": 10,
        "status_version": "v0",
        "tags": "{}",
    }
    failed = {"2024-01-02": "FAILED", "2024-01-03": "FAILED", "2024-01-05": "FAILED"}
    decisions = advance_backfills(
        "ws",
        defs,
        [BackfillView(row=row, anchor_status=failed)],
        NOW,
        0,
        RetrySpec(max_attempts=1, delay_ms=0),
    )
    plans = [e.payload for e in decisions.events]
    assert [(p.chunk, p.pieces, p.partitions) for p in plans] == [  # type: ignore[attr-defined]
        (0, [("2024-01-02", "2024-01-03"), ("2024-01-05", "2024-01-05")], 3),
        (1, [], 0),  # nothing failed in 2024-01-06 .. 10: done at once, no run
    ]
    assert len({rid for p in plans for rid in p.run_ids}) == 2  # type: ignore[attr-defined]


def _disjoint(steps: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted disjoint half-open ranges from (gap, width) steps."""
    out, at = [], 0
    for gap, width in steps:
        at += gap + (1 if out else 0)
        out.append((at, at + width))
        at += width
    return tuple(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 6)), max_size=40).map(_disjoint))
def test_packed_ranges_unpack_to_the_same_ranges(ranges: tuple[tuple[int, int], ...]) -> None:
    from arco.domain.backfills import pack_ranges, unpack_ranges

    packed = pack_ranges(ranges)
    assert unpack_ranges(packed) == ranges
    assert len(packed) <= len(ranges)


def test_equally_spaced_ranges_pack_into_one_run() -> None:
    from arco.domain.backfills import pack_ranges, unpack_ranges

    assert pack_ranges(((5, 10_005),)) == [(5, 10_000, 10_000, 1)]
    every_other = tuple((i, i + 1) for i in range(0, 200_000, 2))
    assert pack_ranges(every_other) == [(0, 1, 2, 100_000)]
    # a different width or spacing starts a new run
    assert pack_ranges(((0, 1), (2, 3), (4, 6), (10, 12), (14, 16))) == [
        (0, 1, 2, 2),
        (4, 2, 6, 2),
        (14, 2, 2, 1),
    ]
    # ranges stored one pair each (backfills created before runs) still read back
    assert unpack_ranges([[0, 3], [7, 9]]) == ((0, 3), (7, 9))


def test_a_version_1_backfill_created_event_folds_as_its_packed_ranges() -> None:
    # Backfills created before the ranges were packed: `ranges` one pair each, version 1.
    v1 = EventEnvelope(
        event_id="01HQ0000000000000000000001",
        type=backfills.BACKFILL_CREATED,
        version=1,
        workspace="default",
        idempotency_key=backfills.created_key(B),
        time="2024-02-01T00:00:00.000Z",
        source="test",
        payload={
            "backfill_id": B,
            "selection": "key:orders",
            "assets": ["orders"],
            "anchor": "orders",
            "partitions": {"kind": "keys", "keys": ["a", "c", "e"]},
            "ranges": [[0, 1], [2, 3], [4, 5]],
            "chunk_size": 1,
            "max_concurrent_runs": 2,
            "fingerprint": "f",
        },
    )
    p = Projection()
    assert p.deliver(v1) == ["applied"]
    row = p.backfill()
    assert json.loads(row["ranges"]) == [[0, 1, 2, 3]]  # three single keys, every other one
    assert (row["total_partitions"], row["chunks_total"]) == (3, 3)
    assert json.loads(row["partitions"])["keys"] == ["a", "c", "e"]  # as it was given then


def test_a_range_over_excluded_days_resolves_to_the_days_around_them() -> None:
    # 2024-01-03 and 2024-01-06 are excluded: the present keys are three ranges, and a range
    # may start and end in any of them.
    space = DailyPartitionsDefinition(
        start_date="2024-01-01",
        exclusions=[datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC)],
    ).key_space()
    assert space.all_ranges(NOW) == [(0, 2), (3, 5), (6, 60)]
    ranges = resolve_selection(sel(kind="range", first="2024-01-04", last="2024-01-08"), space, NOW)
    assert ranges == ((3, 5), (6, 8))
    assert chunk_keys(space, ranges) == ["2024-01-04", "2024-01-05", "2024-01-07", "2024-01-08"]
    with pytest.raises(InvalidInput, match="'2024-01-06' is not a key of the anchor asset's"):
        resolve_selection(sel(kind="range", first="2024-01-06", last="2024-01-08"), space, NOW)
