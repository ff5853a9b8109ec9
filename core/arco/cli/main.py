"""`arco`: operate an Arco workspace from the terminal.

Every command takes --store/ARCO_STORE and --workspace/ARCO_WORKSPACE, and --json for scripts.
Exit codes: 0 success, 1 a check failed (rebuild --verify, doctor), 2 bad input or an error.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import STATUS_STYLE, console, err_console, print_json, print_model, print_table
from arco.storage.url import DEFAULT_STORE_URL


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--store",
    envvar="ARCO_STORE",
    default=DEFAULT_STORE_URL,
    show_default=True,
    help="Store URL: memory://, file:///path, gs://bucket/prefix or s3://bucket/prefix. "
    "[env: ARCO_STORE]",
)
@click.option(
    "--workspace",
    envvar="ARCO_WORKSPACE",
    default="default",
    show_default=True,
    help="Workspace inside the store. [env: ARCO_WORKSPACE]",
)
@click.option(
    "--lookback-ms",
    envvar="ARCO_LOOKBACK_MS",
    default=120_000,
    show_default=True,
    type=click.IntRange(min=1000),
    help="Compactor listing lookback (clock-skew bound).",
)
@click.option(
    "--at",
    "at",
    envvar="ARCO_AT",
    default=None,
    help="Simulate: act as if the clock read this time (ISO 8601); it flows on from there. "
    "For demos and drills on a scratch store. [env: ARCO_AT]",
)
@click.version_option(package_name="arco")
@click.pass_context
def cli(ctx: click.Context, store: str, workspace: str, lookback_ms: int, at: str | None) -> None:
    """Arco: a serverless, event-sourced orchestration control plane on object storage.

    \b
    Workspaces and access:
      arco workspace create NAME / list           nothing else creates a workspace
      arco access grant EMAIL viewer|operator|admin / revoke EMAIL / list

    \b
    Definitions and automation:
      arco definitions validate --definitions M:A check a code location (no store; CI)
      arco deploy --definitions pkg.module:attr   record a code location's snapshot
      arco assets / arco partitions ASSET         what is deployed
      arco observe ASSET --data-version V         a source's observed data version
      arco schedules [ticks|start|stop]           schedules and their tick history
      arco sensors [ticks|start|stop|cursor]      sensors, their ticks and cursors
      arco automation [ticks|why ASSET|start|stop] declarative automation (conditions)
    arco automation [ticks|why ASSET|start|stop] declarative automation (automation_condition)
      arco tick --now TIME                        run the timer once as of a time

    \b
    Runs:
      arco run SELECTION [--partition K | --from K --to K] [--wait]
      arco runs / status RUN / logs RUN           what ran, and what it logged
      arco cancel RUN / rerun RUN --from-failure  stop or re-execute a run
      arco backfill create SELECTION --from K --to K | --all | --keys K1,K2
      arco backfill list / show ID / runs ID      backfills, their progress and runs
      arco backfill pause|resume|cancel|retry-failed ID

    \b
    Staleness and reconciliation:
      arco staleness [SELECTION] [--status STALE] [--reason CODE] [--from K --to K]
      arco staleness --summary / --root-causes / --as-of MANIFEST|TIME / --csv
      arco reconcile plan [SELECTION] [--include-missing]   the runs that would fix it
      arco reconcile execute [SELECTION] [--dry-run]        launch them (gated by settings)
      arco reconcile log                                    executions and dry runs

    \b
    Operate the state:
      arco compact          fold new ledger objects and publish
      arco state            what is published: manifest, watermark, rows per table
      arco rebuild --verify rebuild from the ledger and compare with what is published
      arco doctor           health of pointer, manifests, files, quarantine, ledger
      arco sql QUERY        SQL over the published state and the staleness report (DuckDB)
      arco quarantine list / replay   what the fold did not apply; apply it again
      arco gc [--dry-run]   delete superseded manifests, table files, claims (grace period)
      arco package          the functions' source archive, with your code location
      arco restore-pointer  point a lost pointer back at the newest good manifest
      arco dev              local HTTP API plus the timer loop (no auth, loopback only)
    """
    ctx.obj = Context(store, workspace, lookback_ms, at)


@cli.command()
@click.option(
    "--sweep",
    is_flag=True,
    help="List the whole ledger, not just the lookback window (folds late objects).",
)
@click.option("--once", is_flag=True, help="One step only, even if more is pending.")
@json_option
@pass_ctx
@handle_errors
def compact(c: Context, sweep: bool, once: bool, as_json: bool) -> None:
    """Fold what is new in the ledger and publish it; print what was done."""
    results = [c.ws.compactor.compact(sweep=sweep)]
    while not once and results[-1].more_pending:
        results.append(c.ws.compactor.compact())
    if as_json:
        print_json([r.as_dict() for r in results])
        return
    for r in results:
        if not r.published:
            console.print(
                f"nothing new: manifest {r.manifest_id} is current"
                + (
                    f" ({r.objects_deferred} object(s) from the future deferred)"
                    if r.objects_deferred
                    else ""
                )
            )
            continue
        f = r.fold
        console.print(
            f"published manifest [bold]{r.manifest_id}[/] (was {r.previous_manifest_id}) in "
            f"{r.seconds:.3f}s: {f.objects} object(s), {f.events_applied} applied, "
            f"{f.events_superseded} superseded, {f.events_duplicate} duplicate, "
            f"{f.events_rejected} rejected, {f.events_unsupported} unsupported; "
            f"tables written: {', '.join(r.tables_written) or 'none'}"
        )
        for name, reason in f.quarantined:
            console.print(f"  [yellow]quarantined[/] {name}: {escape(reason)}")


@cli.command()
@json_option
@pass_ctx
@handle_errors
def state(c: Context, as_json: bool) -> None:
    """Show the published state: manifest id, watermark, rows per table."""
    from arco.services.queries.state import state_summary

    summary = state_summary(c.ws)
    if as_json:
        print_model(m.State, summary)
        return
    console.print(f"workspace [bold]{summary['workspace']}[/] on {summary['store']}")
    console.print(f"manifest {summary['manifest_id']} published {summary['published_at']}")
    console.print(f"watermark {summary['watermark']} ({summary['watermark_time']})")
    console.print(
        f"{summary['objects_folded']} ledger object(s), {summary['events_folded']} event(s) folded"
    )
    print_table(
        "tables",
        ["table", "rows", "files", "bytes"],
        [(n, t["rows"], t["files"], t["bytes"]) for n, t in summary["tables"].items()],
    )


@cli.command()
@click.option(
    "--verify",
    is_flag=True,
    help="Only compare a rebuild with what is published; exit 1 on any difference.",
)
@json_option
@pass_ctx
@handle_errors
def rebuild(c: Context, verify: bool, as_json: bool) -> None:
    """Rebuild every projection from the full ledger (and publish it, unless --verify)."""
    from rich.progress import Progress

    from arco.services.operations import rebuild as rebuild_service

    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("folding ledger", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        if verify:
            report = rebuild_service.verify(c.ws, progress)
        else:
            manifest = rebuild_service.publish(c.ws, progress)
    if not verify:
        if as_json:
            print_json(
                {
                    "published_manifest_id": manifest.manifest_id,
                    "objects": manifest.objects_total,
                    "events": manifest.events_total,
                }
            )
        else:
            console.print(
                f"rebuilt {manifest.objects_total} object(s), "
                f"{manifest.events_total} event(s); published manifest "
                f"{manifest.manifest_id}"
            )
        return
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"refolded {report.objects} ledger object(s) covered by manifest "
            f"{report.manifest_id} ({report.pending} not compacted yet)"
        )
        if report.identical:
            console.print("[green]identical[/]: every table matches the rebuild")
        for diff in report.diffs:
            console.print(
                f"[red]{diff.table}[/]: {len(diff.missing)} row(s) missing from the "
                f"rebuild, {len(diff.extra)} extra, {len(diff.changed)} changed"
            )
            for key in diff.missing[:10]:
                console.print(f"  - published only: {escape(str(key))}")
            for key in diff.extra[:10]:
                console.print(f"  + rebuild only:   {escape(str(key))}")
            for key, published, rebuilt in diff.changed[:10]:
                changed = sorted(k for k in published if published.get(k) != rebuilt.get(k))
                console.print(
                    escape(
                        f"  ~ {key}: "
                        + ", ".join(
                            f"{k}: {published.get(k)!r} -> {rebuilt.get(k)!r}" for k in changed
                        )
                    )
                )
    if not report.identical:
        sys.exit(1)


@cli.command()
@json_option
@pass_ctx
@handle_errors
def doctor(c: Context, as_json: bool) -> None:
    """Check pointer and manifest health, orphans, quarantine and the ledger; say what to do."""
    from arco.services.operations.doctor import run_doctor

    findings = run_doctor(c.ws)
    if as_json:
        print_json([f.as_dict() for f in findings])
    else:
        for f in findings:
            console.print(f"{STATUS_STYLE[f.status]:>20}  [bold]{f.check}[/]: {escape(f.summary)}")
            for item in f.details[:20]:
                console.print(f"{'':>12}- {escape(str(item))}")
            if len(f.details) > 20:
                console.print(f"{'':>12}... and {len(f.details) - 20} more (use --json)")
            if f.action:
                console.print(f"{'':>12}[cyan]action:[/] {escape(f.action)}")
    if any(f.status == "error" for f in findings):
        sys.exit(1)


@cli.command()
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=None,
    help="Keep every manifest published this recently, and the files it names "
    "[default: the gc.grace_minutes setting].",
)
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
@json_option
@pass_ctx
@handle_errors
def gc(c: Context, grace_minutes: int | None, dry_run: bool, as_json: bool) -> None:
    """Delete superseded manifests and table files no reader can still be inside (never the
    ledger, never what a kept manifest names, never a compaction publishing)."""
    from arco.services.operations.gc import collect_garbage
    from arco.services.queries.settings import setting_value

    if grace_minutes is None:
        grace_minutes = int(setting_value(c.ws.snapshot(), "gc.grace_minutes"))
    report = collect_garbage(c.ws, grace_minutes * 60_000, dry_run=dry_run)
    while report.more and not dry_run:  # in batches, each as safe as the whole
        more = collect_garbage(c.ws, grace_minutes * 60_000)
        more.manifests_deleted[:0] = report.manifests_deleted
        more.files_deleted[:0] = report.files_deleted
        more.claims_deleted[:0] = report.claims_deleted
        report = more
    if as_json:
        print_json(report.as_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    console.print(
        f"{verb} {len(report.manifests_deleted)} manifest(s), {len(report.files_deleted)} "
        f"table file(s) and {len(report.claims_deleted)} attempt claim(s); "
        f"kept {report.kept_manifests} manifest(s) from "
        f"{report.oldest_kept_manifest_id} to {report.current_manifest_id}"
    )


@cli.command()
@click.option(
    "--include",
    "includes",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A package directory or module of your code location (repeatable).",
)
@click.option(
    "--definitions",
    default=None,
    help="Your code location (pkg.module:attr, as in ARCO_DEFINITIONS): checked importable "
    "from the archive.",
)
@click.option(
    "--requirements",
    "requirements_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your code location's own dependencies, a pip requirements file (repeatable).",
)
@click.option(
    "--output",
    default="dist",
    show_default=True,
    type=click.Path(path_type=Path),
    help="A .zip path, or a directory to write arco-functions-<sha12>.zip into.",
)
@json_option
@handle_errors
def package(
    includes: tuple[Path, ...],
    definitions: str | None,
    requirements_files: tuple[Path, ...],
    output: Path,
    as_json: bool,
) -> None:
    """Build the functions' source archive: main.py, Arco, pinned requirements and your code
    location, byte-for-byte reproducible (its SHA-256 is in its name). Give its path to the
    terraform (variable source_archive, see docs/deploy.md)."""
    from arco.services.operations.package import build_package

    built = build_package(list(includes), output, definitions, list(requirements_files))
    if as_json:
        print_json(built.as_dict())
        return
    console.print(f"wrote {built.path} ({built.entries} files, sha256 {built.sha256})")


@cli.command("restore-pointer")
@click.option(
    "--manifest",
    "manifest_id",
    type=int,
    default=None,
    help="Manifest id to point at (default: the newest with all its files).",
)
@json_option
@pass_ctx
@handle_errors
def restore_pointer(c: Context, manifest_id: int | None, as_json: bool) -> None:
    """Point a lost or damaged pointer back at a good manifest."""
    from arco.services.operations.recovery import restore_pointer as restore

    manifest = restore(c.ws, manifest_id)
    if as_json:
        print_json({"manifest_id": manifest.manifest_id, "watermark": manifest.watermark})
    else:
        console.print(
            f"pointer -> manifest {manifest.manifest_id} "
            f"(watermark {manifest.watermark}); run `arco doctor` to confirm"
        )


@cli.group()
def settings() -> None:
    """Workspace settings (recorded as events)."""


@settings.command("list")
@json_option
@pass_ctx
@handle_errors
def settings_list(c: Context, as_json: bool) -> None:
    """Every setting with its current value (published state)."""
    from arco.services.queries.settings import list_settings

    rows = list_settings(c.ws)
    if as_json:
        print_model(list[m.Setting], rows)
    else:
        print_table(
            "settings",
            ["name", "value", "default", "changed by"],
            [
                (r["name"], json.dumps(r["value"]), json.dumps(r["default"]), r["changed_by"] or "")
                for r in rows
            ],
        )


@settings.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--request-id", default=None, help="Idempotency: the same id is applied once.")
@json_option
@pass_ctx
@handle_errors
def settings_set(c: Context, name: str, value: str, request_id: str | None, as_json: bool) -> None:
    """Change a setting: appends one event (visible after the next compaction)."""
    from arco.services.commands.settings import change_setting

    result = change_setting(c.ws, name, value, request_id or uuid.uuid4().hex, c.actor)
    if as_json:
        print_model(m.SettingChanged, result)
    else:
        console.print(
            f"recorded {name} = {json.dumps(result['value'])} in ledger object "
            f"{result['ledger_object']}"
        )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=float,
    help="Seconds between local timer runs.",
)
@click.option(
    "--definitions",
    "reference",
    envvar="ARCO_DEFINITIONS",
    default=None,
    help="Code location to deploy and run tasks of; deployed again when its files change. "
    "[env: ARCO_DEFINITIONS]",
)
@pass_ctx
@handle_errors
def dev(c: Context, host: str, port: int, interval: float, reference: str | None) -> None:
    """Serve the HTTP API on localhost and run the timer (schedules, runs) locally.

    Nobody is authenticated: every caller is a local admin, so it binds to loopback only.
    With --definitions, the code location is deployed, launched runs execute in this process,
    and an edit to its files reloads and redeploys it (as `dagster dev` does)."""
    from arco.cli.dev import run_dev

    run_dev(c.instance, c.ws, host, port, interval, reference)


from arco.cli import (  # noqa: E402  (registers deploy, run, ...)
    access,
    automation,
    backfills,
    conditions,
    quarantine,
    reconcile,
    runs,
    sensors,
    sql,
    staleness,
)

access.register(cli)
quarantine.register(cli)
automation.register(cli)
sensors.register(cli)
conditions.register(cli)
runs.register(cli)
backfills.register(cli)
staleness.register(cli)
reconcile.register(cli)
sql.register(cli)


def main() -> None:
    """The `arco` console script: run the command, then leave without interpreter teardown.

    pyarrow's native thread pools can abort the process while Python tears down after a
    command that read Parquet ("terminate called without an active exception", exit 134;
    apache/arrow#34314). Everything a command writes is flushed and durable by the time it
    returns, so we flush stdio and exit with the command's own code.
    """
    code: int = 0
    try:
        cli()
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            print(exc.code, file=sys.stderr)
            code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
