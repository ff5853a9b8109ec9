"""Adding and removing the keys of a dynamic partitions definition (one event per request)."""

from __future__ import annotations

from typing import Any

from arco.domain.dynamic_partitions import (
    DYNAMIC_PARTITIONS_ADDED,
    DYNAMIC_PARTITIONS_REMOVED,
    DynamicPartitionsChanged,
    change_idempotency_key,
)
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.names import validate_key_component
from arco.ledger.writer import NewEvent
from arco.services.queries.assets import dynamic_names
from arco.services.workspace import Workspace


def change_dynamic_partitions(
    ws: Workspace, definition: str, keys: list[str], action: str, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Add or remove keys of a deployed dynamic partitions definition (nothing on bad input)."""
    if action not in ("add", "remove"):
        raise InvalidInput(f"unknown action {action!r}")
    if definition not in dynamic_names(ws):
        raise NotFound(f"no deployed asset uses dynamic partitions {definition!r}")
    validate_key_component(request_id, "request id")
    try:
        payload = DynamicPartitionsChanged(
            definition=definition, keys=keys, changed_by=changed_by, request_id=request_id
        )
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    event_type = DYNAMIC_PARTITIONS_ADDED if action == "add" else DYNAMIC_PARTITIONS_REMOVED
    result = ws.writer.append(
        [NewEvent(event_type, payload, change_idempotency_key(definition, action, request_id))]
    )
    return {
        "definition": definition,
        "action": action,
        "keys": keys,
        "ledger_object": result.object_name,
    }
