"""Reading workspace settings: each known setting's published value, or its default."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.settings import (
    SETTINGS,
    WORKSPACE_SETTINGS,
)
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
