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
MODULES = {
    "ledger_writer": "arco.ledger.writer",
    "functions_main": "functions.main",
    "sensor_push": "arco.services.engines.sensor_push",
}
# A `sensor_push` instance's whole cold path: import the entry point, build the handler (store,
# writer, code location, verifier) and answer one push, in a fresh interpreter.
FIRST_PUSH = """
import base64, json, os, sys, tempfile, time
os.environ.update(ARCO_STORE="file://" + tempfile.mkdtemp(), ARCO_WORKSPACE="bench",
                  ARCO_DEFINITIONS="tests.fixtures.sensors_graph:defs")
t = time.perf_counter()
import functions.main as main
body = json.dumps({"subscription": "projects/test-project/subscriptions/orders-landed",
                   "message": {"messageId": "m1",
                               "data": base64.b64encode(b'{"day": "2024-01-02"}').decode()}})
answer = main._push_handler().handle(body.encode(), {"Content-Type": "application/json"}, "/")
assert answer.status == 200, answer.body
print(time.perf_counter() - t, "pyarrow" in sys.modules)
"""


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
        if label in MODULES:
            out["budgets"].append(
                {
                    "name": f"import {module} (entry points / ingest path)",
                    "value": round(median, 4),
                    "budget": "<= 0.5 s, no pyarrow",
                    "met": median <= 0.5 and not pyarrow,
                }
            )
    times, pyarrow = [], False
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", FIRST_PUSH], capture_output=True, text=True, check=True, cwd=ROOT
        )
        seconds, loaded = proc.stdout.split()
        times.append(float(seconds))
        pyarrow = pyarrow or loaded == "True"
    median = statistics.median(times)
    out["first_push"] = {"median_seconds": round(median, 4), "imports_pyarrow": pyarrow}
    out["budgets"].append(
        {
            "name": "sensor_push cold path: import, build the handler, answer one push",
            "value": round(median, 4),
            "budget": "<= 0.5 s, no pyarrow",
            "met": median <= 0.5 and not pyarrow,
        }
    )
    return out
