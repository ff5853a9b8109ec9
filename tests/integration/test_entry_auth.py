"""Every entry point verifies its caller before it reads or writes anything.

The five functions, served by functions-framework from functions/main.py with auth configured as
a deployment configures it (ARCO_AUDIENCE, ARCO_INVOKERS, ARCO_ADMINS), each called with: no
token, a malformed token, an expired one, one for another audience, a verified identity that is
not allowed (a foreign service account, or an API caller without a role), an identity whose role
is too low, and the right identity. Every refusal leaves the store listing byte-for-byte as it
was; the right identity gets its 2xx.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from arco.domain.run_controller import TaskOrder
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import NoWorkers
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import now_of
from tests.oidc import CertServer
from tests.workspaces import create_workspaces

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
LOCATION = "tests.fixtures.sensors_graph:defs"
AUDIENCE = "https://arco.example/"
INVOKER = "arco-tasks@proj.iam.gserviceaccount.com"
ADMIN = "admin@example.com"
OPERATOR = "operator@example.com"
VIEWER = "viewer@example.com"
STRANGER = "stranger@example.com"
WS = "prod"


@dataclass(frozen=True)
class Call:
    """One request to an entry point: what it sends and the status the right caller gets."""

    entry: str
    method: str
    path: str
    body: Callable[[], Any]
    ok: int


def _envelope() -> dict[str, Any]:
    data = base64.b64encode(b'{"day": "2024-01-02"}').decode()
    return {
        "message": {"data": data, "messageId": "m-1", "publishTime": "2024-02-01T00:00:00Z"},
        "subscription": "projects/test-project/subscriptions/orders-landed",
    }


@pytest.fixture
def certs() -> Iterator[CertServer]:
    with CertServer() as server:
        yield server


@pytest.fixture
def ws(tmp_path: Path, certs: CertServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    for name, value in {
        "ARCO_STORE": f"file://{tmp_path}",
        "ARCO_WORKSPACE": WS,
        "ARCO_WORKSPACES": f"{WS},other",
        "ARCO_DEFINITIONS": LOCATION,
        "ARCO_AUDIENCE": AUDIENCE,
        "ARCO_INVOKERS": INVOKER,
        "ARCO_ADMINS": ADMIN,
        "ARCO_CERTS_URL": certs.url,
    }.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("main", None)
    store = LocalObjectStore(tmp_path)
    create_workspaces(store, WS)
    workspace = Workspace(store, WS, lookback_ms=3_600_000, source="test")
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    from arco.domain.access import Role
    from arco.services.commands.access import change_access

    change_access(workspace, OPERATOR, Role.OPERATOR, "r1", ADMIN)
    change_access(workspace, VIEWER, Role.VIEWER, "r2", ADMIN)
    workspace.compactor.compact_until_idle()
    return workspace


def _order(ws: Workspace) -> dict[str, Any]:
    """A task order the timer really dispatched."""
    launch_run(ws, LaunchRequest("key:orders", partition="2024-01-02"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    (order,) = [o for o in waiting.pending if isinstance(o, TaskOrder)]
    ws.compactor.compact_until_idle()
    return order.to_json()


def listing(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _send(client: Any, call: Call, body: Any, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.open(call.path, method=call.method, json=body, headers=headers)


ENGINE_CALLS = {
    "timer": Call("timer", "POST", "/", lambda: {}, 200),
    "compactor": Call("compactor", "POST", "/", lambda: {}, 200),
    "sensor_push": Call("sensor_push", "POST", "/", _envelope, 200),
    "worker": Call("worker", "POST", "/", dict, 200),  # the body: a dispatched order (_order)
}


def _cases(certs: CertServer, allowed: str) -> dict[str, tuple[str | None, int]]:
    """(token, expected status) per case, for a caller list whose right identity is `allowed`."""
    return {
        "no token": (None, 401),
        "malformed": ("not-a-jwt", 401),
        "expired": (certs.token(AUDIENCE, email=allowed, expires_in=-3600), 401),
        "wrong audience": (certs.token("https://elsewhere.example/", email=allowed), 401),
        "unverified e-mail": (certs.token(AUDIENCE, email=allowed, email_verified=False), 401),
        "wrong identity": (certs.token(AUDIENCE, email=STRANGER), 403),
    }


@pytest.mark.parametrize("entry", ["timer", "compactor", "sensor_push", "worker"])
def test_engine_functions_refuse_all_but_their_invokers(
    entry: str, ws: Workspace, certs: CertServer, tmp_path: Path
) -> None:
    call = ENGINE_CALLS[entry]
    body = _order(ws) if entry == "worker" else call.body()
    client = create_app(target=entry, source=MAIN).test_client()
    # An admin of the workspace is a person, not the queue: an engine takes only its invokers.
    cases = {
        **_cases(certs, INVOKER),
        "admin, not an invoker": (certs.token(AUDIENCE, email=ADMIN), 403),
    }
    for case, (token, status) in cases.items():
        before = listing(tmp_path)
        response = _send(client, call, body, token)
        assert response.status_code == status, (case, response.json)
        assert response.json["error"]["code"] in ("unauthenticated", "forbidden"), case
        if status == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
        assert listing(tmp_path) == before, f"{entry}: {case} wrote something"
    good = _send(client, call, body, certs.token(AUDIENCE, email=INVOKER))
    assert good.status_code == call.ok, good.json


API_READ = "/v1/workspaces/prod/state"
API_OPERATE = "/v1/workspaces/prod/sensors/new_files/start"
API_ADMIN = "/v1/workspaces/prod/settings/runs.max_in_flight"


def test_the_api_refuses_unknown_callers_and_too_low_roles(
    ws: Workspace, certs: CertServer, tmp_path: Path
) -> None:
    client = create_app(target="api", source=MAIN).test_client()
    write = Call("api", "PUT", API_ADMIN, lambda: {"value": 3}, 202)
    cases = {
        **_cases(certs, ADMIN),
        "no role": (certs.token(AUDIENCE, email=STRANGER), 403),
        "viewer writes": (certs.token(AUDIENCE, email=VIEWER), 403),
        "operator changes a setting": (certs.token(AUDIENCE, email=OPERATOR), 403),
        "an engine's invoker": (certs.token(AUDIENCE, email=INVOKER), 403),
    }
    for case, (token, status) in cases.items():
        before = listing(tmp_path)
        response = _send(client, write, write.body(), token)
        assert response.status_code == status, (case, response.json)
        assert listing(tmp_path) == before, f"api: {case} wrote something"

    # The right roles: a viewer reads, the deployment's admin changes a setting, and the
    # change records who made it.
    viewer = certs.token(AUDIENCE, email=VIEWER)
    assert _send(client, Call("api", "GET", API_READ, dict, 200), None, viewer).status_code == 200
    # An operator route: a viewer is refused (nothing written), an operator acts.
    operate = Call("api", "POST", API_OPERATE, dict, 202)
    before = listing(tmp_path)
    assert _send(client, operate, {}, viewer).status_code == 403
    assert listing(tmp_path) == before
    operator = certs.token(AUDIENCE, email=OPERATOR)
    assert _send(client, operate, {}, operator).status_code == 202
    admin = certs.token(AUDIENCE, email=ADMIN)
    assert _send(client, write, write.body(), admin).status_code == 202
    ws.compactor.compact_until_idle()
    row = ws.snapshot().rows("workspace_settings")[("runs.max_in_flight",)]
    assert row["changed_by"] == ADMIN


def test_a_workspace_not_served_is_404_and_nothing_is_created(
    ws: Workspace, certs: CertServer, tmp_path: Path
) -> None:
    client = create_app(target="api", source=MAIN).test_client()
    admin = certs.token(AUDIENCE, email=ADMIN)
    before = listing(tmp_path)
    for name in ("typo-ws", "other"):  # undeclared; declared but never created
        path = f"/v1/workspaces/{name}/settings/runs.max_in_flight"
        response = client.put(path, json={"value": 3}, headers={"Authorization": f"Bearer {admin}"})
        assert response.status_code == 404, response.json
    assert listing(tmp_path) == before


def test_a_worker_order_for_a_workspace_not_served_runs_nothing(
    ws: Workspace, certs: CertServer, tmp_path: Path
) -> None:
    order = _order(ws)
    client = create_app(target="worker", source=MAIN).test_client()
    token = certs.token(AUDIENCE, email=INVOKER)
    before = listing(tmp_path)
    for name in ("victim", "other"):
        response = _send(client, ENGINE_CALLS["timer"], {**order, "workspace": name}, token)
        assert response.status_code == 404, response.json
    forged = {**order, "attempt": 3}
    response = _send(client, ENGINE_CALLS["worker"], forged, token)
    assert response.status_code == 400 and "not dispatched" in response.json["error"]["message"]
    assert listing(tmp_path) == before


def test_a_function_without_auth_configuration_refuses_everything(
    ws: Workspace, certs: CertServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCO_AUDIENCE")
    sys.modules.pop("main", None)
    token = certs.token(AUDIENCE, email=INVOKER)
    before = listing(tmp_path)
    for entry in ("timer", "compactor", "sensor_push", "worker"):
        client = create_app(target=entry, source=MAIN).test_client()
        response = _send(client, ENGINE_CALLS["timer"], {}, token)
        assert response.status_code == 500
        assert response.json["error"]["code"] == "auth_not_configured"
        assert "ARCO_AUDIENCE" in response.json["error"]["message"]
    api = create_app(target="api", source=MAIN).test_client()
    response = api.get(API_READ, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500 and "ARCO_AUDIENCE" in response.json["error"]["message"]
    assert listing(tmp_path) == before


def test_auth_off_is_refused_on_cloud_run(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind the platform's front end a local proxy can make every peer loopback: auth off is
    for local stacks, and a deployed function with it refuses everything."""
    monkeypatch.setenv("ARCO_AUTH", "off-loopback")
    monkeypatch.setenv("K_SERVICE", "compactor")
    sys.modules.pop("main", None)
    before = listing(tmp_path)
    response = create_app(target="compactor", source=MAIN).test_client().post("/")
    assert response.status_code == 500 and "local stacks only" in response.json["error"]["message"]
    assert listing(tmp_path) == before


def test_auth_off_serves_loopback_peers_only(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_AUTH", "off-loopback")
    sys.modules.pop("main", None)
    client = create_app(target="compactor", source=MAIN).test_client()
    before = listing(tmp_path)
    remote = client.post("/", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403 and "loopback" in remote.json["error"]["message"]
    # A web page cannot drive it: a rebound DNS name, a page's origin, a proxy in front.
    for headers in (
        {"Host": "evil.example"},
        {"Origin": "https://evil.example"},
        {"X-Forwarded-For": "10.1.2.3"},
    ):
        assert client.post("/", headers=headers).status_code == 403, headers
    assert listing(tmp_path) == before
    assert client.post("/").status_code == 200  # the test client's peer is 127.0.0.1


def test_a_timer_workspace_outside_the_served_set_is_a_misconfiguration(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_WORKSPACE", "elsewhere")
    sys.modules.pop("main", None)
    response = create_app(target="timer", source=MAIN).test_client().post("/")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "misconfigured"
    assert "ARCO_WORKSPACES" in response.json["error"]["message"]
