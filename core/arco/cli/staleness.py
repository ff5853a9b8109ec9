"""`arco staleness`: which asset partitions are FRESH, STALE (and why) or MISSING."""

from __future__ import annotations

import csv
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.common import Context, handle_errors, pass_ctx
from arco.cli.output import console, print_model, print_table, shorten
from arco.cli.runs import when
from arco.domain.errors import InvalidInput
from arco.domain.staleness import (
    CODE_VERSION_CHANGED,
    FRESHNESS_VIOLATED,
    UPSTREAM_DATA_CHANGED,
)

if TYPE_CHECKING:
    from arco.services.queries.staleness import StalenessQuery

_STYLE = {"FRESH": "green", "STALE": "yellow", "MISSING": "dim"}
DEFAULT_LIMIT = 100
CSV_PAGE = 1000  # each page recomputes the report: fewer, larger pages for an export
CSV_COLUMNS = ["asset", "partition", "status", "stale_since", "reasons"]
SUMMARY_CSV_COLUMNS = ["asset", "partitions", "fresh", "stale", "missing", "stale_since", "reasons"]


def staleness_styled(status: str) -> str:
    style = _STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _values(options: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated and comma-separated values, upper-cased: ('stale,missing', 'FRESH') -> 3."""
    return tuple(
        part.strip().upper() for option in options for part in option.split(",") if part.strip()
    )


def _version(text: Any) -> str:
    """A data or code version, short enough to read: long hashes keep 6 characters."""
    value = "" if text is None else str(text)
    return shorten(value, 12, keep=6)


def _key(asset: Any, partition: Any) -> str:
    return f"{asset}[{partition}]" if partition else str(asset)


def _time(text: Any) -> str:
    """Epoch milliseconds as text (freshness evidence) -> a UTC time; anything else as is."""
    value = "" if text is None else str(text)
    return when(int(value)) if value.isdigit() else value


def cause_text(cause: dict[str, Any]) -> str:
    """One cause on one line: the code and its key evidence (plain text, not markup)."""
    code = str(cause["code"])
    parts = [code]
    if cause.get("upstream_asset"):
        parts.append(_key(cause["upstream_asset"], cause.get("upstream_partition")))
    if code in (CODE_VERSION_CHANGED, UPSTREAM_DATA_CHANGED):
        parts.append(f"{_version(cause.get('recorded'))}→{_version(cause.get('current'))}")
    elif code == FRESHNESS_VIOLATED:
        parts.append(
            f"last materialized {_time(cause.get('recorded'))}, "
            f"due by {_time(cause.get('current'))}"
        )
    return " ".join(parts)


def _root_text(root: dict[str, Any]) -> str:
    return f"{_key(root['asset'], root.get('partition'))}: {cause_text(root)}"


def _reasons(item: dict[str, Any]) -> list[str]:
    """The distinct cause codes of an item, in cause order."""
    return list(dict.fromkeys(str(c["code"]) for c in item["causes"]))


def _as_of_text(as_of: dict[str, Any]) -> str:
    moment = datetime.fromisoformat(as_of["time"]).astimezone(UTC)
    return f"as of manifest {as_of['manifest_id']} at {moment:%Y-%m-%d %H:%M:%S} UTC"


def _summary_line(summary: dict[str, Any]) -> str:
    counts = ", ".join(f"{summary[s]} {staleness_styled(s)}" for s in ("FRESH", "STALE", "MISSING"))
    line = f"{summary['partitions']} partition(s): {counts}"
    by_reason = summary.get("by_reason") or {}
    if by_reason:
        line += "; by reason: " + ", ".join(f"{code} {n}" for code, n in sorted(by_reason.items()))
    return line


def _print_report(result: dict[str, Any], root_causes: bool) -> None:
    console.print(_summary_line(result["summary"]))
    console.print(_as_of_text(result["as_of"]))
    columns = ["asset", "partition", "status", "stale since", "causes"]
    if root_causes:
        columns.append("root causes")
    rows = []
    for item in result["items"]:
        row = [
            escape(item["asset"]),
            escape(item["partition"] or ""),
            staleness_styled(item["status"]),
            when(item["stale_since_ms"]),
            escape("\n".join(cause_text(c) for c in item["causes"])),
        ]
        if root_causes:
            row.append(escape("\n".join(_root_text(r) for r in item.get("root_causes", []))))
        rows.append(row)
    print_table("staleness (times in UTC)", columns, rows)
    if not result["items"]:
        console.print("no partition matches")
    if result["next_cursor"]:
        console.print(f"[dim]more: add --cursor {result['next_cursor']}[/]")


def _print_summary(result: dict[str, Any]) -> None:
    console.print(_summary_line(result["summary"]))
    console.print(_as_of_text(result["as_of"]))
    print_table(
        "staleness per asset (times in UTC)",
        ["asset", "partitions", "fresh", "stale", "missing", "stale since", "reasons"],
        [
            (
                escape(a["asset"]),
                a["partitions"],
                a["FRESH"],
                a["STALE"],
                a["MISSING"],
                _iso_text(a["stale_since"]),
                escape(", ".join(a["reasons"])),
            )
            for a in result["assets"]
        ],
    )


def _iso_text(iso: str | None) -> str:
    if not iso:
        return ""
    return f"{datetime.fromisoformat(iso).astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def register(cli: click.Group) -> None:
    @cli.command("staleness", short_help="Which partitions are fresh, stale (and why) or missing.")
    @click.argument("selection", required=False)
    @click.option(
        "--status",
        "statuses",
        multiple=True,
        metavar="FRESH|STALE|MISSING",
        help="Only partitions with this status (repeatable, or comma-separated).",
    )
    @click.option(
        "--reason",
        "reasons",
        multiple=True,
        metavar="CODE",
        help="Only partitions stale for this reason, e.g. CODE_VERSION_CHANGED, "
        "UPSTREAM_DATA_CHANGED (repeatable, or comma-separated).",
    )
    @click.option("--from", "from_key", default=None, help="First partition key of a range.")
    @click.option("--to", "to_key", default=None, help="Last partition key of a range.")
    @click.option(
        "--as-of",
        "as_of",
        default=None,
        metavar="MANIFEST_ID|TIME",
        help="The answer as of a published manifest (its id) or a time (ISO 8601).",
    )
    @click.option(
        "--limit",
        type=click.IntRange(1, 1000),
        default=None,
        help=f"Partitions per page [default: {DEFAULT_LIMIT}; with --csv {CSV_PAGE}].",
    )
    @click.option("--cursor", default=None, help="Continue from a previous page (its next_cursor).")
    @click.option(
        "--root-causes",
        is_flag=True,
        help="Also follow stale upstreams to where each change began.",
    )
    @click.option(
        "--summary", "per_asset", is_flag=True, help="Per asset counts instead of partitions."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON (one page) for scripts.")
    @click.option(
        "--csv", "as_csv", is_flag=True, help="Print CSV, one row per partition, every page."
    )
    @pass_ctx
    @handle_errors
    def staleness(
        c: Context,
        selection: str | None,
        statuses: tuple[str, ...],
        reasons: tuple[str, ...],
        from_key: str | None,
        to_key: str | None,
        as_of: str | None,
        limit: int | None,
        cursor: str | None,
        root_causes: bool,
        per_asset: bool,
        as_json: bool,
        as_csv: bool,
    ) -> None:
        """Which partitions of the assets SELECTION matches (default: all) are FRESH, STALE
        with their causes, or MISSING (never materialized), in dependency order.

        Causes: CODE_VERSION_CHANGED, DEPENDENCY_ADDED, DEPENDENCY_REMOVED,
        UPSTREAM_MISSING, UPSTREAM_DATA_CHANGED, FRESHNESS_VIOLATED. A table shows one page
        (--json too: use its next_cursor with --cursor); --csv prints every page.

        \b
        Examples:
          arco staleness --status STALE
          arco staleness 'key:rolling+' --from 2024-01-01 --to 2024-01-31 --root-causes
          arco staleness --reason CODE_VERSION_CHANGED --csv > stale.csv
          arco staleness --summary --as-of 42
        """
        from arco.services.queries.staleness import StalenessQuery, staleness_summary
        from arco.services.queries.staleness import staleness as report

        if as_json and as_csv:
            raise InvalidInput("give only one of --json or --csv")
        if (from_key is None) != (to_key is None):
            raise InvalidInput("give both --from and --to for a partition range")
        if per_asset:
            extra = [
                flag
                for flag, given in (
                    ("--limit", limit is not None),
                    ("--cursor", cursor is not None),
                    ("--root-causes", root_causes),
                )
                if given
            ]
            if extra:
                raise InvalidInput(f"--summary covers every asset: drop {', '.join(extra)}")
        query = StalenessQuery(
            selection=selection or None,
            statuses=_values(statuses),
            reasons=_values(reasons),
            partition_range=(from_key, to_key) if from_key and to_key else None,
            as_of=as_of or None,
            limit=limit or (CSV_PAGE if as_csv and not per_asset else DEFAULT_LIMIT),
            cursor=cursor or None,
            root_causes=root_causes,
        )
        if per_asset:
            result = staleness_summary(c.ws, query)
            if as_json:
                print_model(m.StalenessSummary, result)
            elif as_csv:
                _write_summary_csv(result)
            else:
                _print_summary(result)
            return
        if as_csv:
            _write_csv(c, query)
            return
        result = report(c.ws, query)
        if as_json:
            print_model(m.StalenessReport, result)
        else:
            _print_report(result, root_causes)


def _write_csv(c: Context, query: StalenessQuery) -> None:
    """Every page from the query's cursor on, one row per partition; all pages read the
    state of the first (the cursor carries its manifest and time)."""
    from arco.services.queries.staleness import staleness as report

    writer = csv.writer(sys.stdout, lineterminator="\n")
    columns = [*CSV_COLUMNS, "root_causes"] if query.root_causes else CSV_COLUMNS
    writer.writerow(columns)
    while True:
        page = report(c.ws, query)
        for item in page["items"]:
            row = [
                item["asset"],
                item["partition"] or "",
                item["status"],
                item["stale_since"] or "",
                ";".join(_reasons(item)),
            ]
            if query.root_causes:
                row.append(";".join(_root_text(r) for r in item.get("root_causes", [])))
            writer.writerow(row)
        if not page["next_cursor"]:
            return
        query = replace(query, cursor=page["next_cursor"])


def _write_summary_csv(result: dict[str, Any]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(SUMMARY_CSV_COLUMNS)
    for a in result["assets"]:
        writer.writerow(
            [
                a["asset"],
                a["partitions"],
                a["FRESH"],
                a["STALE"],
                a["MISSING"],
                a["stale_since"] or "",
                ";".join(a["reasons"]),
            ]
        )
