"""`arco sql`: SQL over the workspace's published state, with DuckDB (`arco[sql]`)."""

from __future__ import annotations

import csv
import sys

import click

from arco.cli.common import Context, handle_errors, json_option, pass_ctx
from arco.cli.output import print_json, print_table


def register(cli: click.Group) -> None:
    @cli.command("sql", short_help="Query the workspace's state with SQL (DuckDB).")
    @click.argument("query", required=False)
    @click.option("--csv", "as_csv", is_flag=True, help="Print CSV with a header line.")
    @click.option("--views", "list_views", is_flag=True, help="List the views and exit.")
    @json_option
    @pass_ctx
    @handle_errors
    def sql(c: Context, query: str | None, as_csv: bool, list_views: bool, as_json: bool) -> None:
        """Run QUERY over the published state: one view per projection table (merged through
        the pointer and manifest, as every reader sees it), plus `staleness` and
        `staleness_causes`, the staleness report now. Needs DuckDB: pip install 'arco[sql]'.

        \b
          arco sql "select status, count(*) from partition_status group by status"
          arco sql "select asset, partition from staleness where status = 'STALE'" --csv
          arco sql --views
        """
        from arco.clock import clock_now
        from arco.domain.errors import InvalidInput
        from arco.services.queries.sql import run_sql, view_keys

        if list_views:
            keys = view_keys(c.ws)
            if as_json:
                print_json([{"view": name, "key": key} for name, key in keys.items()])
            else:
                print_table("views", ["view", "key"], [(n, ", ".join(k)) for n, k in keys.items()])
            return
        if query is None:
            raise InvalidInput("give a query, e.g. arco sql 'select count(*) from runs'")
        if as_json and as_csv:
            raise InvalidInput("give only one of --json or --csv")
        result = run_sql(c.ws, query, clock_now(c.ws.clock))
        if as_json:
            print_json(result.as_dicts())
        elif as_csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(result.columns)
            writer.writerows(result.rows)
        else:
            print_table("result", result.columns, result.rows, markup=False)
