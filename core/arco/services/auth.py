"""Who may call an entry point: callers identified by a `Gate`, before anything is touched.

    Gate.identify(caller)              -> Identity   (Unauthenticated 401, Forbidden 403,
                                                      AuthUnavailable 503, NotConfigured 500)
    Gate.authorize(identity, ws, role)                (Forbidden 403)

`TokenGate` verifies Google-signed ID tokens; for the engine functions (timer, worker,
sensor_push, compactor) it also requires the token's e-mail to be one of the configured invokers
(the queue's, the subscription's, the scheduler's service accounts); for the API any verified
identity gets in, then its role in the workspace decides (`queries.access`). `LoopbackGate` is
`arco dev` and local emulator stacks: no token, loopback peers only, and no browser page from
elsewhere (foreign Host or Origin), everyone admin. `UnconfiguredGate` refuses everything and
says what to configure: a function deployed without auth settings is closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from arco.domain.access import (
    Identity,
    Role,
)
from arco.domain.errors import Forbidden, Misconfigured
from arco.services.queries.access import require_role

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
    from arco.services.workspace import Workspace

LOCAL_PRINCIPAL = "local-dev"


class TokenVerifier(Protocol):
    """Checks a request's `Authorization` header; `arco.cloud.oidc.OidcVerifier` in production."""

    def verify(self, authorization: str | None) -> Identity: ...


@dataclass(frozen=True)
class Caller:
    """What a gate sees of a request: its headers (lower-cased names) and its peer address."""

    headers: Mapping[str, str] = field(default_factory=dict)
    peer: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str], peer: str | None) -> Caller:
        return cls({k.lower(): v for k, v in headers.items()}, peer)

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class Gate(Protocol):
    """Identifies and authorizes the callers of one entry point."""

    @property
    def open(self) -> bool:
        """True when nothing is verified (local development): said loudly at start."""
        ...

    def identify(self, caller: Caller) -> Identity: ...

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

    def identify(self, caller: Caller) -> Identity:
        identity = self.verifier.verify(caller.authorization)
        if self.invokers is not None and identity.principal not in self.invokers:
            raise Forbidden(f"{identity.principal} may not call this function")
        return identity

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None:
        if self.invokers is not None:
            return  # an engine's invoker acts for the deployment
        require_role(ws, identity, role, self.admins)


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Headers a proxy adds: behind one, every peer is the proxy's loopback address.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip", "via")


def _host_name(value: str) -> str:
    return urlsplit(f"//{value}").hostname or ""


@dataclass(frozen=True)
class LoopbackGate:
    """No verification, for `arco dev` and local emulator stacks. Only loopback peers, and not
    through a proxy (whose peer is loopback for everyone), and not a browser page from another
    origin or a rebound DNS name (which could otherwise drive the API from a web page)."""

    @property
    def open(self) -> bool:
        return True

    def identify(self, caller: Caller) -> Identity:
        if not is_loopback(caller.peer):
            raise Forbidden(f"auth is off: only loopback callers are served, not {caller.peer!r}")
        proxied = [h for h in _PROXY_HEADERS if h in caller.headers]
        if proxied:
            raise Forbidden(f"auth is off: requests through a proxy are refused ({proxied[0]})")
        host = caller.headers.get("host")
        if host is not None and _host_name(host) not in _LOCAL_HOSTS:
            raise Forbidden(f"auth is off: only requests for localhost are served, not {host!r}")
        origin = caller.headers.get("origin")
        if origin is not None and urlsplit(origin).hostname not in _LOCAL_HOSTS:
            raise Forbidden(f"auth is off: requests from web pages at {origin!r} are refused")
        if caller.headers.get("sec-fetch-site") == "cross-site":
            raise Forbidden("auth is off: cross-site requests are refused")
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

    def identify(self, caller: Caller) -> Identity:
        raise NotConfigured(self.missing)

    def authorize(self, identity: Identity, ws: Workspace, role: Role) -> None:
        raise NotConfigured(self.missing)


class NotConfigured(Misconfigured):
    """The function has no auth configuration: every request is refused until it has."""
