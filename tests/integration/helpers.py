"""Shared steps for service-level tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arco.clock import clock_now
from arco.domain.settings import SETTING_CHANGED, SettingChanged, setting_idempotency_key
from arco.ledger.writer import AppendResult, NewEvent
from arco.services.workspace import Workspace


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
