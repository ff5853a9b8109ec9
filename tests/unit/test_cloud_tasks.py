"""What the Cloud Tasks queue asks for: a task named for dedupe, and for worker tasks a dispatch
deadline as long as the worker may run."""

from __future__ import annotations

from typing import Any

import pytest

from arco.bootstrap import Instance
from arco.cloud.tasks import CloudTasksTimerQueue
from arco.services.config import Settings

QUEUE = "projects/p/locations/l/queues/q"


class Capture:
    def __init__(self) -> None:
        self.tasks: list[dict[str, Any]] = []

    def create_task(self, parent: str, task: dict[str, Any]) -> None:
        self.tasks.append(task)


def test_worker_tasks_carry_the_workers_timeout_as_their_dispatch_deadline() -> None:
    env = {
        "ARCO_WORKER_QUEUE": QUEUE,
        "ARCO_WORKER_URL": "https://worker.example/",
        "ARCO_WORKER_TIMEOUT_S": "900",
    }
    queue = Instance(Settings.from_env(env)).worker_queue
    queue.client = Capture()
    assert queue.schedule("t1", "https://worker.example/", None, {"x": 1})
    [task] = queue.client.tasks
    assert task["dispatch_deadline"].seconds == 900
    assert task["name"] == f"{QUEUE}/tasks/t1"


def test_by_default_a_worker_task_may_take_cloud_tasks_longest_deadline() -> None:
    env = {"ARCO_WORKER_QUEUE": QUEUE, "ARCO_WORKER_URL": "https://worker.example/"}
    assert Instance(Settings.from_env(env)).worker_queue.dispatch_deadline_s == 1800


def test_timer_tasks_keep_the_default_deadline() -> None:
    capture = Capture()
    CloudTasksTimerQueue(QUEUE, client=capture).schedule("t", "https://timer/", 60, {})
    assert "dispatch_deadline" not in capture.tasks[0]


@pytest.mark.parametrize("seconds", [0, 14, 1801, 3600])
def test_a_deadline_cloud_tasks_would_refuse_is_refused_here(seconds: int) -> None:
    with pytest.raises(ValueError, match="15-1800 s"):
        CloudTasksTimerQueue(QUEUE, dispatch_deadline_s=seconds)
