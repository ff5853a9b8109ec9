"""Backfills end to end on the local store: a daily / hourly / daily chain over 60 days,
chunked into runs, paused half-way, resumed, one partition failing for good, retry-failed, and
duplicate delivery of every event.

Task outcomes come from a fake worker that reports every dispatched order (SUCCESS, or FAILURE
for the broken hour): the worker itself is proven in the runs tests; here the backfill
lifecycle is what is under test, over 1,560 tasks.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import OffsetClock
from arco.domain.backfills import PartitionSelection
from arco.domain.errors import InvalidInput, NotFound, Refused
from arco.domain.run_controller import TaskOrder
from arco.domain.runs import TASK_FINISHED, TASK_STARTED, TaskFinished, TaskStarted
from arco.domain.runs import task_report_key as report_key
from arco.ledger.writer import NewEvent
from arco.services.code_location import load_definitions
from arco.services.commands.backfills import (
    BackfillRequest,
    change_backfill,
    create_backfill,
    retry_failed,
)
from arco.services.commands.deploy import deploy
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import TimerResult, run_timer
from arco.services.operations.rebuild import verify
from arco.services.queries.backfills import backfill_runs, show_backfill
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures.backfill_mixed import BROKEN_HOUR
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.backfill_mixed:defs"
T0 = datetime(2024, 3, 1, 6, tzinfo=UTC)
SIXTY_DAYS = PartitionSelection(kind="range", first="2024-01-01", last="2024-02-29")
CHAIN = "key:events or key:hourly_metrics or key:daily_summary"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    # Simulated time that flows (as `arco tick` uses), so every writer's ids stay causal.
    clock = OffsetClock()
    clock.set_now(int(T0.timestamp() * 1000))
    workspace = Workspace(LocalObjectStore(tmp_path / "store"), "bf", clock=clock)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


class FakeWorker(NoWorkers):
    """Reports every order it is handed: FAILURE for the broken hour, else SUCCESS."""

    def report(self, ws: Workspace) -> int:
        orders = [o for o in self.pending if isinstance(o, TaskOrder)]
        self.pending.clear()
        events: list[NewEvent] = []
        for order in orders:
            base = {"run_id": order.run_id, "task": order.task, "attempt": order.attempt}
            broken = order.asset == "hourly_metrics" and order.partition == BROKEN_HOUR
            started = TaskStarted(**base, worker="fake")
            finished = TaskFinished(
                **base,
                outcome="FAILURE" if broken else "SUCCESS",
                error="metrics source unavailable" if broken else None,
            )
            key = (order.run_id, order.task, order.attempt)
            events.append(NewEvent(TASK_STARTED, started, report_key("started", *key)))
            events.append(NewEvent(TASK_FINISHED, finished, report_key("finished", *key)))
        for start in range(0, len(events), 1000):
            ws.writer.append(events[start : start + 1000])
        return len(orders)


def step(ws: Workspace, worker: FakeWorker) -> TimerResult:
    """One timer call, then the worker reports what it was handed; time moves on."""
    result = run_timer(ws, now_of(ws), dispatcher=worker)
    worker.report(ws)
    assert isinstance(ws.clock, OffsetClock)
    ws.clock.offset_ms += 60_000
    return result


def backfill(ws: Workspace, backfill_id: str) -> dict[str, Any]:
    ws.compactor.compact_until_idle()
    return show_backfill(ws, backfill_id)


def test_sixty_days_of_a_mixed_chain_paused_resumed_failed_and_retried(ws: Workspace) -> None:
    request = BackfillRequest(CHAIN, SIXTY_DAYS, chunk_size=5, max_concurrent_runs=2)
    created, new = create_backfill(ws, request, "alice")
    assert new and (created["partitions"], created["chunks"]) == (60, 12)
    bf = created["backfill_id"]
    worker = FakeWorker()

    # Run until half the chunks are done, never more than 2 runs in flight.
    while backfill(ws, bf)["chunks"]["done"] < 6:
        step(ws, worker)
        in_flight = [r for r in backfill_runs(ws, bf) if r["status"] not in TERMINAL_RUN]
        assert len(in_flight) <= 2

    change_backfill(ws, bf, "pause", "pause-1", "alice")
    with pytest.raises(Refused, match="it is PAUSED"):
        ws.compactor.compact_until_idle()
        change_backfill(ws, bf, "pause", "pause-2", "alice")
    runs_at_pause = len(backfill_runs(ws, bf))
    for _ in range(5):  # runs in flight finish; nothing new starts
        step(ws, worker)
    paused = backfill(ws, bf)
    assert paused["status"] == "PAUSED"
    assert len(backfill_runs(ws, bf)) == runs_at_pause
    assert all(r["status"] in TERMINAL_RUN for r in backfill_runs(ws, bf))

    change_backfill(ws, bf, "resume", "resume-1", "alice")
    for _ in range(60):
        step(ws, worker)
        if backfill(ws, bf)["status"] not in ("REQUESTED",):
            break
    done = backfill(ws, bf)
    assert done["status"] == "COMPLETED_FAILED"
    assert done["chunks"] == {
        "total": 12,
        "planned": 12,
        "succeeded": 11,
        "failed": 1,
        "canceled": 0,
        "done": 12,
    }
    per_asset = done["per_asset"]
    assert per_asset["events"] == {"materialized": 60, "failed": 0, "canceled": 0, "in_progress": 0}
    assert per_asset["hourly_metrics"]["materialized"] == 60 * 24 - 1
    assert per_asset["hourly_metrics"]["failed"] == 1
    # The failed hour's downstream day was never run: skipped, counted as failed.
    assert per_asset["daily_summary"] == {
        "materialized": 59,
        "failed": 1,
        "canceled": 0,
        "in_progress": 0,
    }
    assert sum(1 for r in backfill_runs(ws, bf) if r["status"] == "FAILURE") == 1

    # Retry failed: exactly the broken day, linked to its parent and root; once.
    retry, new = retry_failed(ws, bf, "alice")
    again, again_new = retry_failed(ws, bf, "alice")
    assert new and not again_new and again["backfill_id"] == retry["backfill_id"]
    ws.compactor.compact_until_idle()
    child = show_backfill(ws, retry["backfill_id"])
    assert child["partitions"] == {
        "kind": "keys",
        "keys": [],
        "first": None,
        "last": None,
        "status": None,
        "key_count": 1,
    }  # an explicit list is stored as its count; its keys are the ranges shown
    assert (child["key_ranges"], child["key_ranges_total"]) == ([("2024-01-20", "2024-01-20")], 1)
    assert (child["parent_backfill_id"], child["root_backfill_id"]) == (bf, bf)
    assert child["total_partitions"] == 1


TERMINAL_RUN = ("SUCCESS", "FAILURE", "CANCELED")


def test_duplicate_delivery_of_every_event_changes_nothing(ws: Workspace) -> None:
    request = BackfillRequest(
        CHAIN,
        PartitionSelection(kind="range", first="2024-01-18", last="2024-01-22"),
        chunk_size=2,
        max_concurrent_runs=1,
    )
    bf = create_backfill(ws, request)[0]["backfill_id"]
    worker = FakeWorker()
    for _ in range(12):
        step(ws, worker)
    ws.compactor.compact_until_idle()
    before = {t: ws.snapshot().rows(t) for t in ("backfills", "backfill_chunks", "runs", "tasks")}
    assert before["backfills"][(bf,)]["status"] == "COMPLETED_FAILED"

    for listed in list(ws.store.list(ws.layout.ledger_prefix)):
        stored = ws.store.get(listed.key)
        assert stored is not None
        ws.writer.store.create(ws.layout.ledger_key(_fresh_name(ws)), stored.data)
    ws.compactor.compact_until_idle()
    for _ in range(3):
        step(ws, worker)  # the timer sees the same state: nothing new to decide
    after = {t: ws.snapshot().rows(t) for t in before}
    assert after == before
    report = verify(ws)
    assert report.identical, report.diffs


def _fresh_name(ws: Workspace) -> str:
    import os

    from arco.domain.ulid import encode_ulid

    return encode_ulid(ws.clock.now_ms(), int.from_bytes(os.urandom(10), "big"))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (BackfillRequest("key:nothing", SIXTY_DAYS), "nothing"),
        (BackfillRequest(CHAIN, None), "give partitions"),
        (
            BackfillRequest(
                CHAIN, PartitionSelection(kind="range", first="2023-12-01", last="2024-01-03")
            ),
            "not a key",
        ),
        (
            BackfillRequest(
                CHAIN, PartitionSelection(kind="range", first="2024-01-09", last="2024-01-03")
            ),
            "reversed range",
        ),
        (
            BackfillRequest(
                CHAIN, PartitionSelection(kind="range", first="2024-01-01", last="2024-03-09")
            ),
            "outside",
        ),
        (BackfillRequest(CHAIN, SIXTY_DAYS, chunk_size=0), "chunk size"),
        (BackfillRequest(CHAIN, SIXTY_DAYS, max_concurrent_runs=0), "concurrent"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    ws: Workspace, request_: BackfillRequest, message: str
) -> None:
    before = len(list(ws.store.list(ws.layout.ledger_prefix)))
    with pytest.raises(InvalidInput, match=message):
        create_backfill(ws, request_)
    assert len(list(ws.store.list(ws.layout.ledger_prefix))) == before


def test_unknown_ids_illegal_transitions_and_idempotency_keys(ws: Workspace) -> None:
    with pytest.raises(NotFound):
        change_backfill(ws, "bf_nope", "pause", "r", "alice")
    keyed = BackfillRequest(CHAIN, SIXTY_DAYS, idempotency_key="nightly-2024")
    first, created = create_backfill(ws, keyed)
    second, created_again = create_backfill(ws, keyed)
    assert created and not created_again and first["backfill_id"] == second["backfill_id"]
    other = BackfillRequest(CHAIN, SIXTY_DAYS, chunk_size=7, idempotency_key="nightly-2024")
    with pytest.raises(Refused, match="different request"):
        create_backfill(ws, other)
    ws.compactor.compact_until_idle()
    bf = first["backfill_id"]
    with pytest.raises(Refused, match=r"cannot resume .* it is REQUESTED"):
        change_backfill(ws, bf, "resume", "r1", "alice")
    change_backfill(ws, bf, "cancel", "c1", "alice")
    worker = FakeWorker()
    step(ws, worker)
    step(ws, worker)
    assert backfill(ws, bf)["status"] == "CANCELED"
    assert backfill_runs(ws, bf) == []  # canceled before any chunk was planned
    with pytest.raises(Refused, match="it is CANCELED"):
        change_backfill(ws, bf, "pause", "p1", "alice")
    counts = Counter(r["status"] for r in ws.snapshot().rows("backfills").values())
    assert counts == {"CANCELED": 1}
    # 60 contiguous keys: one run of one range (start, width, period, count)
    assert json.loads(ws.snapshot().rows("backfills")[(bf,)]["ranges"]) == [[0, 60, 60, 1]]


def test_a_missing_filter_runs_only_what_never_materialized(ws: Workspace) -> None:
    worker = FakeWorker()
    first = BackfillRequest(
        "key:events", PartitionSelection(kind="range", first="2024-01-01", last="2024-01-04")
    )
    done = create_backfill(ws, first)[0]["backfill_id"]
    for _ in range(6):
        step(ws, worker)
    assert backfill(ws, done)["status"] == "COMPLETED_SUCCESS"

    missing = PartitionSelection(
        kind="range", first="2024-01-01", last="2024-01-08", status="missing"
    )
    bf = create_backfill(ws, BackfillRequest("key:events", missing, chunk_size=2))[0]
    for _ in range(8):
        step(ws, worker)
    view = backfill(ws, bf["backfill_id"])
    assert view["status"] == "COMPLETED_SUCCESS"
    assert view["chunks"]["total"] == 4 and view["anchor_partitions_planned"] == 4
    ranges = [r["partition_range"] for r in backfill_runs(ws, bf["backfill_id"])]
    assert sorted(ranges) == [["2024-01-05", "2024-01-06"], ["2024-01-07", "2024-01-08"]]


def test_a_backfill_the_timer_cannot_process_fails_alone(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One backfill whose decision raises is FAILED with the traceback (Dagster's FAILED); the
    other backfills go on, and every timer call succeeds."""
    from arco.domain import backfill_controller

    days = PartitionSelection(kind="range", first="2024-01-01", last="2024-01-02")
    bad, _ = create_backfill(ws, BackfillRequest("key:events", days, chunk_size=1), "test")
    good, _ = create_backfill(ws, BackfillRequest("key:events", days, chunk_size=1), "test")
    real_plan = backfill_controller._plan

    def plan(workspace: str, defs: Any, view: Any, *args: Any) -> None:
        if view.row["backfill_id"] == bad["backfill_id"]:
            raise RuntimeError("this backfill cannot be planned")
        real_plan(workspace, defs, view, *args)

    monkeypatch.setattr(backfill_controller, "_plan", plan)
    worker = FakeWorker()
    for _ in range(8):
        step(ws, worker)
    failed = backfill(ws, bad["backfill_id"])
    assert failed["status"] == "FAILED"
    assert "this backfill cannot be planned" in failed["error"]
    assert backfill(ws, good["backfill_id"])["status"] == "COMPLETED_SUCCESS"
    assert verify(ws).identical
