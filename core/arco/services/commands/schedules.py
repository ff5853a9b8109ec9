"""Starting and stopping a schedule (an operator event, kept across redeploys)."""

from __future__ import annotations

from typing import Any

from arco.domain.errors import NotFound
from arco.domain.names import validate_key_component
from arco.domain.schedules import (
    SCHEDULE_STATUS_CHANGED,
    ScheduleStatusChanged,
    status_idempotency_key,
)
from arco.ledger.writer import NewEvent
from arco.services.queries.definitions import require_definitions
from arco.services.workspace import Workspace


def set_schedule_status(
    ws: Workspace, name: str, status: str, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Start or stop a deployed schedule (404 for an unknown one). Survives redeploys."""
    defs = require_definitions(ws)
    if name not in defs.schedules:
        raise NotFound(f"schedule {name!r} is not deployed in workspace {ws.name!r}")
    validate_key_component(request_id, "request id")
    payload = ScheduleStatusChanged(
        schedule=name,
        status=status,  # type: ignore[arg-type]
        changed_by=changed_by,
        request_id=request_id,
    )
    result = ws.writer.append(
        [NewEvent(SCHEDULE_STATUS_CHANGED, payload, status_idempotency_key(name, request_id))]
    )
    return {"schedule": name, "status": status, "ledger_object": result.object_name}
