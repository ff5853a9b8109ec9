"""Roles in a workspace: who holds which (the deployment's first admins, then the latest grant
per principal, folded from `access.changed` events), and the check a route's role makes.
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
