"""Leader churn: two timers and two compactors race on one workspace, as when the timer's
leadership moves between instances (a Cloud Scheduler backstop firing while the Cloud Tasks
chain is alive, an instance that resumes after a pause, one killed mid-publication).

Arco has no leader election: safety rests on deterministic event ids and idempotency keys
(`tick:<schedule>:<tick ms>`, keyed run ids) and on the pointer compare-and-swap. So the
churned workspace must end with exactly the ticks, run requests and runs one timer alone would
have made, each once, and a published state a rebuild from the ledger reproduces.

Each timer is a thread with its own Workspace (its own caches, as another instance would have).
For every simulated instant (every 10 minutes over six hours) one timer or both call the timer
(the churn plan decides which), after a random pause, and some calls are killed at one of the
compactor's crash points (an exception raised there: the call dies between its ledger writes and
its publication, or after it). Two compactor threads compact in a loop meanwhile, pausing at
crash points and sometimes killed at them too. A barrier keeps the two timers on the same
instant, as timers on one clock would be; within an instant everything races.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock
from arco.domain.errors import ConflictError
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from arco.storage.port import ObjectStore

LOCATION = "tests.fixtures.scheduling:defs"
DEPLOYED = datetime(2024, 1, 1, 21, 30, tzinfo=UTC)
INSTANTS = [DEPLOYED + timedelta(minutes=10 * i) for i in range(1, 37)]  # to 03:30 next day
LOOKBACK_MS = 24 * 3_600_000  # a timer that paused writes behind what others published
TABLES = ("schedule_ticks", "run_requests", "runs", "tasks", "idempotency_keys")
# An instance dies at a random crash point among the first N it reaches (a timer call that
# publishes passes three or more: after each table write, after the manifest write, around the
# pointer swap).
TIMER_LIFETIME, COMPACTOR_LIFETIME = 12, 16


class Killed(Exception):
    """Raised at a crash point: the instance dies there."""


@dataclass
class Churn:
    """What happened during a churned run, for the assertions and for failure messages."""

    timer_calls: int = 0
    timer_kills: int = 0
    compactions: int = 0
    compactor_kills: int = 0
    lost_races: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


def workspace(store: ObjectStore, clock: FixedClock, source: str) -> Workspace:
    return Workspace(store, "churn", clock=clock, lookback_ms=LOOKBACK_MS, source=source)


def deployed(root: Path, clock: FixedClock) -> ObjectStore:
    store = LocalObjectStore(root)
    ws = workspace(store, clock, "deploy")
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    return store


def crash_hook(rng: random.Random, lifetime: int) -> Callable[[str], None]:
    """Pause briefly at every crash point, and die at the `lifetime`-th one reached (an
    instance lives through a random number of publication steps)."""
    reached = 0

    def hook(point: str) -> None:
        nonlocal reached
        time.sleep(rng.uniform(0, 0.002))
        reached += 1
        if reached == lifetime:
            raise Killed(point)

    return hook


def instance(
    store: ObjectStore, clock: FixedClock, source: str, rng: random.Random, lifetime: int
) -> Workspace:
    """A new instance (empty caches) that dies at a random crash point within `lifetime`."""
    ws = workspace(store, clock, source)
    ws.compactor.crash = crash_hook(rng, rng.randint(1, lifetime))
    return ws


def at(clock: FixedClock, moment: datetime) -> None:
    clock._now = int(moment.timestamp() * 1000)  # the writers stamp events with this time


def tables(ws: Workspace) -> dict[str, dict[Any, dict[str, Any]]]:
    """The tables under test, without the ids of the events that wrote them (row_version, and
    the event_id of an idempotency key): the deployment's event has a random id, so the
    reference workspace's ids differ from the churned one's."""
    snapshot = ws.snapshot()
    return {
        name: {
            key: {c: v for c, v in row.items() if c not in ("row_version", "event_id")}
            for key, row in snapshot.rows(name).items()
        }
        for name in TABLES
    }


def one_timer_alone(root: Path) -> dict[str, dict[Any, dict[str, Any]]]:
    """The reference: one timer, called at every instant, nothing racing it."""
    clock = FixedClock(int(DEPLOYED.timestamp() * 1000))
    ws = workspace(deployed(root, clock), clock, "alone")
    for moment in INSTANTS:
        at(clock, moment)
        assert not run_timer(ws, moment, dispatcher=NoWorkers()).failed_steps
    return tables(ws)


def churned(root: Path, seed: int) -> tuple[Workspace, Churn]:
    """Two timers and two compactors through the churn plan of `seed`."""
    clock = FixedClock(int(DEPLOYED.timestamp() * 1000))  # shared: one simulated time
    store = deployed(root, clock)
    plan_rng = random.Random(seed)
    # Per instant: which timers call (at least one; both about half the time).
    plan = [plan_rng.choice([(0,), (1,), (0, 1), (0, 1)]) for _ in INSTANTS]
    churn = Churn()
    barrier = threading.Barrier(2)
    stop = threading.Event()

    def timer(index: int) -> None:
        rng = random.Random(seed * 10 + index)
        ws = instance(store, clock, f"timer-{index}", rng, TIMER_LIFETIME)
        try:
            for moment, callers in zip(INSTANTS, plan, strict=True):
                barrier.wait(timeout=60)
                if index == 0:
                    at(clock, moment)
                barrier.wait(timeout=60)
                if index not in callers:
                    continue
                time.sleep(rng.uniform(0, 0.003))
                try:
                    result = run_timer(ws, moment, dispatcher=NoWorkers())
                except Killed:
                    churn.add("timer_kills")
                    ws = instance(store, clock, f"timer-{index}", rng, TIMER_LIFETIME)
                    continue
                except ConflictError:  # lost the pointer race max_attempts times: retried later
                    churn.add("lost_races")
                    continue
                churn.add("timer_calls")
                if result.failed_steps:
                    churn.errors.append(f"timer {index} at {moment}: {result.failed_steps}")
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            churn.errors.append(f"timer {index}: {exc!r}")
            barrier.abort()

    def compactor(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        ws = instance(store, clock, f"compactor-{index}", rng, COMPACTOR_LIFETIME)
        while not stop.is_set():
            try:
                steps = ws.compactor.compact_until_idle()
                churn.add("compactions", sum(1 for step in steps if step.published))
            except Killed:
                churn.add("compactor_kills")
                ws = instance(store, clock, f"compactor-{index}", rng, COMPACTOR_LIFETIME)
            except ConflictError:
                churn.add("lost_races")
            except Exception as exc:  # pragma: no cover - reported by the assertion below
                churn.errors.append(f"compactor {index}: {exc!r}")
                return
            time.sleep(rng.uniform(0, 0.004))

    threads = [threading.Thread(target=timer, args=(i,)) for i in range(2)]
    threads += [threading.Thread(target=compactor, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads[:2]:
        thread.join(timeout=300)
    stop.set()
    for thread in threads[2:]:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"

    # The dust settles: a fresh instance compacts whatever a killed call left unpublished.
    survivor = workspace(store, clock, "survivor")
    survivor.compactor.compact_until_idle()
    survivor.compactor.compact(sweep=True)
    return survivor, churn


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_timers_and_two_compactors_through_churn_decide_everything_once(
    tmp_path: Path, seed: int
) -> None:
    alone = one_timer_alone(tmp_path / "alone")
    ws, churn = churned(tmp_path / "churned", seed)
    assert churn.errors == []
    # The churn really happened: both timers called, calls and compactions were killed.
    assert churn.timer_calls + churn.timer_kills >= len(INSTANTS)
    assert churn.timer_kills > 0 and churn.compactor_kills > 0, churn

    got = tables(ws)
    # Every schedule tick evaluated once, with the decision one timer alone made.
    assert got["schedule_ticks"] == alone["schedule_ticks"]
    ticked = {(k[0], r["tick_time"]) for k, r in got["schedule_ticks"].items()}
    assert len(ticked) == len(got["schedule_ticks"]) > 0
    # Every run request recorded once, and each became exactly one run.
    assert got["run_requests"] == alone["run_requests"]
    requested = [r["run_id"] for r in got["run_requests"].values() if r["run_id"]]
    assert len(requested) == len(set(requested)) == len(got["runs"])
    assert set(requested) == {key[0] for key in got["runs"]}
    assert got["runs"] == alone["runs"]
    assert got["tasks"] == alone["tasks"]
    # Applied once: every decision (tick, run request, launch, dispatch, timeout) was folded
    # under the one idempotency key one timer alone would have used, whoever wrote it first.
    assert got["idempotency_keys"] == alone["idempotency_keys"]
    assert not ws.snapshot().rows("run_key_conflicts")

    # What is published is what a rebuild from the ledger gives; doctor finds no error.
    assert verify(ws).identical
    assert [f.check for f in run_doctor(ws) if f.status == "error"] == []
