"""Automation that waits for a blocking check or a run's tags, through the timer, real runs and
their checks (the local store): `all_deps_blocking_checks_passed()` reads the check results the
worker recorded with each materialization, `executed_with_tags()` the tags of its run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arco.clock import FixedClock
from arco.services.code_location import load_definitions
from arco.services.commands.automation import set_automation_status
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import automation_checks
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.automation_checks:defs"
T0 = datetime(2024, 2, 1, 10, 30, tzinfo=UTC)


def deployed(tmp_path: Path, location: str) -> Workspace:
    """A workspace on the local store with `location` deployed and published."""
    workspace = Workspace(
        LocalObjectStore(tmp_path / "store"),
        "checks",
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=120_000,
    )
    deploy(workspace, load_definitions(location).snapshot(location), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    yield deployed(tmp_path, LOCATION)
    automation_checks.CHECK["fail"] = False


def tick(ws: Workspace, location: str = LOCATION) -> None:
    """A minute later, one timer call with an in-process worker, then what it wrote published."""
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(60_000)
    run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(location)))
    ws.compactor.compact_until_idle()


def requested(ws: Workspace) -> list[list[str]]:
    rows = sorted(ws.snapshot().rows("runs").values(), key=lambda r: r["created_ms"])
    return [json.loads(r["assets"]) for r in rows if r["source"] == "automation"]


def test_a_child_waits_for_its_parents_blocking_check(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)  # the first evaluation requests nothing
    automation_checks.CHECK["fail"] = True
    launch_run(ws, LaunchRequest(selection="key:source"))
    tick(ws)  # source runs; its blocking check fails (the materialization is kept)
    tick(ws)
    check = ws.snapshot().rows("asset_check_results")[("source", "", "not_empty")]
    assert check["passed"] is False
    assert requested(ws) == [["eager_only"]]  # gated waits
    automation_checks.CHECK["fail"] = False
    launch_run(ws, LaunchRequest(selection="key:source"))
    tick(ws)  # source runs again; its check passes
    tick(ws)
    assert requested(ws) == [["eager_only"], ["eager_only", "gated"]]


def test_a_child_waits_for_a_parent_run_with_the_right_tags(ws: Workspace) -> None:
    set_automation_status(ws, "RUNNING", "start", "test")
    tick(ws)
    launch_run(ws, LaunchRequest(selection="key:source", tags={"team": "ml"}))
    tick(ws)
    tick(ws)
    assert requested(ws) == [["eager_only", "gated"]]  # tagged waits for team=data
    launch_run(ws, LaunchRequest(selection="key:source", tags={"team": "data"}))
    tick(ws)
    tick(ws)
    assert requested(ws) == [["eager_only", "gated"], ["eager_only", "gated", "tagged"]]


def test_an_automation_sensor_running_by_default_evaluates_from_the_deploy(tmp_path: Path) -> None:
    from arco.services.queries.automation import automation_status, why
    from arco.services.queries.definitions import current_definitions

    location = "tests.fixtures.automation_running:defs"
    workspace = deployed(tmp_path, location)

    def step() -> None:
        tick(workspace, location)

    snapshot = workspace.snapshot()
    defs = current_definitions(snapshot)
    assert defs is not None
    status = automation_status(snapshot, defs)
    assert (status["status"], status["default_status"]) == ("RUNNING", "RUNNING")
    assert why(snapshot, defs, "cleaned", workspace.clock.now_ms())["automation_running"] is True
    step()  # the first evaluation requests nothing, without `arco automation start`
    launch_run(workspace, LaunchRequest(selection="key:raw"))
    step()
    step()
    assert requested(workspace) == [["cleaned"]]
    set_automation_status(workspace, "STOPPED", "stop", "test")
    workspace.compactor.compact_until_idle()
    assert automation_status(workspace.snapshot(), defs)["status"] == "STOPPED"
    launch_run(workspace, LaunchRequest(selection="key:raw"))
    for _ in range(3):
        step()
    assert requested(workspace) == [["cleaned"]]  # stopped by an operator: stays stopped
