"""The composition root: settings, store, workspaces, auth, queues and handlers, built once.

`functions/main.py`, the CLI and `arco dev` all build what they need here and only translate
requests. Everything is lazy (`cached_property`) so an entry point pays only for what it uses:
the `sensor_push` and `timer` cold paths never import pyarrow through this module.

Tests inject through `Instance(...)`: a store, a clock, a gate, definitions.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from arco.clock import Clock, SystemClock
from arco.services.auth import Gate, LoopbackGate, TokenGate, TokenVerifier, UnconfiguredGate
from arco.services.config import Settings
from arco.services.workspaces import WorkspaceDirectory
from arco.storage.port import ObjectStore

if TYPE_CHECKING:
    from flask import Flask

    from arco.cloud.tasks import CloudTasksTimerQueue
    from arco.function_endpoints import Endpoints
    from arco.sdk import Definitions
    from arco.services.engines.dispatch import TaskDispatcher
    from arco.services.engines.sensor_push import PushHandler
    from arco.services.workspace import Workspace

Entry = Literal["api", "timer", "worker", "sensor_push", "compactor"]
ENGINES: tuple[Entry, ...] = ("timer", "worker", "sensor_push", "compactor")

log = logging.getLogger("arco.bootstrap")


@dataclass
class Instance:
    """One process's collaborators. `source` names the writer in every event it appends."""

    settings: Settings
    source: str = "functions"
    clock: Clock = field(default_factory=SystemClock)
    store_override: ObjectStore | None = None
    gate_override: Gate | None = None
    definitions_override: Definitions | None = None
    # False: serve any created workspace (the CLI, which acts with the store's own credentials).
    serve_declared_only: bool = True
    # Cloud Functions (2nd gen) and Cloud Run set K_SERVICE in every instance.
    on_cloud_run: bool = False

    @classmethod
    def from_env(cls, source: str = "functions") -> Instance:
        import os

        return cls(Settings.from_env(), source=source, on_cloud_run="K_SERVICE" in os.environ)

    @cached_property
    def store(self) -> ObjectStore:
        if self.store_override is not None:
            return self.store_override
        from arco.storage.url import open_store

        return open_store(self.settings.store_url)

    @cached_property
    def directory(self) -> WorkspaceDirectory:
        declared = self.settings.workspaces if self.serve_declared_only else None
        return WorkspaceDirectory(self.store, self.build_workspace, declared)

    def build_workspace(self, name: str) -> Workspace:
        from arco.services.workspace import Workspace

        return Workspace(
            self.store,
            name,
            clock=self.clock,
            lookback_ms=self.settings.lookback_ms,
            source=self.source,
        )

    def workspace(self) -> Workspace:
        """The workspace this instance's timer and compactor serve (ARCO_WORKSPACE)."""
        return self.directory.open(self.settings.workspace)

    # -- auth --

    def gate(self, entry: Entry) -> Gate:
        """Who may call `entry`; closed (UnconfiguredGate) when auth is not configured."""
        if self.gate_override is not None:
            return self.gate_override
        if entry not in self._gates:
            self._gates[entry] = self._build_gate(entry)
        return self._gates[entry]

    @cached_property
    def _gates(self) -> dict[Entry, Gate]:
        return {}

    def _build_gate(self, entry: Entry) -> Gate:
        s = self.settings
        if s.auth == "off-loopback":
            if self.on_cloud_run:
                # Behind the platform's front end a local proxy may make every peer loopback.
                return UnconfiguredGate(
                    "ARCO_AUTH=off-loopback is for local stacks only and is refused on Cloud "
                    "Functions / Cloud Run: set ARCO_AUDIENCE and ARCO_INVOKERS instead"
                )
            log.warning("ARCO_AUTH=off-loopback: %s verifies no caller (loopback only)", entry)
            return LoopbackGate()
        if not s.audience:
            return UnconfiguredGate(
                "this function has no auth configuration: set ARCO_AUDIENCE to its URL (the "
                "audience of the ID tokens its callers send)"
                + (
                    ""
                    if entry == "api"
                    else " and ARCO_INVOKERS to the service accounts that call it"
                )
                + "; see docs/security.md"
            )
        if entry != "api" and not s.invokers:
            return UnconfiguredGate(
                f"the {entry} function has no invokers: set ARCO_INVOKERS to the service "
                "accounts of its queue, subscription or scheduler; see docs/security.md"
            )
        return TokenGate(
            self._verifier,
            invokers=None if entry == "api" else s.invokers,
            admins=s.admins,
        )

    @cached_property
    def _verifier(self) -> TokenVerifier:
        from arco.cloud.oidc import GOOGLE_CERTS_URL, OidcVerifier

        assert self.settings.audience is not None  # checked by _build_gate
        return OidcVerifier(self.settings.audience, self.settings.certs_url or GOOGLE_CERTS_URL)

    # -- code location, queues --

    @cached_property
    def definitions(self) -> Definitions:
        if self.definitions_override is not None:
            return self.definitions_override
        from arco.domain.errors import Misconfigured
        from arco.services.code_location import load_definitions

        if not self.settings.definitions:
            raise Misconfigured("this function needs ARCO_DEFINITIONS (pkg.module:attr)")
        return load_definitions(self.settings.definitions)

    @cached_property
    def timer_queue(self) -> CloudTasksTimerQueue:
        from arco.cloud.tasks import CloudTasksTimerQueue

        s = self.settings
        return CloudTasksTimerQueue(
            _required(s.timer_queue, "ARCO_TIMER_QUEUE"),
            s.timer_service_account,
            s.tasks_emulator_host,
        )

    @cached_property
    def worker_queue(self) -> CloudTasksTimerQueue:
        from arco.cloud.tasks import CloudTasksTimerQueue

        s = self.settings
        return CloudTasksTimerQueue(
            _required(s.worker_queue, "ARCO_WORKER_QUEUE"),
            s.timer_service_account,
            s.tasks_emulator_host,
            dispatch_deadline_s=s.worker_timeout_s,
        )

    def dispatcher(self) -> TaskDispatcher:
        """Task orders go to the worker function through Cloud Tasks, when configured."""
        from arco.services.engines.dispatch import CloudTasksDispatcher, NoWorkers

        if self.settings.worker_queue and self.settings.worker_url:
            return CloudTasksDispatcher(self.worker_queue, self.settings.worker_url)
        return NoWorkers()

    # -- handlers --

    @cached_property
    def api_app(self) -> Flask:
        from arco.api.app import create_app

        return create_app(self.directory, self.gate("api"), self.settings.admins)

    @cached_property
    def push_handler(self) -> PushHandler:
        """Nothing here imports pyarrow: the push path never reads projections."""
        from arco.domain.catalog import default_registry
        from arco.ledger.writer import LedgerWriter
        from arco.services.engines.sensor_push import PushHandler

        name = self.directory.check(self.settings.workspace)
        writer = LedgerWriter(
            self.store,
            name,
            default_registry(),
            self.clock,
            self.source,
            self.settings.lookback_ms,
        )
        return PushHandler(self.store, writer, self.definitions)

    @cached_property
    def endpoints(self) -> Endpoints:
        from arco.function_endpoints import Endpoints

        return Endpoints(self)


def _required(value: str | None, variable: str) -> str:
    if not value:
        from arco.domain.errors import Misconfigured

        raise Misconfigured(f"this function needs {variable}")
    return value


@functools.cache
def instance(entry: Entry) -> Instance:
    """The instance serving `entry` in this process, built from the environment on first use;
    its writes name the entry point as their source."""
    return Instance.from_env(source=entry)
