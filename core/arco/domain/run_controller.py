"""Advancing runs: a pure function from (runs, tasks, now) to events and dispatch orders.

Each timer call it
- launches QUEUED runs, oldest first, while fewer than `max_in_flight` are in flight;
- dispatches every task whose upstream tasks all succeeded (attempt 1), and every task whose
  retry wait is over (the next attempt);
- gives up on attempts whose worker went silent: no heartbeat for `heartbeat_timeout_ms`, or
  dispatched and never started for `dispatch_timeout_ms` (the fold then retries or fails them);
- asks again for dispatches that have not started after `redispatch_after_ms` (the dispatch
  name is deterministic, so Cloud Tasks refuses a duplicate of one that exists);
- fails a run whose rows it cannot decide on (`run.failed`, with the error), alone.

Event ids and idempotency keys derive from (run, task, attempt), so two timers at once decide
the same events and the fold keeps one of each.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.runs import (
    IN_FLIGHT_RUN,
    RUN_FAILED,
    RUN_LAUNCHED,
    TASK_DISPATCHED,
    TASK_TIMED_OUT,
    RunFailed,
    RunLaunched,
    TaskDispatched,
    TaskTimedOut,
    task_report_key,
)
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid


@dataclass(frozen=True, slots=True)
class RunPolicy:
    """The knobs of run execution (workspace settings feed the first two)."""

    max_in_flight: int = 20
    heartbeat_timeout_ms: int = 300_000
    dispatch_timeout_ms: int = 1_800_000
    redispatch_after_ms: int = 120_000
    max_dispatches_per_call: int = 1000


@dataclass(frozen=True, slots=True)
class TaskOrder:
    """What a worker is asked to do: one attempt of one task of one run."""

    workspace: str
    run_id: str
    task: int
    attempt: int
    asset: str
    partition: str | None
    dispatch_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "run_id": self.run_id,
            "task": self.task,
            "attempt": self.attempt,
            "asset": self.asset,
            "partition": self.partition,
            "dispatch_name": self.dispatch_name,
        }

    @classmethod
    def from_json(cls, data: object) -> TaskOrder:
        """Parse a worker request body; InvalidInput naming the field at fault."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a task order must be a JSON object")
        fields: dict[str, Any] = {}
        for name, kind in (
            ("workspace", str),
            ("run_id", str),
            ("task", int),
            ("attempt", int),
            ("asset", str),
            ("dispatch_name", str),
        ):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidInput(f"task order field {name!r} must be a {kind.__name__}")
            fields[name] = value
        partition = data.get("partition")
        if partition is not None and not isinstance(partition, str):
            raise InvalidInput("task order field 'partition' must be a string or null")
        if fields["task"] < 0 or fields["attempt"] < 1:
            raise InvalidInput("task order: 'task' must be >= 0 and 'attempt' >= 1")
        return cls(partition=partition, **fields)


@dataclass(frozen=True, slots=True)
class RunDecisions:
    events: tuple[NewEvent, ...]
    dispatches: tuple[TaskOrder, ...]
    launched: int = 0
    dispatched: int = 0
    redispatched: int = 0
    timed_out: int = 0
    failed: int = 0


def dispatch_name(workspace: str, run_id: str, task: int, attempt: int) -> str:
    """The Cloud Tasks task id of one attempt; a hash prefix spreads names across the queue."""
    body = f"{workspace}-{run_id}-{task}-{attempt}"
    return hashlib.sha256(body.encode()).hexdigest()[:8] + "-" + body


# Causal steps of one timer call get increasing id times, so a single ordered pass over the
# ledger (a rebuild) sees a run requested (at now) before it is launched (now + 1) and launched
# before its tasks are dispatched or timed out (now + 2), whatever the ids' random parts.
LAUNCH_OFFSET_MS = 1
DISPATCH_OFFSET_MS = 2


def _event(type_: str, payload: Any, key: str, at_ms: int) -> NewEvent:
    return NewEvent(type_, payload, key, event_id=deterministic_ulid(at_ms, key))


def _ready(task: Row, by_index: Mapping[int, Row]) -> bool:
    deps = json.loads(task["depends_on"] or "[]")
    return all(by_index[d]["status"] == "SUCCESS" for d in deps if d in by_index)


def advance_runs(
    workspace: str,
    runs: Iterable[Row],
    tasks: Mapping[str, Sequence[Row]],
    now_ms: int,
    policy: RunPolicy = RunPolicy(),
) -> RunDecisions:
    """Decide what happens next for every non-terminal run (`tasks`: rows per run id).

    A run whose decision raises fails alone (`run.failed`, with the error); the others go on."""
    active = sorted(
        (r for r in runs if r["status"] == "QUEUED" or r["status"] in IN_FLIGHT_RUN),
        key=lambda r: (r["created_ms"] or 0, r["run_id"]),
    )
    decided = _Decided(
        room=policy.max_in_flight - sum(1 for r in active if r["status"] in IN_FLIGHT_RUN),
        budget=policy.max_dispatches_per_call,
    )
    for run in active:
        one = _Decided(room=decided.room, budget=decided.budget)
        try:
            _advance_run(workspace, run, tasks.get(run["run_id"], ()), now_ms, policy, one)
        except Exception as exc:  # a run the controller cannot read fails, not the timer
            one = _Decided(room=decided.room, budget=decided.budget, failed=1)
            error = f"the timer could not advance this run: {type(exc).__name__}: {exc}"
            key = f"fail:{run['run_id']}"
            failed = RunFailed(run_id=run["run_id"], error=error[:20_000])
            one.events.append(_event(RUN_FAILED, failed, key, now_ms + LAUNCH_OFFSET_MS))
        decided.take(one)
    return decided.decisions()


@dataclass
class _Decided:
    """Decisions being gathered, and what is left of the call's launch and dispatch room."""

    room: int
    budget: int
    events: list[NewEvent] = field(default_factory=list)
    orders: list[TaskOrder] = field(default_factory=list)
    launched: int = 0
    dispatched: int = 0
    redispatched: int = 0
    timed_out: int = 0
    failed: int = 0

    def take(self, one: _Decided) -> None:
        """Add one run's decisions (made with this room and budget)."""
        self.room, self.budget = one.room, one.budget
        self.events.extend(one.events)
        self.orders.extend(one.orders)
        self.launched += one.launched
        self.dispatched += one.dispatched
        self.redispatched += one.redispatched
        self.timed_out += one.timed_out
        self.failed += one.failed

    def decisions(self) -> RunDecisions:
        return RunDecisions(
            tuple(self.events),
            tuple(self.orders),
            launched=self.launched,
            dispatched=self.dispatched,
            redispatched=self.redispatched,
            timed_out=self.timed_out,
            failed=self.failed,
        )


def _advance_run(
    workspace: str,
    run: Row,
    rows: Sequence[Row],
    now_ms: int,
    policy: RunPolicy,
    out: _Decided,
) -> None:
    run_id = run["run_id"]
    status = run["status"]
    if status == "QUEUED":
        if out.room <= 0:
            return
        out.room -= 1
        key = f"launch:{run_id}"
        launched = RunLaunched(run_id=run_id)
        out.events.append(_event(RUN_LAUNCHED, launched, key, now_ms + LAUNCH_OFFSET_MS))
        out.launched += 1
        status = "STARTING"
    by_index = {row["index"]: row for row in rows}
    for task in sorted(rows, key=lambda r: r["index"]):
        index, attempt = task["index"], task["attempt"]
        state = task["status"]
        if state in ("DISPATCHED", "STARTED"):
            reason = _silent(task, now_ms, policy)
            if reason is not None:
                key = task_report_key("timeout", run_id, index, attempt)
                payload = TaskTimedOut(run_id=run_id, task=index, attempt=attempt, reason=reason)
                out.events.append(_event(TASK_TIMED_OUT, payload, key, now_ms + DISPATCH_OFFSET_MS))
                out.timed_out += 1
            elif (
                state == "DISPATCHED"
                and status != "CANCELING"
                and now_ms - (task["dispatched_ms"] or now_ms) >= policy.redispatch_after_ms
                and out.budget > 0
            ):
                out.budget -= 1
                out.orders.append(_order(workspace, task, attempt))
                out.redispatched += 1
            continue
        if status == "CANCELING" or out.budget <= 0:
            continue
        if (state == "PENDING" and _ready(task, by_index)) or (
            state == "RETRY_WAIT" and (task["retry_at_ms"] or 0) <= now_ms
        ):
            out.budget -= 1
            next_attempt = attempt + 1
            order = _order(workspace, task, next_attempt)
            key = task_report_key("dispatch", run_id, index, next_attempt)
            dispatched = TaskDispatched(
                run_id=run_id,
                task=index,
                attempt=next_attempt,
                dispatch_name=order.dispatch_name,
            )
            out.events.append(_event(TASK_DISPATCHED, dispatched, key, now_ms + DISPATCH_OFFSET_MS))
            out.orders.append(order)
            out.dispatched += 1


def _order(workspace: str, task: Row, attempt: int) -> TaskOrder:
    return TaskOrder(
        workspace=workspace,
        run_id=task["run_id"],
        task=task["index"],
        attempt=attempt,
        asset=task["asset"],
        partition=task["partition"],
        dispatch_name=dispatch_name(workspace, task["run_id"], task["index"], attempt),
    )


def _silent(task: Row, now_ms: int, policy: RunPolicy) -> str | None:
    """Why an attempt is considered lost, or None while its worker may still be running it."""
    if task["status"] == "STARTED":
        last = max(task["heartbeat_ms"] or 0, task["started_ms"] or 0)
        if last and now_ms - last > policy.heartbeat_timeout_ms:
            timeout_s = policy.heartbeat_timeout_ms // 1000
            return f"no heartbeat for {(now_ms - last) // 1000} s (timeout {timeout_s} s)"
        return None
    dispatched = task["dispatched_ms"]
    if dispatched is not None and now_ms - dispatched > policy.dispatch_timeout_ms:
        return f"dispatched {(now_ms - dispatched) // 1000} s ago and never started"
    return None
