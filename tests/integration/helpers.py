"""Shared steps for service-level tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask.testing import FlaskClient

from arco.clock import clock_now
from arco.domain.settings import SETTING_CHANGED, SettingChanged, setting_idempotency_key
from arco.ledger.writer import AppendResult, NewEvent
from arco.services.auth import Gate
from arco.services.workspace import Workspace
from arco.storage.port import ObjectStore


def set_setting(
    ws: Workspace, value: int, request_id: str, name: str = "runs.max_in_flight"
) -> AppendResult:
    event = SettingChanged(name=name, value=value, changed_by="test", request_id=request_id)
    return ws.writer.append(
        [NewEvent(SETTING_CHANGED, event, setting_idempotency_key(name, request_id))]
    )


def published_settings(ws: Workspace) -> dict[str, str]:
    return {k[0]: r["value"] for k, r in ws.snapshot().rows("workspace_settings").items()}


def now_of(ws: Workspace) -> datetime:
    """The workspace clock's time (what the timer and the services take as `now`)."""
    return clock_now(ws.clock)


def ledger_size(ws: Workspace) -> int:
    """How many ledger objects the workspace has (to show a refusal wrote nothing)."""
    return len(list(ws.store.list(ws.layout.ledger_prefix)))


def body_of(response: Any) -> dict[str, Any]:
    """A Flask test response's JSON object."""
    body = response.json
    assert isinstance(body, dict), response.data
    return body


def api_client(
    target: Workspace | ObjectStore,
    name: str | None = None,
    *,
    gate: Gate | None = None,
    admins: frozenset[str] = frozenset(),
) -> FlaskClient:
    """A Flask test client of the API over one created workspace.

    `target` is a Workspace (served for the created name, `name` or its own) or an ObjectStore
    (a fresh Workspace on it per name, as separate function instances would have; `name`
    created when given). The default gate is `LoopbackGate`: the test client's peer is
    127.0.0.1, so every request is the local admin.
    """
    from arco.api.app import create_app
    from arco.services.auth import LoopbackGate
    from arco.services.workspaces import WorkspaceDirectory

    if isinstance(target, Workspace):
        ws = target
        store = ws.store
        name = name or ws.name

        def build(requested: str) -> Workspace:
            return ws
    else:
        store = target

        def build(requested: str) -> Workspace:
            return Workspace(store, requested, lookback_ms=3_600_000, source="api")

    directory = WorkspaceDirectory(store, build=build)
    if name is not None:
        directory.create(name, "test", 0)
    app = create_app(directory, gate if gate is not None else LoopbackGate(), admins)
    return app.test_client()


def refused_status(response: Any) -> int:
    """The status the API contract gives a refused input: 400 when the request does not match
    the operation's models (the error then names each field), 422 when it matches but cannot be
    applied. Asserts the two agree, and returns the status."""
    error = body_of(response)["error"]
    expected = 400 if "fields" in error else 422
    assert response.status_code == expected, (response.status_code, error)
    return expected
