"""One stack: the processes it started, what `up` creates in the emulators (the bucket, the
workspace, the deployed code location, the queues, the push subscriptions, the first timer
task), the Cloud Scheduler stand-in, and its state file (DIR/stack.json, DIR/env.sh).

The store lives in fake-gcs-server's memory: a stack starts empty and its state is gone at
`down`. (A persisted store would meet a restarted Pub/Sub emulator that numbers its messages
from 1 again, and Arco rightly quarantines a message id reused with other content.)
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arco.stack.processes import (
    START_TIMEOUT_S,
    Child,
    StackError,
    is_running,
    proc_stat,
    stop_groups,
    wait_listening,
)
from arco.stack.tools import (
    REPO,
    TASKS_EMULATOR_LAUNCHER,
    fake_gcs_binary,
    missing_tools,
    pubsub_emulator_jar,
    tasks_emulator_python,
)
from arco.stack.topology import (
    EMULATORS,
    FUNCTIONS,
    LOOPBACK,
    Topology,
    base_env,
    cli_env,
    function_env,
    unfilled_env,
)

STATE_FILE = "stack.json"
DEAD_LETTER = "arco-push-dead-letter"  # as the terraform names it (name_prefix "arco")
ENV_FILE = "env.sh"


@dataclass
class Options:
    directory: Path
    definitions: str | None
    workspace: str = "default"
    project: str = "arco-local"
    bucket: str = "arco-stack"
    interval_s: int = 5
    heartbeat_s: int = 15
    scheduler_interval_s: float = 60.0
    max_retries: int = 100
    deploy: bool = True
    source: Path = REPO / "functions" / "main.py"
    tasks_python: Path = field(default_factory=tasks_emulator_python)


@dataclass
class PushRoute:
    sensor: str
    topic: str
    subscription: str
    endpoint: str
    dead_letter_topic: str


class Stack:
    """The processes of one stack and what `up` created in the emulators."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.directory = options.directory
        self.logs = self.directory / "logs"
        self.topology = Topology.pick(
            options.workspace,
            options.definitions,
            project=options.project,
            bucket=options.bucket,
            interval_s=options.interval_s,
            heartbeat_s=options.heartbeat_s,
        )
        self.children: list[Child] = []
        self.routes: list[PushRoute] = []
        self.deployed: dict[str, Any] | None = None
        self.first_timer_task: str | None = None
        self.started_s: float | None = None
        self.status = "starting"
        self.left_behind: list[int] = []

    # -- start --

    def _children(self) -> list[Child]:
        t = self.topology
        jar = pubsub_emulator_jar()
        java = shutil.which("java")
        if jar is None or java is None:
            raise StackError("; ".join(missing_tools(self.options.tasks_python)))
        base = base_env(t.project)
        log = self.logs
        gcs = Child(
            "fake-gcs-server",
            [
                str(fake_gcs_binary()),
                *("-scheme", "http", "-backend", "memory", "-host", LOOPBACK),
                *("-port", str(t.gcs_port), "-external-url", t.gcs_url, "-log-level", "error"),
            ],
            log / "fake-gcs-server.log",
            t.gcs_port,
            t.gcs_url,
            base,
        )
        pubsub = Child(
            "pubsub-emulator",
            [java, "-jar", str(jar), f"--host={LOOPBACK}", f"--port={t.pubsub_port}"],
            log / "pubsub-emulator.log",
            t.pubsub_port,
            t.pubsub_host,
            base,
        )
        tasks = Child(
            "tasks-emulator",
            [
                str(self.options.tasks_python),
                *("-c", TASKS_EMULATOR_LAUNCHER, "start", "--port", str(t.tasks_port), "-q"),
                *("--max-retries", str(self.options.max_retries)),
            ],
            log / "tasks-emulator.log",
            t.tasks_port,
            t.tasks_host,
            # its own venv's packages only
            {k: v for k, v in base.items() if k != "PYTHONPATH"},
        )
        framework = Path(sys.executable).parent / "functions-framework"
        functions = [
            Child(
                name,
                [
                    str(framework),
                    *("--target", name, "--source", str(self.options.source)),
                    *("--host", LOOPBACK, "--port", str(t.function_ports[name])),
                ],
                log / f"{name}.log",
                t.function_ports[name],
                t.function_url(name),
                {**base, **function_env(t, name)},
            )
            for name in FUNCTIONS
        ]
        return [gcs, pubsub, tasks, *functions]

    def start(self, stop: threading.Event) -> None:
        began = time.monotonic()
        missing = missing_tools(self.options.tasks_python)
        if missing:
            raise StackError("cannot start the stack; missing: " + "; ".join(missing))
        if not self.options.source.exists():
            raise StackError(f"no functions source at {self.options.source}")
        self.logs.mkdir(parents=True, exist_ok=True)
        for name in FUNCTIONS:
            unfilled = unfilled_env(name)
            if unfilled:
                print(
                    f"arco stack: warning: {name} starts without {', '.join(unfilled)} "
                    "(declared in FUNCTION_ENV; arco.stack.topology.function_env does not set "
                    "it yet)",
                    file=sys.stderr,
                )
        self.children = self._children()
        for child in self.children:  # all at once: nothing needs another to start
            child.start(Path.cwd())
        self.write_state()
        deadline = time.monotonic() + START_TIMEOUT_S
        for child in self.children:
            wait_listening(child, deadline, stop)
        self._set_up(stop)
        self.started_s = time.monotonic() - began
        self.status = "ready"
        self.write_state()

    def _set_up(self, stop: threading.Event) -> None:
        t = self.topology
        # The client libraries in this process talk to the emulators too.
        os.environ["STORAGE_EMULATOR_HOST"] = t.gcs_url
        os.environ["PUBSUB_EMULATOR_HOST"] = t.pubsub_host
        os.environ.setdefault("GOOGLE_CLOUD_PROJECT", t.project)
        self._create_bucket()
        self._create_workspace()
        if self.options.deploy and t.definitions:
            self.deployed = self._deploy()
        if stop.is_set():
            raise StackError("interrupted while starting")
        self._create_queues()
        self.routes = self._create_push_routes()
        self.first_timer_task = self._start_timer_chain()

    def _create_bucket(self) -> None:
        from google.cloud import storage  # type: ignore[attr-defined]

        storage.Client(project=self.topology.project).create_bucket(self.topology.bucket)

    def _instance(self) -> Any:
        from arco.bootstrap import Instance
        from arco.services.config import Settings

        t = self.topology
        settings = Settings(
            store_url=t.store_url, workspace=t.workspace, workspaces=frozenset({t.workspace})
        )
        return Instance(settings, source="stack", serve_declared_only=False)

    def _create_workspace(self) -> None:
        """As `arco workspace create` does: the create-once marker of the workspace."""
        instance = self._instance()
        instance.directory.create(self.topology.workspace, self._actor(), instance.clock.now_ms())

    @staticmethod
    def _actor() -> str:
        return f"stack:{getpass.getuser()}"

    def _deploy(self) -> dict[str, Any]:
        """As `arco deploy --definitions ...` does."""
        from arco.services.code_location import load_definitions
        from arco.services.commands.deploy import deploy

        reference = self.topology.definitions
        assert reference is not None
        snapshot = load_definitions(reference).snapshot(reference)
        ws = self._instance().workspace()
        ws.compactor.compact_until_idle()
        result = deploy(ws, snapshot, self._actor())
        if result["changed"]:
            ws.compactor.compact_until_idle()
        return result

    def _tasks_client(self) -> Any:
        import grpc
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        channel = grpc.insecure_channel(self.topology.tasks_host)  # TLS fails on the emulator
        return tasks_v2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))

    def _create_queues(self) -> None:
        t = self.topology
        client = self._tasks_client()
        parent = f"projects/{t.project}/locations/{t.location}"
        for queue in (t.timer_queue, t.worker_queue):
            client.create_queue(parent=parent, queue={"name": queue})

    def push_sensors(self) -> list[tuple[str, str]]:
        """(sensor name, subscription path) of every push sensor of the code location."""
        reference = self.topology.definitions
        if not reference:
            return []
        from arco.services.code_location import load_definitions

        snapshot = load_definitions(reference).snapshot(reference)
        found = []
        for name, node in snapshot.sensors.items():
            if node.kind != "push" or node.subscription is None:
                continue
            path = node.subscription
            if "/" not in path:
                path = f"projects/{self.topology.project}/subscriptions/{path}"
            found.append((name, path))
        return found

    def _create_push_routes(self) -> list[PushRoute]:
        """As infra/modules/arco/pubsub.tf does, per push sensor: the push subscription to
        `<sensor_push URL>/sensors/<sensor>` (the path names the sensor), on a topic named like
        the subscription (the terraform expects the topic to exist; here the stack creates it),
        with a dead-letter policy to the shared `arco-push-dead-letter` topic, whose pull
        subscription of the same name keeps what lands there."""
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        publisher = pubsub_v1.PublisherClient()
        subscriber = pubsub_v1.SubscriberClient()
        routes = []
        for sensor, subscription in self.push_sensors():
            project, short = subscription.split("/")[1], subscription.rsplit("/", 1)[-1]
            topic = publisher.topic_path(project, short)
            dead = publisher.topic_path(project, DEAD_LETTER)
            for path in (topic, dead):
                with contextlib.suppress(AlreadyExists):  # one dead-letter topic per project
                    publisher.create_topic(name=path)
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(
                    request={
                        "name": subscriber.subscription_path(project, DEAD_LETTER),
                        "topic": dead,
                    }
                )
            endpoint = f"{self.topology.function_url('sensor_push')}sensors/{sensor}"
            subscriber.create_subscription(
                request={
                    "name": subscription,
                    "topic": topic,
                    "push_config": {"push_endpoint": endpoint},
                    "ack_deadline_seconds": 60,
                    # The cloud's is 10 s to 600 s: locally a retry should not keep you waiting.
                    "retry_policy": {
                        "minimum_backoff": {"seconds": 1},
                        "maximum_backoff": {"seconds": 10},
                    },
                    "dead_letter_policy": {"dead_letter_topic": dead, "max_delivery_attempts": 10},
                }
            )
            routes.append(PushRoute(sensor, str(topic), subscription, endpoint, str(dead)))
        return routes

    def _start_timer_chain(self) -> str:
        """The first timer call, through the timer queue; each call schedules the next."""
        from arco.cloud.tasks import CloudTasksTimerQueue, timer_task_id

        t = self.topology
        task_id = f"{timer_task_id(t.workspace, int(time.time()))}-start"
        queue = CloudTasksTimerQueue(t.timer_queue, emulator_host=t.tasks_host)
        queue.schedule(task_id, t.function_url("timer"), None, {"workspace": t.workspace})
        return task_id

    # -- run --

    def supervise(self, stop: threading.Event) -> int:
        """Until `stop`: watch the children (one exiting stops the stack, code 1) and play
        Cloud Scheduler (the compactor and the timer's backstop)."""
        interval = self.options.scheduler_interval_s
        next_call = time.monotonic() + interval
        calling: threading.Thread | None = None
        while not stop.wait(0.25):
            for child in self.children:
                code = child.exited()
                if code is not None:
                    print(
                        f"arco stack: {child.name} exited with code {code}; stopping the stack. "
                        f"Its output:\n{child.tail()}",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            if interval > 0 and time.monotonic() >= next_call:
                next_call = time.monotonic() + interval
                if calling is None or not calling.is_alive():
                    calling = threading.Thread(target=self._scheduler_call, daemon=True)
                    calling.start()
        return 0

    def _scheduler_call(self) -> None:
        """What the Cloud Scheduler jobs of infra/modules/arco/scheduler.tf send."""
        for name, body in (("compactor", {"scheduled": True}), ("timer", {"backstop": True})):
            request = urllib.request.Request(
                self.topology.function_url(name),
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                urllib.request.urlopen(request, timeout=120).close()
            except (OSError, urllib.error.HTTPError) as exc:
                print(f"arco stack: the scheduler's {name} call failed: {exc}", file=sys.stderr)

    # -- stop --

    def stop(self) -> list[int]:
        """Stop the functions, then the emulators (process groups), reap them, and return the
        pids of anything of theirs still alive (expected: none)."""
        self.status = "stopping"
        self.write_state()
        started = [c for c in self.children if c.popen is not None]
        functions = [c.pid for c in started if c.name in FUNCTIONS]
        emulators = [c.pid for c in started if c.name not in FUNCTIONS]
        left = stop_groups(functions) + stop_groups(emulators)
        for child in started:
            assert child.popen is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(1)
        left = sorted(set(left + [c.pid for c in started if is_running(c.pid)]))
        self.left_behind = left
        self.status = "stopped"
        self.write_state()
        return left

    # -- the state file --

    def state(self) -> dict[str, Any]:
        t = self.topology
        stat = proc_stat(os.getpid())
        return {
            "status": self.status,
            "supervisor": {"pid": os.getpid(), "start_ticks": stat[2] if stat else None},
            "startup_seconds": None if self.started_s is None else round(self.started_s, 2),
            "urls": {name: t.function_url(name) for name in FUNCTIONS},
            "emulators": {
                "fake-gcs-server": t.gcs_url,
                "pubsub-emulator": t.pubsub_host,
                "tasks-emulator": t.tasks_host,
            },
            "store": t.store_url,
            "workspace": t.workspace,
            "definitions": t.definitions,
            "deployed": self.deployed,
            "project": t.project,
            "queues": {"timer": t.timer_queue, "worker": t.worker_queue},
            "timer_interval_s": t.interval_s,
            "first_timer_task": self.first_timer_task,
            "push": [r.__dict__ for r in self.routes],
            "env": cli_env(t),
            "function_env": {name: function_env(t, name) for name in FUNCTIONS},
            "processes": [c.as_json() for c in self.children if c.popen is not None],
            "left_behind": self.left_behind,
        }

    def write_state(self) -> None:
        write_json(self.directory / STATE_FILE, self.state())

    def write_env_file(self) -> Path:
        path = self.directory / ENV_FILE
        lines = [f"export {k}={v}" for k, v in cli_env(self.topology).items()]
        path.write_text(
            "# source this file to use the arco CLI against the stack\n" + "\n".join(lines) + "\n"
        )
        return path

    def summary(self) -> str:
        t = self.topology
        width = max(len(n) for n in (*FUNCTIONS, *EMULATORS)) + 2
        lines = [
            f"Arco stack up in {self.started_s or 0:.1f} s "
            f"(state {self.directory / STATE_FILE}, logs {self.logs}/)",
            "",
        ]
        lines += [f"  {name:<{width}}{t.function_url(name)}" for name in FUNCTIONS]
        lines += [
            f"  {'fake-gcs-server':<{width}}{t.gcs_url}  (bucket {t.bucket}, in memory)",
            f"  {'pubsub-emulator':<{width}}{t.pubsub_host}",
            f"  {'tasks-emulator':<{width}}{t.tasks_host}  (queues "
            f"{t.timer_queue.rsplit('/', 1)[-1]}, {t.worker_queue.rsplit('/', 1)[-1]})",
        ]
        for route in self.routes:
            lines.append(
                f"  push sensor {route.sensor}: publish to {route.topic} -> {route.subscription}"
                f" -> {route.endpoint} (dead letters: {route.dead_letter_topic})"
            )
        deployed = (
            f"deployed {t.definitions}"
            if self.deployed and self.deployed.get("changed")
            else f"code location {t.definitions or '(none)'} (not deployed by the stack)"
        )
        lines += [
            "",
            f"Workspace {t.workspace!r}, {deployed}; the timer runs every {t.interval_s} s "
            "(ARCO_TIMER_INTERVAL_S) through the Cloud Tasks emulator.",
            "Auth: ARCO_AUTH=off-loopback. The emulators sign no ID tokens, so the functions "
            "check none and serve loopback callers only (docs/stack.md).",
            "",
            f"Use the CLI against it (or: source {self.directory / ENV_FILE}):",
        ]
        lines += [f"  export {k}={v}" for k, v in cli_env(t).items()]
        lines += [
            f"  curl {t.function_url('api')}v1/workspaces/{t.workspace}/state",
            "",
            f"Ctrl-C here, or `python -m arco.stack down --dir {self.directory}` "
            "(make stack-down), stops every process.",
        ]
        return "\n".join(lines)


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def read_state(directory: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data


def supervisor_alive(state: Mapping[str, Any]) -> bool:
    sup = state.get("supervisor") or {}
    pid = sup.get("pid")
    return isinstance(pid, int) and is_running(pid, sup.get("start_ticks"))
