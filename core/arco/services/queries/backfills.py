"""Reading backfills back: one backfill's progress per asset, listings, its runs; and the anchor
asset a selection's partitions are named in. The timer plans and follows backfills
(`domain/backfill_controller`); their commands are in `commands/backfills.py`.
"""

from __future__ import annotations

import json
from typing import Any

from arco.domain.backfills import BACKFILL_CHUNKS, BACKFILLS, unpack_ranges
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.names import validate_key_component
from arco.domain.run_identity import backfill_scope
from arco.domain.tables import ROW_VERSION, Row
from arco.projections.cache import Snapshot
from arco.services.queries.definitions import current_definitions, dynamic_partition_keys
from arco.services.queries.runs import rows_where, run_view
from arco.services.workspace import Workspace

KEY_RANGES_SHOWN = 100


def anchor_of(defs: DefinitionsSnapshot, assets: tuple[str, ...]) -> str | None:
    """The first partitioned asset in topological order: the one partition keys are named in
    (as for runs)."""
    return next((key for key in assets if defs.assets[key].partitions is not None), None)


def backfill_row(snapshot: Snapshot, backfill_id: str) -> Row:
    validate_key_component(backfill_id, "backfill id")
    row = snapshot.rows(BACKFILLS.name).get((backfill_id,))
    if row is None:
        raise NotFound(f"no backfill {backfill_id!r}")
    return {k: v for k, v in row.items() if k != ROW_VERSION}


def tasks_of_backfill(snapshot: Snapshot, backfill_id: str) -> list[Row]:
    runs = rows_where(snapshot, "runs", "scope", [backfill_scope(backfill_id)])
    return rows_where(snapshot, "tasks", "run_id", [r["run_id"] for r in runs])


def backfill_view(row: Row) -> dict[str, Any]:
    done = row["chunks_succeeded"] + row["chunks_failed"] + row["chunks_canceled"]
    return {
        "backfill_id": row["backfill_id"],
        "status": row["status"],
        "selection": row["selection"],
        "assets": json.loads(row["assets"]),
        "anchor": row["anchor"],
        "partitions": json.loads(row["partitions"]) if row["partitions"] else None,
        "total_partitions": row["total_partitions"],
        "chunk_size": row["chunk_size"],
        "max_concurrent_runs": row["max_concurrent_runs"],
        "chunks": {
            "total": row["chunks_total"],
            "planned": row["chunks_planned"],
            "succeeded": row["chunks_succeeded"],
            "failed": row["chunks_failed"],
            "canceled": row["chunks_canceled"],
            "done": done,
        },
        "parent_backfill_id": row["parent_backfill_id"],
        "root_backfill_id": row["root_backfill_id"],
        "tags": json.loads(row["tags"] or "{}"),
        "created_ms": row["created_ms"],
        "status_changed_ms": row["status_changed_ms"],
        "error": row.get("error"),
    }


def list_backfills(ws: Workspace, status: str | None = None) -> list[dict[str, Any]]:
    """Every backfill, newest first."""
    rows = ws.snapshot().rows(BACKFILLS.name).values()
    views = [backfill_view(r) for r in rows if status is None or r["status"] == status]
    return sorted(views, key=lambda v: (-int(v["created_ms"]), v["backfill_id"]))


def show_backfill(ws: Workspace, backfill_id: str) -> dict[str, Any]:
    """The backfill with per-asset counts: materialized (a task whose blocking asset check
    failed did materialize: only its downstream failed, as Dagster counts it), failed (failed
    or skipped because an upstream failed), canceled, in progress, and anchor partitions not
    started yet."""
    snapshot = ws.snapshot()
    row = backfill_row(snapshot, backfill_id)
    view = backfill_view(row)
    counts: dict[str, dict[str, int]] = {
        asset: {"materialized": 0, "failed": 0, "canceled": 0, "in_progress": 0}
        for asset in view["assets"]
    }
    for task in tasks_of_backfill(snapshot, backfill_id):
        bucket = counts.setdefault(
            task["asset"], {"materialized": 0, "failed": 0, "canceled": 0, "in_progress": 0}
        )
        status = task["status"]
        if status == "FAILURE" and task.get("data_version") is not None:
            status = "SUCCESS"  # materialized, then stopped by a failed blocking asset check
        name = {
            "SUCCESS": "materialized",
            "FAILURE": "failed",
            "SKIPPED": "failed",
            "CANCELED": "canceled",
        }.get(status, "in_progress")
        bucket[name] += 1
    chunks = snapshot.rows(BACKFILL_CHUNKS.name)
    planned = sum(r["partitions"] or 0 for k, r in chunks.items() if k[0] == backfill_id)
    view["per_asset"] = counts
    view["key_ranges"], view["key_ranges_total"] = _key_ranges(snapshot, row)
    view["anchor_partitions_planned"] = planned
    view["anchor_partitions_not_started"] = max(0, int(row["total_partitions"]) - planned)
    return view


def _key_ranges(snapshot: Snapshot, row: Row) -> tuple[list[tuple[str, str]], int]:
    """The first KEY_RANGES_SHOWN of the anchor keys the backfill targets, as inclusive
    (first, last) ranges, and how many ranges there are; ([], 0) unpartitioned, or when the
    deployed definitions no longer number the anchor's keys."""
    ranges = unpack_ranges(json.loads(row["ranges"] or "[]"))
    defs = current_definitions(snapshot)
    anchor = defs.assets.get(row["anchor"]) if defs and row["anchor"] else None
    if anchor is None or anchor.partitions is None:
        return [], 0
    space = anchor.partitions.key_space(dynamic_partition_keys(snapshot))
    try:
        shown = [(space.key_at(lo), space.key_at(hi - 1)) for lo, hi in ranges[:KEY_RANGES_SHOWN]]
    except InvalidInput:  # the definitions changed since: the counts still hold
        return [], 0
    return shown, len(ranges)


def backfill_runs(ws: Workspace, backfill_id: str) -> list[dict[str, Any]]:
    snapshot = ws.snapshot()
    backfill_row(snapshot, backfill_id)
    runs = rows_where(snapshot, "runs", "scope", [backfill_scope(backfill_id)])
    return sorted((run_view(r) for r in runs), key=lambda r: (r["created_ms"], r["run_id"]))
