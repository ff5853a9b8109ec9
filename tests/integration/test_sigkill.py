"""Real processes killed (SIGKILL) at random instants while they append and compact, on the
local store: each time, the next compaction heals without an operator, and in the end the state
is what a rebuild from the ledger gives. The first kill lands in the workspace's first
publications."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

# Appends settings changes and compacts after each, forever (until killed).
WORKER = """
import sys
from arco.services.commands.settings import change_setting
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
ws = Workspace(LocalObjectStore(sys.argv[1]), "k", lookback_ms=120_000, source="victim")
n = int(sys.argv[2])
print("ready", flush=True)
while True:
    n += 1
    change_setting(ws, "runs.max_in_flight", n % 90 + 1, f"{sys.argv[2]}-{n}", "victim")
    ws.compactor.compact()
"""


def test_kills_at_random_instants_heal_on_the_next_compaction(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    create_workspaces(store, "k")
    rng = random.Random(2026)
    for round_ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(round_ * 100_000)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        # The next compaction, by another process, heals whatever instant the kill hit.
        survivor = Workspace(store, "k", lookback_ms=120_000)
        survivor.compactor.compact_until_idle()
    ws = Workspace(store, "k", lookback_ms=120_000)
    ws.compactor.compact(sweep=True)
    assert ws.manifest().manifest_id > 0
    report = verify(ws)
    assert report.identical, report.diffs
    findings = {f.check: f for f in run_doctor(ws)}
    assert findings["pointer"].status == "ok" and findings["ledger"].status == "ok"
    assert findings["quarantine"].status == "ok"
