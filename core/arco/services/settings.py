"""Reading and changing workspace settings."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.names import validate_key_component
from arco.domain.settings import (
    SETTING_CHANGED,
    SETTINGS,
    WORKSPACE_SETTINGS,
    SettingChanged,
    parse_setting_value,
    setting_idempotency_key,
)
from arco.ledger.writer import NewEvent
from arco.projections.cache import Snapshot
from arco.services.workspace import Workspace


def setting_value(snapshot: Snapshot, name: str) -> Any:
    """The published value of setting `name`, or its default."""
    row = snapshot.rows(WORKSPACE_SETTINGS.name).get((name,))
    return json.loads(row["value"]) if row else SETTINGS[name].default


def list_settings(ws: Workspace) -> list[dict[str, Any]]:
    """Every known setting with its published value (or its default)."""
    rows = ws.snapshot().rows(WORKSPACE_SETTINGS.name)
    out = []
    for name, spec in sorted(SETTINGS.items()):
        row = rows.get((name,))
        out.append(
            {
                "name": name,
                "value": json.loads(row["value"]) if row else spec.default,
                "default": spec.default,
                "is_default": row is None,
                "changed_by": row["changed_by"] if row else None,
                "changed_at_ms": row["changed_at_ms"] if row else None,
                "description": spec.description,
            }
        )
    return out


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
