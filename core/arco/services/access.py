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

import ipaddress
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from arco.domain.access import (
    ACCESS_CHANGED,
    ACCESS_GRANTS,
    AccessChanged,
    Identity,
    Role,
    access_idempotency_key,
    validate_principal,
)
from arco.domain.errors import ArcoError, Forbidden, InvalidInput, NotFound
from arco.domain.names import validate_key_component, validate_workspace
from arco.ledger.writer import NewEvent
from arco.storage.port import ObjectStore

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
    from arco.projections.cache import Snapshot
    from arco.services.workspace import Workspace

LOCAL_PRINCIPAL = "local-dev"


class TokenVerifier(Protocol):
    """Checks a request's `Authorization` header; `arco.cloud.oidc.OidcVerifier` in production."""

    def verify(self, authorization: str | None) -> Identity: ...


class Gate(Protocol):
    """Identifies and authorizes the callers of one entry point."""

    @property
    def open(self) -> bool:
        """True when nothing is verified (local development): said loudly at start."""
        ...

    def identify(self, authorization: str | None, peer: str | None) -> Identity: ...

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None: ...


# -- roles --


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


# -- gates --


def is_loopback(peer: str | None) -> bool:
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TokenGate:
    """Google-signed ID tokens. `invokers` set: only those e-mails (an engine function);
    unset: any verified identity, then roles in the workspace (the API)."""

    verifier: TokenVerifier
    invokers: frozenset[str] | None = None
    admins: frozenset[str] = frozenset()

    @property
    def open(self) -> bool:
        return False

    def identify(self, authorization: str | None, peer: str | None) -> Identity:
        identity = self.verifier.verify(authorization)
        if self.invokers is not None and identity.principal not in self.invokers:
            raise Forbidden(f"{identity.principal} may not call this function")
        return identity

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None:
        if self.invokers is not None:
            return  # an engine's invoker acts for the deployment
        require_role(ws, identity, role, self.admins)


@dataclass(frozen=True)
class LoopbackGate:
    """No verification, for `arco dev` and local emulator stacks: only loopback peers."""

    @property
    def open(self) -> bool:
        return True

    def identify(self, authorization: str | None, peer: str | None) -> Identity:
        if not is_loopback(peer):
            raise Forbidden(f"auth is off: only loopback callers are served, not {peer!r}")
        return Identity(LOCAL_PRINCIPAL, local=True)

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None:
        return None


@dataclass(frozen=True)
class UnconfiguredGate:
    """A function deployed without auth settings: closed, and it says what to set."""

    missing: str

    @property
    def open(self) -> bool:
        return False

    def identify(self, authorization: str | None, peer: str | None) -> Identity:
        raise NotConfigured(self.missing)

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None:
        raise NotConfigured(self.missing)


class NotConfigured(ArcoError):
    """The function has no auth configuration: every request is refused until it has."""


# -- workspaces --


DIRECTORY_PREFIX = "directory/workspaces/"


def workspace_marker(name: str) -> str:
    """The create-once object that makes a workspace exist. Outside every workspace's prefix,
    so listing the workspaces lists only these."""
    return f"{DIRECTORY_PREFIX}{validate_workspace(name)}.json"


@dataclass
class WorkspaceDirectory:
    """The workspaces a deployment serves: created ones (a create-once marker object), limited
    to `declared` when the deployment names them. Opened workspaces are cached per instance
    (a workspace is never deleted, so a positive answer stays true)."""

    store: ObjectStore
    build: Callable[[str], Workspace]
    declared: frozenset[str] | None = None
    _open: dict[str, Workspace] = field(default_factory=dict, init=False, repr=False)
    _known: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def open(self, name: str) -> Workspace:
        """The served workspace `name`, or NotFound (see `check`)."""
        with self._lock:
            cached = self._open.get(name)
        if cached is not None:
            return cached
        self.check(name)
        ws = self.build(name)
        with self._lock:
            return self._open.setdefault(name, ws)

    def check(self, name: str) -> str:
        """`name` if this deployment serves it, else NotFound: the same answer for undeclared
        and for not created, with the command that would create it. One read, then cached."""
        with self._lock:
            if name in self._known:
                return name
        validate_workspace(name)
        if self.declared is not None and name not in self.declared:
            raise NotFound(f"workspace {name!r} is not served by this deployment")
        if self.store.get(workspace_marker(name)) is None:
            raise NotFound(
                f"workspace {name!r} does not exist (create it: arco workspace create {name})"
            )
        with self._lock:
            self._known.add(name)
        return name

    def create(self, name: str, created_by: str, now_ms: int) -> bool:
        """Create workspace `name` (False if it existed). Refused outside the declared set."""
        validate_workspace(name)
        if self.declared is not None and name not in self.declared:
            raise InvalidInput(
                f"workspace {name!r} is not in this deployment's declared workspaces "
                f"({', '.join(sorted(self.declared))}); add it to ARCO_WORKSPACES first"
            )
        body = json.dumps({"workspace": name, "created_by": created_by, "created_ms": now_ms})
        return self.store.create(workspace_marker(name), body.encode()).ok

    def names(self) -> list[str]:
        """Every created workspace this deployment serves."""
        found = []
        for listed in self.store.list(DIRECTORY_PREFIX):
            name = listed.key[len(DIRECTORY_PREFIX) :]
            if name.endswith(".json"):
                found.append(name[: -len(".json")])
        return sorted(n for n in found if self.declared is None or n in self.declared)
