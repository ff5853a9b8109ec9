"""Run one benchmark phase in a fresh interpreter: what a serverless call pays.

`in_fresh_process("benchmarks.cron:cold", arg)` imports the module (imports are not timed:
the phase times itself), calls the function with the JSON-able argument and returns the dict it
returned, with the process's peak resident memory added as `peak_rss_mb`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_PROBE = """
import json, sys
from importlib import import_module
module, _, name = sys.argv[1].partition(":")
result = getattr(import_module(module), name)(json.loads(sys.argv[2]))
# VmHWM, not ru_maxrss: Linux keeps the forking parent's maxrss across exec
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
result["peak_rss_mb"] = round(int(peak.split()[1]) / 1024, 1)
print(json.dumps(result))
"""


def in_fresh_process(target: str, argument: Any) -> dict[str, Any]:
    """The dict `target(argument)` returns, computed in a new Python process."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, target, json.dumps(argument)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{target} failed in a fresh process:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
