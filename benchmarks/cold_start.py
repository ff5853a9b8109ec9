"""Import time of entry-point paths, in fresh interpreters (what a cold start pays)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import time, sys; t = time.perf_counter(); import {module}; "
    "print(time.perf_counter() - t, 'pyarrow' in sys.modules)"
)
# The ledger writer is what every ingest path (sensor_push, timer, worker reports) imports.
MODULES = {"ledger_writer": "arco.ledger.writer", "functions_main": "functions.main"}


def measure(quick: bool) -> dict[str, Any]:
    runs = 3 if quick else 7
    out: dict[str, Any] = {"modules": {}, "budgets": []}
    for label, module in MODULES.items():
        times, pyarrow = [], False
        for _ in range(runs):
            proc = subprocess.run(
                [sys.executable, "-c", PROBE.format(module=module)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            )
            seconds, loaded = proc.stdout.split()
            times.append(float(seconds))
            pyarrow = pyarrow or loaded == "True"
        median = statistics.median(times)
        out["modules"][module] = {"median_seconds": round(median, 4), "imports_pyarrow": pyarrow}
        if label in ("ledger_writer", "functions_main"):
            out["budgets"].append(
                {
                    "name": f"import {module} (entry points / ingest path)",
                    "value": round(median, 4),
                    "budget": "<= 0.5 s, no pyarrow",
                    "met": median <= 0.5 and not pyarrow,
                }
            )
    return out
