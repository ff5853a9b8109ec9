"""advance_runs: what the timer decides for runs and tasks at a fixed `now`."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.run_controller import (
    RunDecisions,
    RunPolicy,
    TaskOrder,
    advance_runs,
    dispatch_name,
)
from arco.domain.runs import RUNS, TASKS
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid, ulid_time_ms

NOW = 1_790_000_000_000
WS = "ws"
POLICY = RunPolicy(
    max_in_flight=2,
    heartbeat_timeout_ms=300_000,
    dispatch_timeout_ms=1_800_000,
    redispatch_after_ms=120_000,
)


def run_row(run_id: str, status: str = "STARTED", created_ms: int = NOW - 60_000) -> Row:
    row: Row = dict.fromkeys(c.name for c in RUNS.columns)
    row.update(run_id=run_id, status=status, created_ms=created_ms)
    return row


def task_row(
    run_id: str,
    index: int,
    status: str = "PENDING",
    *,
    attempt: int = 0,
    depends_on: tuple[int, ...] = (),
    asset: str | None = None,
    partition: str | None = None,
    **fields: Any,
) -> Row:
    row: Row = dict.fromkeys(c.name for c in TASKS.columns)
    row.update(
        run_id=run_id,
        index=index,
        asset=asset or f"asset{index}",
        partition=partition,
        depends_on=json.dumps(list(depends_on)),
        status=status,
        attempt=attempt,
        max_attempts=3,
        **fields,
    )
    return row


def advance(
    runs: list[Row],
    tasks: list[Row] | None = None,
    now: int = NOW,
    policy: RunPolicy = POLICY,
) -> RunDecisions:
    by_run: dict[str, list[Row]] = {}
    for task in tasks or []:
        by_run.setdefault(task["run_id"], []).append(task)
    return advance_runs(WS, runs, by_run, now, policy)


def summary(decisions: RunDecisions) -> list[tuple[str, str]]:
    """(event type, idempotency key) of every event, in order."""
    return [(e.type, e.idempotency_key) for e in decisions.events]


def ids(decisions: RunDecisions) -> list[str]:
    """Event ids (controllers always set them)."""
    out = [e.event_id for e in decisions.events]
    assert all(i is not None for i in out)
    return [i for i in out if i is not None]


def payload(event: Any) -> dict[str, Any]:
    return dict(event.payload.model_dump(mode="json"))


# --- launching ---------------------------------------------------------------------------------


def test_launches_oldest_queued_runs_within_the_in_flight_limit() -> None:
    runs = [
        run_row("r-new", "QUEUED", created_ms=NOW - 1_000),
        run_row("r-old", "QUEUED", created_ms=NOW - 3_000),
        run_row("r-mid", "QUEUED", created_ms=NOW - 2_000),
        run_row("r-busy", "STARTED", created_ms=NOW - 9_000),  # one slot already taken
        run_row("r-done", "SUCCESS", created_ms=NOW - 9_500),  # terminal runs do not count
    ]
    decisions = advance(runs)
    assert summary(decisions) == [("run.launched", "launch:r-old")]
    assert payload(decisions.events[0]) == {"run_id": "r-old"}
    assert decisions.launched == 1


def test_in_flight_runs_of_every_kind_take_slots() -> None:
    runs = [
        run_row("q", "QUEUED", created_ms=NOW - 1),
        run_row("s1", "STARTING"),
        run_row("s2", "CANCELING"),
    ]
    assert advance(runs).events == ()
    assert advance(runs, policy=RunPolicy(max_in_flight=3)).launched == 1


def test_launch_order_breaks_ties_by_run_id() -> None:
    runs = [run_row(r, "QUEUED", created_ms=NOW - 5) for r in ("r-b", "r-c", "r-a")]
    assert summary(advance(runs)) == [
        ("run.launched", "launch:r-a"),
        ("run.launched", "launch:r-b"),
    ]


def test_a_launched_run_has_its_ready_tasks_dispatched_in_the_same_call() -> None:
    decisions = advance(
        [run_row("r1", "QUEUED")],
        [task_row("r1", 0), task_row("r1", 1, depends_on=(0,))],
    )
    assert summary(decisions) == [
        ("run.launched", "launch:r1"),
        ("task.dispatched", "dispatch:r1:0:1"),
    ]
    assert [(o.run_id, o.task, o.attempt) for o in decisions.dispatches] == [("r1", 0, 1)]


def test_queued_runs_over_the_limit_get_no_dispatches() -> None:
    decisions = advance(
        [run_row("busy1"), run_row("busy2"), run_row("waiting", "QUEUED")],
        [task_row("waiting", 0)],
    )
    assert decisions.events == () and decisions.dispatches == ()


# --- dispatching -------------------------------------------------------------------------------


def test_dispatches_only_tasks_whose_dependencies_all_succeeded() -> None:
    tasks = [
        task_row("r1", 0, "SUCCESS", attempt=1),
        task_row("r1", 1, depends_on=(0,), asset="b", partition="2024-01-01"),
        task_row("r1", 2, depends_on=(1,)),  # waits for a pending task
        task_row("r1", 3),  # no dependencies
        task_row("r1", 4, "FAILURE", attempt=1),
        task_row("r1", 5, depends_on=(0, 4)),  # one upstream failed
        task_row("r1", 6, "STARTED", attempt=1, started_ms=NOW - 1),
        task_row("r1", 7, depends_on=(6,)),  # upstream still running
    ]
    decisions = advance([run_row("r1")], tasks)
    assert summary(decisions) == [
        ("task.dispatched", "dispatch:r1:1:1"),
        ("task.dispatched", "dispatch:r1:3:1"),
    ]
    assert payload(decisions.events[0]) == {
        "run_id": "r1",
        "task": 1,
        "attempt": 1,
        "dispatch_name": dispatch_name(WS, "r1", 1, 1),
    }
    assert decisions.dispatches[0] == TaskOrder(
        workspace=WS,
        run_id="r1",
        task=1,
        attempt=1,
        asset="b",
        partition="2024-01-01",
        dispatch_name=dispatch_name(WS, "r1", 1, 1),
    )
    assert decisions.dispatched == 2


@pytest.mark.parametrize(
    ("retry_at", "dispatched"), [(NOW + 1, False), (NOW, True), (NOW - 50_000, True)]
)
def test_retry_wait_is_dispatched_as_the_next_attempt_once_its_wait_is_over(
    retry_at: int, dispatched: bool
) -> None:
    tasks = [task_row("r1", 0, "RETRY_WAIT", attempt=2, retry_at_ms=retry_at)]
    decisions = advance([run_row("r1")], tasks)
    if not dispatched:
        assert decisions.events == () and decisions.dispatches == ()
        return
    assert summary(decisions) == [("task.dispatched", "dispatch:r1:0:3")]
    assert payload(decisions.events[0])["attempt"] == 3
    assert [(o.task, o.attempt) for o in decisions.dispatches] == [(0, 3)]


def test_final_tasks_are_left_alone() -> None:
    tasks = [
        task_row("r1", i, status, attempt=1)
        for i, status in enumerate(("SUCCESS", "FAILURE", "SKIPPED", "CANCELED"))
    ]
    assert advance([run_row("r1")], tasks) == RunDecisions((), ())


def test_dispatches_stop_at_the_per_call_budget() -> None:
    tasks = [task_row("r1", i) for i in range(5)]
    decisions = advance([run_row("r1")], tasks, policy=RunPolicy(max_dispatches_per_call=3))
    assert [o.task for o in decisions.dispatches] == [0, 1, 2]
    assert decisions.dispatched == 3


# --- silent workers ----------------------------------------------------------------------------


def test_heartbeat_timeout_gives_up_on_the_attempt() -> None:
    tasks = [
        task_row(
            "r1", 0, "STARTED", attempt=2, started_ms=NOW - 900_000, heartbeat_ms=NOW - 300_001
        ),
        task_row(
            "r1", 1, "STARTED", attempt=1, started_ms=NOW - 900_000, heartbeat_ms=NOW - 300_000
        ),  # exactly at the limit: still alive
        task_row("r1", 2, "STARTED", attempt=1, started_ms=NOW - 300_001),  # never beat
    ]
    decisions = advance([run_row("r1")], tasks)
    assert summary(decisions) == [
        ("task.timed_out", "timeout:r1:0:2"),
        ("task.timed_out", "timeout:r1:2:1"),
    ]
    assert payload(decisions.events[0]) == {
        "run_id": "r1",
        "task": 0,
        "attempt": 2,
        "reason": "no heartbeat for 300 s (timeout 300 s)",
    }
    assert decisions.timed_out == 2
    assert decisions.dispatches == ()


def test_dispatch_timeout_gives_up_on_an_attempt_that_never_started() -> None:
    tasks = [
        task_row("r1", 0, "DISPATCHED", attempt=1, dispatched_ms=NOW - 1_800_001),
        task_row("r1", 1, "DISPATCHED", attempt=1, dispatched_ms=NOW - 1_800_000),
    ]
    decisions = advance([run_row("r1")], tasks)
    assert summary(decisions) == [("task.timed_out", "timeout:r1:0:1")]
    assert payload(decisions.events[0])["reason"] == "dispatched 1800 s ago and never started"
    # task 1 is not timed out yet, but is asked for again
    assert [(o.task, o.attempt) for o in decisions.dispatches] == [(1, 1)]


def test_dispatched_but_not_started_is_redispatched_without_an_event() -> None:
    tasks = [
        task_row("r1", 0, "DISPATCHED", attempt=2, dispatched_ms=NOW - 120_000),
        task_row("r1", 1, "DISPATCHED", attempt=1, dispatched_ms=NOW - 119_999),
    ]
    decisions = advance([run_row("r1")], tasks)
    assert decisions.events == ()
    assert [(o.task, o.attempt, o.dispatch_name) for o in decisions.dispatches] == [
        (0, 2, dispatch_name(WS, "r1", 0, 2))
    ]
    assert (decisions.redispatched, decisions.dispatched) == (1, 0)


def test_canceling_runs_get_no_dispatches_but_silent_attempts_still_time_out() -> None:
    tasks = [
        task_row("r1", 0),
        task_row("r1", 1, "RETRY_WAIT", attempt=1, retry_at_ms=NOW - 1),
        task_row("r1", 2, "DISPATCHED", attempt=1, dispatched_ms=NOW - 200_000),
        task_row("r1", 3, "STARTED", attempt=1, started_ms=NOW - 400_000),
    ]
    decisions = advance([run_row("r1", "CANCELING")], tasks)
    assert decisions.dispatches == ()
    assert summary(decisions) == [("task.timed_out", "timeout:r1:3:1")]


def test_terminal_runs_are_ignored() -> None:
    tasks = [task_row("r1", 0, "STARTED", attempt=1, started_ms=NOW - 10_000_000)]
    for status in ("SUCCESS", "FAILURE", "CANCELED"):
        assert advance([run_row("r1", status)], tasks) == RunDecisions((), ())


# --- determinism -------------------------------------------------------------------------------


def _mixed_inputs() -> tuple[list[Row], list[Row]]:
    runs = [run_row("r1"), run_row("r2", "QUEUED"), run_row("r3", "QUEUED", created_ms=NOW)]
    tasks = [
        task_row("r1", 0, "STARTED", attempt=1, started_ms=NOW - 400_000),
        task_row("r1", 1, "RETRY_WAIT", attempt=1, retry_at_ms=NOW),
        task_row("r1", 2, "DISPATCHED", attempt=1, dispatched_ms=NOW - 130_000),
        task_row("r2", 0),
        task_row("r2", 1, depends_on=(0,)),
    ]
    return runs, tasks


def test_same_inputs_give_identical_decisions_and_event_ids() -> None:
    runs, tasks = _mixed_inputs()
    first = advance(runs, tasks)
    second = advance(list(reversed(runs)), list(reversed(tasks)))
    assert summary(first) == [
        ("task.timed_out", "timeout:r1:0:1"),
        ("task.dispatched", "dispatch:r1:1:2"),
        ("run.launched", "launch:r2"),
        ("task.dispatched", "dispatch:r2:0:1"),
    ]
    assert first == second
    # ids derive from (time, idempotency key) only, at or just after `now`
    for event_id, event in zip(ids(first), first.events, strict=True):
        at = ulid_time_ms(event_id)
        assert NOW <= at <= NOW + 10
        assert event_id == deterministic_ulid(at, event.idempotency_key)
    assert len(set(ids(first))) == 4
    # a run is launched before its first task is dispatched, in id order too
    launch, dispatch = ids(first)[2], ids(first)[3]
    assert launch < dispatch
    # two timers at the same moment write the same events
    assert [(e.event_id, payload(e)) for e in first.events] == [
        (e.event_id, payload(e)) for e in second.events
    ]


def test_event_ids_follow_the_clock() -> None:
    runs, tasks = _mixed_inputs()
    early, late = advance(runs, tasks, now=NOW), advance(runs, tasks, now=NOW + 1)
    assert all(a < b for a, b in zip(ids(early), ids(late), strict=True))


# --- task orders -------------------------------------------------------------------------------


def _order_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "workspace": WS,
        "run_id": "r1",
        "task": 2,
        "attempt": 1,
        "asset": "b",
        "partition": "2024-01-01",
        "dispatch_name": dispatch_name(WS, "r1", 2, 1),
    }
    data.update(changes)
    return data


def test_task_order_round_trips_through_json() -> None:
    order = TaskOrder.from_json(_order_json())
    assert order.to_json() == _order_json()
    assert TaskOrder.from_json(order.to_json()) == order
    assert TaskOrder.from_json(_order_json(partition=None)).partition is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"workspace": None}, "workspace"),
        ({"run_id": 7}, "run_id"),
        ({"task": "2"}, "task"),
        ({"task": True}, "task"),
        ({"attempt": 1.0}, "attempt"),
        ({"attempt": False}, "attempt"),
        ({"asset": ["b"]}, "asset"),
        ({"dispatch_name": None}, "dispatch_name"),
        ({"partition": 5}, "partition"),
        ({"task": -1}, "task"),
        ({"attempt": 0}, "attempt"),
    ],
)
def test_task_order_rejects_bad_fields_by_name(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=f"'{field}'"):
        TaskOrder.from_json(_order_json(**changes))


def test_task_order_rejects_a_missing_field_and_a_non_object() -> None:
    data = _order_json()
    del data["run_id"]
    with pytest.raises(InvalidInput, match="'run_id'"):
        TaskOrder.from_json(data)
    bodies: list[object] = [None, [], "order", 3]
    for body in bodies:
        with pytest.raises(InvalidInput, match="JSON object"):
            TaskOrder.from_json(body)


# --- dispatch names ----------------------------------------------------------------------------

CLOUD_TASKS_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def test_dispatch_name_is_stable_and_distinct_per_attempt() -> None:
    name = dispatch_name("ws", "run_abc", 3, 2)
    assert name == dispatch_name("ws", "run_abc", 3, 2)
    assert name.endswith("-ws-run_abc-3-2")
    assert re.match(r"^[0-9a-f]{8}-", name)
    others = {
        dispatch_name("ws", "run_abc", 3, 1),
        dispatch_name("ws", "run_abc", 2, 2),
        dispatch_name("ws", "run_abd", 3, 2),
        dispatch_name("ws2", "run_abc", 3, 2),
    }
    assert name not in others and len(others) == 4


def test_dispatch_name_is_a_valid_cloud_tasks_id_even_for_long_names() -> None:
    workspace = "w" + "-x" * 31  # 63 characters, the longest workspace name
    run_id = "run_" + "z" * 96  # 100 characters, the longest run id
    for args in ((workspace, run_id, 99_999, 100), ("default", "run_01hx", 0, 1)):
        name = dispatch_name(*args)
        assert CLOUD_TASKS_ID.match(name), name
        assert len(name) <= 500


# --- isolation ---------------------------------------------------------------------------------


def test_a_run_whose_rows_cannot_be_read_fails_alone() -> None:
    runs = [run_row("r1", created_ms=NOW - 2), run_row("r2", created_ms=NOW - 1)]
    broken = task_row("r1", 0)
    broken["depends_on"] = "not json"
    tasks = [task_row("r1", 1, depends_on=(0,)), broken, task_row("r2", 0)]
    decisions = advance(runs, tasks)
    assert summary(decisions) == [
        ("run.failed", "fail:r1"),
        ("task.dispatched", "dispatch:r2:0:1"),
    ]
    failed = payload(decisions.events[0])
    assert failed["run_id"] == "r1"
    assert failed["error"].startswith("the timer could not advance this run: JSONDecodeError")
    assert decisions.failed == 1 and decisions.dispatched == 1
    assert [o.run_id for o in decisions.dispatches] == ["r2"]


def test_a_failing_run_gives_back_the_room_it_would_have_taken() -> None:
    # r1 (queued, first) launches and then breaks: its launch is not kept, so r2 launches.
    runs = [run_row("r1", "QUEUED", NOW - 2), run_row("r2", "QUEUED", NOW - 1)]
    broken = task_row("r1", 0)
    broken["depends_on"] = "{"
    decisions = advance(runs, [broken], policy=RunPolicy(max_in_flight=1))
    assert summary(decisions) == [("run.failed", "fail:r1"), ("run.launched", "launch:r2")]
