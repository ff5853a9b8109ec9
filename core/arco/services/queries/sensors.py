"""Sensors for operators: the list with state, cursor and next evaluation, and the tick history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pyarrow.compute as pc

from arco.domain.definitions import DefinitionsSnapshot, SensorNode
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.names import validate_key_component
from arco.domain.sensors import (
    SENSOR_STATE,
    SENSOR_TICKS,
    is_due,
    is_running,
)
from arco.projections.cache import Snapshot
from arco.services.queries.definitions import current_definitions
from arco.services.queries.schedules import iso_time
from arco.services.workspace import Workspace

TICK_STATUSES = ("SUCCESS", "SKIPPED", "FAILURE")


SENSOR_STATUSES = ("RUNNING", "STOPPED")


def deployed_definitions(ws: Workspace, snapshot: Snapshot) -> DefinitionsSnapshot:
    defs = current_definitions(snapshot)
    if defs is None:
        raise NotFound(f"nothing is deployed in workspace {ws.name!r}; run `arco deploy`")
    return defs


def deployed_sensor(ws: Workspace, name: str) -> SensorNode:
    validate_key_component(name, "sensor name")
    node = deployed_definitions(ws, ws.snapshot()).sensors.get(name)
    if node is None:
        raise NotFound(f"sensor {name!r} is not deployed in workspace {ws.name!r}")
    return node


def list_sensors(ws: Workspace, now: datetime) -> list[dict[str, Any]]:
    """Every deployed sensor with its status, cursor, last tick and next evaluation, by name.

    The next evaluation is `now` for a running sensor that is due (never evaluated, or the
    minimum interval has passed); None for a stopped sensor and for push sensors, which are
    evaluated once per message."""
    snapshot = ws.snapshot()
    defs = deployed_definitions(ws, snapshot)
    states = snapshot.rows(SENSOR_STATE.name)
    now_ms = round(now.timestamp() * 1000)
    out = []
    for name, node in sorted(defs.sensors.items()):
        row = states.get((name,))
        running = is_running(row, node.default_status == "RUNNING")
        last_ms = row.get("last_evaluation_ms") if row else None
        next_evaluation: str | None = None
        if running and node.kind != "push":
            if last_ms is None or is_due(row, node.minimum_interval_seconds, now_ms):
                next_evaluation = now.isoformat()
            else:
                next_evaluation = iso_time(int(last_ms) + node.minimum_interval_seconds * 1000)
        out.append(
            {
                "name": name,
                "kind": node.kind,
                "status": "RUNNING" if running else "STOPPED",
                "status_source": "operator" if row and row.get("status") else "default",
                "target": list(node.target),
                "minimum_interval_seconds": (
                    None if node.kind == "push" else node.minimum_interval_seconds
                ),
                "subscription": node.subscription,
                "monitored_assets": list(node.monitored_assets),
                "run_statuses": list(node.run_statuses),
                "cursor": row.get("cursor") if row else None,
                "last_evaluation": iso_time(last_ms),
                "last_tick_status": row.get("last_tick_status") if row else None,
                "next_evaluation": next_evaluation,
            }
        )
    return out


def sensor_ticks_page(
    ws: Workspace,
    name: str,
    status: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a sensor's ticks, newest first, and the tick id to pass as `before` for the
    next page (None on the last page). Tick ids are ULIDs: they sort by time and never repeat
    within a sensor, so pages are stable while new ticks arrive."""
    validate_key_component(name, "sensor name")
    if status is not None and status not in TICK_STATUSES:
        raise InvalidInput(f"unknown tick status {status!r}; use one of {', '.join(TICK_STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    if before is not None:
        validate_key_component(before, "tick id")
    snapshot = ws.snapshot()
    table = snapshot.table(SENSOR_TICKS.name)
    mask = pc.equal(table.column("sensor"), name)
    if not pc.any(mask).as_py():
        defs = current_definitions(snapshot)
        if defs is None or name not in defs.sensors:
            raise NotFound(f"sensor {name!r} is not deployed and has no ticks in {ws.name!r}")
    if status is not None:
        mask = pc.and_(mask, pc.equal(table.column("status"), status))
    if before is not None:
        mask = pc.and_(mask, pc.less(table.column("tick_id"), before))
    selected = table.filter(mask).sort_by([("tick_id", "descending")]).slice(0, limit + 1)
    rows = [_tick(r) for r in selected.to_pylist()]
    page = rows[:limit]
    return page, page[-1]["tick_id"] if len(rows) > limit else None


def sensor_ticks(
    ws: Workspace,
    name: str,
    status: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[dict[str, Any]]:
    """A sensor's ticks, newest first; `before` (a tick id) starts after that tick.

    A sensor that is no longer deployed keeps its history; a name that is neither deployed
    nor has ticks is NotFound."""
    return sensor_ticks_page(ws, name, status, limit, before)[0]


def tick_of_message(ws: Workspace, name: str, message_id: str) -> dict[str, Any] | None:
    """The folded tick of a push sensor's message (None until the compactor has folded it):
    what the evaluation became, e.g. SKIPPED when the sensor is stopped."""
    table = ws.snapshot().table(SENSOR_TICKS.name)
    mask = pc.and_(
        pc.equal(table.column("sensor"), name), pc.equal(table.column("message_id"), message_id)
    )
    rows = table.filter(mask).sort_by([("tick_id", "descending")]).slice(0, 1).to_pylist()
    return _tick(rows[0]) if rows else None


def _tick(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "sensor": r["sensor"],
        "tick_id": r["tick_id"],
        "kind": r["kind"],
        "evaluated_at": iso_time(r["evaluated_ms"]),
        "status": r["status"],
        "skip_reason": r["skip_reason"],
        "error": r["error"],
        "cursor_before": r["cursor_before"],
        "cursor_after": r["cursor_after"],
        "run_keys": json.loads(r["run_keys"] or "[]"),
        "run_ids": json.loads(r["run_ids"] or "[]"),
        "message_id": r["message_id"],
    }
