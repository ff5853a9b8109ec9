"""The local stack end to end (`python -m arco.stack up`, what `make stack` runs).

One stack for the module: fake-gcs-server, Google's Pub/Sub emulator, the Cloud Tasks emulator
and the five functions under functions-framework, each a process group of its own, started by
the stack's supervisor in a subprocess. Through it: the code location is deployed with the CLI
(using the environment the stack prints), the timer chain runs on the Cloud Tasks emulator, a
backfill completes, a published message becomes a run through the push subscription, the
staleness report and the reconciliation plan answer over HTTP, a schedule ticks (at the next
minute: cron has no finer grain, so this waits up to a minute after the deploy, overlapped with
the rest), `arco rebuild --verify` finds the published state identical, and `down` leaves no
process behind.

The Pub/Sub emulator (apt google-cloud-cli-pubsub-emulator, Java) comes with the machine image
and the Cloud Tasks emulator with `make tasks-emulator`; where either is missing the module is
skipped with a message (in CI it fails instead).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from arco.services.config import FUNCTION_ENV
from arco.stack.processes import group_members, is_running
from arco.stack.supervisor import read_state
from arco.stack.tools import missing_tools
from arco.stack.topology import EMULATOR_HOST_ENV, FUNCTIONS, STACK_LOCAL_ENV

REPO = Path(__file__).resolve().parents[2]
LOCATION = "tests.fixtures.stack_graph:defs"
WORKSPACE = "e2e"
INTERVAL_S = 2
ARCO = Path(sys.executable).parent / "arco"
UP_TIMEOUT_S = 60.0
WAIT_S = 45.0
DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")

T = TypeVar("T")


@dataclass
class RunningStack:
    directory: Path
    supervisor: subprocess.Popen[bytes]
    log: Path
    state: dict[str, Any]
    up_seconds: float
    deployed_at: float = 0.0

    @property
    def api(self) -> str:
        return str(self.state["urls"]["api"]) + f"v1/workspaces/{WORKSPACE}"

    @property
    def env(self) -> dict[str, str]:
        """This environment with the one the stack prints for the CLI."""
        return {**os.environ, **self.state["env"]}

    def output(self) -> str:
        parts = [self.log.read_text(errors="replace")[-3000:]]
        for name in ("timer", "worker", "sensor_push"):
            path = self.directory / "logs" / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}:\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)


def _call(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"}, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _get(url: str, **query: str) -> Any:
    if query:
        url += "?" + urllib.parse.urlencode(query)
    status, body = _call("GET", url)
    assert status == 200, (url, status, body)
    return body


def _wait(what: str, probe: Callable[[], T | None], stack: RunningStack, timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f} s; the stack's output:\n{stack.output()}")
        time.sleep(0.3)


def _arco(stack: RunningStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ARCO), *args],
        env=stack.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    missing = missing_tools()
    if missing:
        message = "the local stack cannot start; missing: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    directory = tmp_path_factory.mktemp("stack")
    log = directory / "supervisor.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCO_", "PUBSUB_"))}
    env.pop("STORAGE_EMULATOR_HOST", None)  # the session's fake-gcs, if any, is not the stack's
    command = [
        sys.executable,
        *("-m", "arco.stack", "up", "--dir", str(directory / "run")),
        *("--definitions", LOCATION, "--workspace", WORKSPACE, "--no-deploy"),
        *("--interval", str(INTERVAL_S), "--heartbeat", "5", "--scheduler-interval", "10"),
    ]
    began = time.monotonic()
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    running = RunningStack(directory / "run", supervisor, log, {}, 0.0)
    try:
        while True:
            state = read_state(running.directory)
            if state is not None and state.get("status") == "ready":
                running.state = state
                running.up_seconds = time.monotonic() - began
                break
            if supervisor.poll() is not None or time.monotonic() - began > UP_TIMEOUT_S:
                pytest.fail(f"the stack did not come up; its output:\n{running.output()}")
            time.sleep(0.05)
        yield running
    finally:
        if supervisor.poll() is None:
            subprocess.run(
                [sys.executable, "-m", "arco.stack", "down", "--dir", str(running.directory)],
                cwd=REPO,
                capture_output=True,
                timeout=60,
                check=False,
            )
        try:
            supervisor.wait(30)
        except subprocess.TimeoutExpired:
            supervisor.kill()
            supervisor.wait(5)


@pytest.fixture(scope="module")
def deployed(stack: RunningStack) -> RunningStack:
    """The code location deployed through the CLI, with the environment the stack printed."""
    result = _arco(stack, "deploy", "--definitions", LOCATION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployed" in result.stdout
    stack.deployed_at = time.time()
    return stack


def _tasks_client(stack: RunningStack) -> Any:
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    channel = grpc.insecure_channel(stack.state["emulators"]["tasks-emulator"])
    return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))


def _run(stack: RunningStack, run_id: str) -> dict[str, Any]:
    body: dict[str, Any] = _get(f"{stack.api}/runs/{run_id}")
    return body


def _finished_run(stack: RunningStack, run_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        run = _run(stack, run_id)
        return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None

    return _wait(f"run {run_id} to finish", probe, stack, WAIT_S)


def _logged(stack: RunningStack, run_id: str) -> list[str]:
    return [r["message"] for r in _get(f"{stack.api}/runs/{run_id}/logs")["logs"]]


# --- tests -------------------------------------------------------------------------------------


def test_the_stack_is_up_with_the_declared_environment(stack: RunningStack) -> None:
    state = stack.state
    assert stack.up_seconds < UP_TIMEOUT_S
    assert list(state["urls"]) == list(FUNCTIONS)
    for name in FUNCTIONS:
        env = state["function_env"][name]
        # Exactly what the terraform sets, plus the local-only auth mode, the emulator hosts,
        # and the Cloud Tasks emulator for the functions that create tasks.
        extra = {"ARCO_AUTH"} | EMULATOR_HOST_ENV
        if name in ("timer", "worker"):
            extra.add("CLOUD_TASKS_EMULATOR_HOST")
        assert extra <= STACK_LOCAL_ENV | EMULATOR_HOST_ENV
        assert set(env) == set(FUNCTION_ENV[name]) | extra, name
        assert env["ARCO_AUTH"] == "off-loopback"
        assert env["ARCO_STORE"] == state["store"]
    assert state["function_env"]["timer"]["ARCO_TIMER_INTERVAL_S"] == str(INTERVAL_S)
    for process in state["processes"]:
        assert is_running(process["pid"], process["start_ticks"]), process["name"]
    assert _get(stack.state["urls"]["api"] + "healthz")
    # The push subscription of the code location's push sensor points at sensor_push.
    [route] = state["push"]
    assert route["subscription"] == "projects/arco-local/subscriptions/stack-orders"
    assert route["topic"] == "projects/arco-local/topics/stack-orders"
    assert route["endpoint"] == f"{state['urls']['sensor_push']}sensors/orders_landed"
    assert route["dead_letter_topic"] == "projects/arco-local/topics/arco-push-dead-letter"
    # A second stack from the same directory is refused while this one runs.
    again = subprocess.run(
        [sys.executable, "-m", "arco.stack", "up", "--dir", str(stack.directory)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 2 and "already running" in again.stdout, again


def test_the_timer_chain_runs_on_the_tasks_emulator_one_successor_per_slot(
    deployed: RunningStack,
) -> None:
    from google.api_core.exceptions import AlreadyExists

    client = _tasks_client(deployed)
    queue = deployed.state["queues"]["timer"]
    prefix = f"timer-{WORKSPACE}-"

    def pending() -> list[int]:
        names = [t.name.rsplit("/", 1)[-1] for t in client.list_tasks(parent=queue)]
        return sorted(int(n[len(prefix) :]) for n in names if n[len(prefix) :].isdigit())

    first = _wait("a scheduled timer task", lambda: pending() or None, deployed, WAIT_S)
    slot = first[-1]
    assert slot % INTERVAL_S == 0
    later = _wait(
        "the timer's successor", lambda: [s for s in pending() if s > slot] or None, deployed, 15
    )
    assert later[0] - slot >= INTERVAL_S
    # Several calls per slot (the scheduler's backstop, worker nudges) schedule one successor:
    # the stack's emulator refuses a task name it has seen, as Cloud Tasks does.
    for slots in (pending(), pending()):
        assert len(slots) == len(set(slots)) <= 2, slots
    task = {
        "name": f"{queue}/tasks/{prefix}{later[-1]}",
        "http_request": {"url": deployed.state["urls"]["timer"], "body": b"{}"},
    }
    with pytest.raises(AlreadyExists):
        client.create_task(parent=queue, task=task)


def test_a_backfill_then_a_pushed_message_make_runs_on_the_worker_and_staleness_follows(
    deployed: RunningStack,
) -> None:
    api = deployed.api
    # A backfill over three days of orders -> revenue, to completion.
    status, created = _call(
        "POST",
        f"{api}/backfills",
        {
            "selection": "key:orders or key:revenue",
            "partitions": {"kind": "range", "first": DAYS[0], "last": DAYS[-1]},
        },
    )
    assert status == 201, created
    backfill_id = created["backfill_id"]

    def backfill_done() -> dict[str, Any] | None:
        status, body = _call("GET", f"{api}/backfills/{backfill_id}")
        if status == 404:  # not published yet: the timer's next call publishes it
            return None
        assert status == 200, body
        return body if body["status"] not in ("REQUESTED", "CANCELING", "PAUSED") else None

    backfill = _wait("the backfill to complete", backfill_done, deployed, WAIT_S)
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill
    runs = _get(f"{api}/backfills/{backfill_id}/runs")["runs"]
    assert runs and {r["status"] for r in runs} == {"SUCCESS"}
    for name in ("orders", "revenue"):
        partitions = _get(f"{api}/assets/{name}/partitions")["partitions"]
        done = {p["partition"] for p in partitions if p["last_materialization"]}
        assert set(DAYS) <= done, (name, partitions)
    # The worker function ran the code: the tasks' log lines are the run's logs.
    logged = [m for r in runs for m in _logged(deployed, r["run_id"])]
    assert {f"revenue for {day}" for day in DAYS} <= set(logged), logged

    # A message published to the push sensor's topic: pushed to sensor_push, then a run.
    from google.cloud import pubsub_v1

    with pytest.MonkeyPatch.context() as patch:  # the client reads it when it is created
        patch.setenv("PUBSUB_EMULATOR_HOST", deployed.state["env"]["PUBSUB_EMULATOR_HOST"])
        publisher = pubsub_v1.PublisherClient()
        [route] = deployed.state["push"]
        message_id = publisher.publish(route["topic"], b'{"day": "2024-01-02"}').result(10)

    def pushed_run() -> dict[str, Any] | None:
        for run in _get(f"{api}/runs", limit="100")["runs"]:
            if run["run_key"] == message_id:
                return run
        return None

    run = _wait(f"a run for message {message_id}", pushed_run, deployed, WAIT_S)
    assert run["tags"].get("feed") == "orders"
    final = _finished_run(deployed, run["run_id"])
    assert final["status"] == "SUCCESS", final
    assert [(t["asset"], t["partition"]) for t in final["task_list"]] == [("orders", DAYS[1])]
    assert "orders for 2024-01-02" in _logged(deployed, run["run_id"])
    [tick] = [
        t
        for t in _get(f"{api}/sensors/orders_landed/ticks")["ticks"]
        if t.get("message_id") == message_id
    ]
    assert tick["status"] == "SUCCESS", tick

    # orders[2024-01-02] is newer than the revenue built from it: the report and the plan say so.
    report = _get(f"{api}/staleness", selection="key:revenue", status="STALE")
    stale = {(i["asset"], i["partition"]) for i in report["items"]}
    assert stale == {("revenue", DAYS[1])}, report
    plan = _get(f"{api}/reconciliation/plan")
    planned = json.dumps(plan)
    assert "revenue" in planned and DAYS[1] in planned, plan


def test_a_schedule_ticks_and_its_run_materializes(deployed: RunningStack) -> None:
    api = deployed.api
    # `* * * * *` ticks at the first minute after the deploy (cron's grain is the minute).
    wait = 60 - deployed.deployed_at % 60 + 2 * INTERVAL_S + WAIT_S

    def triggered() -> dict[str, Any] | None:
        ticks = _get(f"{api}/schedules/every_minute/ticks", status="TRIGGERED")["ticks"]
        return ticks[0] if ticks and ticks[0]["run_ids"] else None

    tick = _wait("a TRIGGERED tick of every_minute", triggered, deployed, max(wait, 0) + 1)
    assert tick["tick_ms"] / 1000 >= deployed.deployed_at - 30  # a tick after the deploy
    assert tick["tick_ms"] % 60_000 == 0
    final = _finished_run(deployed, tick["run_ids"][0])
    assert final["status"] == "SUCCESS", final
    assert "pulse" in _logged(deployed, final["run_id"])
    [pulse] = _get(f"{api}/assets/pulse/partitions")["partitions"]
    assert pulse["last_materialization"]["run_id"] == final["run_id"]


def test_the_published_state_rebuilds_identically_from_the_ledger(deployed: RunningStack) -> None:
    result = _arco(deployed, "rebuild", "--verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_down_stops_every_process_it_started(stack: RunningStack) -> None:
    processes = stack.state["processes"]
    assert len(processes) == len(FUNCTIONS) + 3
    result = subprocess.run(
        [sys.executable, "-m", "arco.stack", "down", "--dir", str(stack.directory)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.supervisor.wait(10) == 0, stack.output()
    assert "none left" in stack.log.read_text()
    for process in processes:
        assert not is_running(process["pid"], process["start_ticks"]), process
    assert group_members(p["pid"] for p in processes) == []
    supervisor = stack.state["supervisor"]
    assert not is_running(supervisor["pid"], supervisor["start_ticks"])
    state = read_state(stack.directory)
    assert state is not None and state["status"] == "stopped" and state["left_behind"] == []


def test_ctrl_c_stops_every_process_it_started(tmp_path: Path) -> None:
    """Ctrl-C reaches the supervisor's process group only (the terminal's foreground group);
    the children run in groups of their own and are stopped by it."""
    if missing_tools():
        pytest.skip("the local stack cannot start (see the stack fixture's message)")
    directory = tmp_path / "run"
    log = tmp_path / "supervisor.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCO_", "PUBSUB_"))}
    command = [sys.executable, "-m", "arco.stack", "up", "--dir", str(directory)]
    command += ["--definitions", "", "--scheduler-interval", "0"]
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + UP_TIMEOUT_S
        while (state := read_state(directory)) is None or state["status"] != "ready":
            assert supervisor.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        processes = state["processes"]
        assert state["push"] == [] and state["deployed"] is None
        os.killpg(supervisor.pid, signal.SIGINT)
        assert supervisor.wait(30) == 0, log.read_text()
    finally:
        if supervisor.poll() is None:
            subprocess.run(
                [sys.executable, "-m", "arco.stack", "down", "--dir", str(directory)],
                cwd=REPO,
                capture_output=True,
                timeout=60,
                check=False,
            )
            supervisor.wait(30)
    assert "none left" in log.read_text()
    for process in processes:
        assert not is_running(process["pid"], process["start_ticks"]), process
    assert group_members(p["pid"] for p in processes) == []
