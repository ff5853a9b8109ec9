"""`arco workspace create|list` and `arco access grant|revoke|list`."""

from __future__ import annotations

import uuid

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_json, print_model, print_table
from arco.domain.access import Role, parse_role


def register(cli: click.Group) -> None:
    @cli.group()
    def workspace() -> None:
        """Workspaces of the store: nothing else creates one (a misspelt name is an error)."""

    @workspace.command("create")
    @click.argument("name")
    @json_option
    @pass_ctx
    @handle_errors
    def workspace_create(c: Context, name: str, as_json: bool) -> None:
        """Create workspace NAME in the store (nothing happens if it exists)."""
        created = c.instance.directory.create(name, c.actor, c.instance.clock.now_ms())
        if as_json:
            print_model(m.WorkspaceCreated, {"workspace": name, "created": created})
        else:
            console.print(f"workspace {escape(name)} " + ("created" if created else "exists"))

    @workspace.command("list")
    @json_option
    @pass_ctx
    @handle_errors
    def workspace_list(c: Context, as_json: bool) -> None:
        """The workspaces of the store."""
        names = c.instance.directory.names()
        if as_json:
            print_json(names)
        else:
            print_table("workspaces", ["name"], [(n,) for n in names])

    @cli.group()
    def access() -> None:
        """Who may do what in the workspace: viewer, operator, admin (recorded as events)."""

    @access.command("grant")
    @click.argument("principal")
    @click.argument("role", type=click.Choice([r.value for r in Role]))
    @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
    @json_option
    @pass_ctx
    @handle_errors
    def access_grant(
        c: Context, principal: str, role: str, request_id: str | None, as_json: bool
    ) -> None:
        """Give PRINCIPAL (a user's or service account's e-mail) ROLE in the workspace."""
        _change(c, principal, parse_role(role), request_id, as_json)

    @access.command("revoke")
    @click.argument("principal")
    @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
    @json_option
    @pass_ctx
    @handle_errors
    def access_revoke(c: Context, principal: str, request_id: str | None, as_json: bool) -> None:
        """Take every role of PRINCIPAL in the workspace away."""
        _change(c, principal, None, request_id, as_json)

    @access.command("list")
    @json_option
    @pass_ctx
    @handle_errors
    def access_list(c: Context, as_json: bool) -> None:
        """Principals with their roles: the deployment's admins (ARCO_ADMINS) and the grants."""
        from arco.services.queries.access import list_access

        rows = list_access(c.ws, c.instance.settings.admins)
        if as_json:
            print_model(list[m.AccessEntry], rows)
            return
        print_table(
            "access",
            ["principal", "role", "source", "changed by"],
            [
                (r["principal"], r["role"] or "(revoked)", r["source"], r["changed_by"])
                for r in rows
            ],
        )


def _change(
    c: Context, principal: str, role: Role | None, request_id: str | None, as_json: bool
) -> None:
    from arco.services.commands.access import change_access

    result = change_access(c.ws, principal, role, request_id or uuid.uuid4().hex, c.actor)
    c.ws.compactor.compact_until_idle()  # the API reads roles from the published state
    if as_json:
        print_model(m.AccessChangedReply, result)
    elif role is None:
        console.print(f"{escape(result['principal'])} has no role any more")
    else:
        console.print(f"{escape(result['principal'])} is now {role.value}")
