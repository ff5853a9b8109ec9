"""Shared steps for service-level tests."""

from __future__ import annotations

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
