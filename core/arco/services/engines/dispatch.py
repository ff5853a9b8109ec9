"""Handing orders to workers (run tasks, poll-sensor evaluations): through Cloud Tasks, or in
this process.

The timer appends `task.dispatched` first and dispatches after, so a crash in between leaves a
DISPATCHED task that the next timer call dispatches again under the same name (Cloud Tasks
refuses the duplicate if the first made it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from arco.domain.run_controller import TaskOrder
from arco.domain.sensor_controller import SensorOrder
from arco.services.engines.sensor_poll import SensorPollResult, evaluate_poll_sensor
from arco.services.engines.worker import TaskResult, execute_task
from arco.services.workspace import Workspace

if TYPE_CHECKING:
    from arco.sdk import Definitions


Order = TaskOrder | SensorOrder


@dataclass
class DispatchReport:
    created: int = 0
    duplicates: int = 0
    executed: list[TaskResult] = field(default_factory=list)
    sensors_evaluated: list[SensorPollResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "executed": [r.as_dict() for r in self.executed],
            "sensors_evaluated": [r.as_dict() for r in self.sensors_evaluated],
        }


class TaskDispatcher(Protocol):
    # Whether orders run inside `dispatch` (their results are in the ledger when it returns).
    runs_here: bool

    def dispatch(self, orders: Sequence[Order]) -> DispatchReport:
        """Make sure a worker gets each order (at least once)."""
        ...


class HttpTaskQueue(Protocol):
    def schedule(
        self, task_id: str, url: str, fire_at_epoch_s: int | None, body: dict[str, Any]
    ) -> bool:
        """Create a named HTTP task; False if one with that name exists (a duplicate)."""
        ...


@dataclass
class CloudTasksDispatcher:
    """One Cloud Tasks HTTP task per order, named by `TaskOrder.dispatch_name`."""

    queue: HttpTaskQueue
    worker_url: str
    runs_here = False

    def dispatch(self, orders: Sequence[Order]) -> DispatchReport:
        report = DispatchReport()
        for order in orders:
            if self.queue.schedule(order.dispatch_name, self.worker_url, None, order.to_json()):
                report.created += 1
            else:
                report.duplicates += 1
        return report


@dataclass
class InProcessExecutor:
    """Runs each order right here, one after the other (`arco dev`, `arco run --wait`, demo)."""

    ws: Workspace
    definitions: Definitions
    heartbeat_interval_s: float = 60.0
    seen: set[str] = field(default_factory=set)
    runs_here = True

    def dispatch(self, orders: Sequence[Order]) -> DispatchReport:
        report = DispatchReport()
        for order in orders:
            if order.dispatch_name in self.seen:  # the same dedupe Cloud Tasks gives
                report.duplicates += 1
                continue
            self.seen.add(order.dispatch_name)
            report.created += 1
            if isinstance(order, SensorOrder):
                report.sensors_evaluated.append(
                    evaluate_poll_sensor(self.ws, self.definitions, order)
                )
                continue
            report.executed.append(
                execute_task(self.ws, self.definitions, order, self.heartbeat_interval_s)
            )
        return report


@dataclass
class NoWorkers:
    """No executor configured: orders wait (and time out) until a worker is available."""

    pending: list[Order] = field(default_factory=list)
    runs_here = False

    def dispatch(self, orders: Sequence[Order]) -> DispatchReport:
        self.pending.extend(orders)
        return DispatchReport()
