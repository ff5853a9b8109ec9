"""Sensor commands: start and stop (kept across redeploys), set or reset the cursor."""

from __future__ import annotations

from typing import Any

from arco.domain.errors import InvalidInput
from arco.domain.names import validate_key_component
from arco.domain.sensors import (
    SENSOR_CURSOR_SET,
    SENSOR_STATUS_CHANGED,
    SensorCursorSet,
    SensorStatusChanged,
    cursor_idempotency_key,
    status_idempotency_key,
)
from arco.ledger.writer import NewEvent
from arco.services.queries.sensors import SENSOR_STATUSES, deployed_sensor
from arco.services.workspace import Workspace

MAX_CURSOR_CHARS = 10_000


def set_sensor_status(
    ws: Workspace, name: str, status: str, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Start or stop a deployed sensor (NotFound for an unknown one). Survives redeploys."""
    if status not in SENSOR_STATUSES:
        raise InvalidInput(f"unknown sensor status {status!r}; use RUNNING or STOPPED")
    deployed_sensor(ws, name)
    validate_key_component(request_id, "request id")
    payload = SensorStatusChanged(
        sensor=name,
        status=status,  # type: ignore[arg-type]
        changed_by=changed_by,
        request_id=request_id,
    )
    result = ws.writer.append(
        [NewEvent(SENSOR_STATUS_CHANGED, payload, status_idempotency_key(name, request_id))]
    )
    return {"sensor": name, "status": status, "ledger_object": result.object_name}


def set_sensor_cursor(
    ws: Workspace, name: str, cursor: str | None, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Set (`cursor`) or reset (None) a deployed sensor's cursor. Evaluations that read the
    previous cursor lose their compare-and-set; run keys already claimed stay claimed."""
    node = deployed_sensor(ws, name)
    if node.kind == "push":
        raise InvalidInput(f"sensor {name!r} is a push sensor: it has no cursor")
    if cursor is not None:
        if not isinstance(cursor, str):
            raise InvalidInput("the cursor must be a string")
        if cursor == "":
            raise InvalidInput("the cursor cannot be empty; reset it instead")
        if len(cursor) > MAX_CURSOR_CHARS:
            raise InvalidInput(
                f"the cursor is {len(cursor)} characters; at most {MAX_CURSOR_CHARS} are allowed"
            )
    validate_key_component(request_id, "request id")
    payload = SensorCursorSet(
        sensor=name, cursor=cursor, changed_by=changed_by, request_id=request_id
    )
    result = ws.writer.append(
        [NewEvent(SENSOR_CURSOR_SET, payload, cursor_idempotency_key(name, request_id))]
    )
    return {"sensor": name, "cursor": cursor, "ledger_object": result.object_name}
