"""Commands for definitions and automation: deploy, assets, partitions, schedules, tick."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, add_start_stop, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_json, print_model, print_table
from arco.cli.runs import styled, when
from arco.clock import clock_now
from arco.domain.errors import InvalidInput
from arco.domain.instants import parse_instant


def parse_now(text: str | None, ctx: Context) -> datetime:
    """`--now` as an aware datetime (ISO 8601 with an offset or Z); the clock when absent."""
    if text is None:
        return clock_now(ctx.ws.clock)
    return parse_instant(text, "--now")


def parse_step(text: str) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise InvalidInput(f"--step {text!r}: use a positive number with s, m, h or d (e.g. 6h)")
    return timedelta(**{units[unit]: int(number)})


location_option = click.option(
    "--definitions",
    "reference",
    envvar="ARCO_DEFINITIONS",
    required=True,
    help="The code location, pkg.module:attr. [env: ARCO_DEFINITIONS]",
)


def register(cli: click.Group) -> None:
    @cli.command()
    @location_option
    @json_option
    @pass_ctx
    @handle_errors
    def deploy(c: Context, reference: str, as_json: bool) -> None:
        """Record the code location's definitions snapshot (nothing if unchanged)."""
        from arco.services.code_location import load_definitions
        from arco.services.commands.deploy import deploy as deploy_snapshot

        snapshot = load_definitions(reference).snapshot(reference)
        c.ws.compactor.compact_until_idle()
        result = deploy_snapshot(c.ws, snapshot, c.actor)
        if result["changed"]:
            c.ws.compactor.compact_until_idle()
        if as_json:
            print_json(result)
        elif result["changed"]:
            console.print(
                f"deployed {reference}: {result['assets']} asset(s), "
                f"{result['schedules']} schedule(s), snapshot {result['content_hash'][:12]}"
            )
        else:
            console.print(f"unchanged: snapshot {result['content_hash'][:12]} is already deployed")

    @cli.group()
    def definitions() -> None:
        """Check a code location without a store (Dagster: `dagster definitions validate`)."""

    @definitions.command("validate")
    @location_option
    @json_option
    @handle_errors
    def definitions_validate(reference: str, as_json: bool) -> None:
        """Load the code location and build its snapshot as `deploy` would, touching no store.

        Exit 0 when it would deploy, 2 with the reason (file and line where Arco knows them)
        when it would not: a CI step before `arco deploy`.

        \b
          arco definitions validate --definitions my_project.definitions:defs
        """
        from arco.services.commands.deploy import validate_definitions

        summary = validate_definitions(reference)
        if as_json:
            print_json(summary)
            return
        kinds = ("assets", "checks", "jobs", "schedules", "sensors")
        counts = ", ".join(f"{summary[kind]} {kind}" for kind in kinds)
        snapshot = summary["content_hash"][:12]
        console.print(f"[green]valid[/]: {escape(reference)}: {counts}; snapshot {snapshot}")

    @cli.command()
    @json_option
    @pass_ctx
    @handle_errors
    def assets(c: Context, as_json: bool) -> None:
        """List the deployed assets."""
        from arco.services.queries.assets import list_assets

        rows = list_assets(c.ws)
        if as_json:
            print_model(list[m.Asset], rows)
            return
        print_table(
            "assets",
            ["key", "group", "partitions", "deps", "code version", "owners"],
            [
                (
                    r["key"],
                    r["group"],
                    r["partitions"] or "",
                    ", ".join(r["deps"]),
                    r["code_version"] or "",
                    ", ".join(r["owners"]),
                )
                for r in rows
            ],
        )

    @cli.command()
    @click.argument("asset")
    @click.option("--data-version", required=True, help="The data version observed.")
    @click.option("--partition", default=None, help="The partition observed (partitioned assets).")
    @click.option("--request-id", default=None, help="Default: a new id (the same id: one effect).")
    @json_option
    @pass_ctx
    @handle_errors
    def observe(
        c: Context,
        asset: str,
        data_version: str,
        partition: str | None,
        request_id: str | None,
        as_json: bool,
    ) -> None:
        """Record an observed data version of ASSET (a source Arco does not materialize).

        Assets downstream that read another version become STALE, naming it (Dagster:
        report_runless_asset_event with an AssetObservation).

        \b
          arco observe raw/orders_export --data-version 2024-06-01T03:00:00Z
        """
        import uuid

        from arco.clock import clock_now
        from arco.services.commands.observations import observe_asset

        c.ws.compactor.compact_until_idle()
        result = observe_asset(
            c.ws, asset, data_version, partition, request_id or uuid.uuid4().hex, c.actor,
            clock_now(c.ws.clock),
        )  # fmt: skip
        c.ws.compactor.compact_until_idle()
        if as_json:
            print_model(m.AssetObserved, result)
        else:
            where = f"[{partition}]" if partition else ""
            console.print(f"observed {escape(asset + where)}: data version {escape(data_version)}")

    @cli.command()
    @click.argument("asset")
    @click.option("--now", "now_text", default=None, help="Evaluate as of this time (ISO 8601).")
    @click.option(
        "--limit",
        default=50,
        show_default=True,
        type=click.IntRange(min=1),
        help="Rows to print (the JSON has every key).",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def partitions(c: Context, asset: str, now_text: str | None, limit: int, as_json: bool) -> None:
        """An asset's partitions (newest last) and their status: MATERIALIZED, FAILED,
        IN_PROGRESS or MISSING, with the last materialization and the last attempt."""
        from arco.services.queries.assets import partition_report

        report = partition_report(c.ws, asset, parse_now(now_text, c))
        keys = [r["partition"] for r in report if r["partition"] is not None]
        if as_json:
            page = {"asset": asset, "count": len(keys), "keys": keys, "partitions": report}
            print_model(m.PartitionPage, {**page, "next_cursor": None})
            return
        shown = report[-limit:]
        counts: dict[str, int] = {}
        for r in report:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
        print_table(
            f"{asset}: {len(keys)} partition(s): {summary}",
            ["partition", "status", "last materialization", "last attempt"],
            [
                (
                    r["partition"] or "(unpartitioned)",
                    styled(r["status"]),
                    _materialization(r["last_materialization"]),
                    _attempt(r["last_attempt"]),
                )
                for r in shown
            ],
        )
        if len(report) > len(shown):
            console.print(
                f"... {len(report) - len(shown)} earlier key(s) not shown (--limit, --json)"
            )

    @cli.group("dynamic-partitions")
    def dynamic_partitions() -> None:
        """Add or remove keys of a dynamic partitions definition (recorded as events)."""

    for action in ("add", "remove"):

        @dynamic_partitions.command(
            action, help=f"{action.capitalize()} keys of a dynamic partitions definition."
        )
        @click.argument("definition")
        @click.argument("keys", nargs=-1, required=True)
        @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
        @json_option
        @pass_ctx
        @handle_errors
        def change(
            c: Context,
            definition: str,
            keys: tuple[str, ...],
            request_id: str | None,
            as_json: bool,
            action: str = action,
        ) -> None:
            from arco.services.commands.partitions import change_dynamic_partitions

            result = change_dynamic_partitions(
                c.ws, definition, list(keys), action, request_id or uuid.uuid4().hex, c.actor
            )
            if as_json:
                print_model(m.DynamicPartitionsChanged, result)
            else:
                console.print(
                    f"{action} {len(keys)} key(s) of {definition}: recorded in "
                    f"{result['ledger_object']}"
                )

    @cli.group(invoke_without_command=True)
    @json_option
    @click.option("--now", "now_text", default=None, help="Compute next ticks as of this time.")
    @click.pass_context
    def schedules(ctx: click.Context, as_json: bool, now_text: str | None) -> None:
        """List schedules with their state and next tick (see also: ticks, start, stop)."""
        if ctx.invoked_subcommand is not None:
            return
        c = ctx.find_object(Context)
        assert c is not None
        handle_errors(_list_schedules)(c, as_json=as_json, now_text=now_text)

    def _list_schedules(c: Context, as_json: bool, now_text: str | None) -> None:
        from arco.services.queries.schedules import list_schedules

        rows = list_schedules(c.ws, parse_now(now_text, c))
        if as_json:
            print_model(list[m.Schedule], rows)
            return
        print_table(
            "schedules",
            ["name", "status", "cron", "timezone", "last tick", "next tick"],
            [
                (
                    r["name"],
                    r["status"] + (" (operator)" if r["status_source"] == "operator" else ""),
                    " | ".join(r["cron"]),
                    r["timezone"],
                    r["last_tick"] or "",
                    r["next_tick"] or "",
                )
                for r in rows
            ],
        )

    @schedules.command("ticks")
    @click.argument("name")
    @click.option(
        "--status",
        type=click.Choice(["TRIGGERED", "SKIPPED", "FAILED"], case_sensitive=False),
        default=None,
    )
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
    @json_option
    @pass_ctx
    @handle_errors
    def ticks(c: Context, name: str, status: str | None, limit: int, as_json: bool) -> None:
        """A schedule's tick history, newest first."""
        from arco.services.queries.schedules import schedule_ticks

        rows = schedule_ticks(c.ws, name, status.upper() if status else None, limit)
        if as_json:
            print_model(list[m.ScheduleTick], rows)
            return
        print_table(
            f"ticks of {name}",
            ["tick", "status", "run keys / reason"],
            [
                (
                    r["tick_time"],
                    r["status"],
                    ", ".join(r["run_keys"]) or r["skip_reason"] or r["error"] or "",
                )
                for r in rows
            ],
        )

    from arco.services.commands.schedules import set_schedule_status

    add_start_stop(schedules, "schedule", set_schedule_status, m.ScheduleStatusChanged)

    @cli.command()
    @click.option(
        "--now",
        "now_text",
        default=None,
        help="Run the timer as of this time (ISO 8601, e.g. 2024-01-03T00:00:00Z).",
    )
    @click.option(
        "--until",
        "until_text",
        default=None,
        help="Repeat the timer from --now until this time, every --step.",
    )
    @click.option(
        "--step",
        default="1h",
        show_default=True,
        help="Interval between repeated timer runs: 30s, 15m, 6h, 1d.",
    )
    @click.option(
        "--definitions",
        "reference",
        envvar="ARCO_DEFINITIONS",
        default=None,
        help="Execute dispatched tasks in this process with this code location. "
        "[env: ARCO_DEFINITIONS]",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def tick(
        c: Context,
        now_text: str | None,
        until_text: str | None,
        step: str,
        reference: str | None,
        as_json: bool,
    ) -> None:
        """Run the timer's controllers once (or repeatedly, to simulate time passing).

        Schedules tick, sensors are evaluated, requested runs launch, ready tasks dispatch;
        with --definitions poll sensors and the dispatched tasks run here."""
        from rich.progress import Progress

        from arco.clock import OffsetClock
        from arco.services.engines.dispatch import InProcessExecutor, NoWorkers, TaskDispatcher
        from arco.services.engines.timer import run_timer

        moments = [parse_now(now_text, c)]
        if until_text is not None:
            until, delta = parse_now(until_text, c), parse_step(step)
            while moments[-1] + delta <= until:
                moments.append(moments[-1] + delta)
            if len(moments) > 10_000:
                raise InvalidInput("that is more than 10,000 timer runs; use a larger --step")
        # Everything written during a simulated moment (ticks, runs, the tasks' reports) is
        # stamped in simulated time that still flows, so the ledger stays in causal order.
        clock = OffsetClock()
        ws = dataclasses.replace(c.ws, clock=clock)
        dispatcher: TaskDispatcher = NoWorkers()
        if reference:
            from arco.services.code_location import load_definitions

            dispatcher = InProcessExecutor(ws, load_definitions(reference))
        results = []
        with Progress(transient=True, disable=as_json or len(moments) < 5) as bar:
            task = bar.add_task("timer", total=len(moments))
            for moment in moments:
                clock.set_now(round(moment.timestamp() * 1000))
                results.append(run_timer(ws, moment, dispatcher=dispatcher))
                bar.advance(task)
        if as_json:
            print_json([r.as_dict() for r in results] if until_text else results[0].as_dict())
            return
        for result in results:
            counts = ", ".join(f"{n} {s.lower()}" for s, n in sorted(result.ticks.items()))
            runs = (
                f"; {result.runs_requested} run(s) requested, {result.runs_launched} launched, "
                f"{result.tasks_dispatched} task(s) dispatched, "
                f"{len(result.dispatch.executed)} executed"
                if result.runs_requested or result.runs_launched or result.tasks_dispatched
                else ""
            )
            polled = result.sensor_dispatch.sensors_evaluated
            sensors = (
                f"; {result.sensors_evaluated} sensor(s) due: {result.sensor_ticks} built-in "
                f"tick(s), {len(polled) or result.sensor_dispatch.created} poll evaluation(s)"
                if result.sensors_evaluated
                else ""
            )
            console.print(
                f"timer at {result.now}: {result.schedules_evaluated} schedule(s) "
                f"evaluated, {counts or 'no ticks due'}{sensors}{runs}; "
                f"manifest {result.manifest_id}"
            )


def _materialization(item: dict[str, object] | None) -> str:
    if item is None:
        return ""
    return f"{when(item['time_ms'])} {item['run_id']}"  # type: ignore[arg-type]


def _attempt(item: dict[str, object] | None) -> str:
    if item is None:
        return ""
    return f"{item['status']} {when(item['time_ms'])} {item['run_id']}"  # type: ignore[arg-type]
