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
# A `sensor_push` instance's whole cold path, in a fresh interpreter: import the entry point,
# build the instance (store, writer, code location, verifier), verify the caller's ID token
# (google-auth, the first certificate fetch: from a local stand-in for Google's endpoint) and
# answer one push. The workspace marker is written before the clock starts.
FIRST_PUSH = """
import base64, json, os, pathlib, sys, tempfile, time
root = tempfile.mkdtemp()
(pathlib.Path(root) / "directory" / "workspaces").mkdir(parents=True)
(pathlib.Path(root) / "directory" / "workspaces" / "bench.json").write_text("{{}}")
os.environ.update(ARCO_STORE="file://" + root, ARCO_WORKSPACE="bench", ARCO_WORKSPACES="bench",
                  ARCO_DEFINITIONS="tests.fixtures.sensors_graph:defs",
                  ARCO_AUDIENCE="{audience}", ARCO_INVOKERS="{invoker}", ARCO_CERTS_URL="{certs}")
t = time.perf_counter()
import functions.main
from arco.bootstrap import instance
from arco.function_endpoints import HttpCall
body = json.dumps({{"subscription": "projects/test-project/subscriptions/orders-landed",
                   "message": {{"messageId": "m1",
                               "data": base64.b64encode(b'{{"day": "2024-01-02"}}').decode()}}}})
headers = {{"content-type": "application/json", "authorization": "Bearer {token}"}}
call = HttpCall.of(body.encode(), headers, "/", "10.0.0.1")
answer = instance("sensor_push").endpoints.call("sensor_push", call)
assert answer.status == 200, answer.body
print(time.perf_counter() - t, "pyarrow" in sys.modules)
"""
AUDIENCE = "https://sensor-push.bench/"


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
    from tests.oidc import PUSH_EMAIL, CertServer

    with CertServer() as certs:
        script = FIRST_PUSH.format(
            audience=AUDIENCE, invoker=PUSH_EMAIL, certs=certs.url, token=certs.token(AUDIENCE)
        )
        for _ in range(runs):
            proc = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"the first push failed:\n{proc.stderr[-2000:]}")
            seconds, loaded = proc.stdout.split()
            times.append(float(seconds))
            pyarrow = pyarrow or loaded == "True"
    median = statistics.median(times)
    out["first_push"] = {"median_seconds": round(median, 4), "imports_pyarrow": pyarrow}
    out["budgets"].append(
        {
            "name": "sensor_push cold path: import, build, verify the token, answer one push",
            "value": round(median, 4),
            "budget": "<= 0.5 s, no pyarrow",
            "met": median <= 0.5 and not pyarrow,
        }
    )
    return out
