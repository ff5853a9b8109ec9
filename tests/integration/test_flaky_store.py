"""Runs on a flaky store: 10% of store calls fail, half of the failed writes land anyway. The
timer, the worker and the compactor are retried as the platform retries them (a 503 is a
redelivery). User code runs exactly once per dispatched attempt, every acknowledged event is
folded once, and the state equals a rebuild from the ledger."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from arco.clock import FixedClock
from arco.domain.errors import ArcoError
from arco.domain.run_controller import TaskOrder
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.engines.worker import execute_task
from arco.services.operations.rebuild import verify
from arco.services.queries.runs import list_runs
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures.runs_graph import RAW_EXECUTIONS
from tests.flaky_store import FlakyObjectStore

LOCATION = "tests.fixtures.runs_graph:defs"
RUNS = 60
T = TypeVar("T")


def retried(call: Any, *args: Any, attempts: int = 50, **kwargs: Any) -> Any:
    """What the platform does with a 503 (or a lost answer): call again."""
    for _ in range(attempts - 1):
        try:
            return call(*args, **kwargs)
        except ArcoError as exc:
            if not exc.retryable:
                raise
    return call(*args, **kwargs)


def test_user_code_runs_once_per_dispatched_attempt_on_a_flaky_store(tmp_path: Path) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    clock = FixedClock(int(start.timestamp() * 1000))
    flaky = FlakyObjectStore(LocalObjectStore(tmp_path), rate=0.10, seed=7)
    ws = Workspace(flaky, "flaky", clock=clock, lookback_ms=3_600_000)
    definitions = load_definitions(LOCATION)
    flaky.enabled = False  # set-up on a good day
    deploy(ws, definitions.snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    flaky.enabled = True
    RAW_EXECUTIONS.clear()
    for day in range(RUNS):
        partition = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%d")
        request = LaunchRequest("key:raw_events", partition=partition, run_key=f"k{day}")
        retried(launch_run, ws, request)
    dispatched: Counter[tuple[str, str | None, int]] = Counter()
    for _ in range(200):
        waiting = NoWorkers()
        try:
            run_timer(ws, datetime.fromtimestamp(clock.now_ms() / 1000, UTC), dispatcher=waiting)
        except ArcoError as exc:
            assert exc.retryable, exc  # a 503: the next timer call goes on
        orders = [o for o in waiting.pending if isinstance(o, TaskOrder)]
        for order in orders:
            dispatched[(order.run_id, order.partition, order.attempt)] += 1
            # Cloud Tasks delivers each order at least once, and again after a 503.
            for _delivery in range(2):
                try:
                    retried(execute_task, ws, definitions, order)
                except ArcoError as exc:
                    assert not exc.retryable or "injected" in str(exc), exc
        clock.advance(60_000)
        flaky.enabled = False
        done = list_runs(retried_snapshot(ws), None, 1000)["runs"]
        flaky.enabled = True
        if len(done) == RUNS and all(r["status"] in ("SUCCESS", "FAILURE") for r in done):
            break
    flaky.enabled = False
    ws.compactor.compact_until_idle()
    runs = list_runs(ws, None, 1000)["runs"]
    assert len(runs) == RUNS and all(r["status"] == "SUCCESS" for r in runs), [
        r["status"] for r in runs
    ]
    # User code ran once per dispatched attempt: never twice, and no attempt was lost.
    assert all(n == 1 for n in RAW_EXECUTIONS.values()), RAW_EXECUTIONS
    assert set(RAW_EXECUTIONS) == set(dispatched)
    assert flaky.failures > 50
    assert verify(ws).identical
    print(
        f"\nflaky store: {flaky.failures} failed calls; {len(dispatched)} attempts dispatched, "
        f"{sum(dispatched.values())} orders (each delivered twice), "
        f"{sum(RAW_EXECUTIONS.values())} executions of user code"
    )


def retried_snapshot(ws: Workspace) -> Workspace:
    ws.compactor.compact_until_idle()
    return ws
