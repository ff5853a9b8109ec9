"""Sensors as Dagster users write them, driven by the timer with an in-process worker (their
functions run in the worker, never in the timer): `@multi_asset_sensor`, `@asset_sensor` with
a function, `@run_failure_sensor`, dynamic partitions requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.observations import observe_asset
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import function_sensors as loc
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.function_sensors:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    loc.FAIL["on"] = False
    for seen in (loc.ALERTS, loc.SEEN_EVENTS, loc.NEW_CUSTOMERS):
        seen.clear()
    yield


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path), "fs", clock=FixedClock(int(T0.timestamp() * 1000))
    )
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def executor(ws: Workspace) -> InProcessExecutor:
    return InProcessExecutor(ws, load_definitions(LOCATION))


def advance(ws: Workspace, seconds: float) -> None:
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(round(seconds * 1000))


def evaluate_sensors(ws: Workspace) -> None:
    """Two timer calls 31 s apart: every due sensor is evaluated once by the worker, and what
    it requested is launched and run."""
    for _ in range(2):
        advance(ws, 31)
        run_timer(ws, now_of(ws), dispatcher=executor(ws))
    ws.compactor.compact_until_idle()


def materialize(ws: Workspace, selection: str) -> str:
    launched = launch_run(ws, LaunchRequest(selection))
    drive_run(ws, launched.run_id, executor(ws), sleep=lambda s: advance(ws, s))
    return launched.run_id


def runs_of(ws: Workspace, sensor: str) -> list[dict[str, Any]]:
    rows = ws.snapshot().rows("runs").values()
    return sorted((r for r in rows if r["scope"] == f"sensor:{sensor}"), key=lambda r: r["run_id"])


def ticks(ws: Workspace, sensor: str) -> list[dict[str, Any]]:
    rows = ws.snapshot().rows("sensor_ticks")
    return [row for key, row in sorted(rows.items()) if key[0] == sensor]


def test_a_multi_asset_sensor_fires_once_when_both_assets_were_updated(ws: Workspace) -> None:
    evaluate_sensors(ws)
    assert runs_of(ws, "both_updated") == []
    materialize(ws, "key:a")
    evaluate_sensors(ws)
    assert runs_of(ws, "both_updated") == []  # only one of the two: nothing
    materialize(ws, "key:b")
    evaluate_sensors(ws)
    (run,) = runs_of(ws, "both_updated")  # both: exactly one run
    assert run["assets"] == '["c"]'
    evaluate_sensors(ws)
    evaluate_sensors(ws)
    assert len(runs_of(ws, "both_updated")) == 1  # consumed: no second run
    materialize(ws, "key:b")
    evaluate_sensors(ws)
    assert len(runs_of(ws, "both_updated")) == 1  # b again, a not: nothing
    materialize(ws, "key:a")
    evaluate_sensors(ws)
    assert len(runs_of(ws, "both_updated")) == 2
    statuses = [t["status"] for t in ticks(ws, "both_updated")]
    assert statuses.count("SUCCESS") == 2 and "FAILURE" not in statuses


def test_an_asset_sensor_function_sees_each_new_materialization_once(ws: Workspace) -> None:
    evaluate_sensors(ws)
    first = ticks(ws, "on_a")[0]
    assert first["status"] == "SKIPPED"
    no_new = "No new materialization events found for asset key AssetKey(['a'])"  # Dagster's
    assert first["skip_reason"] == no_new
    one = materialize(ws, "key:a")
    evaluate_sensors(ws)
    evaluate_sensors(ws)
    two = materialize(ws, "key:a")
    evaluate_sensors(ws)
    seen = list(loc.SEEN_EVENTS)
    assert seen == [("a", one), ("a", two)]
    # An observation is not a materialization: the sensor does not fire on it (as in Dagster).
    observe_asset(ws, "a", "v9", None, "obs-1", "test", now_of(ws))
    ws.compactor.compact_until_idle()
    evaluate_sensors(ws)
    assert list(loc.SEEN_EVENTS) == seen
    assert sorted(r["run_key"] for r in runs_of(ws, "on_a")) == sorted([one, two])


def test_a_run_failure_sensor_alerts_once_per_failed_run(ws: Workspace) -> None:
    evaluate_sensors(ws)  # starts watching: runs that end from now on
    ok = materialize(ws, "key:flaky")
    loc.FAIL["on"] = True
    failed = materialize(ws, "key:flaky")
    evaluate_sensors(ws)
    evaluate_sensors(ws)
    assert [run_id for run_id, _ in loc.ALERTS] == [failed]
    assert "RuntimeError: the warehouse is down" in loc.ALERTS[0][1]
    assert ok != failed and runs_of(ws, "alert") == []  # an alert requests nothing


def test_a_sensor_adds_dynamic_partitions_and_runs_them(ws: Workspace) -> None:
    loc.NEW_CUSTOMERS.extend(["acme", "globex"])
    evaluate_sensors(ws)
    keys = {
        k[1]
        for k, row in ws.snapshot().rows("dynamic_partitions").items()
        if k[0] == "customers" and row["present"]
    }
    assert keys == {"acme", "globex"}
    assert sorted(r["partition"] for r in runs_of(ws, "customer_sensor")) == ["acme", "globex"]
    evaluate_sensors(ws)  # has_dynamic_partition: nothing new the second time
    assert len(runs_of(ws, "customer_sensor")) == 2
