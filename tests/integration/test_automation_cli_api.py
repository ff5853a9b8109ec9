"""Declarative automation through the CLI (`arco automation`, `ticks`, `why`, `start`, `stop`)
and over HTTP: the same answers, bad input refused with nothing written."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from arco.cli import output
from arco.cli.main import cli
from arco.clock import FixedClock
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client, ledger_size, now_of
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.automation_graph:defs"
T0 = datetime(2024, 2, 1, 10, 30, tzinfo=UTC)
WS = "auto"
Run = Callable[..., tuple[int, str]]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path),
        WS,
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=120_000,
    )
    create_workspaces(workspace.store, WS)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def run(tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setattr(output.console, "width", 200)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            cli,
            ["--store", f"file://{tmp_path}", "--workspace", WS, "--lookback-ms", "120000",
             "--at", now_of(ws).isoformat(), *args],
        )  # fmt: skip
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def http(ws: Workspace) -> FlaskClient:
    return api_client(ws, "x")


def timer(ws: Workspace, seconds: int = 60) -> None:
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(seconds * 1000)
    run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(LOCATION)))
    ws.compactor.compact_until_idle()


def test_status_start_stop_in_the_cli_and_over_http(
    run: Run, http: FlaskClient, ws: Workspace
) -> None:
    code, out = run("automation", "--json")
    assert code == 0
    status = json.loads(out)
    assert (status["name"], status["status"], status["default_status"]) == (
        "default_automation_condition_sensor",
        "STOPPED",
        "STOPPED",
    )
    assert status["assets_with_conditions"] == 6 and status["max_runs_per_hour"] == 1000
    assert http.get("/v1/workspaces/x/automation").json == status
    code, out = run("automation", "start")
    assert code == 0 and "automation is now RUNNING" in out
    assert json.loads(run("automation", "--json")[1])["status"] == "RUNNING"
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(1000)  # a later operator event (the latest by id wins)
    reply = http.post("/v1/workspaces/x/automation/stop", json={"request_id": "r1"})
    assert reply.status_code == 202 and reply.json["status"] == "STOPPED"
    ws.compactor.compact_until_idle()
    assert http.get("/v1/workspaces/x/automation").json["status"] == "STOPPED"


def test_ticks_and_why_agree_between_the_cli_and_http(
    run: Run, http: FlaskClient, ws: Workspace
) -> None:
    assert run("automation", "start")[0] == 0
    timer(ws)
    launch_run(ws, LaunchRequest(selection="key:raw"))
    timer(ws)
    timer(ws)
    code, out = run("automation", "ticks", "--json")
    assert code == 0
    ticks = json.loads(out)
    success = next(t for t in ticks if t["status"] == "SUCCESS")
    assert success["requested"] == {"cleaned": 1, "fragile": 1, "report": 1}
    assert len(success["run_ids"]) == 1
    page = http.get("/v1/workspaces/x/automation/ticks?limit=1").json
    assert page["ticks"] == ticks[:1]
    assert page["next_cursor"] is not None
    rest = http.get(f"/v1/workspaces/x/automation/ticks?cursor={page['next_cursor']}").json
    assert page["ticks"] + rest["ticks"] == ticks
    code, out = run("automation", "ticks", "--status", "SUCCESS")
    assert code == 0 and "cleaned, fragile, report" in out

    code, out = run("automation", "why", "report", "--json")
    assert code == 0
    explained = json.loads(out)
    assert explained["condition"] == "eager" and explained["would_request"] == []
    assert explained["last_recorded"]["requested"] == {"count": 1, "sample": [""]}
    over_http = http.get("/v1/workspaces/x/assets/report/automation").json
    assert over_http["tree"] == explained["tree"]
    code, out = run("automation", "why", "report")
    assert code == 0 and "in_latest_time_window" in out and "would request nothing" in out


def test_bad_input_is_refused_and_writes_nothing(
    run: Run, http: FlaskClient, ws: Workspace
) -> None:
    before = ledger_size(ws)
    code, out = run("automation", "why", "raw")
    assert code == 2 and "asset 'raw' has no automation_condition" in out
    code, out = run("automation", "why", "nope")
    assert code == 2 and "no asset 'nope'" in out
    code, out = run("automation", "why", "daily_totals", "--partition", "1999-01-01")
    assert code == 2 and "'1999-01-01' is not in" in out
    reply = http.get("/v1/workspaces/x/assets/cleaned/automation?partition=2024-01-01")
    assert reply.status_code == 422 and "not partitioned" in reply.json["error"]["message"]
    assert http.get("/v1/workspaces/x/automation/ticks?status=BAD").status_code == 400
    assert http.get("/v1/workspaces/x/automation/ticks?cursor=zz").status_code in (400, 422)
    assert http.post("/v1/workspaces/x/automation/start", json={"extra": 1}).status_code == 400
    for key in ("", "not a key!"):  # a sent Idempotency-Key is never replaced by a fresh one
        reply = http.post(
            "/v1/workspaces/x/automation/start", json={}, headers={"Idempotency-Key": key}
        )
        assert reply.status_code == 400 and "Idempotency-Key" in reply.json["error"]["message"]
    assert ledger_size(ws) == before
