"""Cloud Functions entry points, served by functions-framework's own app."""

from __future__ import annotations

from pathlib import Path

import pytest
from functions_framework import create_app

from arco.storage.local import LocalObjectStore

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARCO_STORE", f"file://{tmp_path}")
    monkeypatch.setenv("ARCO_WORKSPACE", "fn")
    import sys

    sys.modules.pop("main", None)  # each test gets fresh per-instance caches
    return tmp_path


def test_api_and_compactor_functions(env: Path) -> None:
    api = create_app(target="api", source=MAIN).test_client()
    assert api.get("/healthz").status_code == 200
    response = api.put("/v1/workspaces/fn/settings/runs.max_in_flight", json={"value": 6})
    assert response.status_code == 202
    bad = api.put("/v1/workspaces/fn/settings/runs.max_in_flight", json={"value": "x"})
    assert bad.status_code == 400 and "error" in bad.json  # type: ignore[operator]
    assert len(list(LocalObjectStore(env).list("workspaces/fn/ledger/"))) == 1

    compactor = create_app(target="compactor", source=MAIN).test_client()
    response = compactor.post("/")
    assert response.status_code == 200
    assert response.json["steps"][0]["published"] is True  # type: ignore[index]
    state = api.get("/v1/workspaces/fn/state").json
    assert state["manifest_id"] == 1  # type: ignore[index]
