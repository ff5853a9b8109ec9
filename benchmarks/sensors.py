"""Sensors at scale: the timer's sensor decisions, and folding push evaluations.

- One timer call with 1,000 poll sensors due (orders only: the worker evaluates them) and
  100 asset sensors watching 100 assets with 100 materialized partitions each (10,000
  `partition_status` rows): evaluate + append.
- 10,000 push evaluations (what `sensor_push` appends, one per message), folded.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from arco.clock import FixedClock
from arco.domain.sensor_controller import SensorOrder
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SensorEvaluated,
    SensorRunRequest,
    message_fingerprint,
    push_evaluation_key,
)
from arco.ledger.writer import NewEvent
from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions
from arco.sdk.sensors import DefaultSensorStatus, SensorDefinition
from arco.services.commands.deploy import deploy
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from benchmarks.stand_in_worker import report_success

BUDGET_S = 1.0


def _definitions(assets: int, polls: int) -> Definitions:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    specs = [AssetSpec(f"a{i}", partitions_def=daily) for i in range(assets)]
    running = DefaultSensorStatus.RUNNING
    sensors = [
        SensorDefinition(
            f"poll{i}", "poll", (f"a{i % assets}",), fn=lambda: None, default_status=running
        )
        for i in range(polls)
    ] + [
        SensorDefinition(
            f"watch{i}",
            "asset",
            (f"a{(i + 1) % assets}",),
            monitored_assets=(f"a{i}",),
            default_status=running,
        )
        for i in range(assets)
    ]
    return Definitions(assets=specs, sensors=sensors)


def measure(quick: bool) -> dict[str, Any]:
    assets, days, polls, pushes = (20, 20, 200, 2_000) if quick else (100, 100, 1_000, 10_000)
    now = datetime(2024, 6, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(int(now.timestamp() * 1000))
        ws = Workspace(LocalObjectStore(Path(tmp)), "bench", clock=clock, lookback_ms=3_600_000)
        # Materialize first without sensors (asset sensors would chain runs), then deploy them.
        plain = Definitions(assets=_definitions(assets, 0).assets)
        deploy(ws, plain.snapshot("benchmarks.sensors:assets"), "bench")
        ws.compactor.compact_until_idle()
        _materialize(ws, assets, days)
        deploy(ws, _definitions(assets, polls).snapshot("benchmarks.sensors:defs"), "bench")
        ws.compactor.compact_until_idle()
        materialized = ws.snapshot().table("partition_status").num_rows

        waiting = NoWorkers()
        started = time.perf_counter()
        first = run_timer(ws, now, compact=False, dispatcher=waiting)
        timer_s = time.perf_counter() - started

        events = [
            NewEvent(
                SENSOR_EVALUATED,
                SensorEvaluated(
                    sensor="poll0",
                    kind="push",
                    outcome="REQUESTED",
                    message_id=f"m{i}",
                    run_requests=[SensorRunRequest(run_key=f"m{i}", asset_selection=["a0"])],
                ),
                push_evaluation_key("poll0", None, f"m{i}", message_fingerprint(None)),
            )
            for i in range(pushes)
        ]
        for i in range(0, len(events), 1000):
            ws.writer.append(events[i : i + 1000])
        started = time.perf_counter()
        ws.compactor.compact_until_idle()
        fold_s = time.perf_counter() - started
    return {
        "poll_sensors": polls,
        "asset_sensors": assets,
        "partition_status_rows": materialized,
        "timer_call_seconds": round(timer_s, 4),
        "poll_orders": sum(1 for o in waiting.pending if isinstance(o, SensorOrder)),
        "sensor_ticks_written": first.sensor_ticks,
        "push_evaluations_folded": pushes,
        "push_fold_seconds": round(fold_s, 3),
        "push_evaluations_per_second": round(pushes / fold_s) if fold_s else None,
        "budgets": [
            {
                "name": (
                    f"timer call: {polls} poll sensors due, {assets} asset sensors over "
                    f"{materialized} materialized partitions"
                ),
                "value": round(timer_s, 4),
                "budget": f"<= {BUDGET_S} s (Arco's own, as for schedules)",
                "met": timer_s <= BUDGET_S,
            }
        ],
    }


def _materialize(ws: Workspace, assets: int, days: int) -> None:
    """Launch one run per asset over `days` partitions and report every task SUCCESS."""
    from arco.domain.run_controller import TaskOrder
    from arco.services.commands.runs import LaunchRequest, launch_run
    from arco.services.commands.settings import change_setting

    change_setting(ws, "runs.max_in_flight", assets, "bench", "bench")
    last = (date(2024, 1, 1) + timedelta(days=days - 1)).isoformat()
    for i in range(assets):
        launch_run(ws, LaunchRequest(f"key:a{i}", partition_range=("2024-01-01", last)))
    ws.compactor.compact_until_idle()
    when = datetime.fromtimestamp(ws.clock.now_ms() / 1000, tz=UTC)
    while True:  # a timer call dispatches a bounded number of tasks: call until all ran
        waiting = NoWorkers()
        run_timer(ws, when, dispatcher=waiting)
        orders = [o for o in waiting.pending if isinstance(o, TaskOrder)]
        if not orders:
            return
        report_success(ws, orders)
