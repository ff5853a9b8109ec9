"""What every command shares: the workspace context, --json, and error handling."""

from __future__ import annotations

import dataclasses
import functools
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import BaseModel
from rich.markup import escape

from arco.cli.output import err_console, print_json, print_model
from arco.clock import Clock, OffsetClock, SystemClock
from arco.domain.errors import ArcoError
from arco.domain.names import validate_workspace
from arco.services.workspace import Workspace

if TYPE_CHECKING:
    from arco.bootstrap import Instance

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(
        self, store_url: str, workspace: str, lookback_ms: int, at: str | None = None
    ) -> None:
        self.store_url = store_url
        self.workspace_name = workspace
        self.lookback_ms = lookback_ms
        self.at = at
        self._ws: Workspace | None = None
        self._instance: Instance | None = None

    @property
    def instance(self) -> Instance:
        """The composition root for this command: the CLI acts with the store's own
        credentials, so it serves every created workspace (no declared set)."""
        if self._instance is None:
            from arco.bootstrap import Instance
            from arco.services.config import Settings

            clock: Clock = SystemClock()
            if self.at is not None:
                from arco.domain.instants import parse_instant

                simulated = OffsetClock()
                simulated.set_now(round(parse_instant(self.at, "--at").timestamp() * 1000))
                clock = simulated
            # The deployment's settings (ARCO_ADMINS for `access list`), with this command's
            # store, workspace and lookback.
            settings = dataclasses.replace(
                Settings.from_env(),
                store_url=self.store_url,
                workspace=validate_workspace(self.workspace_name),
                lookback_ms=self.lookback_ms,
            )
            self._instance = Instance(
                settings, source="cli", clock=clock, serve_declared_only=False
            )
        return self._instance

    @property
    def ws(self) -> Workspace:
        """The selected workspace; it must exist (`arco workspace create`), so a misspelt name
        is an error rather than a new workspace."""
        if self._ws is None:
            self._ws = self.instance.directory.open(validate_workspace(self.workspace_name))
        return self._ws

    @property
    def actor(self) -> str:
        """Who the history records for a write made here: the operating-system user."""
        return f"cli:{getpass.getuser()}"


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(fn)


def handle_errors(fn: F) -> F:
    """Turn Arco errors into a message on stderr (or a JSON error) and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ArcoError as exc:
            if kwargs.get("as_json"):
                print_json({"error": {"type": type(exc).__name__, "message": str(exc)}})
            else:
                err_console.print(f"[red]error:[/] {escape(str(exc))}")
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


pass_ctx = click.make_pass_decorator(Context)


StatusSetter = Callable[[Workspace, str, str, str, str], dict[str, Any]]


def add_start_stop(
    group: click.Group, noun: str, set_status: StatusSetter, reply: type[BaseModel]
) -> None:
    """`start NAME` and `stop NAME` for schedules and sensors: an operator event (kept across
    redeploys), then a compaction so the next listing shows it. `set_status` takes (workspace,
    name, status, request id, changed by); `reply` is the API's answer model, printed by
    --json."""
    import uuid

    from arco.cli.output import console

    for status_name, verb in (("RUNNING", "start"), ("STOPPED", "stop")):

        @group.command(verb, help=f"{verb.capitalize()} a {noun} (kept across redeploys).")
        @click.argument("name")
        @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
        @json_option
        @pass_ctx
        @handle_errors
        def toggle(
            c: Context,
            name: str,
            request_id: str | None,
            as_json: bool,
            status_name: str = status_name,
        ) -> None:
            result = set_status(c.ws, name, status_name, request_id or uuid.uuid4().hex, c.actor)
            c.ws.compactor.compact_until_idle()
            if as_json:
                print_model(reply, result)
            else:
                style = "green" if status_name == "RUNNING" else "yellow"
                console.print(f"{noun} {escape(name)} is now [{style}]{status_name}[/]")
