"""Assets and their partitions, as deployed: the asset list and each partition's status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arco.domain.errors import NotFound
from arco.domain.partitions import DynamicPartitionsDefinition, MultiPartitionsDefinition
from arco.services.queries.definitions import dynamic_partition_keys, require_definitions
from arco.services.workspace import Workspace


def list_assets(ws: Workspace) -> list[dict[str, Any]]:
    defs = require_definitions(ws)
    out = []
    for key in defs.topological_order():
        node = defs.assets[key]
        out.append(
            {
                "key": key,
                "group": node.group,
                "deps": [d.key for d in node.deps],
                "code_version": node.code_version,
                "owners": list(node.owners),
                "kinds": list(node.kinds),
                "tags": dict(node.tags),
                "description": node.description,
                "partitions": node.partitions.kind if node.partitions else None,
                "partitions_definition": node.partitions.to_snapshot() if node.partitions else None,
            }
        )
    return out


def partition_keys(ws: Workspace, asset: str, now: datetime) -> list[str]:
    defs = require_definitions(ws)
    node = defs.assets.get(asset)
    if node is None:
        raise NotFound(f"asset {asset!r} is not deployed in workspace {ws.name!r}")
    if node.partitions is None:
        return []
    return list(node.partitions.keys(now, dynamic_partition_keys(ws.snapshot())))


def dynamic_names(ws: Workspace) -> set[str]:
    names = set()
    for node in require_definitions(ws).assets.values():
        pdef = node.partitions
        dims = (
            list(pdef.dimensions.values())
            if isinstance(pdef, MultiPartitionsDefinition)
            else [pdef]
        )
        names |= {d.name for d in dims if isinstance(d, DynamicPartitionsDefinition)}
    return names


def partition_report(ws: Workspace, asset: str, now: datetime) -> list[dict[str, Any]]:
    """Per partition of `asset` (one row for an unpartitioned asset): MATERIALIZED, FAILED,
    IN_PROGRESS or MISSING, with the last materialization and the last attempt kept apart, so
    a failed retry never hides good data."""
    from arco.services.queries.runs import NO_PARTITION, partition_state, partition_status

    keys: list[str | None] = list(partition_keys(ws, asset, now))
    if not keys and require_definitions(ws).assets[asset].partitions is None:
        keys = [None]
    status = partition_status(ws.snapshot(), asset)
    out = []
    for key in keys:
        row = status.get(NO_PARTITION if key is None else key)
        materialized = row is not None and row.get("materialized_run_id") is not None
        attempted = row is not None and row.get("attempt_run_id") is not None
        out.append(
            {
                "partition": key,
                "status": partition_state(row),
                "last_materialization": {
                    "run_id": row["materialized_run_id"],
                    "time_ms": row["materialized_ms"],
                    "code_version": row["materialized_code_version"],
                    "data_version": row["materialized_data_version"],
                }
                if row is not None and materialized
                else None,
                "last_attempt": {
                    "run_id": row["attempt_run_id"],
                    "time_ms": row["attempt_ms"],
                    "status": row["attempt_status"],
                    "error": row["attempt_error"],
                }
                if row is not None and attempted
                else None,
            }
        )
    return out
