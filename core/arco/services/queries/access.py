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

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from arco.domain.access import (
    ACCESS_GRANTS,
    Identity,
    Role,
)
from arco.domain.errors import Forbidden

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
    from arco.projections.cache import Snapshot
    from arco.services.workspace import Workspace


def role_of(snapshot: Snapshot, principal: str, admins: Iterable[str] = ()) -> Role | None:
    """The role `principal` holds: admin if the deployment names it, else its latest grant."""
    if principal in admins:
        return Role.ADMIN
    row = snapshot.rows(ACCESS_GRANTS.name).get((principal,))
    return Role(row["role"]) if row and row["role"] else None


def require_role(
    ws: Workspace, identity: Identity, needed: Role, admins: frozenset[str] = frozenset()
) -> Role:
    """The caller's role if it is at least `needed`, else Forbidden naming both."""
    if identity.local:
        return Role.ADMIN
    held = role_of(ws.snapshot(), identity.principal, admins)
    if held is None or not held.allows(needed):
        has = f"has {held.value}" if held else "has no role"
        raise Forbidden(
            f"{identity.principal} {has} in workspace {ws.name!r}; this needs {needed.value}"
            f" (an admin can grant it: arco access grant {identity.principal} {needed.value})"
        )
    return held


def list_access(ws: Workspace, admins: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every principal with a role: the deployment's admins, then the grants (revoked ones too,
    so the history of who had access is visible)."""
    out = [
        {
            "principal": p,
            "role": Role.ADMIN.value,
            "source": "deployment",
            "changed_by": None,
            "changed_at_ms": None,
        }
        for p in sorted(admins)
    ]
    rows = ws.snapshot().rows(ACCESS_GRANTS.name)
    for (principal,), row in sorted(rows.items()):
        out.append(
            {
                "principal": principal,
                "role": row["role"],
                "source": "grant",
                "changed_by": row["changed_by"],
                "changed_at_ms": row["changed_at_ms"],
            }
        )
    return out
