"""Known order dependences of the fold: pairs of events whose tables depend on which of the two
is folded first, when a late object makes a compactor fold them out of id order.

The fold properties (test_fold_families.py) never fold such a pair out of id order: each entry
gives the edges "the object of the lower id is folded no later than the object of the higher
one" for every pair it concerns, so every other order is still checked. Each entry is pinned by
a test marked xfail(strict=True) in test_order_dependence.py (or, for the documented one, in
tests/unit/test_runs_fold.py and by a property here), so fixing one in core/ turns its pin into
an XPASS: then delete the entry and the pin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from arco.domain.envelope import EventEnvelope
from arco.domain.run_plan import RunPlan
from tests.property.ledgers import Edge, Ledger, Written

Payload = dict[str, Any]
Related = Callable[[Payload, Payload], bool]

RUN_EVENTS = frozenset(
    {
        "run.launched",
        "run.failed",
        "task.dispatched",
        "task.started",
        "task.heartbeat",
        "task.finished",
        "task.timed_out",
    }
)
TASK_REPORTS = frozenset(
    {"task.dispatched", "task.started", "task.heartbeat", "task.finished", "task.timed_out"}
)
BACKFILL_EVENTS = frozenset(
    {"backfill.status_changed", "backfill.chunk_planned", "backfill.chunk_finished"}
)


@dataclass(frozen=True)
class Known:
    name: str
    pinned_by: str
    edges: Callable[[Ledger], list[Edge]]


def _of(ledger: Ledger, types: Iterable[str]) -> list[tuple[Written, EventEnvelope]]:
    wanted = frozenset(types)
    return [(w, e) for w, e in ledger.events() if e.type in wanted]


def in_id_order(
    ledger: Ledger, first: Iterable[str], then: Iterable[str], related: Related
) -> list[Edge]:
    """For every event x of a type in `first` and y of a type in `then`, in other objects,
    with x's id lower than y's and `related(x, y)`: x's object no later than y's."""
    later = _of(ledger, then)
    return [
        (wx.index, wy.index)
        for wx, x in _of(ledger, first)
        for wy, y in later
        if wx.index != wy.index and x.event_id < y.event_id and related(x.payload, y.payload)
    ]


def both_ways(
    ledger: Ledger, one: Iterable[str], other: Iterable[str], related: Related
) -> list[Edge]:
    """`in_id_order` whichever of the two kinds has the lower id."""
    one, other = list(one), list(other)
    return in_id_order(ledger, one, other, related) + in_id_order(
        ledger, other, one, lambda x, y: related(y, x)
    )


def _attempt(p: Payload) -> tuple[str, int, int]:
    return p["run_id"], p["task"], p["attempt"]


def _tasks(ledger: Ledger) -> dict[tuple[str, int], tuple[str, str | None, int]]:
    """(run, task) -> (asset, partition, max attempts), from the run requests."""
    out: dict[tuple[str, int], tuple[str, str | None, int]] = {}
    for _, event in _of(ledger, ["run.requested"]):
        payload = event.payload
        for index, task in enumerate(RunPlan.from_json(payload["plan"]).tasks):
            retry = payload["retries"].get(task.key.asset)
            attempts = retry["max_attempts"] if retry else 1
            out.setdefault(
                (payload["run_id"], index), (task.key.asset, task.key.partition, attempts)
            )
    return out


# --- runs ----------------------------------------------------------------------------------------


def timeout_on_the_last_attempt(ledger: Ledger) -> list[Edge]:
    """Documented (docs/design/runs.md, tests/unit/test_runs_fold.py::
    test_timeout_decided_before_a_late_finish_folds_like_a_rebuild): a task.timed_out of a
    task's last attempt folded before the worker's earlier-id task.finished fails the task."""
    tasks = _tasks(ledger)

    def last_attempt(x: Payload, y: Payload) -> bool:
        task = tasks.get((x["run_id"], x["task"]))
        return _attempt(x) == _attempt(y) and task is not None and task[2] == x["attempt"]

    return in_id_order(ledger, ["task.finished"], ["task.timed_out"], last_attempt)


def retry_dispatched_before_a_late_finish(ledger: Ledger) -> list[Edge]:
    """With attempts left, the timeout is undone by the earlier finish only while the next
    attempt is not dispatched: once it is, the finish is a stale report."""
    timeouts = {_attempt(e.payload): e.event_id for _, e in _of(ledger, ["task.timed_out"])}

    def next_attempt(x: Payload, y: Payload) -> bool:
        run, task, attempt = _attempt(x)
        return _attempt(y) == (run, task, attempt + 1) and (run, task, attempt) in timeouts

    edges = []
    for wx, x in _of(ledger, ["task.finished"]):
        timeout = timeouts.get(_attempt(x.payload))
        if timeout is None or timeout < x.event_id:
            continue
        for wy, y in _of(ledger, ["task.dispatched"]):
            if (
                wx.index != wy.index
                and x.event_id < y.event_id
                and next_attempt(x.payload, y.payload)
            ):
                edges.append((wx.index, wy.index))
    return edges


def timeout_in_a_canceling_run(ledger: Ledger) -> list[Edge]:
    """A timeout in a canceling run cancels the task (final): an earlier-id finish folded
    after it does not undo it."""
    cancels = {e.payload["run_id"]: e.event_id for _, e in _of(ledger, ["run.cancel_requested"])}
    return in_id_order(
        ledger,
        ["task.finished"],
        ["task.timed_out"],
        lambda x, y: _attempt(x) == _attempt(y) and cancels.get(y["run_id"], "~") < "~",
    )


def undone_timeout_hides_another_runs_attempt(ledger: Ledger) -> list[Edge]:
    """Undoing a timeout clears the partition's attempt version, so the late finish replaces
    a newer attempt of another run on the same partition."""
    tasks = _tasks(ledger)
    reports = _of(ledger, TASK_REPORTS)

    def partition(p: Payload) -> tuple[str, str | None] | None:
        task = tasks.get((p["run_id"], p["task"]))
        return None if task is None else task[:2]

    def between(x: EventEnvelope, y: EventEnvelope) -> bool:
        return any(
            e.payload["run_id"] != x.payload["run_id"]
            and partition(e.payload) == partition(x.payload)
            and x.event_id < e.event_id < y.event_id
            for _, e in reports
        )

    return [
        (wx.index, wy.index)
        for wx, x in _of(ledger, ["task.finished"])
        for wy, y in _of(ledger, ["task.timed_out"])
        if wx.index != wy.index
        and _attempt(x.payload) == _attempt(y.payload)
        and x.event_id < y.event_id
        and between(x, y)
    ]


def run_failed_before_an_earlier_finish(ledger: Ledger) -> list[Edge]:
    """run.failed folded before an earlier-id task.finished that would have ended the run."""
    return in_id_order(
        ledger, ["task.finished"], ["run.failed"], lambda x, y: x["run_id"] == y["run_id"]
    )


def cancel_out_of_order(ledger: Ledger) -> list[Edge]:
    """run.cancel_requested acts on the run as folded so far (QUEUED: canceled at once;
    terminal: superseded and forgotten), so it depends on the order of the run's events."""
    return both_ways(
        ledger, ["run.cancel_requested"], RUN_EVENTS, lambda x, y: x["run_id"] == y["run_id"]
    )


def materializations_of_one_data_version(ledger: Ledger) -> list[Edge]:
    """`materialized_data_version_since_ms` keeps the time of the first materialization of
    the current data version that was folded, not of the earliest one."""
    tasks = _tasks(ledger)

    def same_version(x: Payload, y: Payload) -> bool:
        return (
            x["outcome"] == y["outcome"] == "SUCCESS"
            and x.get("data_version") == y.get("data_version")
            and tasks.get((x["run_id"], x["task"]), (0,))[:2]
            == tasks.get((y["run_id"], y["task"]), (1,))[:2]
        )

    return in_id_order(ledger, ["task.finished"], ["task.finished"], same_version)


# --- sensors, schedules, backfills, deployments ----------------------------------------------


def sensor_status_and_evaluation(ledger: Ledger) -> list[Edge]:
    """An evaluation is SKIPPED ("sensor is stopped") by the status as folded so far."""
    return both_ways(
        ledger,
        ["sensor.evaluated"],
        ["sensor.status_changed"],
        lambda x, y: x["sensor"] == y["sensor"],
    )


def sensor_cursor_and_evaluation(ledger: Ledger) -> list[Edge]:
    """The cursor compare-and-set is decided against the cursor version as folded so far."""
    return both_ways(
        ledger,
        ["sensor.evaluated"],
        ["sensor.cursor_set"],
        lambda x, y: x["sensor"] == y["sensor"] and x["kind"] != "push",
    )


def poll_evaluations_from_one_cursor_version(ledger: Ledger) -> list[Edge]:
    """Of two evaluations that read the same cursor version, the first folded wins."""
    return in_id_order(
        ledger,
        ["sensor.evaluated"],
        ["sensor.evaluated"],
        lambda x, y: (
            x["sensor"] == y["sensor"]
            and x["kind"] != "push"
            and x.get("cursor_read_version") == y.get("cursor_read_version")
        ),
    )


def push_message_claims(ledger: Ledger) -> list[Edge]:
    """Of two pushes of one message id with different content, the first folded claims it."""
    return in_id_order(
        ledger,
        ["sensor.evaluated"],
        ["sensor.evaluated"],
        lambda x, y: (
            x["kind"] == y["kind"] == "push"
            and x["sensor"] == y["sensor"]
            and x["message_id"] == y["message_id"]
        ),
    )


def automation_status_and_evaluation(ledger: Ledger) -> list[Edge]:
    """An automation evaluation is SKIPPED ("automation is stopped") by the status as folded so
    far (as a sensor's)."""
    return both_ways(
        ledger, ["automation.evaluated"], ["automation.status_changed"], lambda x, y: True
    )


def automation_evaluations_from_one_version(ledger: Ledger) -> list[Edge]:
    """Of two automation evaluations that read the same version, the first folded wins."""
    return in_id_order(
        ledger,
        ["automation.evaluated"],
        ["automation.evaluated"],
        lambda x, y: x.get("cursor_read_version") == y.get("cursor_read_version"),
    )


def schedule_started_twice(ledger: Ledger) -> list[Edge]:
    """Starting a running schedule keeps its start time, as folded so far."""
    return in_id_order(
        ledger,
        ["schedule.status_changed"],
        ["schedule.status_changed"],
        lambda x, y: x["schedule"] == y["schedule"],
    )


def backfill_status_and_timer(ledger: Ledger) -> list[Edge]:
    """A pause or cancel folded after the timer's later-id plans and transitions (made from a
    view without it) does not drop them, as it does in id order."""
    return in_id_order(
        ledger,
        ["backfill.status_changed"],
        BACKFILL_EVENTS,
        lambda x, y: x["backfill_id"] == y["backfill_id"],
    )


def concurrent_deploys(ledger: Ledger) -> list[Edge]:
    """A deploy folded after a later-id one is SUPERSEDED, so what it declared (schedules,
    asset versions and since when) is never recorded."""
    return in_id_order(
        ledger, ["definitions.deployed"], ["definitions.deployed"], lambda x, y: True
    )


def one_key_two_ids(ledger: Ledger) -> list[Edge]:
    """Two events with one idempotency key and different ids (a deploy or a keyed run request
    sent again before the first was published, a reconciliation repeated, a redelivered
    push): the first folded is kept, not the lowest id."""
    first: dict[str, tuple[Written, EventEnvelope]] = {}
    edges = []
    for written, event in sorted(ledger.events(), key=lambda we: we[1].event_id):
        kept = first.setdefault(event.idempotency_key, (written, event))
        if kept[1].event_id != event.event_id and kept[0].index != written.index:
            edges.append((kept[0].index, written.index))
    return edges


KNOWN = (
    Known(
        "timeout on the last attempt (documented)",
        "test_fold_families.py::test_timeout_before_an_earlier_finish_on_the_last_attempt",
        timeout_on_the_last_attempt,
    ),
    Known(
        "retry dispatched before a late finish",
        "test_order_dependence.py::test_retry_dispatched_before_a_late_finish",
        retry_dispatched_before_a_late_finish,
    ),
    Known(
        "timeout in a canceling run",
        "test_order_dependence.py::test_timeout_in_a_canceling_run",
        timeout_in_a_canceling_run,
    ),
    Known(
        "undone timeout hides another run's attempt",
        "test_order_dependence.py::test_undone_timeout_hides_another_runs_attempt",
        undone_timeout_hides_another_runs_attempt,
    ),
    Known(
        "run.failed before an earlier finish",
        "test_order_dependence.py::test_run_failed_before_an_earlier_finish",
        run_failed_before_an_earlier_finish,
    ),
    Known(
        "cancel out of order",
        "test_order_dependence.py::test_cancel_*",
        cancel_out_of_order,
    ),
    Known(
        "materializations of one data version",
        "test_order_dependence.py::test_materializations_of_one_data_version",
        materializations_of_one_data_version,
    ),
    Known(
        "sensor status and evaluation",
        "test_order_dependence.py::test_sensor_stopped_after_an_earlier_evaluation",
        sensor_status_and_evaluation,
    ),
    Known(
        "sensor cursor and evaluation",
        "test_order_dependence.py::test_cursor_set_after_an_earlier_evaluation",
        sensor_cursor_and_evaluation,
    ),
    Known(
        "poll evaluations from one cursor version",
        "test_order_dependence.py::test_poll_evaluations_from_one_cursor_version",
        poll_evaluations_from_one_cursor_version,
    ),
    Known(
        "push message claims",
        "test_order_dependence.py::test_push_message_id_with_other_content",
        push_message_claims,
    ),
    Known(
        "automation status and evaluation",
        "test_order_dependence.py::test_automation_stopped_after_an_earlier_evaluation",
        automation_status_and_evaluation,
    ),
    Known(
        "automation evaluations from one version",
        "test_order_dependence.py::test_automation_evaluations_from_one_version",
        automation_evaluations_from_one_version,
    ),
    Known(
        "schedule started twice",
        "test_order_dependence.py::test_schedule_started_twice",
        schedule_started_twice,
    ),
    Known(
        "backfill status and timer",
        "test_order_dependence.py::test_backfill_paused_before_the_timer_completes_it",
        backfill_status_and_timer,
    ),
    Known(
        "concurrent deploys",
        "test_order_dependence.py::test_concurrent_deploys",
        concurrent_deploys,
    ),
    Known(
        "one idempotency key, two event ids",
        "test_order_dependence.py::test_one_key_two_ids_*",
        one_key_two_ids,
    ),
)


def known_edges(ledger: Ledger, skip: Iterable[str] = ()) -> list[Edge]:
    """The edges of every known order dependence (but those named in `skip`)."""
    skipped = frozenset(skip)
    return [edge for known in KNOWN if known.name not in skipped for edge in known.edges(ledger)]
