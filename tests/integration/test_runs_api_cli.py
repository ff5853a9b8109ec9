"""Runs over HTTP (the run_key contract, bad input, inspection) and through the CLI."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from arco.storage.port import ObjectStore
from tests.conftest import StoreFactory
from tests.integration.helpers import api_client, refused_status
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.runs_graph:defs"
BODY = {"selection": "key:raw_events", "partition": "2024-01-02", "run_key": "nightly-1"}


def deployed(store: ObjectStore) -> Workspace:
    ws = Workspace(store, "api", lookback_ms=3_600_000, source="test")
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    return ws


def app_for(store: ObjectStore) -> Any:
    # A fresh Workspace per request, as separate function instances would have.
    return api_client(store, "api").application


def ledger_count(ws: Workspace) -> int:
    return len(list(ws.store.list(ws.layout.ledger_prefix)))


LOCAL_AND_GCS = ["local", pytest.param("gcs", marks=pytest.mark.gcs)]


@pytest.fixture
def store(any_store_factory: StoreFactory) -> ObjectStore:
    return any_store_factory("runs-api")


@pytest.mark.parametrize("any_store_factory", LOCAL_AND_GCS, indirect=True)
def test_run_key_contract_201_200_409(store: ObjectStore) -> None:
    ws = deployed(store)
    client = app_for(store).test_client()
    first = client.post("/v1/workspaces/api/runs", json=BODY)
    assert first.status_code == 201, first.json
    run_id = first.json["run_id"]
    again = client.post("/v1/workspaces/api/runs", json=BODY)
    assert again.status_code == 200 and again.json["run_id"] == run_id
    assert again.json["created"] is False

    different = client.post("/v1/workspaces/api/runs", json={**BODY, "partition": "2024-01-03"})
    assert different.status_code == 409
    error = different.json["error"]
    assert error["existing_run_id"] == run_id
    assert error["existing_fingerprint"] == first.json["fingerprint"]
    assert error["fingerprint"] != error["existing_fingerprint"]
    assert "nightly-1" in error["message"]

    ws.compactor.compact_until_idle()
    runs = client.get("/v1/workspaces/api/runs").json["runs"]
    assert [r["run_id"] for r in runs] == [run_id]
    conflicts = ws.snapshot().table("run_key_conflicts").to_pylist()
    assert [c["fingerprint"] for c in conflicts] == [error["fingerprint"]]


@pytest.mark.parametrize("any_store_factory", LOCAL_AND_GCS, indirect=True)
def test_eight_concurrent_identical_triggers_make_one_run(store: ObjectStore) -> None:
    ws = deployed(store)
    app = app_for(store)
    barrier = threading.Barrier(8)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def trigger() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post("/v1/workspaces/api/runs", json={**BODY, "run_key": "race"})
        with lock:
            answers.append((response.status_code, response.json["run_id"]))

    threads = [threading.Thread(target=trigger) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(code for code, _ in answers)
    assert statuses == [200] * 7 + [201]
    assert len({run_id for _, run_id in answers}) == 1
    reservations = list(store.list(ws.layout.root + "reservations/run_keys/"))
    assert len(reservations) == 1
    ws.compactor.compact_until_idle()
    runs = ws.snapshot().table("runs").to_pylist()
    assert [r["run_id"] for r in runs] == [answers[0][1]]


@pytest.mark.parametrize("any_store_factory", ["local"], indirect=True)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"selection": "key:nope", "partition": "2024-01-01"}, "unknown asset 'nope'"),
        ({"selection": "key:raw_events or", "partition": "2024-01-01"}, "bad selection"),
        ({"selection": "key:raw_events", "partition": "1999-01-01"}, "1999-01-01"),
        (
            {"selection": "key:raw_events", "partition": "2024-01-01", "tags": {"arco/a": "b"}},
            "reserved prefix",
        ),
        (
            {"selection": "key:raw_events", "partition": 5},
            "body.partition: Input should be a valid string",
        ),
        ({"partition": "2024-01-01"}, "body.selection: Field required"),
        ({"selection": "key:raw_events", "colour": "red"}, "body.colour: unknown field"),
        (
            {"selection": "key:raw_events", "partition_range": {"first": "2024-01-01"}},
            "body.partition_range.last: Field required",
        ),
    ],
)
def test_bad_launches_are_refused_and_write_nothing(
    store: ObjectStore, body: dict[str, Any], message: str
) -> None:
    ws = deployed(store)
    before = ledger_count(ws)
    response = app_for(store).test_client().post("/v1/workspaces/api/runs", json=body)
    refused_status(response)
    assert message in response.json["error"]["message"]
    assert ledger_count(ws) == before
    assert list(store.list(ws.layout.root + "reservations/")) == []


@pytest.mark.parametrize("any_store_factory", ["local"], indirect=True)
def test_inspect_cancel_and_rerun_over_http(store: ObjectStore) -> None:
    ws = deployed(store)
    client = app_for(store).test_client()
    launched = client.post(
        "/v1/workspaces/api/runs",
        json={
            "selection": "key:raw_events",
            "partition_range": {"first": "2024-01-01", "last": "2024-01-02"},
        },
    )
    assert launched.status_code == 201
    run_id = launched.json["run_id"]
    # Read-your-writes: the run is in the ledger, not yet published; the GET's miss compacts
    # once and finds it (no compaction in between).
    manifest = ws.manifest().manifest_id
    got = client.get(f"/v1/workspaces/api/runs/{run_id}")
    assert got.status_code == 200, got.json
    view = got.json
    assert view["status"] == "QUEUED" and len(view["task_list"]) == 2
    assert ws.manifest().manifest_id == manifest + 1
    # A run that does not exist is still 404, and looking for it publishes nothing new.
    assert client.get("/v1/workspaces/api/runs/run_nope").status_code == 404
    assert ws.manifest().manifest_id == manifest + 1
    assert client.get("/v1/workspaces/api/runs?status=QUEUED").json["runs"][0]["run_id"] == run_id
    assert client.get("/v1/workspaces/api/runs?status=BOGUS").status_code == 400
    rerun = client.post(f"/v1/workspaces/api/runs/{run_id}/rerun", json={"from_failure": True})
    assert rerun.status_code == 409 and rerun.json["error"]["status"] == "QUEUED"
    cancel = client.post(f"/v1/workspaces/api/runs/{run_id}/cancel")
    assert cancel.status_code == 202 and cancel.json["status"] == "CANCELED"
    ws.compactor.compact_until_idle()
    assert client.get(f"/v1/workspaces/api/runs/{run_id}").json["status"] == "CANCELED"
    assert client.post(f"/v1/workspaces/api/runs/{run_id}/cancel").status_code == 409
    again = client.post(f"/v1/workspaces/api/runs/{run_id}/rerun", json={"from_failure": True})
    assert again.status_code == 201
    assert again.json["assets"] == ["raw_events"] and again.json["tasks"] == 2
    assert client.get(f"/v1/workspaces/api/runs/{run_id}/logs").json == {"logs": []}
    assert client.get("/v1/workspaces/api/runs/run_nope/logs").status_code == 404
    partitions = client.get("/v1/workspaces/api/assets/raw_events/partitions?limit=2").json
    assert [p["status"] for p in partitions["partitions"]] == ["MISSING", "MISSING"]


@pytest.fixture
def arco(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    create_workspaces(LocalObjectStore(tmp_path), "cli")  # as `arco workspace create` does

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "cli", *args])
        return result.exit_code, result.output

    return invoke


def test_the_cli_runs_waits_inspects_and_reexecutes(arco) -> None:  # type: ignore[no-untyped-def]
    assert arco("deploy", "--definitions", LOCATION)[0] == 0
    code, out = arco(
        "run",
        "key:raw_events or key:bad_metric or key:bad_report",
        "--from",
        "2024-01-04",
        "--to",
        "2024-01-06",
        "--tag",
        "team=data",
        "--wait",
        "--definitions",
        LOCATION,
        "--json",
    )
    assert code == 1, out  # the run failed, so --wait exits 1
    result = json.loads(out)
    assert result["status"] == "FAILURE" and result["tasks"] == 9
    run_id = result["run_id"]

    code, out = arco("runs", "--status", "failure", "--json")
    assert code == 0 and [r["run_id"] for r in json.loads(out)["runs"]] == [run_id]
    code, out = arco("status", run_id, "--json")
    view = json.loads(out)
    assert view["tags"]["team"] == "data"
    assert {t["status"] for t in view["task_list"]} == {"SUCCESS", "FAILURE", "SKIPPED"}
    code, out = arco("status", run_id)
    assert code == 0 and "SKIPPED" in out and "bad_metric" in out
    code, out = arco("logs", run_id, "--json")
    assert code == 0 and any("loading raw events" in r["message"] for r in json.loads(out))
    code, out = arco("partitions", "bad_metric", "--json")
    states = {p["partition"]: p["status"] for p in json.loads(out)["partitions"]}
    assert states["2024-01-04"] == "MATERIALIZED" and states["2024-01-05"] == "FAILED"
    assert states["2024-01-03"] == "MISSING"

    code, out = arco("rerun", run_id, "--from-failure", "--json")
    assert code == 0 and json.loads(out)["tasks"] == 2
    code, out = arco("cancel", json.loads(out)["run_id"])
    assert code == 0 and "CANCELED" in out

    code, out = arco("run", "key:raw_events", "--partition", "2024-01-01", "--to", "x")
    assert code == 2 and "--from" in out
    code, out = arco("run", "key:nope", "--partition", "2024-01-01")
    assert code == 2 and "unknown asset" in out
    code, out = arco("status", "run_missing")
    assert code == 2 and "no run" in out
    code, out = arco("rerun", run_id)
    assert code == 2 and "--from-failure or --selection" in out


def test_wait_streams_task_events_and_prints_the_failures_traceback(arco) -> None:  # type: ignore[no-untyped-def]
    """A failing asset: `--wait` says which task failed as it happens, then the traceback the
    worker recorded; `arco logs` shows it too. No retry (Dagster's default): one attempt."""
    assert arco("deploy", "--definitions", LOCATION)[0] == 0
    code, out = arco(
        "run", "key:raw_events or key:bad_metric or key:bad_report", "--partition", "2024-01-05",
        "--wait", "--definitions", LOCATION,
    )  # fmt: skip
    assert code == 1, out
    lines = out.splitlines()
    failed = "bad_metric[2024-01-05] #1 FAILURE: ValueError: metric is undefined on 2024-01-05"
    assert failed in lines, out
    assert "raw_events[2024-01-05] #1 SUCCESS" in lines
    assert any(line.startswith("bad_report[2024-01-05] #0 SKIPPED") for line in lines), out
    # The events come in the order they happened, before the summary and the traceback.
    assert lines.index("raw_events[2024-01-05] #1 SUCCESS") < lines.index(failed)
    trace = out[out.index("bad_metric[2024-01-05] attempt 1 failed:") :]
    assert "Traceback (most recent call last):" in trace
    assert 'runs_graph.py", line' in trace and "in bad_metric" in trace
    assert trace.rstrip().endswith("ValueError: metric is undefined on 2024-01-05")
    run_id = re.findall(r"run (run_[0-9a-z]+)", out)[0]
    code, logs = arco("logs", run_id)
    assert code == 0 and "asset bad_metric failed: ValueError" in logs
    assert "Traceback (most recent call last):" in logs and "in bad_metric" in logs


def test_tick_executes_runs_and_at_simulates_time(arco) -> None:  # type: ignore[no-untyped-def]
    assert arco("deploy", "--definitions", LOCATION)[0] == 0
    code, out = arco("run", "key:raw_events", "--partition", "2024-01-02", "--json")
    run_id = json.loads(out)["run_id"]
    # `tick --definitions` launches, dispatches and executes the run here.
    code, out = arco("tick", "--definitions", LOCATION, "--json")
    assert code == 0 and len(json.loads(out)["dispatch"]["executed"]) == 1
    code, out = arco("status", run_id, "--json")
    assert json.loads(out)["status"] == "SUCCESS"
    code, out = arco("logs", run_id, "--task", "0", "--json")
    assert [r["task"] for r in json.loads(out)] == [0]
    code, out = arco("logs", run_id, "--task", "7", "--json")
    assert code == 0 and json.loads(out) == []

    # `--at` stamps what a command writes at the simulated time (which flows on from there).
    # The store is then "in" 2030: later real-time writes would land behind its watermark.
    code, out = arco("--at", "yesterday", "runs")
    assert code == 2 and "--at" in out
    code, out = arco("--at", "2030-01-01T00:00:00Z", "settings", "set", "runs.max_in_flight", "3")
    assert code == 0
    # A real-time compactor defers objects from the far future; one at the simulated time folds.
    assert arco("--at", "2030-01-01T00:01:00Z", "compact")[0] == 0
    code, out = arco("settings", "list", "--json")
    changed = {s["name"]: s for s in json.loads(out)}["runs.max_in_flight"]["changed_at_ms"]
    assert 1_893_456_000_000 <= changed < 1_893_456_000_000 + 60_000
