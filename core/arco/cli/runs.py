"""Commands for runs: run, runs, status, logs, cancel, rerun."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from arco.api import models as m
from arco.api.pagination import encode_cursor
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_json, print_model, print_table
from arco.domain.errors import InvalidInput
from arco.services.queries.runs import RUN_STATUSES

_STATUS_STYLE = {
    "SUCCESS": "green",
    "MATERIALIZED": "green",
    "FAILURE": "red",
    "FAILED": "red",
    "SKIPPED": "yellow",
    "CANCELED": "yellow",
    "CANCELING": "yellow",
    "RETRY_WAIT": "yellow",
    "STARTED": "cyan",
    "IN_PROGRESS": "cyan",
}


def styled(status: str) -> str:
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def parse_tags(values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--tag {value!r}: use key=value")
        tags[key] = text
    return tags


def definitions_option(fn: Any) -> Any:
    return click.option(
        "--definitions",
        "reference",
        envvar="ARCO_DEFINITIONS",
        default=None,
        help="Code location to execute tasks in this process with --wait. [env: ARCO_DEFINITIONS]",
    )(fn)


def _wait(
    c: Context, run_id: str, reference: str | None, as_json: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Drive (with --definitions) or watch a run until it finishes, with a progress bar and a
    line per task event; its status and the tasks whose last attempt failed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from arco.services.engines.dispatch import InProcessExecutor, NoWorkers, TaskDispatcher
    from arco.services.engines.local_runner import drive_run

    dispatcher: TaskDispatcher = NoWorkers()
    if reference:
        from arco.services.code_location import load_definitions

        dispatcher = InProcessExecutor(c.ws, load_definitions(reference))
    elif not as_json:
        console.print("[dim]no --definitions: watching while workers elsewhere run the tasks[/]")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    seen: dict[int, tuple[str, int]] = {}
    failed: dict[int, dict[str, Any]] = {}
    with Progress(*columns, transient=True, disable=as_json, console=console) as bar:
        task = bar.add_task(run_id, total=None)

        def progress(counts: dict[str, int], status: str) -> None:
            bar.update(
                task,
                total=counts["total"],
                completed=counts["done"],
                description=f"{run_id} {status}",
            )

        def report(tasks: list[dict[str, Any]]) -> None:
            """A line per task event (started, ended, waiting to retry), as they happen."""
            for t in tasks:
                state = (t["status"], t["attempt"])
                if seen.get(t["index"]) == state:
                    continue
                seen[t["index"]] = state
                if t["status"] in ("FAILURE", "RETRY_WAIT") and t["error"]:
                    failed[t["index"]] = t
                elif t["status"] == "SUCCESS":
                    failed.pop(t["index"], None)  # a retry succeeded: nothing to show
                if not as_json and t["status"] not in ("PENDING", "QUEUED"):
                    bar.console.print(task_event_line(t))

        status = drive_run(c.ws, run_id, dispatcher, on_progress=progress, on_tasks=report)
    return status, list(failed.values())


def task_label(t: dict[str, Any]) -> str:
    return str(t["asset"]) + (f"[{t['partition']}]" if t["partition"] else "")


def task_event_line(t: dict[str, Any]) -> str:
    """`raw_events[2024-01-01] #1 FAILURE: ValueError: boom` (markup)."""
    line = f"{escape(task_label(t))} #{t['attempt']} {styled(t['status'])}"
    if t["status"] == "RETRY_WAIT" and t["retry_at_ms"]:
        line += f" (retry at {when(t['retry_at_ms'])} UTC, attempt {t['attempt'] + 1} of "
        line += f"{t['max_attempts']})"
    if t["status"] in ("FAILURE", "RETRY_WAIT") and t["error"]:
        last = t["error"].rstrip().splitlines()[-1]  # the exception's own line
        line += f": {escape(last)}"
    if t["status"] == "SKIPPED" and t["skipped_because"]:
        line += f" ({escape(str(t['skipped_because']))})"
    return line


def _launched(c: Context, result: Any, wait: bool, reference: str | None, as_json: bool) -> None:
    body = result.as_dict()
    if not as_json:
        verb = "launched" if result.created else "run_key already used: existing"
        console.print(
            f"{verb} run [bold]{result.run_id}[/]: {result.tasks} task(s) over "
            f"{len(result.assets)} asset(s)"
        )
    if not wait:
        c.ws.compactor.compact_until_idle()
        if as_json:
            print_json(body)
        return
    body["status"], failed = _wait(c, result.run_id, reference, as_json)
    if as_json:
        print_json(body)
    else:
        console.print(f"run {result.run_id} finished: {styled(body['status'])}")
        for t in failed:  # what went wrong, whole: the traceback the worker recorded
            console.print(f"[red]{escape(task_label(t))} attempt {t['attempt']} failed:[/]")
            console.print(escape(t["error"].rstrip()), highlight=False)
    if body["status"] != "SUCCESS":
        raise SystemExit(1)


def read_run_config(path: str) -> dict[str, Any]:
    """A run configuration file: JSON, or YAML when PyYAML is installed."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as json_error:
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise InvalidInput(
                f"--config {path}: not JSON ({json_error}); for YAML install PyYAML"
            ) from None
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"--config {path}: neither JSON nor YAML: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"--config {path}: expected an object with 'ops'")
    return value


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.argument("selection")
    @click.option("--partition", default=None, help="One partition key.")
    @click.option("--from", "from_key", default=None, help="First partition key of a range.")
    @click.option("--to", "to_key", default=None, help="Last partition key of a range.")
    @click.option("--run-key", default=None, help="Idempotency: one run per run key.")
    @click.option("--tag", "tags", multiple=True, help="A run tag, key=value (repeatable).")
    @click.option(
        "--config",
        "config_file",
        default=None,
        type=click.Path(exists=True, dir_okay=False),
        help='Run configuration, JSON or YAML, as Dagster\'s: {"ops": {"<op>": {"config": '
        "{...}}}} (an asset's op is its key with __ between segments, or its function's name "
        "when a key prefix was added by load_assets_from_modules).",
    )
    @click.option(
        "--wait", is_flag=True, help="Wait for the run to finish (exit 1 unless it succeeds)."
    )
    @definitions_option
    @json_option
    @pass_ctx
    @handle_errors
    def run(
        c: Context,
        selection: str,
        partition: str | None,
        from_key: str | None,
        to_key: str | None,
        run_key: str | None,
        tags: tuple[str, ...],
        config_file: str | None,
        wait: bool,
        reference: str | None,
        as_json: bool,
    ) -> None:
        """Launch a run of the assets SELECTION matches (Dagster's selection syntax).

        \b
        Examples:
          arco run 'key:orders' --partition 2024-01-01
          arco run 'group:marts and +key:revenue' --from 2024-01-01 --to 2024-01-07
          arco run 'tag:team=data' --run-key nightly-2024-01-01 --wait
          arco run 'key:items' --config run_config.yaml
        """
        from arco.services.commands.runs import LaunchRequest, launch_run

        if (from_key is None) != (to_key is None):
            raise InvalidInput("give both --from and --to for a partition range")
        if partition is not None and from_key is not None:
            raise InvalidInput("give either --partition or --from/--to, not both")
        request = LaunchRequest(
            selection=selection,
            partition=partition,
            partition_range=(from_key, to_key) if from_key and to_key else None,
            run_key=run_key,
            tags=parse_tags(tags),
            run_config=read_run_config(config_file) if config_file else None,
        )
        c.ws.compactor.compact_until_idle()
        _launched(c, launch_run(c.ws, request, c.actor), wait, reference, as_json)

    @cli.command("runs")
    @click.option("--status", type=click.Choice(RUN_STATUSES, case_sensitive=False), default=None)
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
    @json_option
    @pass_ctx
    @handle_errors
    def runs(c: Context, status: str | None, limit: int, as_json: bool) -> None:
        """List runs, newest first."""
        from arco.services.queries.runs import list_runs

        page = list_runs(c.ws, status.upper() if status else None, limit)
        if as_json:
            following = page.pop("next")
            # The API's page: its cursor continues the listing over HTTP (GET .../runs?cursor=).
            page["next_cursor"] = encode_cursor({"after": following}) if following else None
            print_model(m.RunPage, page)
            return
        print_table(
            "runs",
            ["run", "status", "source", "selection", "partitions", "tasks ok/all", "created"],
            [
                (
                    r["run_id"],
                    styled(r["status"]),
                    r["source"],
                    escape(r["selection"] or ""),
                    r["partition"] or " .. ".join(r["partition_range"] or []) or "",
                    f"{r['tasks']['succeeded']}/{r['tasks']['total']}",
                    when(r["created_ms"]),
                )
                for r in page["runs"]
            ],
        )

    @cli.command("checks")
    @click.option("--asset", default=None, help="Only this asset's checks.")
    @json_option
    @pass_ctx
    @handle_errors
    def checks(c: Context, asset: str | None, as_json: bool) -> None:
        """Asset checks and the result of each partition's latest materialization."""
        from arco.services.queries.checks import list_checks

        found = list_checks(c.ws, asset)
        if as_json:
            print_model(m.CheckList, {"checks": found})
            return
        rows = []
        for check in found:
            results = check["results"] or [None]
            for result in results:
                status = (
                    "not run"
                    if result is None
                    else "passed"
                    if result["passed"]
                    else (f"FAILED ({result['severity']})")
                )
                rows.append(
                    (
                        check["asset"],
                        check["name"] + (" (blocking)" if check["blocking"] else ""),
                        "" if result is None else result["partition"] or "",
                        status,
                        "" if result is None else result["run_id"],
                        "" if result is None else when(result["evaluated_ms"]),
                    )
                )
        print_table("asset checks", ["asset", "check", "partition", "result", "run", "at"], rows)

    @cli.command("status")
    @click.argument("run_id")
    @json_option
    @pass_ctx
    @handle_errors
    def status(c: Context, run_id: str, as_json: bool) -> None:
        """One run: its tasks, attempts, timings, errors and lineage."""
        from arco.services.queries.runs import run_status

        view = run_status(c.ws, run_id)
        if as_json:
            print_model(m.RunDetail, view)
            return
        lineage = view["lineage"]
        console.print(
            f"run [bold]{view['run_id']}[/] {styled(view['status'])}  source {view['source']}"
            f"  created {when(view['created_ms'])}  finished {when(view['finished_ms']) or '-'}"
        )
        if view.get("error"):
            console.print(f"[red]error[/] {escape(view['error'])}")
        if lineage["parent_run_id"]:
            console.print(f"parent {lineage['parent_run_id']}  root {lineage['root_run_id']}")
        if lineage["children"]:
            console.print(f"re-executed by {', '.join(lineage['children'])}")
        print_table(
            "tasks",
            ["#", "asset", "partition", "status", "attempts", "duration", "error / reason"],
            [
                (
                    t["index"],
                    t["asset"],
                    t["partition"] or "",
                    styled(t["status"]),
                    f"{t['attempt']}/{t['max_attempts']}",
                    _duration(t),
                    escape(_last_line(t["error"]) or t["skipped_because"] or ""),
                )
                for t in view["task_list"]
            ],
        )

    @cli.command("logs")
    @click.argument("run_id")
    @click.option("--task", type=int, default=None, help="Only this task (its # in status).")
    @json_option
    @pass_ctx
    @handle_errors
    def logs(c: Context, run_id: str, task: int | None, as_json: bool) -> None:
        """What the run's asset functions logged (every attempt), oldest first."""
        from arco.services.queries.runs import read_logs

        records = read_logs(c.ws, run_id, task)
        if as_json:
            print_json(records)
            return
        if not records:
            console.print(f"run {run_id} has no logs yet")
        for r in records:
            label = r.get("asset", "") + (f"[{r['partition']}]" if r.get("partition") else "")
            console.print(
                f"[dim]{when(r.get('time_ms'))}[/] {r.get('level', ''):7} "
                f"{escape(label)} #{r.get('attempt', '')}: {escape(str(r.get('message', '')))}"
            )
            if r.get("exception"):  # a record logged with exc_info: its traceback, whole
                console.print(escape(str(r["exception"]).rstrip()), highlight=False)

    @cli.command("cancel")
    @click.argument("run_id")
    @json_option
    @pass_ctx
    @handle_errors
    def cancel(c: Context, run_id: str, as_json: bool) -> None:
        """Cancel a run: a queued run at once, a started one once its workers stop."""
        from arco.services.commands.runs import cancel_run

        c.ws.compactor.compact_until_idle()
        result = cancel_run(c.ws, run_id, c.actor)
        c.ws.compactor.compact_until_idle()
        if as_json:
            print_model(m.RunCanceled, result)
        else:
            console.print(f"run {run_id}: {styled(result['status'])}")

    @cli.command("rerun")
    @click.argument("run_id")
    @click.option(
        "--from-failure",
        is_flag=True,
        help="Only failed, interrupted and never-started tasks, and what is downstream of them.",
    )
    @click.option("--selection", default=None, help="These assets, over the parent's partitions.")
    @click.option("--run-key", default=None, help="Idempotency: one run per run key.")
    @click.option("--tag", "tags", multiple=True, help="A run tag, key=value (repeatable).")
    @click.option("--wait", is_flag=True, help="Wait for the new run to finish.")
    @definitions_option
    @json_option
    @pass_ctx
    @handle_errors
    def rerun(
        c: Context,
        run_id: str,
        from_failure: bool,
        selection: str | None,
        run_key: str | None,
        tags: tuple[str, ...],
        wait: bool,
        reference: str | None,
        as_json: bool,
    ) -> None:
        """Re-execute a finished run as a new run linked to it (parent and root)."""
        from arco.services.commands.runs import rerun as rerun_service

        c.ws.compactor.compact_until_idle()
        result = rerun_service(
            c.ws,
            run_id,
            from_failure_=from_failure,
            selection=selection,
            run_key=run_key,
            tags=parse_tags(tags),
            requested_by=c.actor,
        )
        _launched(c, result, wait, reference, as_json)


def _duration(task: dict[str, Any]) -> str:
    start, end = task["started_ms"], task["finished_ms"]
    if start is None or end is None:
        return ""
    return f"{(end - start) / 1000:.1f}s"


def _last_line(text: str | None) -> str:
    if not text:
        return ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
