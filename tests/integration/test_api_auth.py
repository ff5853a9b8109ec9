"""The API with auth on: Google-signed ID tokens (a local signing key), roles per workspace,
workspaces that exist only once created, and refusals that write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from arco.api.app import create_app
from arco.cloud.oidc import OidcVerifier
from arco.domain.access import Identity, Role
from arco.domain.errors import AuthUnavailable
from arco.services.auth import TokenGate, UnconfiguredGate
from arco.services.workspace import Workspace
from arco.services.workspaces import WorkspaceDirectory
from arco.storage.memory import MemoryObjectStore
from tests.oidc import CertServer

AUDIENCE = "https://api.example.test"
ADMIN = "admin@example.com"
OPERATOR = "operator@example.com"
VIEWER = "viewer@example.com"
STRANGER = "stranger@example.com"
SETTING = "/v1/workspaces/w1/settings/runs.max_in_flight"


@pytest.fixture(scope="module")
def certs() -> Iterator[CertServer]:
    with CertServer(max_age=3600) as server:
        yield server


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def ws(store: MemoryObjectStore) -> Workspace:
    return Workspace(store, "w1", source="api-test")


@pytest.fixture
def client(store: MemoryObjectStore, ws: Workspace, certs: CertServer) -> FlaskClient:
    directory = WorkspaceDirectory(store, build=lambda name: ws)
    directory.create("w1", ADMIN, 0)
    gate = TokenGate(OidcVerifier(AUDIENCE, certs_url=certs.url), admins=frozenset({ADMIN}))
    return create_app(directory, gate, frozenset({ADMIN})).test_client()


def bearer(certs: CertServer, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {certs.token(AUDIENCE, email=email)}"}


def listing(store: MemoryObjectStore) -> list[tuple[str, int]]:
    """Every object in the store (key, size): a refusal leaves this identical."""
    return sorted((o.key, o.size) for o in store.list(""))


def grant(client: FlaskClient, certs: CertServer, ws: Workspace, principal: str, role: str) -> None:
    response = client.put(
        f"/v1/workspaces/w1/access/{principal}",
        json={"role": role},
        headers=bearer(certs, ADMIN),
    )
    assert response.status_code == 202, response.json


def test_no_token_is_401_with_a_bearer_challenge_and_writes_nothing(
    client: FlaskClient, certs: CertServer, store: MemoryObjectStore
) -> None:
    before = listing(store)
    response = client.put(SETTING, json={"value": 3})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json == {
        "error": {"code": "unauthenticated", "message": response.json["error"]["message"]}
    }  # type: ignore[index]
    forged = client.put(SETTING, json={"value": 3}, headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    expired = client.put(
        SETTING,
        json={"value": 3},
        headers={"Authorization": f"Bearer {certs.token(AUDIENCE, email=ADMIN, expires_in=-60)}"},
    )
    assert expired.status_code == 401
    assert listing(store) == before
    # Reads too: nothing is readable without an identity.
    assert client.get("/v1/workspaces/w1/settings").status_code == 401
    assert client.get("/v1/workspaces").status_code == 401
    # Public: health and the contract.
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_a_viewer_reads_but_may_not_operate(
    client: FlaskClient, certs: CertServer, ws: Workspace, store: MemoryObjectStore
) -> None:
    # A principal without any grant may not even read.
    assert client.get("/v1/workspaces/w1/runs", headers=bearer(certs, VIEWER)).status_code == 403
    grant(client, certs, ws, VIEWER, "viewer")
    assert client.get("/v1/workspaces/w1/runs", headers=bearer(certs, VIEWER)).status_code == 200
    before = listing(store)
    response = client.post(
        "/v1/workspaces/w1/runs", json={"selection": "*"}, headers=bearer(certs, VIEWER)
    )
    assert response.status_code == 403
    message = response.json["error"]["message"]  # type: ignore[index]
    assert "viewer" in message and "operator" in message
    for verb in ("start", "stop"):  # the automation switch is an operator's
        url = f"/v1/workspaces/w1/automation/{verb}"
        assert client.post(url, json={}, headers=bearer(certs, VIEWER)).status_code == 403
        assert client.post(url, json={}).status_code == 401
    assert client.get("/v1/workspaces/w1/automation", headers=bearer(certs, VIEWER)).json
    assert listing(store) == before


def test_an_operator_may_not_administer(
    client: FlaskClient, certs: CertServer, ws: Workspace, store: MemoryObjectStore
) -> None:
    grant(client, certs, ws, OPERATOR, "operator")
    before = listing(store)
    for method, url, body in (
        ("put", SETTING, {"value": 3}),
        ("put", f"/v1/workspaces/w1/access/{STRANGER}", {"role": "admin"}),
        ("delete", f"/v1/workspaces/w1/access/{VIEWER}", {}),
        ("post", "/v1/workspaces", {"name": "w2"}),
    ):
        response = getattr(client, method)(url, json=body, headers=bearer(certs, OPERATOR))
        assert response.status_code == 403, (url, response.json)
    assert (
        client.get("/v1/workspaces/w1/access", headers=bearer(certs, OPERATOR)).status_code == 403
    )
    assert listing(store) == before
    # What an operator may do: schedules, sensors, runs (here a 404 from the service: none are
    # deployed; the role check passed).
    response = client.post(
        "/v1/workspaces/w1/schedules/nightly/start", headers=bearer(certs, OPERATOR)
    )
    assert response.status_code == 404


def test_a_workspace_that_was_not_created_is_404_and_nothing_is_written(
    client: FlaskClient, certs: CertServer, store: MemoryObjectStore
) -> None:
    before = listing(store)
    for headers in (bearer(certs, ADMIN), bearer(certs, STRANGER)):
        response = client.put(
            "/v1/workspaces/typo-ws/settings/runs.max_in_flight", json={"value": 3}, headers=headers
        )
        assert response.status_code == 404
        assert "arco workspace create typo-ws" in response.json["error"]["message"]  # type: ignore[index]
    assert listing(store) == before


def test_grant_then_act_revoke_then_403_and_the_ledger_says_who(
    client: FlaskClient, certs: CertServer, ws: Workspace
) -> None:
    grant(client, certs, ws, OPERATOR, "admin")
    # The grantee acts, and the write records its e-mail.
    response = client.put(SETTING, json={"value": 7}, headers=bearer(certs, OPERATOR))
    assert response.status_code == 202, response.json
    ws.compactor.compact_until_idle()
    settings = client.get("/v1/workspaces/w1/settings", headers=bearer(certs, OPERATOR)).json
    row = {s["name"]: s for s in settings["settings"]}["runs.max_in_flight"]  # type: ignore[index]
    assert row["value"] == 7 and row["changed_by"] == OPERATOR
    # The grant is listed with the admin who made it; the deployment admin is listed first.
    access = client.get("/v1/workspaces/w1/access", headers=bearer(certs, ADMIN)).json
    assert access["access"][0] == {  # type: ignore[index]
        "principal": ADMIN,
        "role": "admin",
        "source": "deployment",
        "changed_by": None,
        "changed_at_ms": None,
    }
    granted = {a["principal"]: a for a in access["access"]}[OPERATOR]  # type: ignore[index]
    assert granted["role"] == "admin" and granted["changed_by"] == ADMIN
    assert granted["source"] == "grant"
    # Revoked: refused at once (the API publishes access changes itself, so a revoke does not
    # wait for the timer), and the revoke is history too.
    response = client.delete(f"/v1/workspaces/w1/access/{OPERATOR}", headers=bearer(certs, ADMIN))
    assert response.status_code == 202 and response.json["role"] is None  # type: ignore[index]
    response = client.put(SETTING, json={"value": 8}, headers=bearer(certs, OPERATOR))
    assert response.status_code == 403
    access = client.get("/v1/workspaces/w1/access", headers=bearer(certs, ADMIN)).json
    revoked = {a["principal"]: a for a in access["access"]}[OPERATOR]  # type: ignore[index]
    assert revoked["role"] is None and revoked["changed_by"] == ADMIN


def test_bad_grants_are_400_and_write_nothing(
    client: FlaskClient, certs: CertServer, store: MemoryObjectStore
) -> None:
    before = listing(store)
    for url, body, needle in (
        (f"/v1/workspaces/w1/access/{VIEWER}", {"role": "owner"}, "body.role"),
        (f"/v1/workspaces/w1/access/{VIEWER}", {}, "body.role: Field required"),
        (
            "/v1/workspaces/w1/access/not-an-email",
            {"role": "viewer"},
            "path.principal: invalid principal",
        ),
    ):
        response = client.put(url, json=body, headers=bearer(certs, ADMIN))
        assert response.status_code == 400, response.json
        assert needle in response.json["error"]["message"]  # type: ignore[index]
    assert listing(store) == before


def test_workspaces_are_listed_to_their_members_and_created_by_deployment_admins(
    client: FlaskClient, certs: CertServer, store: MemoryObjectStore, ws: Workspace
) -> None:
    # A Google account with no role learns no workspace name; a member sees its workspaces.
    listed = client.get("/v1/workspaces", headers=bearer(certs, STRANGER))
    assert listed.status_code == 200 and listed.json == {"workspaces": []}
    grant(client, certs, ws, VIEWER, "viewer")
    listed = client.get("/v1/workspaces", headers=bearer(certs, VIEWER))
    assert listed.json == {"workspaces": ["w1"]}
    before = listing(store)
    refused = client.post("/v1/workspaces", json={"name": "w2"}, headers=bearer(certs, STRANGER))
    assert refused.status_code == 403 and listing(store) == before
    created = client.post("/v1/workspaces", json={"name": "w2"}, headers=bearer(certs, ADMIN))
    assert created.status_code == 201 and created.json == {"workspace": "w2", "created": True}
    again = client.post("/v1/workspaces", json={"name": "w2"}, headers=bearer(certs, ADMIN))
    assert again.status_code == 200 and again.json == {"workspace": "w2", "created": False}
    bad = client.post("/v1/workspaces", json={"name": "No Good"}, headers=bearer(certs, ADMIN))
    assert bad.status_code == 400 and "body.name" in bad.json["error"]["message"]  # type: ignore[index]
    listed = client.get("/v1/workspaces", headers=bearer(certs, ADMIN))
    assert listed.json == {"workspaces": ["w1", "w2"]}


def test_unconfigured_and_unavailable_auth(store: MemoryObjectStore, ws: Workspace) -> None:
    directory = WorkspaceDirectory(store, build=lambda name: ws)
    directory.create("w1", ADMIN, 0)
    closed = create_app(directory, UnconfiguredGate("set ARCO_AUDIENCE")).test_client()
    before = listing(store)
    response = closed.get("/v1/workspaces/w1/settings")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "auth_not_configured"  # type: ignore[index]
    assert (
        listing(store) == before
    )  # (what bootstrap configures: tests/integration/test_entry_auth.py)

    class Down:
        def verify(self, authorization: str | None) -> Identity:
            raise AuthUnavailable("certificates unreachable")

    down = create_app(directory, TokenGate(Down())).test_client()
    response = down.get("/v1/workspaces/w1/settings", headers={"Authorization": "Bearer x"})
    assert response.status_code == 503
    assert response.json["error"]["code"] == "auth_unavailable"  # type: ignore[index]


def test_every_write_needs_at_least_an_operator_and_access_and_settings_an_admin() -> None:
    """The rule, checked over the whole table: a route added with too low a role fails here."""
    from arco.api.routes import route_table

    for route in route_table():
        if not route.workspace:
            continue
        if route.method != "GET":
            assert isinstance(route.access, Role) and route.access.allows(Role.OPERATOR), route
        if "/access" in route.path or (route.method != "GET" and "/settings" in route.path):
            assert route.access is Role.ADMIN, route


def test_roles_follow_the_route_table() -> None:
    from arco.api.routes import route_table

    roles = {(r.method, r.path): r.access for r in route_table()}
    ws = "/v1/workspaces/{name}"
    assert all(
        a is Role.VIEWER
        for (m, p), a in roles.items()
        if m == "GET" and p.startswith(ws) and not p.endswith("/access")
    )
    assert roles[("PUT", f"{ws}/settings/{{setting}}")] is Role.ADMIN
    assert roles[("POST", f"{ws}/reconciliation/execute")] is Role.OPERATOR
    assert roles[("POST", f"{ws}/sensors/{{sensor}}/cursor")] is Role.OPERATOR
    assert roles[("GET", f"{ws}/access")] is Role.ADMIN
