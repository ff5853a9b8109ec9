"""Who may do what in a workspace: roles, identities, and grants recorded as events.

Three roles, each including the one before it:

    viewer    reads everything of the workspace
    operator  launches and cancels runs and backfills, starts and stops schedules and sensors,
              moves cursors, executes reconciliation
    admin     changes settings, deploys definitions, grants and revokes access

A grant is an `access.changed` event (the role, or None for a revoke); the fold keeps the latest
per principal in `access_grants`, so grants are audited and rebuilt like everything else. The
first admins of a workspace come from the deployment's configuration, not from the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.errors import InvalidInput
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import Column, TableSpec

ACCESS_CHANGED = "access.changed"

# An e-mail address as Google puts it in an ID token's `email` claim (users and service
# accounts), or `group:`/`domain:` are not supported: one principal is one identity.
_PRINCIPAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}")


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """True if holding this role is enough for an action that needs `needed`."""
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise InvalidInput(
            f"unknown role {text!r}: use one of {', '.join(r.value for r in Role)}"
        ) from None


def validate_principal(text: str) -> str:
    """A principal is a verified e-mail address (a user or a service account), lower-cased."""
    if not isinstance(text, str) or not _PRINCIPAL.fullmatch(text):
        raise InvalidInput(
            f"invalid principal {text!r}: give the e-mail address of a user or service account"
        )
    return text.lower()


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller. `principal` is what history records as the author of a write.

    `local` marks the open local-development identity (`arco dev`, the CLI on the store).
    """

    principal: str
    local: bool = False


ACCESS_GRANTS = TableSpec(
    name="access_grants",
    key=("principal",),
    columns=(
        Column("principal", "string"),
        Column("role", "string"),
        Column("changed_at_ms", "int64"),
        Column("changed_by", "string"),
    ),
    description="The role each principal holds in the workspace (null role: revoked).",
)


class AccessChanged(BaseModel):
    """`principal` was granted `role` (None: every role revoked) by `changed_by`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str = Field(min_length=3, max_length=320)
    role: Role | None
    changed_by: str = Field(min_length=1, max_length=320)
    request_id: str = Field(min_length=1, max_length=200)


def access_idempotency_key(principal: str, request_id: str) -> str:
    return f"access:{principal}:{request_id}"


def fold_access_changed(ctx: FoldContext, event: AccessChanged) -> Outcome:
    return ctx.put_if_newer(
        ACCESS_GRANTS.name,
        {
            "principal": event.principal,
            "role": event.role.value if event.role else None,
            "changed_at_ms": ctx.time_ms,
            "changed_by": event.changed_by,
        },
    )


def install(registry: Registry) -> None:
    registry.add_table(ACCESS_GRANTS)
    registry.add_event(
        EventType(
            name=ACCESS_CHANGED,
            version=1,
            payload=AccessChanged,
            rule=fold_access_changed,
            description="An admin granted or revoked a principal's role in the workspace.",
        )
    )
