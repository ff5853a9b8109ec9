"""Scheduling the next timer call through Cloud Tasks, with a deterministic task name.

The name is derived from the workspace and the time slot the call is for, so every timer that
tries to schedule the same successor asks for the same name and Cloud Tasks itself refuses the
duplicates (AlreadyExists). That is what keeps exactly one timer chain alive without a leader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

_QUEUE = re.compile(r"^projects/[^/]+/locations/[^/]+/queues/[^/]+\Z")
# Cloud Tasks waits this long for an HTTP target's answer before it counts the attempt as
# failed (and retries it). Its allowed range for HTTP targets is 15 s to 30 min.
MIN_DISPATCH_DEADLINE_S = 15
MAX_DISPATCH_DEADLINE_S = 1800


def timer_task_id(workspace: str, slot_epoch_s: int) -> str:
    return f"timer-{workspace}-{slot_epoch_s}"


class TimerQueue(Protocol):
    def schedule(
        self, task_id: str, url: str, fire_at_epoch_s: int | None, body: dict[str, Any]
    ) -> bool:
        """Create the task (now, or at `fire_at_epoch_s`); False if a task with that name
        already exists (a duplicate)."""
        ...


@dataclass
class CloudTasksTimerQueue:
    """Real Cloud Tasks (or its emulator via `emulator_host`, insecure gRPC)."""

    queue: str  # projects/P/locations/L/queues/Q
    service_account: str | None = None
    emulator_host: str | None = None
    client: Any = field(default=None, repr=False)  # a CloudTasksClient (tests inject a fake)
    # How long the target may take to answer (the worker queue: the worker's timeout, so an
    # asset may run that long). None: Cloud Tasks' default (10 min).
    dispatch_deadline_s: int | None = None

    def __post_init__(self) -> None:
        if not _QUEUE.match(self.queue):
            raise ValueError(f"queue must be projects/P/locations/L/queues/Q, got {self.queue!r}")
        deadline = self.dispatch_deadline_s
        if deadline is not None and not (
            MIN_DISPATCH_DEADLINE_S <= deadline <= MAX_DISPATCH_DEADLINE_S
        ):
            raise ValueError(
                f"a dispatch deadline must be {MIN_DISPATCH_DEADLINE_S}-"
                f"{MAX_DISPATCH_DEADLINE_S} s (Cloud Tasks' range for HTTP targets), got {deadline}"
            )

    def _tasks(self) -> Any:
        if self.client is None:
            from google.cloud import tasks_v2

            if self.emulator_host:
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import (
                    CloudTasksGrpcTransport,
                )

                channel = grpc.insecure_channel(self.emulator_host)
                self.client = tasks_v2.CloudTasksClient(
                    transport=CloudTasksGrpcTransport(channel=channel)
                )
            else:
                self.client = tasks_v2.CloudTasksClient()
        return self.client

    def schedule(
        self, task_id: str, url: str, fire_at_epoch_s: int | None, body: dict[str, Any]
    ) -> bool:
        from google.api_core.exceptions import AlreadyExists
        from google.protobuf import duration_pb2, timestamp_pb2

        request: dict[str, Any] = {
            "http_method": "POST",
            "url": url,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body).encode(),
        }
        if self.service_account:
            request["oidc_token"] = {"service_account_email": self.service_account, "audience": url}
        task: dict[str, Any] = {"name": f"{self.queue}/tasks/{task_id}", "http_request": request}
        if fire_at_epoch_s is not None:
            task["schedule_time"] = timestamp_pb2.Timestamp(seconds=fire_at_epoch_s)
        if self.dispatch_deadline_s is not None:
            task["dispatch_deadline"] = duration_pb2.Duration(seconds=self.dispatch_deadline_s)
        try:
            self._tasks().create_task(parent=self.queue, task=task)
        except AlreadyExists:
            return False
        return True


@dataclass
class RecordingTimerQueue:
    """An in-memory queue with Cloud Tasks' name dedupe, for tests and `arco dev`."""

    created: dict[str, tuple[str, int | None, dict[str, Any]]] = field(default_factory=dict)

    def schedule(
        self, task_id: str, url: str, fire_at_epoch_s: int | None, body: dict[str, Any]
    ) -> bool:
        if task_id in self.created:
            return False
        self.created[task_id] = (url, fire_at_epoch_s, body)
        return True
