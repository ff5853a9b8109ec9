"""`make bench`: measure the budgets of docs/../architecture brief §8 and write JSON results.

Results go to benchmarks/results/<name>.json (one file per benchmark) and a summary table is
printed. Nothing here asserts timings; the JSON says whether each budget was met.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    automation,
    backfills,
    cold_start,
    compaction,
    cron,
    ingest,
    partitions,
    runs,
    schedules,
    sensors,
    staleness,
    storage,
)

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "compaction_throughput": compaction.throughput,
    "incremental_compaction": compaction.incremental,
    "cold_start": cold_start.measure,
    "schedules": schedules.measure,
    "cron": cron.measure,
    "partitions": partitions.measure,
    "ingest": ingest.measure,
    "runs": runs.measure,
    "sensors": sensors.measure,
    "backfills": backfills.measure,
    "staleness": staleness.measure,
    "automation": automation.measure,
    "storage": storage.measure,
}


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.names or list(BENCHMARKS):
        print(f"== {name}", flush=True)
        result = {"benchmark": name, "machine": machine(), **BENCHMARKS[name](args.quick)}
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        for budget in result.get("budgets", []):
            mark = "ok " if budget["met"] else "MISSED"
            print(f"   [{mark}] {budget['name']}: {budget['value']} (budget {budget['budget']})")
            if not budget["met"]:
                failed.append(budget["name"])
        print(f"   -> {RESULTS / (name + '.json')}", flush=True)
    if failed:
        print(f"budgets missed: {', '.join(failed)}")
    sys.exit(0)


if __name__ == "__main__":
    main()
