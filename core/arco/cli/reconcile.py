"""`arco reconcile`: the plan that would bring a selection back to FRESH, its gated execution,
and the log of executions and dry runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_model, print_table, shorten
from arco.cli.runs import when
from arco.cli.staleness import cause_text, staleness_styled

_OUTCOME_STYLE = {
    "launched": "green",
    "existing": "cyan",
    "would_launch": "cyan",
    "held_by_rate_limit": "yellow",
    "not_opted_in": "dim",
}
OUTCOMES = tuple(_OUTCOME_STYLE)
DEFAULT_LOG_LIMIT = 20


def _as_of_text(as_of: dict[str, Any]) -> str:
    moment = datetime.fromisoformat(as_of["time"]).astimezone(UTC)
    return f"as of manifest {as_of['manifest_id']} at {moment:%Y-%m-%d %H:%M:%S} UTC"


def outcome_styled(outcome: str) -> str:
    style = _OUTCOME_STYLE.get(outcome)
    return f"[{style}]{outcome}[/]" if style else outcome


def short_key(run_key: str) -> str:
    """'reconcile-<24 hex>' -> 'reconcile-<8 hex>…' (--json has the whole key)."""
    return shorten(run_key, 19)


def _partition(run: dict[str, Any]) -> str:
    """A run's partition, its range 'first .. last', or 'unpartitioned'."""
    if run.get("partition_range"):
        first, last = run["partition_range"]
        return escape(f"{first} .. {last}")
    return escape(run["partition"]) if run["partition"] else "unpartitioned"


def _opted_in(run: dict[str, Any]) -> str:
    """yes; no; or, when only some targets opted in, no with the assets that did not."""
    if run["opted_in"]:
        return "[green]yes[/]"
    left_out = [t["asset"] for t in run["targets"] if not t["opted_in"]]
    if len(left_out) == len(run["targets"]):
        return "no"
    return f"no ({escape(', '.join(dict.fromkeys(left_out)))})"


def target_text(target: dict[str, Any]) -> str:
    """`source STALE: CODE_VERSION_CHANGED 1→2` (markup: the status is styled)."""
    text = f"{escape(target['asset'])} {staleness_styled(target['status'])}"
    causes = "; ".join(cause_text(c) for c in target["causes"])
    return f"{text}: {escape(causes)}" if causes else text


def _plan_header(plan: dict[str, Any]) -> None:
    summary = plan["summary"]
    console.print(_as_of_text(plan["as_of"]))
    console.print(f"plan {plan['plan_hash']}")
    by_status: dict[str, int] = {}
    for run in plan["runs"]:
        for target in run["targets"]:
            by_status[target["status"]] = by_status.get(target["status"], 0) + 1
    parts = [
        f"{by_status[s]} {staleness_styled(s)}" for s in ("STALE", "MISSING") if s in by_status
    ]
    if by_status.get("FRESH"):
        parts.append(f"{by_status['FRESH']} {staleness_styled('FRESH')} downstream of them")
    if plan["runs"]:
        line = f"{summary['runs']} run(s) for {summary['targets']} target(s)"
        console.print(line + (": " + ", ".join(parts) if parts else ""))
    if summary["left_out_in_flight"]:
        console.print(
            f"left out: {summary['left_out_in_flight']} partition(s) a run in flight covers"
        )
    if summary["truncated"]:
        console.print(
            f"[yellow]truncated[/]: {summary['targets_total']} partition(s) to fix, more than "
            "--max-runs / --max-partitions allow; execute this part, then plan again"
        )


def _print_plan(plan: dict[str, Any]) -> None:
    _plan_header(plan)
    if not plan["runs"]:
        if plan["summary"]["left_out_in_flight"]:
            console.print("nothing to reconcile now: runs in flight cover what is stale")
        else:
            console.print("nothing to reconcile: the selection is FRESH")
        return
    print_table(
        "reconciliation plan (in order)",
        ["#", "partition", "assets", "opted in", "targets", "run key"],
        [
            (
                index,
                _partition(run),
                escape(", ".join(run["assets"])),
                _opted_in(run),
                "\n".join(target_text(t) for t in run["targets"]),
                short_key(run["run_key"]),
            )
            for index, run in enumerate(plan["runs"], 1)
        ],
    )


def _mode_text(result: dict[str, Any], dry_run_flag: bool) -> str:
    if result["mode"] == "execute":
        return "mode [bold]execute[/]: runs launched, within reconciliation.max_runs_per_hour"
    if dry_run_flag:
        why = "--dry-run"
    else:
        why = (
            "the workspace setting reconciliation.dry_run is on; "
            "`arco settings set reconciliation.dry_run false` to launch"
        )
    text = f"mode [cyan]dry run[/] ({why}): nothing launched, the would-be runs are recorded"
    if not result["enabled"]:
        text += "\nreconciliation is disabled in this workspace (reconciliation.enabled)"
    return text


def _print_execution(result: dict[str, Any], dry_run_flag: bool) -> None:
    console.print(_mode_text(result, dry_run_flag))
    plan = result["plan"]
    console.print(f"{_as_of_text(plan['as_of'])}, plan {plan['plan_hash']}")
    counts = result["counts"]
    if not result["outcomes"]:
        if plan["summary"]["left_out_in_flight"]:
            console.print("nothing to reconcile now: runs in flight cover what is stale")
        else:
            console.print("nothing to reconcile: the selection is FRESH")
    else:
        console.print(
            ", ".join(f"{counts[o]} {outcome_styled(o)}" for o in OUTCOMES if counts.get(o))
        )
        print_table(
            "reconciliation runs",
            ["#", "partition", "selection", "outcome", "run"],
            [
                (
                    index,
                    _partition(o),
                    escape(o["selection"]),
                    outcome_styled(o["outcome"]),
                    o["run_id"] or "",
                )
                for index, o in enumerate(result["outcomes"], 1)
            ],
        )
    if plan["summary"]["truncated"]:
        console.print("[yellow]truncated[/]: the plan stops at its limits; execute again for more")
    console.print(f"[dim]recorded in ledger object {result['ledger_object']}[/]")


def _mode_styled(mode: str) -> str:
    return "[cyan]dry_run[/]" if mode == "dry_run" else f"[bold]{mode}[/]"


def _plan_options(fn: Any) -> Any:
    """The options `plan` and `execute` share: what to plan and its limits."""
    fn = click.option(
        "--max-partitions",
        type=click.IntRange(min=1),
        default=10_000,
        show_default=True,
        help="At most this many target partitions.",
    )(fn)
    fn = click.option(
        "--max-partitions-per-run",
        type=click.IntRange(min=1, max=10_000),
        default=25,
        show_default=True,
        help="Consecutive stale keys of one definition one range run takes (1: a run per key).",
    )(fn)
    fn = click.option(
        "--max-runs",
        type=click.IntRange(min=1),
        default=50,
        show_default=True,
        help="At most this many runs (the rest next time).",
    )(fn)
    return click.option(
        "--include-missing", is_flag=True, help="Also plan MISSING (never materialized) ones."
    )(fn)


def register(cli: click.Group) -> None:
    @cli.group("reconcile")
    def reconcile() -> None:
        """Reconciliation: the runs that would bring stale partitions back to FRESH (plan),
        launching them under the workspace's gates (execute), and what was done (log).

        Execution needs the workspace setting reconciliation.enabled (off by default) and
        launches only for assets that opted in (@asset(reconcile=True)); with
        reconciliation.dry_run (on by default) or --dry-run it records the would-be runs
        instead; reconciliation.max_runs_per_hour limits the launches."""

    @reconcile.command("plan", short_help="The runs that would bring a selection to FRESH.")
    @click.argument("selection", required=False)
    @_plan_options
    @click.option(
        "--as-of",
        "as_of",
        default=None,
        metavar="MANIFEST_ID|TIME",
        help="The plan as of a published manifest (its id) or a time (ISO 8601).",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def plan(
        c: Context,
        selection: str | None,
        include_missing: bool,
        max_runs: int,
        max_partitions: int,
        max_partitions_per_run: int,
        as_of: str | None,
        as_json: bool,
    ) -> None:
        """The runs that would bring the assets SELECTION matches (default: all) back to
        FRESH: their STALE partitions (and MISSING ones with --include-missing), and what is
        downstream of them, in dependency order: one run per partition, or per range of up to
        --max-partitions-per-run consecutive keys needing the same assets (time-window and
        static partitions, as a backfill's chunks). Partitions a run in flight covers are left
        out. Deterministic: the same state gives the same plan (hash).

        \b
        Examples:
          arco reconcile plan
          arco reconcile plan 'key:source+' --include-missing --max-runs 10
          arco reconcile plan --as-of 42 --json
        """
        from arco.services.queries.reconciliation import PlanQuery, reconciliation_plan

        query = PlanQuery(
            selection=selection or None,
            include_missing=include_missing,
            max_runs=max_runs,
            max_partitions=max_partitions,
            max_partitions_per_run=max_partitions_per_run,
            as_of=as_of or None,
        )
        result = reconciliation_plan(c.ws, query).as_dict()
        if as_json:
            print_model(m.ReconciliationPlan, result)
        else:
            _print_plan(result)

    @reconcile.command("execute", short_help="Launch the plan's runs (gated), or dry-run it.")
    @click.argument("selection", required=False)
    @click.option(
        "--dry-run",
        is_flag=True,
        help="Record the runs it would launch, launch nothing (works while disabled).",
    )
    @_plan_options
    @json_option
    @pass_ctx
    @handle_errors
    def execute(
        c: Context,
        selection: str | None,
        dry_run: bool,
        include_missing: bool,
        max_runs: int,
        max_partitions: int,
        max_partitions_per_run: int,
        as_json: bool,
    ) -> None:
        """Plan, then launch the runs for the assets that opted in, within
        reconciliation.max_runs_per_hour. Refused unless the workspace setting
        reconciliation.enabled is true (except --dry-run); a dry run (--dry-run, or the setting
        reconciliation.dry_run, on by default) launches nothing. Every execution and dry run
        is recorded (`arco reconcile log`); executing the same plan again launches nothing new.

        \b
        Examples:
          arco reconcile execute --dry-run
          arco settings set reconciliation.enabled true
          arco settings set reconciliation.dry_run false
          arco reconcile execute 'key:source+'
        """
        from arco.services.commands.reconcile import execute_plan
        from arco.services.queries.reconciliation import PlanQuery

        query = PlanQuery(
            selection=selection or None,
            include_missing=include_missing,
            max_runs=max_runs,
            max_partitions=max_partitions,
            max_partitions_per_run=max_partitions_per_run,
        )
        query.validate()  # bad limits are bad input, even while reconciliation is disabled
        result = execute_plan(c.ws, query, dry_run=dry_run, requested_by=c.actor)
        c.ws.compactor.compact_until_idle()  # the log and the runs show at once
        if as_json:
            print_model(m.ReconciliationExecution, result)
        else:
            _print_execution(result, dry_run)

    @reconcile.command("log", short_help="Executions and dry runs, newest first.")
    @click.option(
        "--limit",
        type=click.IntRange(1, 1000),
        default=DEFAULT_LOG_LIMIT,
        show_default=True,
        help="At most this many entries.",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def log(c: Context, limit: int, as_json: bool) -> None:
        """Reconciliation executions and dry runs (manual or by the timer), newest first:
        how many runs each launched, would have launched, the rate limit held back, or left
        to assets that did not opt in."""
        from arco.services.queries.reconciliation import reconciliation_log

        rows = reconciliation_log(c.ws, limit)
        if as_json:
            print_model(list[m.ReconciliationLogEntry], rows)
            return
        print_table(
            "reconciliation log (times in UTC)",
            [
                "time",
                "trigger",
                "mode",
                "launched",
                "would launch",
                "held",
                "not opted in",
                "plan hash",
            ],
            [
                (
                    when(r["evaluated_ms"]),
                    r["trigger"],
                    _mode_styled(r["mode"]),
                    r["launched"],
                    r["would_launch"],
                    r["held_by_rate_limit"],
                    r["not_opted_in"],
                    r["plan_hash"],
                )
                for r in rows
            ],
        )
        if not rows:
            console.print("no reconciliation yet")
