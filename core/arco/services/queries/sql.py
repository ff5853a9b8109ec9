"""SQL over a workspace's published state (`arco sql`), with DuckDB, an optional extra.

Each projection table is a view as readers see it: resolved through the pointer and the
manifest, its base and delta files merged (reading the table folders directly counts every
superseded row). `staleness` and `staleness_causes` are the staleness report at the time of the
query. Only the tables a query names are read. DuckDB runs in memory with external access off:
a query reads Arco's state and nothing else, and writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from arco.domain.errors import InvalidInput, Misconfigured
from arco.services.workspace import Workspace

REPORT_VIEWS = ("staleness", "staleness_causes")


@dataclass(frozen=True)
class SqlResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    tables: list[str]  # the views the query read

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def views(ws: Workspace) -> list[str]:
    """Every view a query may name: the projection tables, then the report's."""
    return [*sorted(ws.registry.tables), *REPORT_VIEWS]


def view_keys(ws: Workspace) -> dict[str, list[str]]:
    """Each view's key columns (a row per key; the report's views have none of their own)."""
    tables = ws.registry.tables
    return {name: list(tables[name].key) if name in tables else [] for name in views(ws)}


def run_sql(ws: Workspace, query: str, now: datetime) -> SqlResult:
    """Run one query over the published state (and the staleness report as of `now`)."""
    try:
        import duckdb
    except ImportError as exc:
        raise Misconfigured(
            "arco sql needs DuckDB: pip install 'arco[sql]' (or pip install duckdb)"
        ) from exc
    if not query.strip():
        raise InvalidInput("give a query, e.g. arco sql 'select count(*) from runs'")
    named = [
        v
        for v in views(ws)
        if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w])", query, re.IGNORECASE)
    ]
    snapshot = ws.snapshot()
    connection = duckdb.connect(":memory:")
    try:
        for name in named:
            if name not in REPORT_VIEWS:
                connection.register(name, snapshot.table(name))
        if set(named) & set(REPORT_VIEWS):
            partitions, causes = _report(ws, now)
            connection.register("staleness", partitions)
            connection.register("staleness_causes", causes)
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
        try:
            cursor = connection.execute(query)
        except duckdb.Error as exc:
            hint = f" (views: {', '.join(views(ws))})" if "does not exist" in str(exc) else ""
            raise InvalidInput(f"{type(exc).__name__}: {exc}{hint}") from exc
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchall() if columns else []
    finally:
        connection.close()
    return SqlResult(columns, rows, named)


def _report(ws: Workspace, now: datetime) -> tuple[pa.Table, pa.Table]:
    """The staleness report's partitions (without its ordering columns) and causes."""
    from arco.services.queries.staleness import StalenessQuery, report_on

    report, _ = report_on(ws.snapshot(), StalenessQuery(as_of=None), now, ws.name)
    keep = [c for c in report.partitions.column_names if not c.endswith("_order")]
    return report.partitions.select(keep), report.causes
