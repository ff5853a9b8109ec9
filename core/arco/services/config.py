"""Runtime settings of a process, read once from the environment at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from arco.domain.access import validate_principal
from arco.domain.errors import InvalidInput, Misconfigured
from arco.domain.names import validate_workspace
from arco.ledger.writer import DEFAULT_LOOKBACK_MS
from arco.storage.url import DEFAULT_STORE_URL

# The environment each Cloud Function is deployed with. `infra/` sets exactly these per
# function and `make stack` passes the same; tests check both against this list, and the list
# against what `Settings.from_env` reads.
COMMON_ENV = frozenset(
    {"ARCO_STORE", "ARCO_WORKSPACE", "ARCO_WORKSPACES", "ARCO_LOOKBACK_MS", "ARCO_AUDIENCE"}
)
_TIMER_NUDGE = frozenset(
    {"ARCO_TIMER_QUEUE", "ARCO_TIMER_URL", "ARCO_TIMER_INTERVAL_S", "ARCO_TIMER_SERVICE_ACCOUNT"}
)
FUNCTION_ENV: Mapping[str, frozenset[str]] = {
    "api": COMMON_ENV | {"ARCO_ADMINS"},
    "timer": COMMON_ENV
    | _TIMER_NUDGE
    | {"ARCO_INVOKERS", "ARCO_WORKER_QUEUE", "ARCO_WORKER_URL", "ARCO_WORKER_TIMEOUT_S"},
    "worker": COMMON_ENV
    | _TIMER_NUDGE
    | {"ARCO_INVOKERS", "ARCO_WORKER_QUEUE", "ARCO_DEFINITIONS", "ARCO_HEARTBEAT_INTERVAL_S"},
    "sensor_push": COMMON_ENV | {"ARCO_INVOKERS", "ARCO_DEFINITIONS"},
    "compactor": COMMON_ENV | {"ARCO_INVOKERS"},
}
# Read, but never set by the terraform: local stacks and tests only.
LOCAL_ONLY_ENV = frozenset({"ARCO_AUTH", "ARCO_CERTS_URL", "CLOUD_TASKS_EMULATOR_HOST"})


@dataclass(frozen=True, slots=True)
class Settings:
    store_url: str = DEFAULT_STORE_URL
    workspace: str = "default"
    lookback_ms: int = DEFAULT_LOOKBACK_MS
    # The timer's Cloud Tasks queue (projects/P/locations/L/queues/Q), the URL of the timer
    # function it calls, and the interval between timer calls.
    timer_queue: str | None = None
    timer_url: str | None = None
    timer_interval_s: int = 60
    timer_service_account: str | None = None
    tasks_emulator_host: str | None = None
    # Task orders go to the worker function through this queue (default: the timer's queue).
    worker_queue: str | None = None
    worker_url: str | None = None
    # The worker function's timeout: the longest an asset may run. Worker tasks carry it as
    # their dispatch deadline (Cloud Tasks allows at most 30 min for HTTP targets).
    worker_timeout_s: int = 1800
    # The code location workers run (pkg.module:attr), and their heartbeat interval.
    definitions: str | None = None
    heartbeat_interval_s: float = 60.0
    # Who may call (docs/security.md). `auth`: "oidc" (Google-signed ID tokens, the default) or
    # "off-loopback" (no tokens, loopback peers only: emulator stacks). `audience`: what the
    # tokens must be minted for (the function's URL). `invokers`: the service accounts allowed
    # to call an engine function (timer, worker, sensor_push, compactor). `admins`: the first
    # admins of every served workspace. `workspaces`: the workspaces this deployment serves.
    auth: str = "oidc"
    audience: str | None = None
    invokers: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()
    workspaces: frozenset[str] = frozenset({"default"})
    certs_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        settings = cls(
            store_url=env.get("ARCO_STORE") or DEFAULT_STORE_URL,
            workspace=validate_workspace(env.get("ARCO_WORKSPACE") or "default"),
            lookback_ms=int(env.get("ARCO_LOOKBACK_MS") or DEFAULT_LOOKBACK_MS),
            timer_queue=env.get("ARCO_TIMER_QUEUE") or None,
            timer_url=env.get("ARCO_TIMER_URL") or None,
            timer_interval_s=int(env.get("ARCO_TIMER_INTERVAL_S") or 60),
            timer_service_account=env.get("ARCO_TIMER_SERVICE_ACCOUNT") or None,
            tasks_emulator_host=env.get("CLOUD_TASKS_EMULATOR_HOST") or None,
            worker_queue=env.get("ARCO_WORKER_QUEUE") or env.get("ARCO_TIMER_QUEUE") or None,
            worker_url=env.get("ARCO_WORKER_URL") or None,
            worker_timeout_s=int(env.get("ARCO_WORKER_TIMEOUT_S") or 1800),
            definitions=env.get("ARCO_DEFINITIONS") or None,
            heartbeat_interval_s=float(env.get("ARCO_HEARTBEAT_INTERVAL_S") or 60),
            auth=_auth_mode(env.get("ARCO_AUTH") or "oidc"),
            audience=env.get("ARCO_AUDIENCE") or None,
            invokers=_principals(env.get("ARCO_INVOKERS"), "ARCO_INVOKERS"),
            admins=_principals(env.get("ARCO_ADMINS"), "ARCO_ADMINS"),
            workspaces=frozenset(
                validate_workspace(n)
                for n in _items(
                    env.get("ARCO_WORKSPACES") or env.get("ARCO_WORKSPACE") or "default"
                )
            ),
            certs_url=env.get("ARCO_CERTS_URL") or None,
        )
        if settings.workspace not in settings.workspaces:
            served = ", ".join(sorted(settings.workspaces))
            raise Misconfigured(
                f"ARCO_WORKSPACE {settings.workspace!r} (the workspace this function's timer and "
                f"compactor serve) is not in ARCO_WORKSPACES ({served})"
            )
        return settings


AUTH_MODES = ("oidc", "off-loopback")


def _auth_mode(text: str) -> str:
    if text not in AUTH_MODES:
        raise InvalidInput(f"ARCO_AUTH must be one of {', '.join(AUTH_MODES)}, not {text!r}")
    return text


def _items(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _principals(text: str | None, variable: str) -> frozenset[str]:
    try:
        return frozenset(validate_principal(item) for item in _items(text))
    except InvalidInput as exc:
        raise InvalidInput(f"{variable}: {exc}") from None
