"""A stand-in for the worker function in benchmarks: every dispatched task order reports
started and finished SUCCESS, in batches of 1,000 events (what real workers' reports cost the
fold, without running any asset code)."""

from __future__ import annotations

from collections.abc import Iterable

from arco.domain.run_controller import TaskOrder
from arco.domain.runs import TASK_FINISHED, TASK_STARTED, TaskFinished, TaskStarted
from arco.domain.runs import task_report_key as key
from arco.ledger.writer import NewEvent
from arco.services.workspace import Workspace


def report_success(ws: Workspace, orders: Iterable[object]) -> int:
    """Append started + finished SUCCESS for each TaskOrder in `orders`; the count reported."""
    events: list[NewEvent] = []
    for order in orders:
        if not isinstance(order, TaskOrder):
            continue
        base = {"run_id": order.run_id, "task": order.task, "attempt": order.attempt}
        ids = (order.run_id, order.task, order.attempt)
        events.append(
            NewEvent(TASK_STARTED, TaskStarted(**base, worker="bench"), key("started", *ids))
        )
        finished = TaskFinished(**base, outcome="SUCCESS", metadata={"rows": 1})
        events.append(NewEvent(TASK_FINISHED, finished, key("finished", *ids)))
    for start in range(0, len(events), 1000):
        ws.writer.append(events[start : start + 1000])
    return len(events) // 2
