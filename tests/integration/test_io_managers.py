"""IO managers through the real worker: values stored in the workspace's store and loaded
downstream, partitions mapped as Dagster maps them, custom and Parquet IO managers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import io_location

LOCATION = "tests.fixtures.io_location:defs"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(LocalObjectStore(tmp_path / "store"), "io")
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    io_location.SEEN.clear()
    return workspace


def run(ws: Workspace, selection: str, **kwargs: object) -> None:
    launched = launch_run(ws, LaunchRequest(selection, **kwargs))  # type: ignore[arg-type]
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    status = drive_run(ws, launched.run_id, executor, timeout_s=30)
    ws.compactor.compact_until_idle()
    errors = [
        (key, row["attempt_error"])
        for key, row in ws.snapshot().rows("partition_status").items()
        if row.get("attempt_error")
    ]
    assert status == "SUCCESS", errors


def stored(ws: Workspace) -> list[str]:
    prefix = f"{ws.layout.root}io/"
    return sorted(o.key[len(prefix) :] for o in ws.store.list(prefix))


def test_values_flow_partition_to_partition_and_all_partitions_to_one(ws: Workspace) -> None:
    run(ws, "key:events or key:counts", partition_range=("2024-01-01", "2024-01-03"))
    # identity mapping: each counts partition received its own events partition's value
    assert sorted(map(tuple, io_location.SEEN["counts"])) == [
        ("event of 2024-01-01",),
        ("event of 2024-01-02",),
        ("event of 2024-01-03",),
    ]
    assert "events/2024-01-02.pickle" in stored(ws)
    run(ws, "key:summary or key:report")
    # an unpartitioned asset over a daily one gets every partition, by key
    # (2024-01-04 was never materialized: left out of the dict, and logged)
    assert io_location.SEEN["summary"] == {
        "2024-01-01": ["event of 2024-01-01"],
        "2024-01-02": ["event of 2024-01-02"],
        "2024-01-03": ["event of 2024-01-03"],
    }
    # the Parquet IO manager stored report as a Parquet file and loaded summary's Arrow table
    assert io_location.SEEN["report_input"] == {
        "day": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "n": [1, 1, 1],
    }
    assert "report/__unpartitioned__.parquet" in stored(ws)
    raw = ws.store.get(f"{ws.layout.root}io/report/__unpartitioned__.parquet")
    assert raw is not None and raw.data[:4] == b"PAR1"


def test_a_custom_io_manager_stores_and_loads_with_its_contexts(ws: Workspace) -> None:
    run(ws, "key:kept or key:reader")
    assert io_location.SEEN["handled"] == [("kept", "kept value")]
    assert io_location.SEEN["loaded"] == [("kept", {"why": "test"})]
    assert io_location.SEEN["reader"] == "from-memory"
    row = ws.snapshot().rows("partition_status")[("kept", "")]
    assert json.loads(row["materialized_metadata"]) == {"stored_in": "mem"}
    assert not any(key.startswith("kept/") for key in stored(ws))


def test_an_input_never_stored_is_none(ws: Workspace) -> None:
    # counts[2024-01-04] reads events[2024-01-04], never materialized: None, as before IO
    # managers (a warning is logged), not a failure.
    run(ws, "key:counts", partition="2024-01-04")
    assert io_location.SEEN["counts"] == [None]
