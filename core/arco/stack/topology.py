"""Where everything of one stack listens, and the environment each process starts with.

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
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from arco.ledger.writer import DEFAULT_LOOKBACK_MS
from arco.services.config import FUNCTION_ENV, LOCAL_ONLY_ENV

FUNCTIONS: tuple[str, ...] = ("api", "timer", "worker", "sensor_push", "compactor")
EMULATORS: tuple[str, ...] = ("fake-gcs-server", "pubsub-emulator", "tasks-emulator")
LOOPBACK = "127.0.0.1"
# The variables the stack adds to what the terraform sets (besides the emulator hosts).
STACK_LOCAL_ENV = frozenset({"ARCO_AUTH", "CLOUD_TASKS_EMULATOR_HOST"})
EMULATOR_HOST_ENV = frozenset({"STORAGE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"})
assert STACK_LOCAL_ENV <= LOCAL_ONLY_ENV


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
