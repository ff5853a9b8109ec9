"""The timer: fold what is pending, run the controllers as of `now`, append their decisions.

Run by the `timer` Cloud Function on every Cloud Tasks call, by `arco tick`, and by the
`arco dev` loop. Controllers are pure; two timers at once append identical events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arco.domain.schedule_controller import evaluate_schedules
from arco.domain.schedules import SCHEDULE_STATE, ScheduleTicked
from arco.services.definitions import current_definitions, dynamic_partition_keys
from arco.services.workspace import Workspace

APPEND_CHUNK = 1000


@dataclass
class TimerResult:
    now: str
    schedules_evaluated: int = 0
    ticks: dict[str, int] = field(default_factory=dict)
    ledger_objects: list[str] = field(default_factory=list)
    evaluate_seconds: float = 0.0
    manifest_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "schedules_evaluated": self.schedules_evaluated,
            "ticks": self.ticks,
            "ledger_objects": self.ledger_objects,
            "evaluate_seconds": round(self.evaluate_seconds, 4),
            "manifest_id": self.manifest_id,
        }


def run_timer(ws: Workspace, now: datetime, compact: bool = True) -> TimerResult:
    """One timer call. With `compact`, folds before deciding and after appending."""
    result = TimerResult(now=now.isoformat())
    if compact:
        ws.compactor.compact_until_idle()
    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    if defs is not None:
        states = {k[0]: row for k, row in snapshot.rows(SCHEDULE_STATE.name).items()}
        started = time.perf_counter()
        decisions = evaluate_schedules(defs, states, now, dynamic_partition_keys(snapshot))
        result.evaluate_seconds = time.perf_counter() - started
        result.schedules_evaluated = decisions.evaluated
        for event in decisions.events:
            if isinstance(event.payload, ScheduleTicked):
                status = event.payload.status
                result.ticks[status] = result.ticks.get(status, 0) + 1
        # One ledger object per timer call (chunked): its ticks were decided together.
        events = list(decisions.events)
        for start in range(0, len(events), APPEND_CHUNK):
            appended = ws.writer.append(events[start : start + APPEND_CHUNK])
            result.ledger_objects.append(appended.object_name)
    if compact:
        ws.compactor.compact_until_idle()
    result.manifest_id = ws.manifest().manifest_id
    return result


def next_slot(now_s: int, interval_s: int) -> int:
    """The start of the next interval slot: every timer computes the same one."""
    return (now_s // interval_s + 1) * interval_s


def from_expected_queue(header: str | None, expected: str | None) -> bool:
    """Whether a call's X-CloudTasks-QueueName names the configured queue.

    Cloud Tasks sends the short queue name; its emulator sends the full path. Compare the last
    path segment. With no queue configured (local runs) every call is accepted.
    """
    if expected is None:
        return True
    if not header:
        return False
    return header.rsplit("/", 1)[-1] == expected.rsplit("/", 1)[-1]
