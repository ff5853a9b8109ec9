"""Schemathesis over every operation of the generated OpenAPI document, in-process (WSGI), with
auth on: tokens signed by a local key whose certificates a local server serves.

Every check runs, response-schema conformance included: no server error, no answer outside its
schema, no valid request refused, no invalid request accepted. Examples are bounded and
derandomized so the run is repeatable and stays within about a minute on two cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from arco.api.app import create_app
from arco.cloud.oidc import OidcVerifier
from arco.services.access import TokenGate, WorkspaceDirectory
from arco.services.code_location import load_definitions
from arco.services.definitions import deploy
from arco.services.runs import LaunchRequest, launch_run
from arco.services.workspace import Workspace
from arco.storage.memory import MemoryObjectStore
from tests.oidc import CertServer

AUDIENCE = "https://api.example.test"
ADMIN = "admin@example.com"
WS = "w1"
LOCATION = "tests.fixtures.runs_graph:defs"
MAX_EXAMPLES = 8


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
    config = SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {certs.token(AUDIENCE, email=ADMIN)}"},
            # Aim at the seeded workspace: a random name is only ever a 404.
            "parameters": {"path.name": WS},
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


@pytest.fixture(scope="module", autouse=True)
def _stop_cert_server() -> Iterator[None]:
    yield
    CERTS.close()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any) -> None:
    case.call_and_validate()
