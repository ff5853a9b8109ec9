"""`arco automation`: declarative automation (the assets' `automation_condition`s) — its status,
its evaluations, why an asset is or is not requested, start and stop."""

from __future__ import annotations

import uuid
from typing import Any

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.automation import parse_now
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_model, print_table, shorten
from arco.cli.runs import styled
from arco.domain.errors import NotFound

_STATUS = {"RUNNING": "[green]RUNNING[/]", "STOPPED": "[yellow]STOPPED[/]"}


def _time(iso: str | None) -> str:
    return iso[:19].replace("T", " ") if iso else ""


def _requested(counts: dict[str, int]) -> str:
    return ", ".join(f"{a} ({n})" if n > 1 else a for a, n in sorted(counts.items()))


def _tree_rows(node: dict[str, Any], depth: int = 0) -> list[tuple[str, ...]]:
    """One row per node, indented: its verdict, name, label, partitions it held for."""
    verdict = ""
    if node.get("holds") is not None:
        verdict = "[green]true[/]" if node["holds"] else "[red]false[/]"
    elif node["true"]:
        verdict = "[green]true[/]"
    else:
        verdict = "[dim]false[/]"
    name = node["name"] + (f" [{node['key']}]" if node.get("key") else "")
    sample = ", ".join(node["sample"])
    if node["true"] > len(node["sample"]):
        sample += f", … ({node['true']} in all)"
    rows: list[tuple[str, ...]] = [
        (
            "  " * depth + escape(node.get("label") or name),
            escape(name) if node.get("label") else "",
            verdict,
            f"{node['true']}/{node['candidates']}",
            escape(shorten(sample, 50)),
        )
    ]
    for child in node.get("children", []):
        rows += _tree_rows(child, depth + 1)
    return rows


def register(cli: click.Group) -> None:
    @cli.group(invoke_without_command=True)
    @json_option
    @click.pass_context
    def automation(ctx: click.Context, as_json: bool) -> None:
        """Declarative automation: whether the timer evaluates the assets'
        automation_condition (stopped by default, as Dagster's automation sensor), its gates
        and last evaluation (see also: ticks, why, start, stop)."""
        if ctx.invoked_subcommand is not None:
            return
        c = ctx.find_object(Context)
        assert c is not None
        handle_errors(_status)(c, as_json=as_json)

    def _status(c: Context, as_json: bool) -> None:
        from arco.services.queries.automation import automation_status
        from arco.services.queries.definitions import current_definitions

        snapshot = c.ws.snapshot()
        row = automation_status(snapshot, current_definitions(snapshot))
        if as_json:
            print_model(m.AutomationStatus, row)
            return
        print_table(
            "declarative automation (times in UTC)",
            ["name", "status", "assets with conditions", "last evaluation", "last tick", "gates"],
            [
                (
                    row["name"],
                    _STATUS[row["status"]],
                    row["assets_with_conditions"],
                    _time(row["last_evaluation"]),
                    styled(row["last_tick_status"]) if row["last_tick_status"] else "",
                    ("dry run, " if row["dry_run"] else "")
                    + f"at most {row['max_runs_per_hour']} runs/hour"
                    if row["max_runs_per_hour"]
                    else ("dry run" if row["dry_run"] else "none"),
                )
            ],
        )

    @automation.command("ticks", short_help="Recorded evaluations, newest first.")
    @click.option(
        "--status",
        type=click.Choice(["SUCCESS", "SKIPPED", "FAILURE"], case_sensitive=False),
        default=None,
        help="Only ticks with this status.",
    )
    @click.option(
        "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Ticks."
    )
    @click.option("--before", default=None, metavar="TICK_ID", help="Older than this tick.")
    @json_option
    @pass_ctx
    @handle_errors
    def ticks(
        c: Context, status: str | None, limit: int, before: str | None, as_json: bool
    ) -> None:
        """The evaluations that changed something: the assets they requested (partitions
        counted), what a dry run or the hourly limit held back, errors, and the runs."""
        from arco.services.queries.automation import automation_ticks

        rows = automation_ticks(c.ws.snapshot(), status.upper() if status else None, limit, before)
        if as_json:
            print_model(list[m.AutomationTick], rows)
            return
        print_table(
            "automation ticks (times in UTC)",
            ["time", "status", "requested", "held / skip reason / error", "run ids"],
            [
                (
                    _time(r["evaluated_at"]),
                    styled(r["status"]),
                    escape(_requested(r["requested"])),
                    escape(r["error"] or r["skip_reason"] or ""),
                    ", ".join(r["run_ids"]),
                )
                for r in rows
            ],
        )

    @automation.command("why", short_help="Why an asset is (not) requested, node by node.")
    @click.argument("asset")
    @click.option("--partition", default=None, help="Mark each node's verdict on this partition.")
    @click.option("--now", "now_text", default=None, help="Evaluate as of this time (ISO 8601).")
    @json_option
    @pass_ctx
    @handle_errors
    def why(
        c: Context, asset: str, partition: str | None, now_text: str | None, as_json: bool
    ) -> None:
        """ASSET's automation condition evaluated now, with what it remembers from the last
        evaluation (nothing is recorded): each node, true or false, and the partitions it
        held for, as Dagster's UI shows an evaluation. The last recorded evaluation that
        requested the asset is in --json."""
        from arco.services.queries.automation import why as explain
        from arco.services.queries.definitions import current_definitions

        snapshot = c.ws.snapshot()
        defs = current_definitions(snapshot)
        if defs is None:
            raise NotFound("nothing is deployed in this workspace")
        now = parse_now(now_text, c)
        result = explain(snapshot, defs, asset, int(now.timestamp() * 1000), partition)
        if as_json:
            print_model(m.AutomationWhy, result)
            return
        wanted = result["would_request_count"]
        print_table(
            f"{escape(asset)}: {escape(result['condition'])}"
            + (f", partition {escape(partition)}" if partition else ""),
            ["condition", "node", "verdict", "true/candidates", "partitions"],
            _tree_rows(result["tree"]),
        )
        if not result["automation_running"]:
            console.print("[yellow]automation is stopped[/]: `arco automation start` to run it")
        if result["first_evaluation"]:
            console.print("first evaluation: conditions request nothing on it (as in Dagster)")
        console.print(
            f"would request {wanted} partition(s) now" if wanted else "would request nothing now"
        )

    for status_name, verb in (("RUNNING", "start"), ("STOPPED", "stop")):

        @automation.command(
            verb, help=f"{verb.capitalize()} declarative automation (kept across redeploys)."
        )
        @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
        @json_option
        @pass_ctx
        @handle_errors
        def toggle(
            c: Context, request_id: str | None, as_json: bool, status_name: str = status_name
        ) -> None:
            from arco.services.commands.automation import set_automation_status

            result = set_automation_status(
                c.ws, status_name, request_id or uuid.uuid4().hex, c.actor
            )
            c.ws.compactor.compact_until_idle()
            if as_json:
                print_model(m.AutomationStatusChanged, result)
            else:
                style = "green" if status_name == "RUNNING" else "yellow"
                console.print(f"automation is now [{style}]{status_name}[/]")
