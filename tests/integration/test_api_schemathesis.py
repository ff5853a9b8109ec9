"""Schemathesis over every operation of the generated OpenAPI document, in-process (WSGI), with
auth on: tokens signed by a local key whose certificates a local server serves.

Every check runs, response-schema conformance included: no server error, no answer outside its
schema, no valid request refused, no invalid request accepted. Examples are bounded and
derandomized so the run is repeatable and stays within about a minute on two cores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    positive_data_acceptance,
)

from arco.api.app import create_app
from arco.cloud.oidc import OidcVerifier
from arco.services.auth import TokenGate
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.workspace import Workspace
from arco.services.workspaces import WorkspaceDirectory
from arco.storage.memory import MemoryObjectStore
from tests.oidc import CertServer

AUDIENCE = "https://api.example.test"
ADMIN = "admin@example.com"
WS = "w1"
LOCATION = "tests.fixtures.runs_graph:defs"
MAX_EXAMPLES = 25


# The admin's credentials, sent with every request as an explicit override: schemathesis then
# knows the request carried valid credentials and probes each operation without them and with
# invalid ones (`ignored_auth`), instead of taking a 2xx for an answer to a generated token.
TOKEN: dict[str, str] = {}


def api_schema(certs: CertServer) -> Any:
    """The app over one created workspace with a deployed code location and a run."""
    store = MemoryObjectStore()
    ws = Workspace(store, WS, lookback_ms=3_600_000, source="schemathesis")
    directory = WorkspaceDirectory(store, build=lambda name: ws)
    directory.create(WS, ADMIN, 0)
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), ADMIN)
    ws.compactor.compact_until_idle()
    launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"), ADMIN)
    ws.compactor.compact_until_idle()
    gate = TokenGate(OidcVerifier(AUDIENCE, certs_url=certs.url), admins=frozenset({ADMIN}))
    app = create_app(directory, gate, frozenset({ADMIN}))
    TOKEN["Authorization"] = f"Bearer {certs.token(AUDIENCE, email=ADMIN)}"
    config = SchemathesisConfig.from_dict(
        {
            "headers": dict(TOKEN),
            "generation": {
                "mode": "all",  # valid and invalid requests
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
            },
            "checks": {"enabled": True},
            "phases": {
                "examples": {"enabled": True},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


# Built at import: schemathesis parametrizes the test from the loaded document. The certificate
# server is a daemon thread; the fixture below stops it when the module is done.
CERTS = CertServer(max_age=3600)
schema = api_schema(CERTS)


CALLS: Counter[str] = Counter()  # (mode, status class) of every request sent


@pytest.fixture(scope="module", autouse=True)
def _stop_cert_server() -> Iterator[None]:
    yield
    CERTS.close()
    # The figures of the run (shown with `pytest -s`).
    print(f"\nschemathesis: {sum(CALLS.values())} requests {dict(sorted(CALLS.items()))}")
    print(f"semantic refusals of schema-valid requests: {len(SEMANTIC_REFUSALS)}")
    for line in sorted(set(SEMANTIC_REFUSALS)):
        print(f"  {line}")


# What the services refused although the request matched its schema: input whose validity no
# schema can state (a selection naming an asset that is not deployed, a partition key outside
# the definition, an int for a switch setting). The API answers those 422 (documented on every
# operation that takes input); they are counted. A 400 for a request the document allows is
# the contract refusing its own schema, and fails the test.
SEMANTIC_REFUSALS: list[str] = []


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any) -> None:
    modes = {str(k.value): v.mode for k, v in (case.meta.components if case.meta else {}).items()}
    path_valid = modes.get("path", GenerationMode.POSITIVE) is GenerationMode.POSITIVE
    if path_valid and case.path_parameters and "name" in case.path_parameters:
        case.path_parameters["name"] = WS  # a random workspace name is only ever a 404
    positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and case.query and "cursor" in case.query:
        del case.query["cursor"]  # opaque: only a cursor the API issued is valid
    # A negative path value written percent-encoded ("0%400.AA", no "@" as text) decodes to a
    # valid one ("0@0.AA") on the wire: the server rightly accepts what it received.
    encoded = not positive and any("%" in str(v) for v in (case.path_parameters or {}).values())
    response = case.call(headers=dict(TOKEN))
    # The automation switch answers 202 to every valid request: schemathesis takes the
    # admin's token for a generated one there and reports it accepted. Its refusal without
    # credentials and for a viewer is tested in test_api_auth.py
    # (test_a_viewer_reads_but_may_not_operate).
    automation_switch = case.operation.path.endswith(("/automation/start", "/automation/stop"))
    unproven_auth = [ignored_auth] if automation_switch else []
    CALLS[f"{'positive' if positive else 'negative'} {response.status_code}"] += 1
    if positive:
        assert response.status_code != 400, (
            f"{case.operation.label}: refused its own schema: {response.json()} "
            f"(query {case.query!r}, body {case.body!r})"
        )
    if positive and response.status_code == 422:
        error = response.json()["error"]
        SEMANTIC_REFUSALS.append(f"{case.operation.label}: {error['message'][:80]}")
        case.validate_response(response, excluded_checks=[positive_data_acceptance, *unproven_auth])
    elif encoded:
        case.validate_response(response, excluded_checks=[negative_data_rejection, *unproven_auth])
    else:
        case.validate_response(response, excluded_checks=unproven_auth)
