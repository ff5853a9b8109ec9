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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from arco.domain.access import (
    Identity,
    Role,
)
from arco.domain.errors import ArcoError, Forbidden
from arco.services.queries.access import require_role

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
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
