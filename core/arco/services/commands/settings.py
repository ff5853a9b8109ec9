"""Changing a workspace setting: validated against its type, then one event."""

from __future__ import annotations

from typing import Any

from arco.domain.names import validate_key_component
from arco.domain.settings import (
    SETTING_CHANGED,
    SettingChanged,
    parse_setting_value,
    setting_idempotency_key,
)
from arco.ledger.writer import NewEvent
from arco.services.workspace import Workspace


def change_setting(
    ws: Workspace, name: str, raw_value: Any, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Validate and append one SettingChanged event. Nothing is written on bad input."""
    value = parse_setting_value(name, raw_value)
    validate_key_component(request_id, "request id")
    event = SettingChanged(name=name, value=value, changed_by=changed_by, request_id=request_id)
    result = ws.writer.append(
        [NewEvent(SETTING_CHANGED, event, setting_idempotency_key(name, request_id))]
    )
    return {
        "name": name,
        "value": value,
        "request_id": request_id,
        "ledger_object": result.object_name,
        "event_id": result.event_ids[0],
    }
