"""`arco quarantine list|replay`: what the fold did not apply, and applying it again."""

from __future__ import annotations

from typing import Any

import click

from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, err_console, print_json, print_table
from arco.domain.system_tables import QUARANTINE


def _rows(c: Context) -> list[dict[str, Any]]:
    rows = c.ws.snapshot().table(QUARANTINE.name).to_pylist()
    return [
        {
            "object": r["object_name"],
            "event_id": r["event_id"] or None,
            "kind": r["kind"],
            "reason": r["reason"],
        }
        for r in sorted(rows, key=lambda r: (r["object_name"], r["event_id"]))
    ]


def register(cli: click.Group) -> None:
    @cli.group()
    def quarantine() -> None:
        """Ledger objects and events the fold did not apply, kept with their reason."""

    @quarantine.command("list")
    @json_option
    @pass_ctx
    @handle_errors
    def quarantine_list(c: Context, as_json: bool) -> None:
        """Every quarantined object or event, with why (published state)."""
        rows = _rows(c)
        if as_json:
            print_json(rows)
            return
        print_table(
            "quarantine",
            ["object", "event", "kind", "reason"],
            [
                (r["object"], r["event_id"] or "(whole object)", r["kind"], r["reason"])
                for r in rows
            ],
        )

    @quarantine.command("replay")
    @json_option
    @pass_ctx
    @handle_errors
    def quarantine_replay(c: Context, as_json: bool) -> None:
        """Fold the whole ledger again with this build and publish it: quarantined events this
        build now takes (after an upgrade, or once what they name exists) are applied, in
        order; what it still cannot take stays quarantined. Nothing is deleted."""
        from rich.progress import Progress

        from arco.services.operations.rebuild import publish

        before = _rows(c)
        with Progress(console=err_console, transient=True, disable=as_json) as bar:
            task = bar.add_task("folding the ledger again", total=None)
            manifest = publish(
                c.ws, lambda done, total: bar.update(task, completed=done, total=total)
            )
        after = _rows(c)
        still = {(r["object"], r["event_id"]) for r in after}
        applied = [r for r in before if (r["object"], r["event_id"]) not in still]
        if as_json:
            print_json(
                {"manifest_id": manifest.manifest_id, "applied": applied, "remaining": after}
            )
            return
        console.print(
            f"published manifest {manifest.manifest_id}: {len(applied)} quarantined item(s) "
            f"applied, {len(after)} remaining"
        )
        for r in after:
            console.print(f"  still quarantined: {r['object']} {r['event_id'] or ''} ({r['kind']})")
