"""Roles, grants folded from the ledger, gates, and the workspaces a deployment serves."""

from __future__ import annotations

import pytest

from arco.clock import FixedClock
from arco.domain.access import Identity, Role, parse_role, validate_principal
from arco.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from arco.services.auth import Caller, LoopbackGate, NotConfigured, TokenGate, UnconfiguredGate
from arco.services.commands.access import change_access
from arco.services.queries.access import list_access, require_role, role_of
from arco.services.workspace import Workspace
from arco.services.workspaces import WorkspaceDirectory
from arco.storage.memory import MemoryObjectStore
from tests.factories import BASE_MS

ADMIN = "admin@example.com"
ALICE = "alice@example.com"


@pytest.fixture
def ws() -> Workspace:
    return Workspace(MemoryObjectStore(), "w", clock=FixedClock(BASE_MS), source="test")


def test_roles_include_the_ones_below() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR) and not Role.OPERATOR.allows(Role.ADMIN)
    assert parse_role("operator") is Role.OPERATOR
    with pytest.raises(InvalidInput, match="unknown role 'owner'"):
        parse_role("owner")


@pytest.mark.parametrize(
    "bad", ["", "alice", "alice@", "@example.com", "a@b", "a b@c.com", "alice@example.com\n"]
)
def test_principals_are_email_addresses(bad: str) -> None:
    with pytest.raises(InvalidInput, match="invalid principal"):
        validate_principal(bad)
    assert validate_principal("Alice@Example.com") == ALICE


def test_grants_are_folded_latest_wins_and_revokes_are_kept(ws: Workspace) -> None:
    change_access(ws, ALICE, Role.VIEWER, "r1", ADMIN)
    ws.compactor.compact_until_idle()
    assert role_of(ws.snapshot(), ALICE) is Role.VIEWER
    ws.clock.advance(1)  # type: ignore[attr-defined]
    change_access(ws, ALICE, Role.OPERATOR, "r2", ADMIN)
    ws.compactor.compact_until_idle()
    assert role_of(ws.snapshot(), ALICE) is Role.OPERATOR
    ws.clock.advance(1)  # type: ignore[attr-defined]
    change_access(ws, ALICE, None, "r3", ADMIN)
    ws.compactor.compact_until_idle()
    assert role_of(ws.snapshot(), ALICE) is None
    rows = list_access(ws, admins={ADMIN})
    assert [(r["principal"], r["role"], r["source"]) for r in rows] == [
        (ADMIN, "admin", "deployment"),
        (ALICE, None, "grant"),
    ]
    assert rows[1]["changed_by"] == ADMIN
    # The same request id again is the same grant: applied once.
    change_access(ws, ALICE, Role.ADMIN, "r3", ADMIN)
    ws.compactor.compact_until_idle()
    assert role_of(ws.snapshot(), ALICE) is None


def test_require_role_names_what_is_missing(ws: Workspace) -> None:
    change_access(ws, ALICE, Role.VIEWER, "r1", ADMIN)
    ws.compactor.compact_until_idle()
    assert require_role(ws, Identity(ALICE), Role.VIEWER) is Role.VIEWER
    with pytest.raises(Forbidden, match=r"alice@example\.com has viewer .* needs operator"):
        require_role(ws, Identity(ALICE), Role.OPERATOR)
    with pytest.raises(Forbidden, match="has no role"):
        require_role(ws, Identity("bob@example.com"), Role.VIEWER)
    assert require_role(ws, Identity(ADMIN), Role.ADMIN, frozenset({ADMIN})) is Role.ADMIN
    assert require_role(ws, Identity("local-dev", local=True), Role.ADMIN) is Role.ADMIN


GOOD = Caller({"authorization": "Bearer good"}, "10.0.0.1")


class _Verifier:
    def verify(self, authorization: str | None) -> Identity:
        if authorization != "Bearer good":
            raise Unauthenticated("bad token")
        return Identity(ALICE)


def test_token_gate_for_an_engine_takes_only_its_invokers(ws: Workspace) -> None:
    engine = TokenGate(_Verifier(), invokers=frozenset({"tasks@p.iam.gserviceaccount.com"}))
    with pytest.raises(Unauthenticated):
        engine.identify(Caller({}, "10.0.0.1"))
    with pytest.raises(Forbidden, match="may not call"):
        engine.identify(GOOD)
    api = TokenGate(_Verifier())
    assert api.identify(GOOD) == Identity(ALICE)
    with pytest.raises(Forbidden):
        api.authorize(Identity(ALICE), ws, Role.VIEWER)


def test_loopback_and_unconfigured_gates(ws: Workspace) -> None:
    gate = LoopbackGate()
    assert gate.identify(Caller({}, "127.0.0.1")).local and gate.identify(Caller({}, "::1")).local
    local = {"host": "localhost:8080", "origin": "http://127.0.0.1:8080"}
    assert gate.identify(Caller.of(local, "127.0.0.1")).local
    for peer in ("10.0.0.1", "192.168.1.2", None, "garbage"):
        with pytest.raises(Forbidden, match="loopback"):
            gate.identify(Caller({}, peer))
    closed = UnconfiguredGate("set ARCO_AUDIENCE")
    with pytest.raises(NotConfigured, match="ARCO_AUDIENCE"):
        closed.identify(GOOD)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Host": "evil.example:8080"}, "localhost"),  # DNS rebinding
        ({"Host": "localhost", "Origin": "https://evil.example"}, "web pages"),  # a form POST
        ({"Host": "localhost", "Sec-Fetch-Site": "cross-site"}, "cross-site"),
        ({"X-Forwarded-For": "10.0.0.1"}, "proxy"),  # every proxied peer looks local
        ({"Forwarded": "for=10.0.0.1"}, "proxy"),
    ],
)
def test_auth_off_refuses_browsers_elsewhere_and_proxies(headers: dict[str, str], why: str) -> None:
    with pytest.raises(Forbidden, match=why):
        LoopbackGate().identify(Caller.of(headers, "127.0.0.1"))


def test_a_workspace_exists_once_created_and_within_the_declared_set() -> None:
    store = MemoryObjectStore()
    built: list[str] = []

    def build(name: str) -> Workspace:
        built.append(name)
        return Workspace(store, name)

    directory = WorkspaceDirectory(store, build, declared=frozenset({"prod", "dev"}))
    with pytest.raises(NotFound, match="arco workspace create prod"):
        directory.open("prod")
    with pytest.raises(NotFound, match="not served"):
        directory.open("typo")
    with pytest.raises(InvalidInput, match="ARCO_WORKSPACES"):
        directory.create("typo", ADMIN, 0)
    with pytest.raises(InvalidInput, match="invalid workspace name"):
        directory.open("prod\n")
    assert list(store.list("")) == []  # refusals wrote nothing
    assert directory.create("prod", ADMIN, 0) is True
    assert directory.create("prod", ADMIN, 0) is False
    assert directory.open("prod").name == "prod" and directory.open("prod").name == "prod"
    assert built == ["prod"]
    assert directory.names() == ["prod"]
