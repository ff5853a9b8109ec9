"""The run controller rule by rule (found by mutation testing): the default policy, task order
bounds, readiness without dependencies, the dispatch budget, and the id times of each step."""

from __future__ import annotations

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.run_controller import (
    DISPATCH_OFFSET_MS,
    LAUNCH_OFFSET_MS,
    RunPolicy,
    TaskOrder,
    advance_runs,
)
from arco.domain.ulid import deterministic_ulid
from tests.unit.test_run_controller import NOW, POLICY, WS, advance, run_row, task_row


def test_the_default_policy() -> None:
    policy = RunPolicy()
    assert (policy.max_in_flight, policy.heartbeat_timeout_ms) == (20, 300_000)
    assert (policy.dispatch_timeout_ms, policy.redispatch_after_ms) == (1_800_000, 120_000)
    assert policy.max_dispatches_per_call == 1_000
    assert (LAUNCH_OFFSET_MS, DISPATCH_OFFSET_MS) == (1, 2)


ORDER = {
    "workspace": "ws",
    "run_id": "r",
    "task": 0,
    "attempt": 1,
    "asset": "a",
    "partition": None,
    "dispatch_name": "d",
}


def test_task_orders_accept_the_first_task_and_attempt_and_refuse_below() -> None:
    assert TaskOrder.from_json(ORDER) == TaskOrder("ws", "r", 0, 1, "a", None, "d")
    for bad in ({"task": -1}, {"attempt": 0}):
        with pytest.raises(InvalidInput, match="'task' must be >= 0 and 'attempt' >= 1"):
            TaskOrder.from_json({**ORDER, **bad})


def test_a_task_without_recorded_dependencies_is_ready() -> None:
    task = task_row("r1", 0)
    task["depends_on"] = None
    decisions = advance([run_row("r1")], [task])
    assert decisions.dispatched == 1


def test_launch_and_dispatch_events_take_their_offset_id_times() -> None:
    decisions = advance([run_row("r1", status="QUEUED")], [task_row("r1", 0)])
    launch, dispatch = decisions.events
    assert launch.event_id == deterministic_ulid(NOW + 1, launch.idempotency_key)
    assert dispatch.event_id == deterministic_ulid(NOW + 2, dispatch.idempotency_key)


def test_redispatches_spend_the_calls_budget() -> None:
    old = NOW - POLICY.redispatch_after_ms
    tasks = [task_row("r1", i, "DISPATCHED", attempt=1, dispatched_ms=old) for i in range(3)]
    policy = RunPolicy(
        max_in_flight=2,
        heartbeat_timeout_ms=300_000,
        dispatch_timeout_ms=1_800_000,
        redispatch_after_ms=120_000,
        max_dispatches_per_call=2,
    )
    by_run = {"r1": tasks}
    decisions = advance_runs(WS, [run_row("r1")], by_run, NOW, policy)
    assert decisions.redispatched == 2 and len(decisions.dispatches) == 2
    pending = [*tasks, task_row("r1", 3)]
    decisions = advance_runs(WS, [run_row("r1")], {"r1": pending}, NOW, policy)
    assert decisions.redispatched == 2 and decisions.dispatched == 0  # no budget left


def test_a_run_that_cannot_be_advanced_fails_with_an_event_at_the_launch_offset() -> None:
    broken = task_row("r1", 0)
    broken["depends_on"] = "not json"
    decisions = advance([run_row("r1")], [broken])
    (event,) = decisions.events
    assert event.type == "run.failed" and event.idempotency_key == "fail:r1"
    assert event.event_id == deterministic_ulid(NOW + 1, "fail:r1")
    assert event.payload.error.startswith("the timer could not advance this run: JSONDecodeError")
    assert decisions.failed == 1


def test_a_run_failure_keeps_the_first_20000_characters_of_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arco.domain import run_controller

    def boom(*args: object) -> None:
        raise ValueError("x" * 30_000)

    monkeypatch.setattr(run_controller, "_advance_run", boom)
    (event,) = advance([run_row("r1")], [task_row("r1", 0)]).events
    assert len(event.payload.error) == 20_000
    assert event.payload.error.startswith("the timer could not advance this run: ValueError: xxx")
