"""Granting and revoking a principal's role in a workspace: one `access.changed` event each
(the role, or none for a revoke), audited and rebuilt like every other event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arco.domain.access import (
    ACCESS_CHANGED,
    AccessChanged,
    Role,
    access_idempotency_key,
    validate_principal,
)
from arco.domain.names import validate_key_component
from arco.ledger.writer import NewEvent

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
    from arco.services.workspace import Workspace


def change_access(
    ws: Workspace, principal: str, role: Role | None, request_id: str, changed_by: str
) -> dict[str, Any]:
    """Append one grant (or, with `role=None`, a revoke). Nothing is written on bad input."""
    principal = validate_principal(principal)
    validate_key_component(request_id, "request id")
    event = AccessChanged(
        principal=principal, role=role, changed_by=changed_by, request_id=request_id
    )
    result = ws.writer.append(
        [NewEvent(ACCESS_CHANGED, event, access_idempotency_key(principal, request_id))]
    )
    return {
        "principal": principal,
        "role": role.value if role else None,
        "request_id": request_id,
        "event_id": result.event_ids[0],
    }
