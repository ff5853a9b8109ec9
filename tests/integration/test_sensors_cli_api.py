"""Sensors through the CLI (`arco sensors`, `ticks`, `start`, `stop`, `cursor`) and HTTP."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

import tests.fixtures.sensors_graph as graph
from arco.cli import output
from arco.cli.main import cli
from arco.clock import FixedClock
from arco.domain.errors import InvalidInput, NotFound
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.sensors import set_sensor_cursor
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.queries.sensors import list_sensors, sensor_ticks
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client, ledger_size, now_of
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.sensors_graph:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)
WS = "sensors"

Run = Callable[..., tuple[int, str]]


@pytest.fixture(autouse=True)
def inbox() -> Iterator[graph.Inbox]:
    """The poll sensor's stand-in bucket, emptied before and after each test."""
    graph.INBOX.files, graph.INBOX.fail, graph.INBOX.calls = [], False, 0
    yield graph.INBOX
    graph.INBOX.files, graph.INBOX.fail, graph.INBOX.calls = [], False, 0


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path),
        WS,
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=3_600_000,
    )
    create_workspaces(workspace.store, WS)  # as `arco workspace create` does
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def run(tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`arco ...` on the same store, simulating the workspace's clock (--at)."""
    monkeypatch.setattr(output.console, "width", 200)  # tables unwrapped
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        at = now_of(ws).isoformat()
        result = runner.invoke(
            cli,
            [
                "--store",
                f"file://{tmp_path}",
                "--workspace",
                WS,
                "--lookback-ms",
                "3600000",
                "--at",
                at,
                *args,
            ],
        )
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def http(ws: Workspace) -> FlaskClient:
    return api_client(ws, "x")


def timer(ws: Workspace, seconds: int = 0) -> None:
    """Advance the clock, then run the timer with an in-process executor."""
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(seconds * 1000)
    run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(LOCATION)))


def make_ticks(ws: Workspace, inbox: graph.Inbox) -> None:
    """new_files: SUCCESS, SKIPPED, FAILURE, SKIPPED (newest last); revenue_after_orders:
    SUCCESS (the orders run new_files requested materialized)."""
    inbox.files = ["2024-01-02-a"]
    timer(ws)
    timer(ws, 31)
    inbox.fail = True
    timer(ws, 31)
    inbox.fail = False
    timer(ws, 31)
    ws.compactor.compact_until_idle()


def test_list_sensors_in_the_cli_and_over_http(run: Run, http: FlaskClient, ws: Workspace) -> None:
    code, out = run("sensors", "--json")
    assert code == 0
    sensors = {s["name"]: s for s in json.loads(out)}
    assert list(sensors) == [
        "cleanup_after_failure",
        "new_files",
        "orders_landed",
        "revenue_after_orders",
    ]
    poll, push = sensors["new_files"], sensors["orders_landed"]
    assert poll["kind"] == "poll" and poll["status"] == "RUNNING"
    assert poll["status_source"] == "default" and poll["minimum_interval_seconds"] == 30
    assert poll["last_evaluation"] is None and poll["cursor"] is None
    # Never evaluated: due now (the CLI's simulated clock flows, so "now" is a few ms later).
    due = datetime.fromisoformat(poll["next_evaluation"]) - now_of(ws)
    assert timedelta(0) <= due < timedelta(seconds=5)
    assert push["kind"] == "push" and push["next_evaluation"] is None
    assert push["minimum_interval_seconds"] is None
    assert push["subscription"] == "projects/test-project/subscriptions/orders-landed"
    assert sensors["revenue_after_orders"]["monitored_assets"] == ["orders"]
    assert sensors["cleanup_after_failure"]["run_statuses"] == ["FAILURE"]

    graph.INBOX.files = ["2024-01-02-a"]
    timer(ws)
    ws.clock.advance(10_000)  # type: ignore[attr-defined]
    code, out = run("sensors")
    assert code == 0
    for text in ("new_files", "poll", "RUNNING", "2024-01-02-a", "SUCCESS", "per message"):
        assert text in out
    assert "2024-02-01 00:00:30" in out  # next evaluation: 30 s after the last

    page = http.get("/v1/workspaces/x/sensors?limit=2").json
    assert page is not None
    assert [s["name"] for s in page["sensors"]] == ["cleanup_after_failure", "new_files"]
    rest = http.get(f"/v1/workspaces/x/sensors?cursor={page['next_cursor']}").json
    assert rest is not None and rest["next_cursor"] is None
    assert [s["name"] for s in rest["sensors"]] == ["orders_landed", "revenue_after_orders"]
    polled = page["sensors"][1]
    assert polled["cursor"] == "2024-01-02-a" and polled["last_tick_status"] == "SUCCESS"
    assert polled["next_evaluation"] == "2024-02-01T00:00:30+00:00"
    assert http.get("/v1/workspaces/x/sensors?limit=0").status_code == 400


def test_ticks_with_status_filter_and_pagination(
    run: Run, http: FlaskClient, ws: Workspace, inbox: graph.Inbox
) -> None:
    make_ticks(ws, inbox)
    code, out = run("sensors", "ticks", "new_files", "--json")
    assert code == 0
    ticks = json.loads(out)
    assert [t["status"] for t in ticks] == ["SKIPPED", "FAILURE", "SKIPPED", "SUCCESS"]
    first = ticks[-1]
    assert first["run_keys"] == ["2024-01-02-a"] and len(first["run_ids"]) == 1
    assert first["cursor_before"] is None and first["cursor_after"] == "2024-01-02-a"
    assert first["evaluated_at"] == T0.isoformat() and first["kind"] == "poll"
    assert "bucket listing failed" in ticks[1]["error"]
    assert ticks[0]["skip_reason"] == "no new files"

    code, out = run("sensors", "ticks", "new_files", "--status", "failure", "--json")
    assert [t["status"] for t in json.loads(out)] == ["FAILURE"]
    code, out = run("sensors", "ticks", "new_files")
    assert code == 0
    for text in ("SUCCESS", "FAILURE", "bucket listing failed", "no new files", "- -> 2024"):
        assert text in out
    assert first["run_ids"][0] in out

    url = "/v1/workspaces/x/sensors/new_files/ticks"
    seen, cursor = [], ""
    while True:
        page = http.get(f"{url}?limit=3&cursor={cursor}").json
        assert page is not None
        seen += [t["tick_id"] for t in page["ticks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [t["tick_id"] for t in ticks]
    skipped = http.get(f"{url}?status=SKIPPED&limit=1").json
    assert skipped is not None and [t["status"] for t in skipped["ticks"]] == ["SKIPPED"]
    more = http.get(f"{url}?status=SKIPPED&limit=1&cursor={skipped['next_cursor']}").json
    assert more is not None and more["next_cursor"] is None
    assert [t["tick_id"] for t in more["ticks"]] == [ticks[2]["tick_id"]]
    asset_ticks = http.get("/v1/workspaces/x/sensors/revenue_after_orders/ticks").json
    assert asset_ticks is not None and [t["status"] for t in asset_ticks["ticks"]] == ["SUCCESS"]

    bad = http.get(f"{url}?status=MAYBE")
    assert bad.status_code == 400 and "status" in bad.json["error"]["message"]  # type: ignore[index]
    bad = http.get(f"{url}?cursor=%%%")
    assert bad.status_code == 422 and "cursor" in bad.json["error"]["message"]  # type: ignore[index]
    assert http.get(f"{url}?limit=1001").status_code == 400
    assert http.get("/v1/workspaces/x/sensors/nope/ticks").status_code == 404
    # A deployed sensor without ticks has an empty history.
    empty = http.get("/v1/workspaces/x/sensors/orders_landed/ticks").json
    assert empty == {"ticks": [], "next_cursor": None}


def test_ticks_outlive_the_deployment(ws: Workspace, inbox: graph.Inbox) -> None:
    make_ticks(ws, inbox)
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    sensors = {k: v for k, v in snapshot.sensors.items() if k != "new_files"}
    deploy(ws, dataclasses.replace(snapshot, sensors=sensors), "test")
    ws.compactor.compact_until_idle()
    assert "new_files" not in {s["name"] for s in list_sensors(ws, now_of(ws))}
    assert len(sensor_ticks(ws, "new_files", limit=2)) == 2
    assert [t["status"] for t in sensor_ticks(ws, "new_files", "FAILURE")] == ["FAILURE"]
    with pytest.raises(InvalidInput):
        sensor_ticks(ws, "new_files", limit=0)
    with pytest.raises(InvalidInput):
        sensor_ticks(ws, "../etc")
    with pytest.raises(NotFound):
        set_sensor_cursor(ws, "new_files", "x", "r1", "test")


def test_start_and_stop_survive_a_redeploy(run: Run, http: FlaskClient, ws: Workspace) -> None:
    code, out = run("sensors", "stop", "new_files")
    assert code == 0 and "new_files is now STOPPED" in out
    stop = http.post(
        "/v1/workspaces/x/sensors/orders_landed/stop", headers={"Idempotency-Key": "stop-1"}
    )
    assert stop.status_code == 202 and stop.json["status"] == "STOPPED"  # type: ignore[index]
    again = http.post(
        "/v1/workspaces/x/sensors/orders_landed/stop", headers={"Idempotency-Key": "stop-1"}
    )
    assert again.status_code == 202
    ws.compactor.compact_until_idle()

    # A changed deployment (new_files now every minute) keeps what the operators set.
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    slower = dataclasses.replace(snapshot.sensors["new_files"], minimum_interval_seconds=60)
    changed = dataclasses.replace(snapshot, sensors={**snapshot.sensors, "new_files": slower})
    assert deploy(ws, changed, "test")["changed"]
    ws.compactor.compact_until_idle()
    code, out = run("sensors", "--json")
    sensors = {s["name"]: s for s in json.loads(out)}
    assert sensors["new_files"]["minimum_interval_seconds"] == 60
    for name in ("new_files", "orders_landed"):
        assert sensors[name]["status"] == "STOPPED"
        assert sensors[name]["status_source"] == "operator"
        assert sensors[name]["next_evaluation"] is None
    assert sensors["revenue_after_orders"]["status_source"] == "default"

    # A stopped poll sensor is not evaluated.
    graph.INBOX.files = ["2024-01-02-a"]
    timer(ws, 1)
    assert graph.INBOX.calls == 0

    code, out = run("sensors", "start", "new_files", "--json")
    assert code == 0 and json.loads(out)["status"] == "RUNNING"
    assert http.post("/v1/workspaces/x/sensors/orders_landed/start").status_code == 202
    ws.compactor.compact_until_idle()
    code, out = run("sensors")
    assert "RUNNING (operator)" in out and "STOPPED" not in out


def test_cursor_set_and_reset(run: Run, http: FlaskClient, ws: Workspace) -> None:
    code, out = run("sensors", "cursor", "new_files", "--set", "2024-01-05")
    assert code == 0 and "set to 2024-01-05" in out
    code, out = run("sensors", "--json")
    assert {s["name"]: s["cursor"] for s in json.loads(out)}["new_files"] == "2024-01-05"

    # The next evaluation starts from the operator's cursor.
    graph.INBOX.files = ["2024-01-04-a", "2024-01-06-a"]
    timer(ws, 1)
    code, out = run("sensors", "ticks", "new_files", "--json")
    (tick,) = json.loads(out)
    assert tick["cursor_before"] == "2024-01-05" and tick["run_keys"] == ["2024-01-06-a"]

    code, out = run("sensors", "cursor", "new_files", "--reset", "--json")
    assert code == 0 and json.loads(out)["cursor"] is None
    code, out = run("sensors", "--json")
    assert {s["name"]: s["cursor"] for s in json.loads(out)}["new_files"] is None

    url = "/v1/workspaces/x/sensors/revenue_after_orders/cursor"
    response = http.post(url, json={"cursor": "1706745600000", "request_id": "c1"})
    assert response.status_code == 202
    assert http.post(url, json={"reset": True}).status_code == 202
    assert http.post(url, json={"cursor": "1706745600000", "request_id": "c1"}).status_code == 202
    ws.compactor.compact_until_idle()
    sensors = {s["name"]: s for s in list_sensors(ws, now_of(ws))}
    assert sensors["revenue_after_orders"]["cursor"] is None  # c1 applied once, reset after it


def test_bad_input_writes_nothing(run: Run, http: FlaskClient, ws: Workspace) -> None:
    ws.compactor.compact_until_idle()
    before = ledger_size(ws)

    code, out = run("sensors", "start", "nope")
    assert code == 2 and "not deployed" in out
    code, out = run("sensors", "ticks", "nope")
    assert code == 2 and "nope" in out
    code, out = run("sensors", "cursor", "new_files", "--set", "x", "--reset")
    assert code == 2 and "exactly one of --set VALUE or --reset" in out
    code, out = run("sensors", "cursor", "new_files")
    assert code == 2 and "exactly one of --set VALUE or --reset" in out
    code, out = run("sensors", "cursor", "orders_landed", "--set", "x")
    assert code == 2 and "push sensor" in out
    code, out = run("sensors", "cursor", "new_files", "--set", "x" * 10_001)
    assert code == 2 and "10000" in out
    code, out = run("sensors", "ticks", "new_files", "--status", "MAYBE")
    assert code == 2 and "MAYBE" in out

    base = "/v1/workspaces/x/sensors"
    for method, url, body, status, message in (
        ("post", f"{base}/nope/start", None, 404, "not deployed"),
        ("post", f"{base}/nope/stop", None, 404, "not deployed"),
        ("post", f"{base}/nope/cursor", {"cursor": "a"}, 404, "not deployed"),
        ("post", f"{base}/new_files/cursor", {"cursor": "a", "reset": True}, 400, "exactly one"),
        ("post", f"{base}/new_files/cursor", {}, 400, "exactly one"),
        ("post", f"{base}/new_files/cursor", {"reset": False}, 400, "reset"),
        ("post", f"{base}/new_files/cursor", {"cursor": 5}, 400, "string"),
        ("post", f"{base}/new_files/cursor", {"cursor": "a", "x": 1}, 400, "body.x: unknown field"),
        ("post", f"{base}/orders_landed/cursor", {"cursor": "a"}, 422, "push sensor"),
        ("post", f"{base}/new_files/start", {"request_id": "bad id!"}, 400, "body.request_id"),
        ("get", f"{base}/new_files/ticks?status=MAYBE", None, 400, "status"),
        ("get", f"{base}/nope/ticks", None, 404, "nope"),
    ):
        response = (
            getattr(http, method)(url, json=body)
            if body is not None
            else (getattr(http, method)(url))
        )
        assert response.status_code == status, (url, body, response.json)
        assert message in response.json["error"]["message"], (url, body, response.json)

    assert ledger_size(ws) == before


def test_push_a_message_here_as_pubsub_would(
    run: Run, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCO_DEFINITIONS", raising=False)
    data = '{"day": "2024-01-03"}'
    code, out = run(
        "sensors", "push", "orders_landed", "--data", data, "--message-id", "m-cli", "--json",
        "--definitions", LOCATION,
    )  # fmt: skip
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["outcome"], answer["run_requests"], answer["message_id"]) == (
        "REQUESTED",
        1,
        "m-cli",
    )
    assert answer["tick"]["status"] == "SUCCESS" and answer["tick"]["message_id"] == "m-cli"
    code, out = run("sensors", "push", "orders_landed", "--data", data,
                    "--message-id", "m-cli", "--definitions", LOCATION)  # fmt: skip
    assert code == 0 and "REQUESTED" in out  # delivered again: the same key, one effect
    assert out.rstrip().endswith("tick SUCCESS")
    ws.compactor.compact_until_idle()
    ticks = [t for t in ws.snapshot().rows("sensor_ticks").values() if t["message_id"] == "m-cli"]
    assert len(ticks) == 1 and ticks[0]["status"] == "SUCCESS"

    size = ledger_size(ws)
    code, out = run("sensors", "push", "new_files", "--definitions", LOCATION)
    assert code == 2 and "not a push sensor" in out
    code, out = run("sensors", "push", "orders_landed")  # no code location
    assert code == 2 and "--definitions" in out
    assert ledger_size(ws) == size  # refused here: nothing written, nothing quarantined
    assert list(ws.store.list(f"{ws.layout.root}quarantine/")) == []


def test_a_push_to_a_stopped_sensor_says_its_tick_was_skipped(
    run: Run, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The function still runs (it returned REQUESTED); the CLI tells what the tick became."""
    monkeypatch.delenv("ARCO_DEFINITIONS", raising=False)
    code, out = run("sensors", "stop", "orders_landed")
    assert code == 0, out
    code, out = run("sensors", "push", "orders_landed", "--data", '{"day": "2024-01-03"}',
                    "--message-id", "m-stopped", "--definitions", LOCATION)  # fmt: skip
    assert code == 0, out
    assert "the function returned REQUESTED with 1 run request(s)" in out
    assert out.rstrip().endswith("tick SKIPPED (sensor is stopped)")
    assert ws.snapshot().table("run_requests").num_rows == 0
