"""Commands for backfills: create, list, show, runs, pause, resume, cancel, retry-failed."""

from __future__ import annotations

import uuid
from typing import Any, TextIO, get_args

import click
from pydantic import ValidationError
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_model, print_table
from arco.cli.runs import parse_tags, styled, when
from arco.domain.backfills import BackfillStatus, PartitionSelection
from arco.domain.errors import InvalidInput

STATUSES: tuple[str, ...] = get_args(BackfillStatus)
_STYLE = {
    "REQUESTED": "cyan",
    "PAUSED": "yellow",
    "CANCELING": "yellow",
    "CANCELED": "yellow",
    "COMPLETED_SUCCESS": "green",
    "COMPLETED_FAILED": "red",
    "FAILED": "red",
}
_TARGET = {"pause": "PAUSED", "resume": "REQUESTED", "cancel": "CANCELING"}


def backfill_styled(status: str) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def partitions_text(selection: dict[str, Any] | None, count: int | None = None) -> str:
    """{"kind": "range", "first": a, "last": b} -> 'a .. b (10)'; None -> 'unpartitioned'."""
    if selection is None:
        return "unpartitioned"
    kind = selection["kind"]
    if kind == "range":
        text = f"{selection['first']} .. {selection['last']}"
    elif kind == "keys" and not selection["keys"]:
        text = f"{selection.get('key_count')} listed keys"
    elif kind == "keys":
        keys = list(selection["keys"])
        text = ", ".join(keys[:3]) + (f", … (+{len(keys) - 3})" if len(keys) > 3 else "")
    else:
        text = "all"
    if selection.get("status"):
        text += f" (only {selection['status']})"
    if count is not None:
        text += f": {count}"
    return escape(text)


def _keys(keys: str | None, keys_file: TextIO | None) -> list[str] | None:
    """The keys --keys (comma-separated) or --keys-file (one per line) gives, if either."""
    if keys is not None and keys_file is not None:
        raise InvalidInput("give only one of --keys and --keys-file")
    if keys_file is not None:
        listed = [line.strip() for line in keys_file if line.strip()]
        if not listed:
            raise InvalidInput(f"--keys-file {keys_file.name} lists no key")
        return listed
    return None if keys is None else [k.strip() for k in keys.split(",") if k.strip()]


def _selection(
    from_key: str | None,
    to_key: str | None,
    all_keys: bool,
    keys: list[str] | None,
    status: str | None,
) -> PartitionSelection | None:
    """The PartitionSelection the flags ask for, or None to let the service decide."""
    if (from_key is None) != (to_key is None):
        raise InvalidInput("give both --from and --to for a partition range")
    given = [
        flag
        for flag, present in (
            ("--from/--to", from_key is not None),
            ("--all", all_keys),
            ("--keys/--keys-file", keys is not None),
        )
        if present
    ]
    if len(given) > 1:
        raise InvalidInput(
            f"give only one of --from/--to, --all or --keys (got {' and '.join(given)})"
        )
    if not given:
        if status is not None:
            raise InvalidInput(
                "--status filters a partition selection: add --from/--to, --all or --keys"
            )
        return None
    data: dict[str, Any] = {"status": status}
    if from_key is not None:
        data.update(kind="range", first=from_key, last=to_key)
    elif all_keys:
        data.update(kind="all")
    else:
        assert keys is not None
        data.update(kind="keys", keys=keys)
    try:
        return PartitionSelection.model_validate(data)
    except ValidationError as exc:
        messages = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()[:3]]
        raise InvalidInput("; ".join(messages)) from exc


def _print_created(
    backfill: dict[str, Any], created: bool, as_json: bool, verb: str, existing: str
) -> None:
    if as_json:
        print_model(m.BackfillCreated, {**backfill, "created": created})
        return
    console.print(f"{verb if created else existing} [bold]{backfill['backfill_id']}[/]")
    console.print(f"status      {backfill_styled(backfill['status'])}")
    console.print(f"assets      {escape(', '.join(backfill['assets']))}")
    anchor = backfill["anchor"]
    console.print(
        f"partitions  {backfill['partitions']} of {escape(anchor)}" if anchor else "partitions  -"
    )
    console.print(
        f"chunks      {backfill['chunks']} of up to {backfill['chunk_size']} partition(s), "
        f"at most {backfill['max_concurrent_runs']} run(s) at once"
    )


def register(cli: click.Group) -> None:
    @cli.group("backfill")
    def backfill() -> None:
        """Backfills: an asset selection over many partitions, run chunk by chunk
        (create, list, show, runs, pause, resume, cancel, retry-failed)."""

    @backfill.command("create", short_help="Backfill a selection over partitions.")
    @click.argument("selection")
    @click.option("--from", "from_key", default=None, help="First partition key of a range.")
    @click.option("--to", "to_key", default=None, help="Last partition key of a range.")
    @click.option("--all", "all_keys", is_flag=True, help="Every partition (present now).")
    @click.option("--keys", default=None, metavar="K1,K2", help="These partition keys.")
    @click.option(
        "--keys-file",
        type=click.File("r"),
        default=None,
        metavar="PATH",
        help="These partition keys, one per line ('-': standard input); up to 1,000,000.",
    )
    @click.option(
        "--status",
        type=click.Choice(["missing", "failed"], case_sensitive=False),
        default=None,
        help="Only partitions missing (never materialized) or failed when a chunk is planned.",
    )
    @click.option(
        "--chunk-size", default=25, show_default=True, type=int, help="Partitions per run."
    )
    @click.option(
        "--max-concurrent-runs",
        default=4,
        show_default=True,
        type=int,
        help="Runs of this backfill in flight at once.",
    )
    @click.option("--idempotency-key", default=None, help="The same key creates one backfill.")
    @click.option("--tag", "tags", multiple=True, help="A run tag, key=value (repeatable).")
    @json_option
    @pass_ctx
    @handle_errors
    def create(
        c: Context,
        selection: str,
        from_key: str | None,
        to_key: str | None,
        all_keys: bool,
        keys: str | None,
        keys_file: TextIO | None,
        status: str | None,
        chunk_size: int,
        max_concurrent_runs: int,
        idempotency_key: str | None,
        tags: tuple[str, ...],
        as_json: bool,
    ) -> None:
        """Backfill the assets SELECTION matches over a partition selection of its anchor
        (the first partitioned asset): a range, a list of keys, or all. The timer plans it
        in chunks, one run per chunk, at most --max-concurrent-runs at once.

        \b
        Examples:
          arco backfill create 'key:raw+' --from 2024-01-01 --to 2024-01-31
          arco backfill create 'group:marts' --all --status missing --chunk-size 10
          arco backfill create 'key:report' --keys 2024-01-03,2024-01-05
          arco backfill create 'key:report' --keys-file failed-hours.txt
        """
        from arco.services.commands.backfills import BackfillRequest, create_backfill

        request = BackfillRequest(
            selection=selection,
            partitions=_selection(
                from_key,
                to_key,
                all_keys,
                _keys(keys, keys_file),
                status.lower() if status else None,
            ),
            chunk_size=chunk_size,
            max_concurrent_runs=max_concurrent_runs,
            idempotency_key=idempotency_key,
            tags=parse_tags(tags),
        )
        c.ws.compactor.compact_until_idle()
        result, created = create_backfill(c.ws, request, c.actor)
        c.ws.compactor.compact_until_idle()
        _print_created(
            result,
            created,
            as_json,
            "created backfill",
            "existing backfill (same Idempotency-Key)",
        )

    @backfill.command("list", short_help="Backfills, newest first.")
    @click.option(
        "--status",
        type=click.Choice(STATUSES, case_sensitive=False),
        default=None,
        help="Only backfills with this status.",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def list_(c: Context, status: str | None, as_json: bool) -> None:
        """Backfills, newest first: status, selection, partitions and chunk progress."""
        from arco.services.queries.backfills import list_backfills

        rows = list_backfills(c.ws, status.upper() if status else None)
        if as_json:
            print_model(list[m.Backfill], rows)
            return
        print_table(
            "backfills (times in UTC)",
            ["backfill", "status", "selection", "partitions", "chunks done/total", "created"],
            [
                (
                    r["backfill_id"],
                    backfill_styled(r["status"]),
                    escape(r["selection"]),
                    partitions_text(r["partitions"], r["total_partitions"]),
                    f"{r['chunks']['done']}/{r['chunks']['total']}",
                    when(r["created_ms"]),
                )
                for r in rows
            ],
        )

    @backfill.command("show", short_help="One backfill: progress and per-asset counts.")
    @click.argument("backfill_id")
    @json_option
    @pass_ctx
    @handle_errors
    def show(c: Context, backfill_id: str, as_json: bool) -> None:
        """One backfill: status, chunk progress, and per asset what materialized, failed,
        was canceled or is in progress."""
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        from arco.services.queries.backfills import show_backfill

        view = show_backfill(c.ws, backfill_id)
        if as_json:
            print_model(m.BackfillDetail, view)
            return
        chunks = view["chunks"]
        console.print(
            f"backfill [bold]{view['backfill_id']}[/] {backfill_styled(view['status'])}"
            f"  created {when(view['created_ms'])} UTC"
        )
        if view.get("error"):
            last = view["error"].strip().splitlines()[-1]
            console.print(f"[red]error[/]        {escape(last)} (--json for the traceback)")
        console.print(f"selection    {escape(view['selection'])}")
        anchor = f" of {escape(view['anchor'])}" if view["anchor"] else ""
        console.print(
            f"partitions   {partitions_text(view['partitions'], view['total_partitions'])}{anchor}"
        )
        if view["key_ranges"]:
            shown = [a if a == b else f"{a} .. {b}" for a, b in view["key_ranges"][:3]]
            more = view["key_ranges_total"] - len(shown)
            console.print(
                f"keys         {escape(', '.join(shown))}" + (f" (+{more} ranges)" if more else "")
            )
        console.print(
            f"chunk size   {view['chunk_size']}   concurrency {view['max_concurrent_runs']}"
        )
        if view["parent_backfill_id"]:
            console.print(
                f"parent       {view['parent_backfill_id']}   root {view['root_backfill_id']}"
            )
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            "chunks      ",
            ProgressBar(total=max(chunks["total"], 1), completed=chunks["done"], width=40),
            f"{chunks['done']}/{chunks['total']} done ({chunks['succeeded']} succeeded, "
            f"{chunks['failed']} failed, {chunks['canceled']} canceled; "
            f"{chunks['planned']} planned)",
        )
        console.print(bar)
        print_table(
            "per asset",
            ["asset", "materialized", "failed", "canceled", "in progress"],
            [
                (
                    escape(asset),
                    counts["materialized"],
                    counts["failed"],
                    counts["canceled"],
                    counts["in_progress"],
                )
                for asset, counts in view["per_asset"].items()
            ],
        )
        console.print(f"{view['anchor_partitions_not_started']} anchor partitions not started")

    @backfill.command("runs", short_help="The runs a backfill launched.")
    @click.argument("backfill_id")
    @json_option
    @pass_ctx
    @handle_errors
    def runs(c: Context, backfill_id: str, as_json: bool) -> None:
        """The runs a backfill launched, oldest first (see `arco status RUN` for one)."""
        from arco.services.queries.backfills import backfill_runs

        rows = backfill_runs(c.ws, backfill_id)
        if as_json:
            print_model(list[m.Run], rows)
            return
        print_table(
            f"runs of backfill {backfill_id} (times in UTC)",
            ["run", "status", "partitions", "created", "tasks ok/failed/skipped"],
            [
                (
                    r["run_id"],
                    styled(r["status"]),
                    r["partition"] or " .. ".join(r["partition_range"] or []) or "",
                    when(r["created_ms"]),
                    f"{r['tasks']['succeeded']}/{r['tasks']['failed']}/{r['tasks']['skipped']}",
                )
                for r in rows
            ],
        )

    def add_change(action: str, help_text: str) -> None:
        @backfill.command(action, help=help_text)
        @click.argument("backfill_id")
        @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
        @json_option
        @pass_ctx
        @handle_errors
        def change(
            c: Context,
            backfill_id: str,
            request_id: str | None,
            as_json: bool,
            cancel_runs: bool = False,
        ) -> None:
            from arco.services.commands.backfills import change_backfill

            c.ws.compactor.compact_until_idle()
            result = change_backfill(
                c.ws,
                backfill_id,
                action,
                request_id or uuid.uuid4().hex,
                c.actor,
                cancel_runs=cancel_runs,
            )
            c.ws.compactor.compact_until_idle()
            if as_json:
                print_model(m.BackfillChanged, result)
            else:
                console.print(
                    f"backfill {backfill_id}: {backfill_styled(result['previous_status'])} -> "
                    f"{backfill_styled(_TARGET[action])}"
                    + (" (and its runs)" if cancel_runs else "")
                )

        if action == "cancel":
            click.option(
                "--cancel-runs", is_flag=True, help="Also cancel the backfill's runs in flight."
            )(change)

    add_change("pause", "Pause a backfill: no new chunks until resumed (runs in flight go on).")
    add_change("resume", "Resume a paused backfill.")
    add_change("cancel", "Cancel a backfill: no new chunks; with --cancel-runs, its runs too.")

    @backfill.command("retry-failed", short_help="A new backfill over what did not materialize.")
    @click.argument("backfill_id")
    @json_option
    @pass_ctx
    @handle_errors
    def retry(c: Context, backfill_id: str, as_json: bool) -> None:
        """A new backfill, linked to this finished one, over exactly the anchor partitions
        that failed, were skipped or canceled, or never started. Once per backfill."""
        from arco.services.commands.backfills import retry_failed

        c.ws.compactor.compact_until_idle()
        result, created = retry_failed(c.ws, backfill_id, c.actor)
        c.ws.compactor.compact_until_idle()
        _print_created(
            result,
            created,
            as_json,
            f"retrying {backfill_id} as backfill",
            f"{backfill_id} was already retried: existing backfill",
        )
