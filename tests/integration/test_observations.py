"""Observed sources feed staleness as Dagster's observations do: a new observed data version
makes what read the old one STALE, with a cause naming the source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.storage.local import LocalObjectStore
from tests.fixtures import observed_sources
from tests.integration.helpers import api_client
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.observed_sources:defs"


@pytest.fixture
def arco(tmp_path: Path) -> Any:
    create_workspaces(LocalObjectStore(tmp_path), "obs")
    runner = CliRunner()
    observed_sources.ETAG["orders_export"] = "etag-1"

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "obs", *args])
        assert result.exit_code == code, result.output
        return result.output

    invoke("deploy", "--definitions", LOCATION)
    return invoke


def causes(arco: Any, asset: str) -> tuple[str, list[str]]:
    (item,) = json.loads(arco("staleness", f"key:{asset}", "--json"))["items"]
    return item["status"], [
        f"{c['code']} {c['upstream_asset']} {c.get('recorded')}->{c.get('current')}"
        for c in item["causes"]
    ]


def run(arco: Any, selection: str) -> None:
    arco("run", selection, "--wait", "--definitions", LOCATION)


def test_an_observable_source_observed_with_a_new_version_makes_its_downstream_stale(
    arco: Any,
) -> None:
    run(arco, "key:orders_export")  # observing runs its function
    run(arco, "key:report")
    assert causes(arco, "report") == ("FRESH", [])
    assert causes(arco, "orders_export") == ("FRESH", [])
    run(arco, "key:orders_export")  # same version: nothing changes
    assert causes(arco, "report") == ("FRESH", [])
    observed_sources.ETAG["orders_export"] = "etag-2"
    run(arco, "key:orders_export")
    assert causes(arco, "report") == (
        "STALE",
        ["UPSTREAM_DATA_CHANGED orders_export etag-1->etag-2"],
    )
    schedules = {s["name"]: s for s in json.loads(arco("schedules", "--json"))}
    auto = schedules["orders_export_auto_observe"]
    assert (auto["cron"], auto["status"], auto["target"]) == (
        ["*/15 * * * *"], "RUNNING", ["orders_export"],
    )  # fmt: skip


def test_a_pushed_observation_of_an_external_source_makes_its_downstream_stale(
    arco: Any, tmp_path: Path
) -> None:
    arco("observe", "vendor_feed", "--data-version", "v1")
    run(arco, "key:vendor_report")
    assert causes(arco, "vendor_report") == ("FRESH", [])
    out = arco("observe", "vendor_feed", "--data-version", "v2")
    assert out.strip() == "observed vendor_feed: data version v2"
    assert causes(arco, "vendor_report") == ("STALE", ["UPSTREAM_DATA_CHANGED vendor_feed v1->v2"])
    partitions = json.loads(arco("partitions", "vendor_feed", "--json"))["partitions"]
    (row,) = partitions
    last = row["last_materialization"]
    assert (row["status"], last["data_version"], last["run_id"]) == (
        "MATERIALIZED", "v2", "observation",
    )  # fmt: skip

    # The same over HTTP; bad input is refused and writes nothing.
    client = api_client(LocalObjectStore(tmp_path), "obs")
    url = "/v1/workspaces/obs/assets/vendor_feed/observations"
    ledger = len(list(LocalObjectStore(tmp_path).list("workspaces/obs/ledger/")))
    for body, status, needle in [
        ({}, 400, "data_version"),
        ({"data_version": "v3", "partition": "2024-01-01"}, 422, "not partitioned"),
        ({"data_version": ""}, 400, "data_version"),
    ]:
        answer = client.post(url, json=body)
        assert answer.status_code == status and needle in json.dumps(answer.json), answer.json
    missing = client.post("/v1/workspaces/obs/assets/nope/observations", json={"data_version": "x"})
    assert missing.status_code == 404
    assert len(list(LocalObjectStore(tmp_path).list("workspaces/obs/ledger/"))) == ledger
    answer = client.post(url, json={"data_version": "v3"}, headers={"Idempotency-Key": "o-1"})
    assert answer.status_code == 202 and answer.json["data_version"] == "v3"
    assert (
        client.post(
            url, json={"data_version": "v3"}, headers={"Idempotency-Key": "o-1"}
        ).status_code
        == 202
    )
    arco("compact")  # the API appends; the compactor publishes
    assert causes(arco, "vendor_report") == ("STALE", ["UPSTREAM_DATA_CHANGED vendor_feed v1->v3"])
    arco("observe", "nope", "--data-version", "x", code=2)


def test_a_push_sensor_observes_a_source(arco: Any) -> None:
    """`SensorResult(asset_events=[AssetObservation(...)])` records the version as observed."""

    def push(etag: str, message_id: str) -> None:
        arco("sensors", "start", "vendor_landed")
        arco("sensors", "push", "vendor_landed", "--attribute", f"etag={etag}",
             "--message-id", message_id, "--definitions", LOCATION)  # fmt: skip

    push("e1", "m1")
    run(arco, "key:vendor_report")
    assert causes(arco, "vendor_report") == ("FRESH", [])
    push("e2", "m2")
    assert causes(arco, "vendor_report") == ("STALE", ["UPSTREAM_DATA_CHANGED vendor_feed e1->e2"])
