"""The HTTP API through Flask's test client: JSON in, JSON out, 4xx that name the problem."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from arco.api.app import create_app
from arco.api.openapi import openapi_document
from arco.services.workspace import Workspace
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ObjectStore


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def workspaces(store: ObjectStore) -> dict[str, Workspace]:
    return {}


@pytest.fixture
def client(store: ObjectStore, workspaces: dict[str, Workspace]) -> FlaskClient:
    def factory(name: str) -> Workspace:
        return workspaces.setdefault(name, Workspace(store, name, source="api-test"))

    return create_app(factory).test_client()


def ledger_size(store: ObjectStore) -> int:
    return len(list(store.list("workspaces/")))


def test_health(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"  # type: ignore[index]


def test_change_a_setting_and_read_it_after_compaction(
    client: FlaskClient, workspaces: dict[str, Workspace]
) -> None:
    response = client.put(
        "/v1/workspaces/w1/settings/runs.max_in_flight", json={"value": 3, "request_id": "req-1"}
    )
    assert response.status_code == 202
    assert response.json["value"] == 3  # type: ignore[index]
    workspaces["w1"].compactor.compact()
    settings = {s["name"]: s for s in client.get("/v1/workspaces/w1/settings").json["settings"]}  # type: ignore[index]
    assert settings["runs.max_in_flight"]["value"] == 3
    assert settings["runs.max_in_flight"]["changed_by"] == "api"
    state = client.get("/v1/workspaces/w1/state").json
    assert state["manifest_id"] == 1 and state["tables"]["workspace_settings"]["rows"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    "path, body, status, needle",
    [
        ("/v1/workspaces/w1/settings/runs.max_in_flight", {"value": "lots"}, 400, "needs a int"),
        ("/v1/workspaces/w1/settings/no.such", {"value": 1}, 400, "unknown setting"),
        ("/v1/workspaces/w1/settings/runs.max_in_flight", {"valu": 1}, 400, "body must be"),
        (
            "/v1/workspaces/w1/settings/runs.max_in_flight",
            {"value": 1, "x": 2},
            400,
            "unknown fields",
        ),
        (
            "/v1/workspaces/W%20X/settings/runs.max_in_flight",
            {"value": 1},
            400,
            "invalid workspace",
        ),
        (
            "/v1/workspaces/w1/settings/runs.max_in_flight",
            {"value": 1, "request_id": "a/b"},
            400,
            "invalid request id",
        ),
    ],
)
def test_bad_input_is_a_json_4xx_and_writes_nothing(
    client: FlaskClient, store: ObjectStore, path: str, body: object, status: int, needle: str
) -> None:
    response = client.put(path, json=body)
    assert response.status_code == status
    assert needle in response.json["error"]["message"]  # type: ignore[index]
    assert ledger_size(store) == 0


def test_not_json_body(client: FlaskClient, store: ObjectStore) -> None:
    response = client.put(
        "/v1/workspaces/w1/settings/runs.max_in_flight",
        data=b"{nope",
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_input"  # type: ignore[index]
    assert ledger_size(store) == 0


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    response = client.get("/v1/nothing/here")
    assert response.status_code == 404 and "error" in response.json  # type: ignore[operator]


def test_openapi_document_matches_the_routes(client: FlaskClient) -> None:
    served = client.get("/openapi.json").json
    assert served == openapi_document()
    app = client.application
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = (
            rule.rule.replace("<name>", "{ws}")
            .replace("<setting>", "{name}")
            .replace("<path:asset>", "{asset}")
            .replace("<schedule>", "{schedule}")
            .replace("<definition>", "{definition}")
            .replace("<sensor>", "{sensor}")
            .replace("<run_id>", "{run_id}")
            .replace("<backfill_id>", "{backfill_id}")
        )
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            routes.add((path, method.lower()))
    documented = {(p, m) for p, ops in served["paths"].items() for m in ops}  # type: ignore[index]
    assert routes == documented
