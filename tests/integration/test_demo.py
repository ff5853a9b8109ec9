"""The README's first command, as a user runs it: `make demo` twice on one store, then the
store in real time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_demo_runs_twice_and_leaves_a_store_usable_in_real_time(tmp_path: Path) -> None:
    arco = str(Path(sys.executable).parent / "arco")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ARCO_")},
        "ARCO": arco,
        "ARCO_STORE": f"file://{tmp_path}",
    }
    for attempt in (1, 2):
        done = _run(["bash", "scripts/demo.sh"], env)
        assert done.returncode == 0, f"demo run {attempt}:\n{done.stdout[-3000:]}{done.stderr}"
    demo = [arco, "--workspace", "demo"]
    job = ["run", "key:orders", "--partition", "2024-01-10", "--wait"]
    run = _run([*demo, *job, "--definitions", "examples.shop_v2:defs"], env)
    assert run.returncode == 0 and "finished: SUCCESS" in run.stdout, run.stdout + run.stderr
    doctor = _run([*demo, "doctor"], env)
    assert doctor.returncode == 0, doctor.stdout
