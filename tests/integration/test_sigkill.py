"""Real processes killed (SIGKILL) while they write, compact and run the timer, on the local
store and on fake-gcs-server: each time, the next compaction (and the next timer call) in another
process heals without an operator, and in the end the published state is what a rebuild from the
ledger gives and doctor finds no error.

- A process appending settings and compacting, killed at random instants; the first kill lands
  in the workspace's first publications.
- A timer process ticking schedules and running their tasks in-process, killed at random
  instants: in its publications, in user code, in its reports.
- A compaction, and a timer call, killed at each of the compactor's crash points, in the
  workspace's first publication and over a published history (test_crash_points.py raises
  exceptions at the same points, in-process).

The killed processes are this module run as a script: `python -m tests.integration.test_sigkill
WORKER ARGS...` (see WORKERS at the bottom).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arco.clock import Clock, OffsetClock, clock_now
from arco.projections.compactor import AFTER_POINTER_CAS, CRASH_POINTS
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor, NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.port import ObjectStore
from arco.storage.url import open_store
from tests.workspaces import create_workspaces

REPO = Path(__file__).resolve().parents[2]
MODULE = "tests.integration.test_sigkill"  # the workers: this module run as a script
pytestmark = pytest.mark.slow

SETTINGS_LOOKBACK_MS = 120_000

# The timer tests deploy a code location whose schedules tick hourly and daily. Killed at
# random instants, the timers run on a clock shared by every process of the test that runs SPEED
# times faster than the wall clock (5 simulated hours a second), so that they keep ticking and
# running tasks. Their lookback is in simulated time: 24 simulated hours are ~5 wall-clock
# seconds, far more than any write takes.
LOCATION = "tests.fixtures.scheduling:defs"
SPEED = 18000
SIM_START = datetime(2024, 1, 1, 22, 50, tzinfo=UTC)  # the daily schedules tick 70 min later
TIMER_LOOKBACK_MS = 24 * 3_600_000
# Killed at a crash point, a timer call runs on the wall clock's pace, at TICKED.
DEPLOYED = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
TICKED = datetime(2024, 1, 2, 0, 5, tzinfo=UTC)  # the hourly and daily schedules are due


@dataclass(frozen=True)
class FastClock:
    """Simulated time: `sim_start_ms` at wall-clock `wall_start_s`, then SPEED times faster.
    Processes given the same two numbers agree on the time."""

    sim_start_ms: int
    wall_start_s: float

    def now_ms(self) -> int:
        return self.sim_start_ms + int((time.time() - self.wall_start_s) * 1000 * SPEED)


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.gcs)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store, as the URL the killed processes open it by."""
    if request.param == "local":
        return f"file://{tmp_path / 'store'}"
    bucket: str = request.getfixturevalue("gcs_bucket")
    return f"gs://{bucket}/sigkill"


def spawn(log: Path, *args: str) -> subprocess.Popen[str]:
    """Start one worker of this module; returns once it says it is ready (warm, about to write)."""
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        proc.wait(10)
        pytest.fail(f"worker {args[0]} did not start: {line!r}\n{log.read_text()[-4000:]}")
    return proc


def kill(proc: subprocess.Popen[str], log: Path) -> str:
    """SIGKILL a worker still running; returns what it printed."""
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, (
        f"the worker ended by itself (exit code {proc.returncode}) before the kill:\n"
        + log.read_text()[-4000:]
    )
    return out


def run_until_killed(*args: str) -> None:
    """Run one worker of this module that kills itself (at a crash point); check it did."""
    proc = subprocess.run(
        [sys.executable, "-m", MODULE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr[-4000:])


def published_settings(ws: Workspace) -> dict[str, str]:
    return {k[0]: r["value"] for k, r in ws.snapshot().rows("workspace_settings").items()}


def assert_healthy(ws: Workspace) -> None:
    """The published state is what a rebuild of the ledger gives, nothing is left unfolded, and
    doctor finds no error (orphans of the killed publications are warnings)."""
    report = verify(ws)
    assert report.identical, report.diffs
    assert report.pending == 0
    findings = run_doctor(ws)
    errors = [f.as_dict() for f in findings if f.status == "error"]
    assert not errors, errors
    by_check = {f.check: f for f in findings}
    for check in ("pointer", "table files", "ledger", "quarantine"):
        assert by_check[check].status == "ok", by_check[check].as_dict()


# --- a writer and compactor, killed at random instants ---------------------------------------


def append_and_compact(url: str, first: str) -> None:
    """Append settings changes and compact after each, forever (until killed)."""
    ws = Workspace(open_store(url), "k", lookback_ms=SETTINGS_LOOKBACK_MS, source="victim")
    n = int(first)
    ws.manifest()  # warm up the store's client
    print("ready", flush=True)
    while True:
        n += 1
        change_setting(ws, "runs.max_in_flight", n % 90 + 1, f"{first}-{n}", "victim")
        ws.compactor.compact()
        print("compacted", flush=True)


def test_writers_killed_at_random_instants_heal_on_the_next_compaction(
    store_url: str, tmp_path: Path
) -> None:
    store = open_store(store_url)
    create_workspaces(store, "k")
    rng = random.Random(2026)
    log = tmp_path / "victims.log"
    compactions = 0
    for round_ in range(5):
        proc = spawn(log, "append", store_url, str(round_ * 100_000))
        time.sleep(rng.uniform(0.02, 0.6))
        compactions += kill(proc, log).count("compacted")
        # The next compaction, by another process, heals whatever instant the kill hit.
        survivor = Workspace(store, "k", lookback_ms=SETTINGS_LOOKBACK_MS)
        survivor.compactor.compact_until_idle()
    assert compactions > 0  # the victims did work before they were killed
    ws = Workspace(store, "k", lookback_ms=SETTINGS_LOOKBACK_MS)
    ws.compactor.compact(sweep=True)
    assert ws.manifest().manifest_id > 0
    assert ws.manifest().events_total == len(ws.snapshot().table("idempotency_keys"))
    assert_healthy(ws)


# --- the timer, killed at random instants -----------------------------------------------------


def timer_workspace(store: ObjectStore, clock: Clock, source: str) -> Workspace:
    return Workspace(store, "t", clock=clock, lookback_ms=TIMER_LOOKBACK_MS, source=source)


def tick_forever(url: str, sim_start_ms: str, wall_start_s: str) -> None:
    """Run the timer in a loop (until killed), executing the tasks it dispatches right here."""
    clock = FastClock(int(sim_start_ms), float(wall_start_s))
    ws = timer_workspace(open_store(url), clock, "victim")
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    ws.manifest()
    print("ready", flush=True)
    while True:
        result = run_timer(ws, clock_now(clock), dispatcher=executor)
        print(f"timer {result.manifest_id} executed {len(result.dispatch.executed)}", flush=True)


def test_timers_killed_at_random_instants_heal_on_the_next_call(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCO_TEST_CODE_VERSION", raising=False)  # the workers load LOCATION too
    store = open_store(store_url)
    create_workspaces(store, "t")
    clock = FastClock(int(SIM_START.timestamp() * 1000), time.time())
    definitions = load_definitions(LOCATION)
    # Deployed, not compacted: the first timer call (a victim's) makes the first publication.
    deploy(timer_workspace(store, clock, "test"), definitions.snapshot(LOCATION), "test")
    rng = random.Random(7)
    log = tmp_path / "victims.log"
    calls = executed = 0
    # At least 5 kills, and more (up to 15) until a victim has ticked and run a task before it
    # died: on a loaded machine the first kills can land before a victim's first timer call,
    # so after the fifth each victim may live twice as long as the one before (up to 12 s).
    for victim in range(15):
        if victim >= 5 and calls > 0 and executed > 0:
            break
        proc = spawn(log, "timer", store_url, str(clock.sim_start_ms), repr(clock.wall_start_s))
        time.sleep(rng.uniform(0.05, 0.8) * min(2 ** max(victim - 4, 0), 16))
        out = kill(proc, log)
        calls += out.count("timer ")
        executed += sum(int(line.split()[-1]) for line in out.splitlines() if "executed" in line)
        # Another process compacts and calls the timer: both heal whatever the kill hit.
        survivor = timer_workspace(store, clock, "survivor")
        survivor.compactor.compact_until_idle()
        result = run_timer(
            survivor, clock_now(clock), dispatcher=InProcessExecutor(survivor, definitions)
        )
        assert not result.failed_steps, result.failed_steps
    assert calls > 0 and executed > 0  # the victims ticked and ran tasks before they died

    # The end: time slows down to the wall clock's pace (doctor would otherwise see the timer
    # late for ticks passed during the checks), and a last timer call runs at it. Not a clock
    # that stops: the timer's decisions are dated 1 ms after its `now`, so reports written by
    # in-process workers on a stopped clock would sort before the dispatches they answer.
    end = OffsetClock()
    end.set_now(clock.now_ms())
    ws = timer_workspace(store, end, "test")
    result = run_timer(ws, clock_now(end), dispatcher=InProcessExecutor(ws, definitions))
    assert not result.failed_steps, result.failed_steps
    ws.compactor.compact(sweep=True)
    assert_healthy(ws)
    snapshot = ws.snapshot()
    ticks = snapshot.table("schedule_ticks").to_pylist()
    triggered = {t["schedule"] for t in ticks if t["status"] == "TRIGGERED"}
    assert triggered >= {"hourly_latest", "daily_partitioned"}
    runs = snapshot.table("runs").to_pylist()
    assert any(r["status"] == "SUCCESS" for r in runs), runs


# --- a compaction, and a timer call, killed at each crash point ------------------------------


def die_at(point: str) -> Callable[[str], None]:
    """A crash hook that SIGKILLs this process at `point`."""

    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def compact_and_die_at(url: str, point: str, request: str) -> None:
    """Append two settings changes, then compact, SIGKILLing this process at `point`."""
    ws = Workspace(open_store(url), "k", lookback_ms=SETTINGS_LOOKBACK_MS, source="victim")
    change_setting(ws, "runs.max_in_flight", 7, request, "victim")
    change_setting(ws, "reconciliation.max_runs_per_hour", 11, request, "victim")
    ws.compactor.crash = die_at(point)
    print("ready", flush=True)
    ws.compactor.compact()
    sys.exit(f"the compaction ended without reaching {point}")


@pytest.mark.parametrize("history", [False, True], ids=["first-publication", "over-history"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_kill_at_each_crash_point_heals_on_the_next_compaction(
    store_url: str, tmp_path: Path, point: str, history: bool
) -> None:
    store = open_store(store_url)
    create_workspaces(store, "k")
    ws = Workspace(store, "k", lookback_ms=SETTINGS_LOOKBACK_MS, source="test")
    events = 0
    if history:
        for i in range(2):
            change_setting(ws, "runs.max_in_flight", 1 + i, f"history-{i}", "test")
            ws.compactor.compact()
            events += 1
    published = ws.manifest().manifest_id
    run_until_killed("crash", store_url, point, "v")
    events += 2
    # Killed after its pointer CAS, the victim published; anywhere before, it did not.
    assert ws.manifest().manifest_id == published + (1 if point == AFTER_POINTER_CAS else 0)

    survivor = Workspace(store, "k", lookback_ms=SETTINGS_LOOKBACK_MS, source="survivor")
    change_setting(survivor, "runs.max_in_flight", 8, "after", "survivor")
    events += 1
    [result] = survivor.compactor.compact_until_idle()
    assert result.published and result.attempts <= 2  # no waiting out the lookback
    assert published_settings(survivor) == {
        "runs.max_in_flight": "8",
        "reconciliation.max_runs_per_hour": "11",
    }
    manifest = survivor.manifest()
    assert manifest.events_total == events  # every event folded exactly once
    assert len(survivor.snapshot().table("idempotency_keys")) == events
    assert_healthy(survivor)


def tick_and_die_at(url: str, point: str, offset_ms: str) -> None:
    """One timer call, SIGKILLing this process at `point` of its publication."""
    clock = OffsetClock(int(offset_ms))
    ws = timer_workspace(open_store(url), clock, "victim")
    ws.compactor.crash = die_at(point)
    print("ready", flush=True)
    run_timer(ws, clock_now(clock), dispatcher=NoWorkers())
    sys.exit(f"the timer call ended without reaching {point}")


@pytest.mark.parametrize("history", [False, True], ids=["first-publication", "over-history"])
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_timer_killed_at_each_crash_point_heals_on_the_next_call(
    store_url: str, point: str, history: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCO_TEST_CODE_VERSION", raising=False)
    store = open_store(store_url)
    create_workspaces(store, "t")
    clock = OffsetClock()
    clock.set_now(int(DEPLOYED.timestamp() * 1000))
    ws = timer_workspace(store, clock, "test")
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    if history:
        run_timer(ws, clock_now(clock))  # publishes the deployment; nothing is due yet
    published = ws.manifest().manifest_id
    clock.set_now(int(TICKED.timestamp() * 1000))
    run_until_killed("timer-crash", store_url, point, str(clock.offset_ms))
    assert ws.manifest().manifest_id == published + (1 if point == AFTER_POINTER_CAS else 0)

    survivor = timer_workspace(store, clock, "survivor")
    survivor.compactor.compact_until_idle()
    result = run_timer(survivor, clock_now(clock))
    assert not result.failed_steps, result.failed_steps
    assert_healthy(survivor)
    snapshot = survivor.snapshot()
    ticks = snapshot.table("schedule_ticks").to_pylist()
    runs = snapshot.table("runs").to_pylist()
    # The killed call's ticks and runs (made by it, or again by the survivor), each once.
    triggered = {t["schedule"] for t in ticks if t["status"] == "TRIGGERED"}
    assert triggered >= {"hourly_latest", "daily_partitioned"}
    launched = [run for t in ticks for run in json.loads(t["run_ids"] or "[]")]
    assert runs and sorted(launched) == sorted(r["run_id"] for r in runs)


WORKERS: dict[str, Callable[..., None]] = {
    "append": append_and_compact,
    "timer": tick_forever,
    "crash": compact_and_die_at,
    "timer-crash": tick_and_die_at,
}

if __name__ == "__main__":
    WORKERS[sys.argv[1]](*sys.argv[2:])
