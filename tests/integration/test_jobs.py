"""A schedule that runs an asset job, end to end on the local store: the timer ticks it with a
fixed clock, the run materializes exactly the job's assets (a group selection), in process."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from arco.clock import FixedClock
from arco.sdk import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    asset,
    define_asset_job,
)
from arco.services.commands.deploy import deploy
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.queries.runs import tasks_of
from arco.services.workspace import Workspace
from arco.storage.port import ObjectStore

LOCATION = "tests.integration.test_jobs"
DEPLOYED = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
TICK = datetime(2024, 1, 1, 1, 0, 5, tzinfo=UTC)  # just after the 01:00 tick
MATERIALIZED: list[str] = []


@asset(group_name="sales")
def orders() -> None:
    MATERIALIZED.append("orders")


@asset(group_name="sales")
def revenue(orders: None) -> None:
    MATERIALIZED.append("revenue")


@asset(group_name="ops")
def audit(revenue: None) -> None:  # downstream of the job, but outside its selection
    MATERIALIZED.append("audit")


SALES_JOB = define_asset_job(
    "sales_job", AssetSelection.groups("sales"), tags={"team": "sales", "tier": "gold"}
)
DEFS = Definitions(
    assets=[orders, revenue, audit],
    schedules=[
        ScheduleDefinition(
            job=SALES_JOB,
            cron_schedule="0 * * * *",
            default_status=DefaultScheduleStatus.RUNNING,
        )
    ],
)


@pytest.fixture
def ws(store: ObjectStore) -> Workspace:
    MATERIALIZED.clear()
    clock = FixedClock(int(DEPLOYED.timestamp() * 1000))
    workspace = Workspace(store, "jobs", clock=clock, lookback_ms=3_600_000)
    deploy(workspace, DEFS.snapshot(LOCATION), "test")
    run_timer(workspace, DEPLOYED)  # the schedule starts from here
    return workspace


def run_through_the_tick(ws: Workspace) -> dict[str, object]:
    """Timer calls at the tick (and a little after) until the schedule's one run finished."""
    assert isinstance(ws.clock, FixedClock)
    executor = InProcessExecutor(ws, DEFS)
    moment = TICK
    for step in range(20):
        ws.clock._now = int(moment.timestamp() * 1000) + step * 1000
        run_timer(ws, datetime.fromtimestamp(ws.clock._now / 1000, tz=UTC), dispatcher=executor)
        runs = ws.snapshot().table("runs").to_pylist()
        if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            break
    (run,) = runs
    return run


def test_the_schedule_runs_exactly_the_job_assets(ws: Workspace) -> None:
    run = run_through_the_tick(ws)
    assert run["status"] == "SUCCESS"
    assert run["source"] == "schedule"
    assert json.loads(run["assets"]) == ["orders", "revenue"]
    assert [t["asset"] for t in tasks_of(ws.snapshot(), run["run_id"])] == ["orders", "revenue"]
    assert MATERIALIZED == ["orders", "revenue"]  # audit, downstream, is not part of the job
    tags = json.loads(run["tags"])
    assert tags["arco/schedule_name"] == "sales_job_schedule"
    deployed = ws.snapshot().table("run_requests").to_pylist()
    assert [json.loads(r["asset_selection"]) for r in deployed] == [["orders", "revenue"]]


def test_the_run_carries_the_job_tags(ws: Workspace) -> None:
    run = run_through_the_tick(ws)
    tags = json.loads(run["tags"])
    assert {k: tags.get(k) for k in ("team", "tier")} == {"team": "sales", "tier": "gold"}
