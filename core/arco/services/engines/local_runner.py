"""Driving runs to the end in this process: `arco run --wait`, `arco dev`, `make demo`.

The same timer call as in the cloud (fold, launch, dispatch, time out), with the in-process
executor as the worker pool. Between calls it sleeps until the earliest retry is due.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from arco.clock import clock_now
from arco.domain.errors import NotFound
from arco.domain.runs import TERMINAL_RUN
from arco.domain.tables import Row
from arco.services.engines.dispatch import TaskDispatcher
from arco.services.engines.timer import TimerResult, run_timer
from arco.services.queries.runs import find_run, tasks_of
from arco.services.workspace import Workspace

Progress = Callable[[dict[str, int], str], None]
TaskWatcher = Callable[[list[Row]], None]
"""Called after every timer call with the run's task rows (to report what changed)."""


def drive_run(
    ws: Workspace,
    run_id: str,
    dispatcher: TaskDispatcher,
    timeout_s: float = 3600.0,
    poll_s: float = 1.0,
    on_progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_tasks: TaskWatcher | None = None,
) -> str:
    """Run timer calls until run `run_id` is terminal; its final status.

    With a dispatcher that executes nothing (workers elsewhere), this only watches.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        now = clock_now(ws.clock)
        result: TimerResult = run_timer(ws, now, dispatcher=dispatcher)
        snapshot = ws.snapshot()
        run = find_run(snapshot, run_id)
        if run is None:
            raise NotFound(f"no run {run_id!r} in workspace {ws.name!r}")
        tasks = tasks_of(snapshot, run_id)
        if on_tasks is not None:
            on_tasks(tasks)
        if on_progress is not None:
            counts = {
                "total": run["tasks_total"],
                "done": run["tasks_succeeded"]
                + run["tasks_failed"]
                + run["tasks_skipped"]
                + run["tasks_canceled"],
            }
            on_progress(counts, run["status"])
        if run["status"] in TERMINAL_RUN:
            return str(run["status"])
        if time.monotonic() > deadline:
            return str(run["status"])
        if result.progressed:
            continue
        retries = [t["retry_at_ms"] for t in tasks if t["status"] == "RETRY_WAIT"]
        wait_s = poll_s
        if retries:
            wait_s = max(0.0, min(min(retries) - ws.clock.now_ms(), 900_000) / 1000)
            wait_s = min(max(wait_s, 0.05), 60.0)
        sleep(wait_s)
