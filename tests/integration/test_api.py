"""The HTTP API through Flask's test client: JSON in, JSON out, 4xx that name the problem."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from arco.api.app import openapi_document
from arco.services.workspace import Workspace
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ObjectStore
from tests.integration.helpers import api_client


@pytest.fixture
def store() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def workspaces(store: ObjectStore) -> dict[str, Workspace]:
    return {}


@pytest.fixture
def client(store: ObjectStore, workspaces: dict[str, Workspace]) -> FlaskClient:
    ws = workspaces.setdefault("w1", Workspace(store, "w1", source="api-test"))
    client: FlaskClient = api_client(ws)
    return client


def ledger_size(store: ObjectStore) -> int:
    """Objects under the workspaces' prefix (the directory's markers are outside it)."""
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
    assert settings["runs.max_in_flight"]["changed_by"] == "local-dev"  # the caller
    state = client.get("/v1/workspaces/w1/state").json
    assert state["manifest_id"] == 1 and state["tables"]["workspace_settings"]["rows"] == 1  # type: ignore[index]


@pytest.mark.parametrize(
    "path, body, status, needle",
    [
        (
            "/v1/workspaces/w1/settings/runs.max_in_flight",
            {"value": "lots"},
            400,
            "body.value: must be an integer",
        ),
        ("/v1/workspaces/w1/settings/no.such", {"value": 1}, 400, "unknown setting"),
        (
            "/v1/workspaces/w1/settings/runs.max_in_flight",
            {"valu": 1},
            400,
            "body.value: Field required",
        ),
        (
            "/v1/workspaces/w1/settings/runs.max_in_flight",
            {"value": 1, "x": 2},
            400,
            "body.x: unknown field",
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
            "body.request_id: String should match pattern",
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


def test_openapi_document_is_valid_and_matches_the_routes(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    served = client.get("/openapi.json").json
    assert served == openapi_document()
    validate(served)  # a valid OpenAPI 3.1 document (raises otherwise)
    routes: list[tuple[str, str]] = []
    for rule in client.application.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:  # type: ignore[operator]
            routes.append((path, method.lower()))
    documented = [(p, m) for p, ops in served["paths"].items() for m in ops]  # type: ignore[index]
    # Every Flask rule has exactly one operation and every operation exactly one rule.
    assert sorted(routes) == sorted(documented) and len(set(routes)) == len(routes)


def test_openapi_document_has_real_schemas_roles_and_security(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").json
    assert isinstance(doc, dict)
    schemas = doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["oidcBearer"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = path in ("/healthz", "/openapi.json")
            assert (op["security"] == []) == public, (path, method)
            assert op["x-arco-role"] in op["description"] or public
            for status, answer in op["responses"].items():
                ref = answer["content"]["application/json"]["schema"].get("$ref", "")
                if path != "/openapi.json":
                    name = ref.removeprefix("#/components/schemas/")
                    assert name in schemas and schemas[name].get("properties"), (path, status)
                if int(status) >= 400:
                    assert ref == "#/components/schemas/ErrorBody"
    launch = doc["paths"]["/v1/workspaces/{name}/runs"]["post"]
    assert launch["x-arco-role"] == "operator" and {"401", "403", "404", "409"} <= set(
        launch["responses"]
    )
    assert doc["paths"]["/v1/workspaces/{name}/settings/{setting}"]["put"]["x-arco-role"] == "admin"
    assert schemas["LaunchRunBody"]["properties"]["partition_range"]["anyOf"][0] == {
        "$ref": "#/components/schemas/PartitionRange"
    }


def test_protocol_errors_are_json_too(client: FlaskClient, store: ObjectStore) -> None:
    wrong_method = client.delete("/v1/workspaces/w1/settings")
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "GET, HEAD"
    assert wrong_method.json["error"]["code"] == "method_not_allowed"  # type: ignore[index]
    runs = client.delete("/v1/workspaces/w1/runs")
    assert runs.status_code == 405 and runs.headers["Allow"] == "GET, HEAD, POST"
    too_big = client.put(
        "/v1/workspaces/w1/settings/runs.max_in_flight",
        data=b'{"value": 1, "request_id": "' + b"a" * 2_000_000 + b'"}',
        content_type="application/json",
    )
    assert (
        too_big.status_code == 413 and too_big.json["error"]["code"] == "request_entity_too_large"
    )  # type: ignore[index]
    not_json = client.put(
        "/v1/workspaces/w1/settings/runs.max_in_flight", data=b"value=1", content_type="text/plain"
    )
    assert not_json.status_code == 415 and "application/json" in not_json.json["error"]["message"]  # type: ignore[index]
    unknown_query = client.get("/v1/workspaces/w1/settings?colour=red")
    assert unknown_query.status_code == 400
    assert unknown_query.json["error"]["fields"] == [  # type: ignore[index]
        {"path": "query.colour", "message": "unknown field"}
    ]
    assert ledger_size(store) == 0


def test_a_workspace_that_was_not_created_is_404_and_nothing_is_written(
    client: FlaskClient, store: ObjectStore
) -> None:
    before = sorted(o.key for o in store.list(""))
    response = client.put("/v1/workspaces/typo-ws/settings/runs.max_in_flight", json={"value": 3})
    assert response.status_code == 404 and "typo-ws" in response.json["error"]["message"]  # type: ignore[index]
    assert client.get("/v1/workspaces/typo-ws/state").status_code == 404
    assert sorted(o.key for o in store.list("")) == before
