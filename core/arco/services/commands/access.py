"""Who may call, and what they may do: callers, roles per workspace, served workspaces.

Every entry point asks a `Gate` who the caller is before it reads or writes anything:

    Gate.identify(authorization, peer)  -> Identity      (Unauthenticated 401, AuthUnavailable 503)
    Gate.authorize(identity, ws, role)                   (Forbidden 403)

`TokenGate` verifies Google-signed ID tokens; for the engine functions (timer, worker,
sensor_push, compactor) it also requires the token's e-mail to be one of the configured invokers
(the queue's, the subscription's, the scheduler's service accounts); for the API any verified
identity gets in, then its role in the workspace decides. `LoopbackGate` is `arco dev` and
emulator stacks: no token, peers on loopback only, everyone admin. `UnconfiguredGate` refuses
everything and says what to configure: a function deployed without auth settings is closed.

Roles come from `access_grants` (folded from `access.changed` events) and the deployment's first
admins. A deployment serves a declared set of workspaces (`WorkspaceDirectory`); a workspace
exists once created, and nothing else creates one.
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
