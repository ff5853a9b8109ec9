"""Schedules for operators: the list with state and next tick, and the tick history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from arco.domain.errors import InvalidInput
from arco.domain.names import validate_key_component
from arco.domain.schedule_controller import effective_status, from_ms, running_since_ms
from arco.domain.schedules import (
    SCHEDULE_STATE,
    SCHEDULE_TICKS,
)
from arco.services.queries.definitions import require_definitions
from arco.services.workspace import Workspace

TICK_STATUSES = ("TRIGGERED", "SKIPPED", "FAILED")


def iso_time(epoch_ms: int | None) -> str | None:
    """An epoch-milliseconds time as ISO 8601 (UTC), as the listings show it."""
    return from_ms(epoch_ms).isoformat() if epoch_ms is not None else None


def list_schedules(ws: Workspace, now: datetime) -> list[dict[str, Any]]:
    """Every deployed schedule with its status, last tick and next tick, by name."""
    defs = require_definitions(ws)
    states = ws.snapshot().rows(SCHEDULE_STATE.name)
    out = []
    for name, node in sorted(defs.schedules.items()):
        row = states.get((name,))
        status = effective_status(node, row)
        next_tick = node.cron.next_tick(now, node.timezone)
        out.append(
            {
                "name": name,
                "status": status,
                "status_source": "operator" if row and row.get("operator_status") else "default",
                "cron": list(node.cron.expressions),
                "timezone": node.timezone,
                "target": list(node.target),
                "partitioned": node.partitioned,
                "catch_up": node.catch_up.mode,
                "running_since": iso_time(running_since_ms(node, row)),
                "last_tick": iso_time(row.get("last_tick_ms") if row else None),
                "next_tick": next_tick.isoformat() if status == "RUNNING" else None,
            }
        )
    return out


def schedule_ticks(
    ws: Workspace,
    name: str,
    status: str | None = None,
    limit: int = 50,
    before_ms: int | None = None,
) -> list[dict[str, Any]]:
    """A schedule's ticks, newest first (stable: by tick time). Unknown names have none."""
    validate_key_component(name, "schedule name")
    if status is not None and status not in TICK_STATUSES:
        raise InvalidInput(f"unknown tick status {status!r}; use one of {', '.join(TICK_STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    table = ws.snapshot().table(SCHEDULE_TICKS.name)
    mask = pc.equal(table.column("schedule"), name)
    if status is not None:
        mask = pc.and_(mask, pc.equal(table.column("status"), status))
    if before_ms is not None:
        mask = pc.and_(mask, pc.less(table.column("tick_ms"), before_ms))
    selected = table.filter(mask).sort_by([("tick_ms", "descending")]).slice(0, limit)
    return [
        {
            "schedule": r["schedule"],
            "tick_time": r["tick_time"],
            "tick_ms": r["tick_ms"],
            "status": r["status"],
            "skip_reason": r["skip_reason"],
            "error": r["error"],
            "run_keys": json.loads(r["run_keys"] or "[]"),
            "run_ids": json.loads(r["run_ids"] or "[]"),
            "partition_keys": json.loads(r["partition_keys"] or "[]"),
        }
        for r in selected.to_pylist()
    ]
