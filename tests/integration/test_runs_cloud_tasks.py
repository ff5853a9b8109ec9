"""Runs end to end through real parts: the timer in this process, task orders through the Cloud
Tasks emulator, the `worker` function served by functions-framework in its own process, and one
local store shared by both.

The emulator (gcloud-tasks-emulator 0.6.2) pins protobuf<5, so it lives in `.venv-tasks-emu`
(`make tasks-emulator`; `make test` installs it) and runs as a subprocess. It does not emulate
Cloud Tasks' task-name dedupe, so the dedupe test wraps its client in a fake that does.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.cloud.tasks import CloudTasksTimerQueue
from arco.domain.run_controller import TaskOrder
from arco.domain.runs import TASK_FINISHED, TASK_STARTED, TERMINAL_RUN
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import CloudTasksDispatcher, NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.queries.runs import partition_status, read_logs, run_status
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.conftest import _free_port
from tests.integration.processes import (
    ServedFunction,
    serve_function,
    start_process,
    stop_process,
    tail,
    wait_listening,
)
from tests.workspaces import create_workspaces

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO / ".venv-tasks-emu" / "bin" / "gcloud-tasks-emulator"
LOCATION = "tests.fixtures.runs_graph:defs"
WORKSPACE = "e2e"
QUEUE_PARENT = "projects/test-project/locations/us-central1"
QUEUE = f"{QUEUE_PARENT}/queues/arco-worker"
DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")
RUN_TIMEOUT_S = 60.0


# --- the Cloud Tasks emulator ----------------------------------------------------------------


@dataclass
class TasksEmulator:
    host: str  # 127.0.0.1:PORT
    client: Any  # a tasks_v2.CloudTasksClient on an insecure channel


def _emulator_client(host: str) -> Any:
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(host)  # TLS to the emulator fails: insecure is the only way
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


@pytest.fixture(scope="module")
def tasks_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TasksEmulator]:
    if not EMULATOR.exists():
        message = (
            f"the Cloud Tasks emulator is not installed ({EMULATOR.relative_to(REPO)} is "
            "missing); run `make tasks-emulator` (`make test` does it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = tmp_path_factory.mktemp("tasks-emulator") / "emulator.log"
    proc = start_process([str(EMULATOR), "start", "--port", str(port), "-q"], dict(os.environ), log)
    try:
        wait_listening(proc, port, "gcloud-tasks-emulator", log)
        host = f"127.0.0.1:{port}"
        client = _emulator_client(host)
        client.create_queue(parent=QUEUE_PARENT, queue={"name": QUEUE})
        yield TasksEmulator(host, client)
    finally:
        stop_process(proc)


# --- the worker function ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-store")
    create_workspaces(LocalObjectStore(path), WORKSPACE)
    return path


@pytest.fixture(scope="module")
def worker(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFunction]:
    env = {
        "ARCO_STORE": f"file://{store_dir}",
        "ARCO_WORKSPACE": WORKSPACE,
        "ARCO_WORKER_QUEUE": QUEUE,
        "ARCO_DEFINITIONS": LOCATION,
        "ARCO_HEARTBEAT_INTERVAL_S": "1",
    }
    with serve_function("worker", env, tmp_path_factory.mktemp("worker") / "worker.log") as fn:
        yield fn


# --- the workspace, as this process sees it --------------------------------------------------


@pytest.fixture(scope="module")
def ws(store_dir: Path) -> Workspace:
    workspace = Workspace(LocalObjectStore(store_dir), WORKSPACE, source="test")  # SystemClock
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def _now(ws: Workspace) -> datetime:
    return datetime.fromtimestamp(ws.clock.now_ms() / 1000, tz=UTC)


def _drive(
    ws: Workspace, dispatcher: CloudTasksDispatcher, run_id: str, worker: ServedFunction
) -> dict[str, Any]:
    """Call the timer every ~0.3 s until the run is terminal."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        run_timer(ws, _now(ws), dispatcher=dispatcher)
        status = run_status(ws, run_id)
        if status["status"] in TERMINAL_RUN:
            return status
        if time.monotonic() > deadline:
            tasks = [(t["asset"], t["partition"], t["status"]) for t in status["task_list"]]
            pytest.fail(
                f"run {run_id} is still {status['status']} after {RUN_TIMEOUT_S:.0f} s; tasks "
                f"{tasks}; the worker's output:\n{tail(worker.log)}"
            )
        time.sleep(0.3)


def _ledger_events(ws: Workspace) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for listed in ws.store.list(ws.layout.ledger_prefix):
        stored = ws.store.get(listed.key)
        assert stored is not None
        events.extend(json.loads(stored.data)["events"])
    return events


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- Cloud Tasks' name dedupe, which the emulator lacks --------------------------------------


@dataclass
class DedupingTasksClient:
    """The emulator's client plus Cloud Tasks' task-name dedupe.

    Real Cloud Tasks refuses a task whose name it has seen (AlreadyExists, 409), also for about
    an hour after that task ran or was deleted; the emulator accepts the duplicate and delivers
    both. This remembers every name for the life of the fake and forwards the rest.
    """

    inner: Any
    created: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def create_task(self, *args: Any, **kwargs: Any) -> Any:
        from google.api_core.exceptions import AlreadyExists

        task = kwargs["task"] if "task" in kwargs else args[1]
        name = task["name"] if isinstance(task, dict) else task.name
        if name and name in self.created:
            self.refused.append(name)
            raise AlreadyExists(f"Requested entity already exists: {name}")
        response = self.inner.create_task(*args, **kwargs)
        if name:
            self.created.append(name)
        return response

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)


# --- tests -----------------------------------------------------------------------------------


def test_a_partitioned_run_goes_through_cloud_tasks_to_the_worker_function(
    tasks_emulator: TasksEmulator, worker: ServedFunction, ws: Workspace
) -> None:
    launched = launch_run(
        ws,
        LaunchRequest(
            "key:raw_events or key:clean_events or key:daily_report",
            partition_range=(DAYS[0], DAYS[-1]),
        ),
    )
    assert launched.tasks == 9
    queue = CloudTasksTimerQueue(QUEUE, emulator_host=tasks_emulator.host)
    final = _drive(ws, CloudTasksDispatcher(queue, worker.url + "/"), launched.run_id, worker)

    assert final["status"] == "SUCCESS", final
    tasks = {(t["asset"], t["partition"]): t for t in final["task_list"]}
    assert len(tasks) == 9
    assert {key: t["status"] for key, t in tasks.items()} == dict.fromkeys(tasks, "SUCCESS")
    flaky = tasks[("clean_events", "2024-01-03")]
    assert flaky["attempt"] == 2
    assert [a["attempt"] for a in flaky["attempts"]] == [1, 2]
    for day in DAYS[:2]:
        assert tasks[("clean_events", day)]["attempt"] == 1
    assert final["tasks"]["succeeded"] == 9

    reports = partition_status(ws.snapshot(), "daily_report")
    assert set(reports) == set(DAYS)
    for day in DAYS:
        assert reports[day]["materialized_run_id"] == launched.run_id

    logs = read_logs(ws, launched.run_id)
    messages = [(r["asset"], r["partition"], r["message"]) for r in logs]
    for day in DAYS:
        assert any(
            asset == "raw_events" and partition == day and message.startswith("loading raw events")
            for asset, partition, message in messages
        ), messages
        assert ("daily_report", day, f"report for {day}") in messages
    assert ("clean_events", "2024-01-03", "cleaned 2024-01-03 (attempt 2)") in messages
    assert any(  # the failed first attempt is logged too
        r["asset"] == "clean_events" and r["attempt"] == 1 and r["level"] == "ERROR"
        for r in logs
        if r["partition"] == "2024-01-03"
    )


def test_a_task_dispatched_twice_under_its_name_runs_once(
    tasks_emulator: TasksEmulator, worker: ServedFunction, ws: Workspace
) -> None:
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"))
    waiting = NoWorkers()  # the timer decides the dispatch; we hand the order over ourselves
    for _ in range(10):
        run_timer(ws, _now(ws), dispatcher=waiting)
        if waiting.pending:
            break
    [order] = waiting.pending
    assert (order.run_id, order.asset, order.partition) == (launched.run_id, "raw_events", DAYS[1])

    fake = DedupingTasksClient(tasks_emulator.client)
    dispatcher = CloudTasksDispatcher(CloudTasksTimerQueue(QUEUE, client=fake), worker.url + "/")
    report = dispatcher.dispatch([order, order])
    assert (report.created, report.duplicates) == (1, 1)
    assert fake.created == [f"{QUEUE}/tasks/{order.dispatch_name}"]

    final = _drive(ws, dispatcher, launched.run_id, worker)
    assert final["status"] == "SUCCESS"
    assert [t["status"] for t in final["task_list"]] == ["SUCCESS"]
    # The name stays taken after the task ran: a late redispatch is refused too.
    assert dispatcher.dispatch([order]).duplicates == 1

    def reports(kind: str) -> list[dict[str, Any]]:
        return [
            e
            for e in _ledger_events(ws)
            if e["type"] == kind
            and (e["payload"]["run_id"], e["payload"]["task"], e["payload"]["attempt"])
            == (order.run_id, order.task, order.attempt)
        ]

    assert len(reports(TASK_STARTED)) == 1
    assert len(reports(TASK_FINISHED)) == 1


def test_the_worker_refuses_calls_from_elsewhere_and_malformed_orders(
    worker: ServedFunction, ws: Workspace
) -> None:
    order = TaskOrder(WORKSPACE, "run_x", 0, 1, "raw_events", DAYS[0], "x-order").to_json()
    json_header = {"Content-Type": "application/json"}
    before = sorted(o.key for o in ws.store.list(ws.layout.ledger_prefix))

    status, body = _post(worker.url + "/", json.dumps(order).encode(), json_header)
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    status, _ = _post(
        worker.url + "/",
        json.dumps(order).encode(),
        {**json_header, "X-CloudTasks-QueueName": f"{QUEUE_PARENT}/queues/elsewhere"},
    )
    assert status == 403

    from_queue = {**json_header, "X-CloudTasks-QueueName": QUEUE}  # as the emulator sends it
    status, body = _post(
        worker.url + "/", json.dumps({**order, "task": "zero"}).encode(), from_queue
    )
    assert status == 400
    assert body["error"]["code"] == "invalid_input"
    assert "'task'" in body["error"]["message"]
    status, body = _post(worker.url + "/", b"{not json", from_queue)
    assert status == 400
    assert "not JSON" in body["error"]["message"]

    assert sorted(o.key for o in ws.store.list(ws.layout.ledger_prefix)) == before
