"""Runs at scale: one timer call advancing many active runs, and folding worker reports.

No budget in the architecture brief covers runs; Arco holds itself to the schedules budget
(one timer call <= 1 s) for 500 active runs of 20 tasks each, and reports the rest.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arco.clock import FixedClock
from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from benchmarks.stand_in_worker import report_success

ASSETS = 10


def _definitions() -> Definitions:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    specs = [
        AssetSpec(f"a{i}", deps=[f"a{i - 1}"] if i else [], partitions_def=daily)
        for i in range(ASSETS)
    ]
    return Definitions(assets=specs)


def measure(quick: bool) -> dict[str, Any]:
    runs = 100 if quick else 500
    now = datetime(2024, 3, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(int(now.timestamp() * 1000))
        ws = Workspace(LocalObjectStore(Path(tmp)), "bench", clock=clock, lookback_ms=3_600_000)
        deploy(ws, _definitions().snapshot("benchmarks.runs:defs"), "bench")
        change_setting(ws, "runs.max_in_flight", runs, "bench", "bench")
        ws.compactor.compact_until_idle()
        started = time.perf_counter()
        for i in range(runs):
            day = 1 + (i % 27)
            first, last = f"2024-02-{day:02d}", f"2024-02-{day + 1:02d}"
            launch_run(ws, LaunchRequest("*", partition_range=(first, last)))
        launch_s = time.perf_counter() - started
        ws.compactor.compact_until_idle()

        waiting = NoWorkers()
        started = time.perf_counter()
        first_call = run_timer(ws, now, compact=False, dispatcher=waiting)
        first_s = time.perf_counter() - started
        ws.compactor.compact_until_idle()
        started = time.perf_counter()
        run_timer(ws, now, compact=False, dispatcher=waiting)
        steady_s = time.perf_counter() - started

        # Every dispatched task reports started and finished, 1,000 events per ledger object.
        reported = report_success(ws, waiting.pending)
        started = time.perf_counter()
        ws.compactor.compact_until_idle()
        fold_s = time.perf_counter() - started
    timer_budget = 1.0
    return {
        "runs": runs,
        "tasks": runs * 2 * ASSETS,
        "launch_seconds": round(launch_s, 3),
        "launches_per_second": round(runs / launch_s, 1),
        "first_timer_call_seconds": round(first_s, 4),
        "first_timer_call_launched": first_call.runs_launched,
        "first_timer_call_dispatched": first_call.tasks_dispatched,
        "steady_timer_call_seconds": round(steady_s, 4),
        "reports_folded": 2 * reported,
        "report_fold_seconds": round(fold_s, 3),
        "reports_per_second": round(2 * reported / fold_s) if fold_s else None,
        "budgets": [
            {
                "name": f"timer call launching {runs} runs of {2 * ASSETS} tasks",
                "value": round(first_s, 4),
                "budget": f"<= {timer_budget} s (Arco's own, as for schedules)",
                "met": first_s <= timer_budget,
            }
        ],
    }
