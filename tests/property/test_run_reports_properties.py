"""Hypothesis properties of the run fold under at-least-once, out-of-order delivery.

One run's causally consistent history (requested, launched, then per task attempt: dispatched,
started, heartbeats, finished) is delivered the way the compactor can see it: every event
twice, re-wrapped in ledger objects of random sizes, objects shuffled and folded in several
`fold_objects` calls. The runs, tasks, partition_status and run_keys tables must equal those
of one ordered pass.

The run's `run.requested` is always in the first fold call: nothing else about a run can be
written before the run is in the projections (the timer dispatches from the tasks table, a
worker refuses an order for a run it cannot find), and a report folded before its run is
REJECTED for good (its object counts as folded).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import Phase, event, example, find, given, settings, target
from hypothesis import strategies as st
from pydantic import BaseModel

from arco.domain import runs
from arco.domain.catalog import default_registry
from arco.domain.envelope import EventEnvelope, format_time_ms
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.run_controller import advance_runs
from arco.domain.run_plan import PlannedTask, RunPlan, TaskKey
from arco.domain.runs import RetrySpec
from arco.domain.state import FoldState, StagedState
from arco.domain.tables import Key, Row
from tests.factories import BASE_MS, batch_bytes, ulid_at
from tests.property.budget import examples

REG = default_registry()
RUN_ID = "run_1"
TABLES = ("runs", "tasks", "partition_status", "run_keys")
Delivery = tuple[list[LedgerObject], list[list[LedgerObject]]]
"""Objects as written, and the fold calls (batches of objects) that deliver them."""


# --- histories ---------------------------------------------------------------------------------


@dataclass
class History:
    """Envelopes of one run in the order they were written (increasing event ids)."""

    events: list[EventEnvelope] = field(default_factory=list)
    ms: int = BASE_MS

    def add(self, type_: str, payload: BaseModel, key: str, step_ms: int) -> None:
        self.ms += step_ms
        n = len(self.events) + 1
        self.events.append(
            EventEnvelope(
                event_id=ulid_at(self.ms, n),
                type=type_,
                version=1,
                workspace="default",
                idempotency_key=key,
                time=format_time_ms(self.ms),
                source="test",
                payload=payload.model_dump(mode="json"),
            )
        )


@st.composite
def plans(draw: st.DrawFn) -> RunPlan:
    size = draw(st.integers(3, 6))
    shape = draw(st.sampled_from(["chain", "diamond", "dag"]))
    keys = [
        TaskKey(f"t{i}", draw(st.sampled_from([None, "p1"]), label=f"partition {i}"))
        for i in range(size)
    ]
    tasks = []
    for i, key in enumerate(keys):
        if i == 0:
            deps: list[TaskKey] = []
        elif shape == "chain":
            deps = [keys[i - 1]]
        elif shape == "diamond":
            deps = [keys[0]] if i < size - 1 else keys[1:-1]
        else:
            deps = [k for k in keys[:i] if draw(st.booleans(), label=f"edge -> {i}")]
        tasks.append(PlannedTask(key, tuple(deps)))
    return RunPlan(tuple(tasks))


@st.composite
def histories(draw: st.DrawFn) -> list[EventEnvelope]:
    plan = draw(plans())
    retries = {
        key.asset: RetrySpec(
            max_attempts=draw(st.integers(1, 4)),
            delay_ms=draw(st.sampled_from([0, 1_000, 60_000])),
            backoff=draw(st.sampled_from(["constant", "linear", "exponential"])),
        )
        for key in plan.keys
    }
    step = st.integers(1, 3_000)
    h = History()
    requested = runs.RunRequested(
        run_id=RUN_ID,
        run_key="k1",
        scope="manual",
        fingerprint="fp",
        source="manual",
        definitions_hash="defs",
        plan=plan.to_json(),
        retries=retries,
    )
    h.add(runs.RUN_REQUESTED, requested, runs.run_requested_key(RUN_ID), draw(step))
    h.add(runs.RUN_LAUNCHED, runs.RunLaunched(run_id=RUN_ID), f"launch:{RUN_ID}", draw(step))

    succeeded: set[int] = set()
    for index, planned in enumerate(plan.tasks):
        if any(plan.keys.index(dep) not in succeeded for dep in planned.depends_on):
            continue  # an upstream task failed, was skipped or still waits: never dispatched
        spec = retries[planned.key.asset]
        attempts = min(draw(st.integers(1, 3)), spec.max_attempts)
        last_ok = draw(st.booleans())
        for attempt in range(1, attempts + 1):
            report = {"run_id": RUN_ID, "task": index, "attempt": attempt}

            def key(kind: str, report: dict[str, Any] = report) -> str:
                return runs.task_report_key(kind, RUN_ID, report["task"], report["attempt"])

            name = f"d-{index}-{attempt}"
            h.add(
                runs.TASK_DISPATCHED,
                runs.TaskDispatched(**report, dispatch_name=name),
                key("dispatch"),
                draw(step),
            )
            h.add(
                runs.TASK_STARTED,
                runs.TaskStarted(**report, worker=f"w{attempt}"),
                key("started"),
                draw(step),
            )
            for _ in range(draw(st.integers(0, 2))):
                at = h.ms + draw(step)
                h.add(
                    runs.TASK_HEARTBEAT,
                    runs.TaskHeartbeat(**report, at_ms=at),
                    f"{key('heartbeat')}:{at}",
                    at - h.ms,
                )
            ok = attempt == attempts and last_ok
            finished = runs.TaskFinished(
                **report,
                outcome="SUCCESS" if ok else "FAILURE",
                error=None if ok else f"error {index}.{attempt}",
                data_version=f"v{index}.{attempt}" if ok else None,
            )
            h.add(runs.TASK_FINISHED, finished, key("finished"), draw(step))
        if last_ok:
            succeeded.add(index)
    return h.events


# --- delivery ----------------------------------------------------------------------------------


def _wrap(
    draw: st.DrawFn, events: list[EventEnvelope], names: itertools.count[int]
) -> list[LedgerObject]:
    """Split `events` into ledger objects of random sizes, each with a fresh name (numbered by
    `names`, one counter per example: examples never depend on the ones drawn before)."""
    objects = []
    i = 0
    while i < len(events):
        size = draw(st.integers(1, 5))
        n = next(names)
        objects.append(LedgerObject(ulid_at(BASE_MS + n, n), batch_bytes(events[i : i + size])))
        i += size
    return objects


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """The objects as written, and a delivery of every event twice in shuffled batches."""
    events = draw(histories())
    names = itertools.count(1)
    written = _wrap(draw, events, names)
    # Every event a second time: a writer retry re-wraps them under fresh object names.
    again = _wrap(draw, draw(st.permutations(events)), names)
    delivery = draw(st.permutations(written + again))
    # The run exists before anything is reported about it (see the module docstring).
    first = next(o for o in delivery if runs.RUN_REQUESTED.encode() in o.data)
    delivery.remove(first)
    delivery.insert(0, first)
    cuts = draw(st.lists(st.integers(1, len(delivery)), max_size=8))
    bounds = sorted({0, len(delivery), *cuts})
    batches = [delivery[a:b] for a, b in itertools.pairwise(bounds)]
    return written, batches


def fold_batches(batches: list[list[LedgerObject]]) -> FoldState:
    state = FoldState()
    for batch in batches:
        staged = StagedState(state)
        fold_objects(staged, batch, REG, "default")
        state = staged.commit()
    return state


def tables(state: FoldState) -> dict[str, dict[Key, Row]]:
    return {name: state.rows(name) for name in TABLES}


# --- explicit examples -------------------------------------------------------------------------


def _written(
    plan: RunPlan, max_attempts: int, outcomes: dict[int, list[str]]
) -> list[list[LedgerObject]]:
    """One object per event: [requested, launched], then per task (in `outcomes` order) its
    attempts' dispatched, started, one heartbeat and finished."""
    h = History()
    requested = runs.RunRequested(
        run_id=RUN_ID,
        scope="manual",
        fingerprint="fp",
        source="manual",
        definitions_hash="defs",
        plan=plan.to_json(),
        retries={k.asset: RetrySpec(max_attempts=max_attempts, delay_ms=0) for k in plan.keys},
    )
    h.add(runs.RUN_REQUESTED, requested, runs.run_requested_key(RUN_ID), 1)
    h.add(runs.RUN_LAUNCHED, runs.RunLaunched(run_id=RUN_ID), f"launch:{RUN_ID}", 1)
    groups = [h.events[:]]
    for task, attempts in outcomes.items():
        for attempt, outcome in enumerate(attempts, start=1):
            start = len(h.events)
            report = {"run_id": RUN_ID, "task": task, "attempt": attempt}
            key = f"{RUN_ID}:{task}:{attempt}"
            dispatched = runs.TaskDispatched(**report, dispatch_name="d")
            h.add(runs.TASK_DISPATCHED, dispatched, f"dispatch:{key}", 1)
            h.add(runs.TASK_STARTED, runs.TaskStarted(**report), f"started:{key}", 1)
            beat = runs.TaskHeartbeat(**report, at_ms=h.ms + 1)
            h.add(runs.TASK_HEARTBEAT, beat, f"heartbeat:{key}:{h.ms + 1}", 1)
            finished = runs.TaskFinished(**report, outcome=outcome)  # type: ignore[arg-type,unused-ignore]
            h.add(runs.TASK_FINISHED, finished, f"finished:{key}", 1)
            groups.append(h.events[start:])
    names = itertools.count(1)
    return [
        [LedgerObject(ulid_at(BASE_MS + 10_000, next(names)), batch_bytes([e])) for e in group]
        for group in groups
    ]


def _flat(groups: list[list[LedgerObject]]) -> list[LedgerObject]:
    return [o for group in groups for o in group]


def _late_start() -> Delivery:
    """One attempt; its started and heartbeat objects are folded after its finished one."""
    plan = RunPlan((PlannedTask(TaskKey("t0")),))
    run, attempt = _written(plan, 1, {0: ["SUCCESS"]})
    dispatched, started, beat, finished = attempt
    return _flat([run, attempt]), [[*run, dispatched, finished], [beat], [started]]


def _early_heartbeat() -> Delivery:
    """Attempt 1 failed; attempt 2's heartbeat is folded before its dispatched and started."""
    plan = RunPlan((PlannedTask(TaskKey("t0")),))
    run, first, second = _written(plan, 2, {0: ["FAILURE", "SUCCESS"]})
    dispatched, started, beat, finished = second
    return _flat([run, first, second]), [[*run, *first], [beat], [dispatched, started, finished]]


def _two_failures_skip_a_chain() -> Delivery:
    """t0 and t1 fail; t2 waits for both and t3 for t2. t1's failure is folded first."""
    t0, t1, t2, t3 = (TaskKey(f"t{i}") for i in range(4))
    plan = RunPlan(
        (PlannedTask(t0), PlannedTask(t1), PlannedTask(t2, (t0, t1)), PlannedTask(t3, (t2,)))
    )
    run, fail_t0, fail_t1 = _written(plan, 1, {0: ["FAILURE"], 1: ["FAILURE"]})
    return _flat([run, fail_t0, fail_t1]), [[*run, *fail_t1], fail_t0]


# --- properties --------------------------------------------------------------------------------


@examples(150, deadline=None)
@given(deliveries())
@example(_late_start())
@example(_early_heartbeat())
@example(_two_failures_skip_a_chain())
def test_any_delivery_folds_like_one_ordered_pass(data: Delivery) -> None:
    written, batches = data
    expected = tables(fold_batches([written]))
    assert expected["runs"], "the ordered pass made a run"
    assert tables(fold_batches(batches)) == expected


def _new_attempts_ordered(state: FoldState) -> list[tuple[int, int]]:
    """(task, attempt) of every new attempt advance_runs dispatches from `state`, once every
    retry wait is over."""
    rows = [row for key, row in state.rows("tasks").items() if key[0] == RUN_ID]
    decisions = advance_runs("default", state.rows("runs").values(), {RUN_ID: rows}, 1 << 46)
    return [
        (e.payload.task, e.payload.attempt)  # type: ignore[union-attr]
        for e in decisions.events
        if e.type == runs.TASK_DISPATCHED
    ]


def _dispatches_after_each_call(batches: list[list[LedgerObject]]) -> list[tuple[int, int, Row]]:
    """After every fold call (what a timer may read): each new attempt advance_runs would
    dispatch, as (task, attempt, the task's row)."""
    state = FoldState()
    out = []
    for batch in batches:
        staged = StagedState(state)
        fold_objects(staged, batch, REG, "default")
        state = staged.commit()
        for index, attempt in _new_attempts_ordered(state):
            out.append((index, attempt, dict(state.rows("tasks")[(RUN_ID, index)])))
    return out


@examples(150, deadline=None)
@given(deliveries())
@example(_early_heartbeat())
def test_the_timer_never_dispatches_past_an_unfinished_attempt(data: Delivery) -> None:
    """After every fold call (what a timer may read), a new attempt n+1 is only dispatched once
    the fold knows how attempt n ended, and never beyond max_attempts."""
    _, batches = data
    dispatches = _dispatches_after_each_call(batches)
    # The timer may have nothing to dispatch: count what was checked (statistics), and steer
    # generation towards histories with retries to check (test_retries_are_checked shows some
    # examples have them).
    retries = [(index, attempt) for index, attempt, _ in dispatches if attempt > 1]
    event(f"retry dispatches checked: {min(len(retries), 3)}")
    target(float(len(retries)), label="retry dispatches checked")
    for index, attempt, task in dispatches:
        assert attempt <= task["max_attempts"], (index, attempt)
        if attempt > 1:
            ended = json.loads(task["attempts"]).get(str(attempt - 1), {})
            assert ended.get("outcome") is not None, (index, attempt, task["status"])


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
def test_retries_are_checked() -> None:
    """The property above is not vacuous: some delivery makes the timer dispatch a retry."""
    assert any(attempt > 1 for _, attempt, _ in _dispatches_after_each_call(_early_heartbeat()[1]))
    find(
        deliveries(),
        lambda data: any(a > 1 for _, a, _ in _dispatches_after_each_call(data[1])),
        settings=settings(max_examples=300, deadline=None, phases=[Phase.generate]),
    )
