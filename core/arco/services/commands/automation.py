"""Starting and stopping declarative automation (Dagster's `default_automation_condition_sensor`,
stopped by default)."""

from __future__ import annotations

from typing import Any

from arco.domain.automation import (
    AUTOMATION_STATUS_CHANGED,
    SENSOR_NAME,
    AutomationStatusChanged,
    status_key,
)
from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.names import validate_key_component
from arco.services.workspace import Workspace

STATUSES = ("RUNNING", "STOPPED")


def set_automation_status(
    ws: Workspace, status: str, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Start (RUNNING) or stop (STOPPED) the automation evaluation of this workspace."""
    if status not in STATUSES:
        raise InvalidInput(f"unknown automation status {status!r}; use RUNNING or STOPPED")
    validate_key_component(request_id, "request id")
    payload = AutomationStatusChanged(
        sensor=SENSOR_NAME,
        status=status,  # type: ignore[arg-type]
        changed_by=changed_by,
        request_id=request_id,
    )
    result = ws.writer.append(
        [NewEvent(AUTOMATION_STATUS_CHANGED, payload, status_key(SENSOR_NAME, request_id))]
    )
    return {"name": SENSOR_NAME, "status": status, "ledger_object": result.object_name}
