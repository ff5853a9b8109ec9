"""Data versions and provenance recorded at materialization (what staleness will compare)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock
from arco.domain.data_versions import NULL_VERSION, derive_data_version
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures.versions_graph import REPORTED

LOCATION = "tests.fixtures.versions_graph:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path / "store"), "v", clock=FixedClock(int(T0.timestamp() * 1000))
    )
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def run(ws: Workspace, selection: str, partition: str) -> str:
    launched = launch_run(ws, LaunchRequest(selection, partition=partition))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    drive_run(ws, launched.run_id, executor)
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(1000)
    return launched.run_id


def status(ws: Workspace, asset: str, partition: str) -> dict[str, Any]:
    ws.compactor.compact_until_idle()
    row = dict(ws.snapshot().rows("partition_status")[(asset, partition)])
    row["inputs"] = json.loads(row["materialized_input_versions"] or "{}")
    return row


def test_a_code_versioned_asset_keeps_its_data_version_when_nothing_changed(
    ws: Workspace,
) -> None:
    run(ws, "key:source", "2024-01-02")
    first = status(ws, "source", "2024-01-02")
    assert first["materialized_data_version"] == derive_data_version("1", {}, "ignored")
    assert first["materialized_data_version_provided"] is False
    run(ws, "key:source", "2024-01-02")
    again = status(ws, "source", "2024-01-02")
    assert again["materialized_version"] != first["materialized_version"]
    assert again["materialized_data_version"] == first["materialized_data_version"]


def test_provenance_follows_the_partition_mapping(ws: Workspace) -> None:
    run(ws, "key:source", "2024-01-02")
    run(ws, "key:rolling", "2024-01-02")
    rolling = status(ws, "rolling", "2024-01-02")
    source = status(ws, "source", "2024-01-02")["materialized_data_version"]
    # The day and the day before; the day before was never materialized.
    assert rolling["inputs"] == {
        "source[2024-01-01]": NULL_VERSION,
        "source[2024-01-02]": source,
    }
    # The data version has one input per dependency, as Dagster's: the SHA-256 of the
    # versions of the partitions read that were materialized (here only the day itself).
    source_input = hashlib.sha256(source.encode()).hexdigest()
    assert rolling["materialized_data_version"] == derive_data_version(
        "1", {"source": source_input}, "ignored"
    )


def test_without_a_code_version_every_materialization_is_new(ws: Workspace) -> None:
    run(ws, "key:source", "2024-01-03")
    first = run(ws, "key:untracked", "2024-01-03")
    second = run(ws, "key:untracked", "2024-01-03")
    row = status(ws, "untracked", "2024-01-03")
    source = status(ws, "source", "2024-01-03")["materialized_data_version"]
    inputs = {"source": hashlib.sha256(source.encode()).hexdigest()}
    assert row["materialized_data_version"] == derive_data_version(None, inputs, second)
    assert row["materialized_data_version"] != derive_data_version(None, inputs, first)


def test_a_user_provided_data_version_is_kept_and_marked(ws: Workspace) -> None:
    REPORTED["version"] = "2024-q1"
    try:
        run(ws, "key:reported", "2024-01-04")
    finally:
        REPORTED["version"] = "v1"
    row = status(ws, "reported", "2024-01-04")
    assert row["materialized_data_version"] == "2024-q1"
    assert row["materialized_data_version_provided"] is True
