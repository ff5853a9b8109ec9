"""Storage over time: 1,000 timer calls, a minute apart, on a busy workspace with GC on.

Every minute a schedule asks for a run of a two-asset graph, an in-process worker executes it
(claims, logs, reports), and an operator changes a setting. The timer publishes and collects
garbage (`gc.enabled`, grace 5 minutes). Reported: the object counts per prefix every 100
calls (manifests, table files, attempt claims, ledger, logs), their peaks, and whether the
published state is what a rebuild from the ledger gives at the end.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from arco.clock import OffsetClock
from arco.sdk import DefaultScheduleStatus, Definitions, ScheduleDefinition, asset
from arco.services.commands.deploy import deploy
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore

MINUTE_MS = 60_000
GRACE_MINUTES = 5
MANIFESTS_BUDGET = 2 * GRACE_MINUTES + 4  # two publications a call (in-process workers)
FILES_BUDGET = 200


@asset
def landed() -> None:
    """Stands for an ingestion step."""


@asset(deps=["landed"])
def modelled() -> None:
    """Stands for a transformation."""


DEFS = Definitions(
    assets=[landed, modelled],
    schedules=[
        ScheduleDefinition(
            name="every_minute",
            cron_schedule="* * * * *",
            target=[landed, modelled],
            default_status=DefaultScheduleStatus.RUNNING,
        )
    ],
)


def _census(ws: Workspace) -> Counter[str]:
    """Objects per kind under the workspace's prefix."""
    counts: Counter[str] = Counter()
    root = ws.layout.root
    for listed in ws.store.list(root):
        rest = listed.key[len(root) :]
        if rest.startswith("state/manifests/"):
            counts["manifests"] += 1
        elif rest.startswith("state/tables/"):
            counts["table_files"] += 1
        else:
            counts[rest.split("/", 1)[0]] += 1
    return counts


def measure(quick: bool) -> dict[str, Any]:
    calls = 200 if quick else 1000
    start = datetime(2024, 6, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        clock = OffsetClock()
        clock.set_now(int(start.timestamp() * 1000))
        ws = Workspace(LocalObjectStore(Path(tmp)), "busy", clock=clock, lookback_ms=MINUTE_MS)
        deploy(ws, DEFS.snapshot("benchmarks.storage:DEFS"), "bench")
        change_setting(ws, "gc.enabled", True, "gc-on", "bench")
        change_setting(ws, "gc.grace_minutes", GRACE_MINUTES, "gc-grace", "bench")
        executor = InProcessExecutor(ws, DEFS)
        samples: list[dict[str, Any]] = []
        peaks: Counter[str] = Counter()
        runs = compactions = 0
        seconds = 0.0
        for call in range(1, calls + 1):
            change_setting(ws, "runs.max_in_flight", call % 40 + 5, f"op-{call}", "bench")
            moment = datetime.fromtimestamp(clock.now_ms() / 1000, UTC)
            began = time.perf_counter()
            result = run_timer(ws, moment, dispatcher=executor)
            seconds += time.perf_counter() - began
            runs += result.runs_launched
            compactions += result.compactions
            bounded = {
                "manifests": ws.layout.manifests_prefix,
                "table_files": ws.layout.tables_prefix,
                "claims": ws.layout.claims_prefix,
            }
            for kind, prefix in bounded.items():
                peaks[kind] = max(peaks[kind], sum(1 for _ in ws.store.list(prefix)))
            if call % 100 == 0 or call == calls:
                samples.append({"call": call, **dict(sorted(_census(ws).items()))})
            clock.offset_ms += MINUTE_MS
        report = verify(ws)
        doctor = {f.check: f.status for f in run_doctor(ws)}
    final = samples[-1]
    return {
        "timer_calls": calls,
        "runs_launched": runs,
        "compactions_per_call": round(compactions / calls, 2),
        "timer_seconds_per_call": round(seconds / calls, 4),
        "grace_minutes": GRACE_MINUTES,
        "samples": samples,
        "peaks": dict(peaks),
        "rebuild_identical": report.identical,
        "doctor": doctor,
        "note": "the ledger and the logs grow with the work (they are the history and what "
        "users read); manifests, table files and attempt claims stay bounded",
        "budgets": [
            {
                "name": f"manifests at most, over {calls} calls with GC on",
                "value": peaks["manifests"],
                "budget": f"<= {MANIFESTS_BUDGET} (grace {GRACE_MINUTES} min)",
                "met": peaks["manifests"] <= MANIFESTS_BUDGET,
            },
            {
                "name": f"table files at most, over {calls} calls with GC on",
                "value": peaks["table_files"],
                "budget": f"<= {FILES_BUDGET}",
                "met": peaks["table_files"] <= FILES_BUDGET,
            },
            {
                "name": "attempt claims left at the end",
                "value": final.get("claims", 0),
                "budget": "<= 2 runs a minute x 2 tasks x (grace + 15) minutes",
                "met": final.get("claims", 0) <= 2 * 2 * (GRACE_MINUTES + 15),
            },
            {
                "name": "rebuild --verify after the calls",
                "value": "identical" if report.identical else "DIFFERENT",
                "budget": "identical",
                "met": report.identical,
            },
        ],
    }
