"""Reading runs back: listings, one run's tasks and lineage, logs, partition status.

Everything here reads the published projections (and, for logs, the log objects); nothing
touches the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from arco.domain.errors import InvalidInput, NotFound
from arco.domain.runs import (
    NO_PARTITION,
    PARTITION_STATUS,
    RUN_RANK,
    RUNS,
    TASKS,
    TERMINAL_RUN,
)
from arco.domain.tables import ROW_VERSION, Row
from arco.projections.cache import Snapshot
from arco.services.workspace import Workspace

RUN_STATUSES = tuple(RUN_RANK)


def rows_where(snapshot: Snapshot, table: str, column: str, values: Iterable[Any]) -> list[Row]:
    """The rows of `table` whose `column` is one of `values` (an Arrow filter, not a scan)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = snapshot.table(table)
    if data.num_rows == 0:
        return []
    wanted = list(values)
    if not wanted:
        return []
    value_set = pa.array(wanted, type=data.schema.field(column).type)
    mask = pc.is_in(data.column(column), value_set=value_set)
    rows: list[Row] = data.filter(mask).to_pylist()
    return rows


def find_run(snapshot: Snapshot, run_id: str) -> Row | None:
    rows = rows_where(snapshot, RUNS.name, "run_id", [run_id])
    return rows[0] if rows else None


def tasks_of(snapshot: Snapshot, run_id: str) -> list[Row]:
    return sorted(rows_where(snapshot, TASKS.name, "run_id", [run_id]), key=lambda r: r["index"])


def tasks_by_run(snapshot: Snapshot, run_ids: Iterable[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for row in rows_where(snapshot, TASKS.name, "run_id", run_ids):
        out.setdefault(row["run_id"], []).append(row)
    return out


def active_runs(snapshot: Snapshot) -> list[Row]:
    """Runs that are not finished (what the timer advances)."""
    open_statuses = [s for s in RUN_STATUSES if s not in TERMINAL_RUN]
    return rows_where(snapshot, RUNS.name, "status", open_statuses)


def _loads(value: str | None, default: Any) -> Any:
    return json.loads(value) if value else default


def run_view(row: Row) -> dict[str, Any]:
    """A run row as users see it (JSON columns decoded, counters grouped)."""
    return {
        "run_id": row["run_id"],
        "status": row["status"],
        "run_key": row["run_key"],
        "source": row["source"],
        "selection": row["selection"],
        "assets": _loads(row["assets"], []),
        "partition": row["partition"],
        "partition_range": _loads(row["partition_range"], None),
        "tags": _loads(row["tags"], {}),
        "parent_run_id": row["parent_run_id"],
        "root_run_id": row["root_run_id"],
        "fingerprint": row["fingerprint"],
        "definitions_hash": row["definitions_hash"],
        "created_ms": row["created_ms"],
        "launched_ms": row["launched_ms"],
        "started_ms": row["started_ms"],
        "finished_ms": row["finished_ms"],
        "cancel_requested_ms": row["cancel_requested_ms"],
        "error": row.get("error"),
        "tasks": {
            "total": row["tasks_total"],
            "succeeded": row["tasks_succeeded"],
            "failed": row["tasks_failed"],
            "skipped": row["tasks_skipped"],
            "canceled": row["tasks_canceled"],
        },
    }


def task_view(row: Row) -> dict[str, Any]:
    attempts = _loads(row["attempts"], {})
    return {
        "index": row["index"],
        "asset": row["asset"],
        "partition": row["partition"],
        "status": row["status"],
        "attempt": row["attempt"],
        "max_attempts": row["max_attempts"],
        "depends_on": _loads(row["depends_on"], []),
        "retry_at_ms": row["retry_at_ms"],
        "started_ms": row["started_ms"],
        "finished_ms": row["finished_ms"],
        "error": row["error"],
        "skipped_because": row["skipped_because"],
        "metadata": _loads(row["metadata"], None),
        "code_version": row["code_version"],
        "data_version": row["data_version"],
        "attempts": [{"attempt": int(n), **attempts[n]} for n in sorted(attempts, key=int)],
    }


def list_runs(
    ws: Workspace, status: str | None = None, limit: int = 50, after: str | None = None
) -> dict[str, Any]:
    """Runs, newest first; `after` is the last run id of the previous page."""
    if status is not None and status not in RUN_STATUSES:
        raise InvalidInput(f"unknown run status {status!r}; one of {', '.join(RUN_STATUSES)}")
    snapshot = ws.snapshot()
    table = snapshot.table(RUNS.name)
    rows: list[Row] = (
        rows_where(snapshot, RUNS.name, "status", [status]) if status else table.to_pylist()
    )
    rows.sort(key=lambda r: (r["created_ms"] or 0, r["run_id"]), reverse=True)
    if after is not None:
        ids = [r["run_id"] for r in rows]
        if after not in ids:
            raise InvalidInput(f"cursor names run {after!r}, which is not in this listing")
        rows = rows[ids.index(after) + 1 :]
    page = rows[:limit]
    return {
        "runs": [run_view(r) for r in page],
        "next": page[-1]["run_id"] if len(rows) > limit and page else None,
    }


def run_status(ws: Workspace, run_id: str) -> dict[str, Any]:
    """One run: its row, its tasks with attempts, and its lineage (parent, root, children)."""
    snapshot = ws.snapshot()
    row = find_run(snapshot, run_id)
    if row is None:
        raise NotFound(f"no run {run_id!r} in workspace {ws.name!r}")
    children = rows_where(snapshot, RUNS.name, "parent_run_id", [run_id])
    view = run_view(row)
    view["task_list"] = [task_view(t) for t in tasks_of(snapshot, run_id)]
    view["lineage"] = {
        "parent_run_id": row["parent_run_id"],
        "root_run_id": row["root_run_id"],
        "children": sorted(c["run_id"] for c in children),
    }
    return view


def read_logs(ws: Workspace, run_id: str, task: int | None = None) -> list[dict[str, Any]]:
    """What the asset functions of a run logged, oldest first (every attempt)."""
    if find_run(ws.snapshot(), run_id) is None:
        raise NotFound(f"no run {run_id!r} in workspace {ws.name!r}")
    prefix = ws.layout.run_logs_prefix(run_id) + (f"{task}/" if task is not None else "")
    records: list[dict[str, Any]] = []
    for listed in ws.store.list(prefix):
        stored = ws.store.get(listed.key)
        if stored is None:
            continue
        for line in stored.data.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                record = {"message": line, "level": "RAW"}
            if isinstance(record, dict):
                records.append(record)
    records.sort(key=lambda r: (r.get("time_ms") or 0, r.get("seq") or 0))
    return records


def partition_status(snapshot: Snapshot, asset: str) -> dict[str, Row]:
    """Per partition ("" for an unpartitioned asset) of `asset`: its status row."""
    out: dict[str, Row] = {}
    for row in rows_where(snapshot, PARTITION_STATUS.name, "asset", [asset]):
        out[row["partition"]] = {k: v for k, v in row.items() if k != ROW_VERSION}
    return out


def partition_state(row: Row | None) -> str:
    """MATERIALIZED, FAILED, IN_PROGRESS or MISSING, as Dagster's partition status shows."""
    if row is None:
        return "MISSING"
    attempt = row.get("attempt_status")
    if attempt == "STARTED":
        return "IN_PROGRESS"
    if attempt in ("FAILURE",) and (row.get("attempt_version") or "") > (
        row.get("materialized_version") or ""
    ):
        return "FAILED"
    return "MATERIALIZED" if row.get("materialized_run_id") else "MISSING"


__all__ = [
    "NO_PARTITION",
    "active_runs",
    "find_run",
    "list_runs",
    "partition_state",
    "partition_status",
    "read_logs",
    "rows_where",
    "run_status",
    "run_view",
    "task_view",
    "tasks_by_run",
    "tasks_of",
]
