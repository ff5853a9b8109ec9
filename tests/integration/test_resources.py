"""Resources, Output metadata and the partition window, run through the real worker."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arco.clock import FixedClock
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import resources_location

LOCATION = "tests.fixtures.resources_location:defs"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    clock = FixedClock(int(datetime(2024, 2, 1, tzinfo=UTC).timestamp() * 1000))
    workspace = Workspace(LocalObjectStore(tmp_path / "store"), "r", clock=clock)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def _run(ws: Workspace, selection: str) -> str:
    launched = launch_run(ws, LaunchRequest(selection, partition="2024-01-05"))
    status = drive_run(ws, launched.run_id, InProcessExecutor(ws, load_definitions(LOCATION)))
    assert status == "SUCCESS", status
    ws.compactor.compact_until_idle()
    return launched.run_id


def test_resources_are_injected_by_annotation_and_set_up_per_task(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCO_TEST_HN_TOKEN", "s3cret")
    resources_location.EVENTS.clear()
    _run(ws, "key:items or key:stories")
    assert resources_location.EVENTS == [
        # items: the ConfigurableResource gets its EnvVar at run time, set up then torn down
        "setup hn_client token=s3cret",
        "items 2024-01-05..2024-01-06 2024-01-05..2024-01-05 ['2024-01-05']",
        "teardown hn_client",
        # stories: a resource reached through context.resources; its input is items' Output
        # value, loaded by the default IO manager (an input is not a resource). It does not
        # use hn_client, so hn_client is not set up for it (Dagster's rule).
        "stories input=[10, 6] stored=[10, 6]",
    ]
    row = ws.snapshot().rows("partition_status")[("items", "2024-01-05")]
    # Output metadata is recorded as JSON (a MetadataValue as its plain value)
    assert json.loads(row["materialized_metadata"]) == {"count": 2, "preview": "**2**"}


def test_a_missing_environment_variable_fails_the_task_naming_it(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCO_TEST_HN_TOKEN", raising=False)
    launched = launch_run(ws, LaunchRequest("key:items", partition="2024-01-05"))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))

    def advance(seconds: float) -> None:  # the retry waits pass on the workspace's clock
        assert isinstance(ws.clock, FixedClock)
        ws.clock.advance(int(seconds * 1000) + 1)

    assert drive_run(ws, launched.run_id, executor, timeout_s=60, sleep=advance) == "FAILURE"
    ws.compactor.compact_until_idle()
    row = ws.snapshot().rows("partition_status")[("items", "2024-01-05")]
    assert "'ARCO_TEST_HN_TOKEN', which is not set" in row["attempt_error"]


def test_a_task_prepares_only_the_resources_it_uses(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # hn_client's EnvVar is unset: an asset that does not use hn_client still runs, and its
    # context.resources holds only what it uses (here the default IO manager).
    monkeypatch.delenv("ARCO_TEST_HN_TOKEN", raising=False)
    resources_location.EVENTS.clear()
    launched = launch_run(ws, LaunchRequest("key:unrelated"))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    assert drive_run(ws, launched.run_id, executor, timeout_s=30) == "SUCCESS"
    assert resources_location.EVENTS == ["unrelated sees ['io_manager']"]


def test_definition_metadata_is_in_the_deployed_snapshot(ws: Workspace) -> None:
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    assert snapshot.assets["items"].metadata == {"docs": "https://wiki/items"}
    assert snapshot.assets["stories"].metadata == {}
    # resources are parameters, not dependencies
    assert snapshot.assets["items"].dep_keys == ()
    assert snapshot.assets["stories"].dep_keys == ("items",)
