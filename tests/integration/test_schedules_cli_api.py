"""Schedules through the CLI (`arco deploy`, `arco tick --now`, `arco schedules`) and HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from arco.cli.main import cli
from arco.clock import FixedClock
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.scheduling:defs"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    create_workspaces(LocalObjectStore(tmp_path), "cli")  # as `arco workspace create` does

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "cli", *args])
        return result.exit_code, result.output

    return invoke


def test_outage_driven_by_arco_tick(run) -> None:  # type: ignore[no-untyped-def]
    assert run("deploy", "--definitions", LOCATION)[0] == 0
    code, out = run("deploy", "--definitions", LOCATION)
    assert code == 0 and "unchanged" in out
    # Deployed "now" (the real clock); an outage of a day and a half, then the timer runs.
    code, out = run("schedules", "--json")
    schedules = {s["name"]: s for s in json.loads(out)}
    assert schedules["hourly_latest"]["status"] == "RUNNING"
    assert schedules["stopped_daily"]["status"] == "STOPPED"
    code, out = run("tick", "--now", "2099-01-02T12:30:00Z", "--json")
    assert code == 0
    first = json.loads(out)
    assert first["ticks"]["TRIGGERED"] >= 1
    code, out = run("tick", "--now", "2099-01-02T12:30:00Z", "--json")
    assert json.loads(out)["ticks"] == {}  # the same tick again changes nothing
    code, out = run("schedules", "ticks", "hourly_latest", "--json")
    ticks = json.loads(out)
    assert [t["tick_time"] for t in ticks] == ["2099-01-02T12:00:00+00:00"]  # latest only
    code, out = run("schedules", "ticks", "hourly_catchup", "--status", "TRIGGERED", "--json")
    assert [t["tick_time"][11:16] for t in reversed(json.loads(out))] == [
        "07:00",
        "08:00",
        "09:00",
    ]  # window 6 h, 3 per call, oldest first
    code, out = run("schedules", "ticks", "nope", "--json")
    assert code == 0 and json.loads(out) == []


def test_start_stop_and_bad_input(run) -> None:  # type: ignore[no-untyped-def]
    run("deploy", "--definitions", LOCATION)
    assert run("schedules", "stop", "hourly_latest")[0] == 0
    code, out = run("schedules", "--json")
    assert {s["name"]: s["status"] for s in json.loads(out)}["hourly_latest"] == "STOPPED"
    code, out = run("schedules", "start", "nope")
    assert code == 2 and "not deployed" in out
    code, out = run("tick", "--now", "yesterday")
    assert code == 2 and "ISO 8601" in out
    code, out = run("tick", "--now", "2099-01-01T00:00:00")
    assert code == 2 and "UTC offset" in out
    code, out = run("deploy", "--definitions", "tests.fixtures.code_locations.cycle:defs")
    assert code == 2 and "cycle" in out
    code, out = run("deploy", "--definitions", "no_such_module:defs")
    assert code == 2 and "cannot import" in out


def test_partitions_and_assets(run) -> None:  # type: ignore[no-untyped-def]
    run("deploy", "--definitions", LOCATION)
    code, out = run("partitions", "events", "--now", "2023-12-04T00:00:00Z", "--json")
    assert json.loads(out)["keys"] == ["2023-12-01", "2023-12-02", "2023-12-03"]
    code, out = run("partitions", "nope")
    assert code == 2 and "not deployed" in out
    code, out = run("assets", "--json")
    assert [a["key"] for a in json.loads(out)][:3] == ["customer_exports", "events", "regions"]


@pytest.fixture
def client(tmp_path: Path) -> tuple[FlaskClient, Workspace]:
    store = LocalObjectStore(tmp_path)
    clock = FixedClock(4_070_908_800_000)  # 2099-01-01T00:00Z
    ws = Workspace(store, "api", clock=clock)
    create_workspaces(store, "api")  # as `arco workspace create` does
    runner = CliRunner()
    assert (
        runner.invoke(
            cli,
            [
                "--store",
                f"file://{tmp_path}",
                "--workspace",
                "api",
                "deploy",
                "--definitions",
                LOCATION,
            ],
        ).exit_code
        == 0
    )
    return api_client(ws), ws


def test_schedules_over_http(client: tuple[FlaskClient, Workspace]) -> None:
    http, _ = client
    page = http.get("/v1/workspaces/api/schedules?limit=2").json
    assert [s["name"] for s in page["schedules"]] == ["daily_partitioned", "hourly_catchup"]
    rest = http.get(f"/v1/workspaces/api/schedules?limit=10&cursor={page['next_cursor']}").json
    assert [s["name"] for s in rest["schedules"]] == [
        "hourly_latest",
        "regions_daily",
        "stopped_daily",
    ]
    assert rest["next_cursor"] is None
    assert http.post("/v1/workspaces/api/schedules/nope/start").status_code == 404
    assert http.post("/v1/workspaces/api/schedules/hourly_latest/stop").status_code == 202
    assert http.get("/v1/workspaces/api/schedules/nope/ticks").json == {
        "ticks": [],
        "next_cursor": None,
    }
    bad = http.get("/v1/workspaces/api/schedules/hourly_latest/ticks?cursor=%%%")
    assert bad.status_code == 422 and "cursor" in bad.json["error"]["message"]
    bad = http.get("/v1/workspaces/api/schedules/hourly_latest/ticks?status=MAYBE")
    assert bad.status_code == 400 and "status" in bad.json["error"]["message"]
    assert http.get("/v1/workspaces/api/schedules?limit=0").status_code == 400
    # Times outside the years Arco computes with are a 400 naming the range, never a 500.
    for url in (
        "/v1/workspaces/api/schedules?now=9999-12-31T23:59:59Z",
        "/v1/workspaces/api/assets/customer_exports/partitions?now=9999-12-31T23:59:59Z",
        "/v1/workspaces/api/schedules?now=1969-12-31T23:59:59Z",
    ):
        bad = http.get(url)
        assert bad.status_code == 400 and "1970 to 2199" in bad.json["error"]["message"], url


def test_tick_pagination_is_stable(client: tuple[FlaskClient, Workspace]) -> None:
    from datetime import UTC, datetime, timedelta

    from arco.services.engines.timer import run_timer

    http, ws = client
    start = datetime(2099, 1, 1, 1, 0, tzinfo=UTC)
    for hour in range(5):
        run_timer(ws, start + timedelta(hours=hour))
    seen, cursor = [], ""
    while True:
        page = http.get(
            f"/v1/workspaces/api/schedules/hourly_latest/ticks?limit=2&cursor={cursor}"
        ).json
        seen += [t["tick_time"][11:16] for t in page["ticks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["05:00", "04:00", "03:00", "02:00", "01:00"]


def test_dynamic_partitions_over_http(client: tuple[FlaskClient, Workspace]) -> None:
    http, ws = client
    url = "/v1/workspaces/api/dynamic-partitions/customers"
    assert http.post(url, json={"add": ["acme", "globex"], "request_id": "r1"}).status_code == 202
    assert http.post(url, json={"add": ["acme", "initech"]}).status_code == 202
    assert http.post(url, json={"remove": ["globex"]}).status_code == 202
    ws.compactor.compact_until_idle()
    keys = http.get("/v1/workspaces/api/assets/customer_exports/partitions").json["keys"]
    assert keys == ["acme", "initech"]
    bad = http.post(url, json={"add": ["bad\nkey"]})
    assert bad.status_code == 422 and "invalid partition key" in bad.json["error"]["message"]
    assert http.post(url, json={"add": ["x"], "remove": ["y"]}).status_code == 400
    response = http.post("/v1/workspaces/api/dynamic-partitions/nope", json={"add": ["a"]})
    assert response.status_code == 404
    response = http.post("/v1/workspaces/api/dynamic-partitions/nope", json={"add": "a"})
    assert response.status_code == 400


def test_dynamic_partitions_from_the_cli(run) -> None:  # type: ignore[no-untyped-def]
    run("deploy", "--definitions", LOCATION)
    assert run("dynamic-partitions", "add", "customers", "acme", "globex")[0] == 0
    assert run("dynamic-partitions", "remove", "customers", "acme")[0] == 0
    run("compact")
    code, out = run("partitions", "customer_exports", "--json")
    assert json.loads(out)["keys"] == ["globex"]
    code, out = run("dynamic-partitions", "add", "unknown_def", "x")
    assert code == 2 and "no deployed asset" in out
