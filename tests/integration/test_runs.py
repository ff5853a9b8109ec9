"""Runs end to end on the local store: launch, execute in process, retry, skip, re-execute,
cancel, schedules becoming runs, and redelivered worker orders."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock, clock_now
from arco.domain.errors import InvalidInput, NotFound, Refused
from arco.domain.run_controller import TaskOrder, dispatch_name
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, cancel_run, launch_run, rerun
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor, NoWorkers
from arco.services.engines.local_runner import drive_run
from arco.services.engines.timer import run_timer
from arco.services.engines.worker import execute_task
from arco.services.queries.runs import list_runs, partition_status, read_logs, run_status
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import now_of

LOCATION = "tests.fixtures.runs_graph:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)
WEEK = ("2024-01-01", "2024-01-07")
THREE_LAYERS = (
    "key:raw_events or key:clean_events or key:daily_report or key:bad_metric or key:bad_report"
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path / "store"),
        "runs",
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=3_600_000,
    )
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def executor(ws: Workspace) -> InProcessExecutor:
    return InProcessExecutor(ws, load_definitions(LOCATION))


def advance(ws: Workspace, seconds: float) -> None:
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(round(seconds * 1000))


def drive(ws: Workspace, run_id: str, executor: Any) -> str:
    return drive_run(ws, run_id, executor, timeout_s=60, sleep=lambda s: advance(ws, s))


def tasks_by_key(view: dict[str, Any]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(t["asset"], t["partition"]): t for t in view["task_list"]}


def ledger_names(ws: Workspace) -> list[str]:
    return [o.key for o in ws.store.list(ws.layout.ledger_prefix)]


def test_a_week_of_a_three_layer_graph_with_a_flaky_and_a_broken_asset(
    ws: Workspace, executor: InProcessExecutor
) -> None:
    launched = launch_run(ws, LaunchRequest(THREE_LAYERS, partition_range=WEEK))
    assert launched.created and launched.tasks == 5 * 7
    assert drive(ws, launched.run_id, executor) == "FAILURE"

    view = run_status(ws, launched.run_id)
    tasks = tasks_by_key(view)
    assert view["tasks"] == {
        "total": 35,
        "succeeded": 33,
        "failed": 1,
        "skipped": 1,
        "canceled": 0,
    }
    # The flaky asset failed once and succeeded on its retry.
    flaky = tasks[("clean_events", "2024-01-03")]
    assert flaky["status"] == "SUCCESS" and flaky["attempt"] == 2
    assert [a["outcome"] for a in flaky["attempts"]] == ["FAILURE", "SUCCESS"]
    assert "warehouse connection reset" in flaky["attempts"][0]["error"]
    assert tasks[("daily_report", "2024-01-03")]["status"] == "SUCCESS"
    # The broken one failed for good; only its own downstream partition was skipped.
    broken = tasks[("bad_metric", "2024-01-05")]
    assert broken["status"] == "FAILURE" and "metric is undefined" in broken["error"]
    skipped = tasks[("bad_report", "2024-01-05")]
    assert skipped["status"] == "SKIPPED" and skipped["attempt"] == 0
    assert skipped["skipped_because"] == "bad_metric[2024-01-05] failed"
    assert tasks[("bad_report", "2024-01-04")]["status"] == "SUCCESS"

    # Partition status: what was materialized, and the last attempt, kept apart.
    snapshot = ws.snapshot()
    raw = partition_status(snapshot, "raw_events")
    assert sorted(raw) == [f"2024-01-0{d}" for d in range(1, 8)]
    assert raw["2024-01-02"]["materialized_data_version"] == "raw-2024-01-02"
    assert raw["2024-01-02"]["materialized_code_version"] == "1"
    assert json.loads(raw["2024-01-02"]["materialized_metadata"]) == {"rows": 100}
    bad = partition_status(snapshot, "bad_metric")["2024-01-05"]
    assert bad["materialized_run_id"] is None and bad["attempt_status"] == "FAILURE"
    assert "2024-01-05" not in partition_status(snapshot, "bad_report")

    # A failure followed by a successful retry reads MATERIALIZED; a failure alone FAILED.
    from arco.services.queries.assets import partition_report

    clean = {r["partition"]: r for r in partition_report(ws, "clean_events", now_of(ws))}
    assert clean["2024-01-03"]["status"] == "MATERIALIZED"
    assert clean["2024-01-03"]["last_materialization"]["run_id"] == launched.run_id
    broken_report = {r["partition"]: r for r in partition_report(ws, "bad_metric", now_of(ws))}
    assert broken_report["2024-01-05"]["status"] == "FAILED"
    assert broken_report["2024-01-05"]["last_materialization"] is None
    assert broken_report["2024-01-08"]["status"] == "MISSING"

    # Logs of every attempt are kept.
    logs = read_logs(ws, launched.run_id)
    assert any(
        r["asset"] == "raw_events" and "loading raw events 2024-01-01" in r["message"] for r in logs
    )
    assert any(r["level"] == "ERROR" and r["asset"] == "bad_metric" for r in logs)

    # Re-execute from failure: only the failed task and what lies downstream of it.
    child = rerun(ws, launched.run_id, from_failure_=True)
    ws.compactor.compact_until_idle()
    retry_view = run_status(ws, child.run_id)
    assert [(t["asset"], t["partition"]) for t in retry_view["task_list"]] == [
        ("bad_metric", "2024-01-05"),
        ("bad_report", "2024-01-05"),
    ]
    assert retry_view["lineage"]["parent_run_id"] == launched.run_id
    assert retry_view["lineage"]["root_run_id"] == launched.run_id
    assert retry_view["tags"]["arco/parent_run_id"] == launched.run_id
    assert drive(ws, child.run_id, executor) == "FAILURE"  # the metric is still undefined
    assert run_status(ws, launched.run_id)["lineage"]["children"] == [child.run_id]
    # A failed retry never hides good data: what was materialized stays materialized.
    assert partition_status(ws.snapshot(), "raw_events")["2024-01-05"]["materialized_run_id"]


def test_rerun_of_a_selection_uses_the_parent_partitions(
    ws: Workspace, executor: InProcessExecutor
) -> None:
    parent = launch_run(ws, LaunchRequest("key:raw_events", partition_range=WEEK))
    assert drive(ws, parent.run_id, executor) == "SUCCESS"
    with pytest.raises(Refused, match="succeeded"):
        rerun(ws, parent.run_id, from_failure_=True)
    child = rerun(ws, parent.run_id, selection="key:clean_events")
    assert child.tasks == 7 and child.assets == ("clean_events",)
    assert drive(ws, child.run_id, executor) == "SUCCESS"


def test_selecting_an_asset_does_not_pull_in_its_downstream(ws: Workspace) -> None:
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"))
    ws.compactor.compact_until_idle()
    view = run_status(ws, launched.run_id)
    assert [(t["asset"], t["partition"]) for t in view["task_list"]] == [
        ("raw_events", "2024-01-02")
    ]
    assert view["tags"]["arco/partition"] == "2024-01-02"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (LaunchRequest("key:nope", partition="2024-01-01"), "unknown asset 'nope'"),
        (LaunchRequest("key:raw_events and (", partition="2024-01-01"), "bad selection"),
        (LaunchRequest("key:raw_events", partition="2023-12-31"), "2023-12-31"),
        (LaunchRequest("key:raw_events"), "give --partition or --from/--to"),
        (
            LaunchRequest("key:raw_events", partition="2024-01-01", tags={"arco/x": "1"}),
            "reserved prefix 'arco/'",
        ),
        (
            LaunchRequest("key:unpartitioned_summary", partition="2024-01-01"),
            "no selected asset is partitioned",
        ),
        (LaunchRequest("key:raw_events", partition="2024-01-01", run_key=""), "run_key"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(
    ws: Workspace, request_: LaunchRequest, message: str
) -> None:
    before = ledger_names(ws)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        launch_run(ws, request_)
    assert ledger_names(ws) == before
    assert list(ws.store.list(ws.layout.root + "reservations/")) == []


def test_run_key_repeats_return_the_run_and_conflicts_are_recorded(ws: Workspace) -> None:
    request = LaunchRequest("key:raw_events", partition="2024-01-01", run_key="k1")
    first = launch_run(ws, request)
    again = launch_run(ws, request)
    assert first.created and not again.created and again.run_id == first.run_id
    ws.compactor.compact_until_idle()
    assert launch_run(ws, request).ledger_object is None  # published: nothing appended
    other = LaunchRequest("key:raw_events", partition="2024-01-02", run_key="k1")
    with pytest.raises(Refused) as refused:
        launch_run(ws, other)
    assert refused.value.details["existing_run_id"] == first.run_id
    assert refused.value.details["existing_fingerprint"] == first.fingerprint
    ws.compactor.compact_until_idle()
    conflicts = ws.snapshot().table("run_key_conflicts").to_pylist()
    assert [(c["run_key"], c["existing_run_id"]) for c in conflicts] == [("k1", first.run_id)]
    assert len(list_runs(ws)["runs"]) == 1


def test_cancel_a_queued_run_at_once_and_a_started_one_when_its_worker_stops(
    ws: Workspace,
) -> None:
    queued = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    ws.compactor.compact_until_idle()
    assert cancel_run(ws, queued.run_id)["status"] == "CANCELED"
    ws.compactor.compact_until_idle()
    assert run_status(ws, queued.run_id)["status"] == "CANCELED"
    with pytest.raises(Refused, match="already finished"):
        cancel_run(ws, queued.run_id)

    started = launch_run(ws, LaunchRequest("key:raw_events", partition_range=WEEK))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    assert len(waiting.pending) == 7
    assert cancel_run(ws, started.run_id)["status"] == "CANCELING"
    ws.compactor.compact_until_idle()
    assert run_status(ws, started.run_id)["status"] == "CANCELING"
    # The workers get their orders late: they see the cancel and report CANCELED.
    definitions = load_definitions(LOCATION)
    results = [execute_task(ws, definitions, order) for order in waiting.pending]
    assert {r.outcome for r in results} == {"CANCELED"}
    ws.compactor.compact_until_idle()
    view = run_status(ws, started.run_id)
    assert view["status"] == "CANCELED" and view["tasks"]["canceled"] == 7
    assert partition_status(ws.snapshot(), "raw_events") == {}


def test_in_flight_limit_and_heartbeat_timeouts(ws: Workspace) -> None:
    from arco.services.commands.settings import change_setting

    change_setting(ws, "runs.max_in_flight", 1, "r1", "test")
    change_setting(ws, "runs.task_max_retries", 1, "r2", "test")  # Dagster's default is 0
    ws.compactor.compact_until_idle()  # a launch reads the published settings
    first = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    advance(ws, 1)
    second = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"))
    waiting = NoWorkers()
    result = run_timer(ws, now_of(ws), dispatcher=waiting)
    assert result.runs_launched == 1 and [o.run_id for o in waiting.pending] == [first.run_id]
    assert run_status(ws, second.run_id)["status"] == "QUEUED"
    # The order is never delivered: after the dispatch timeout the attempt fails and retries.
    advance(ws, 31 * 60)
    result = run_timer(ws, now_of(ws), dispatcher=waiting)
    assert result.tasks_timed_out == 1
    task = run_status(ws, first.run_id)["task_list"][0]
    assert task["status"] == "RETRY_WAIT" and "never started" in task["error"]


def test_by_default_a_failed_attempt_is_not_retried_as_in_dagster(ws: Workspace) -> None:
    """No retry_policy and no `runs.task_max_retries` setting: the first failure ends the task."""
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    advance(ws, 31 * 60)  # the order is never delivered: the attempt times out
    result = run_timer(ws, now_of(ws), dispatcher=waiting)
    assert result.tasks_timed_out == 1
    view = run_status(ws, launched.run_id)
    assert view["task_list"][0]["status"] == "FAILURE" and view["status"] == "FAILURE"
    assert view["task_list"][0]["max_attempts"] == 1


def test_a_redelivered_order_runs_once(ws: Workspace, executor: InProcessExecutor) -> None:
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    (order,) = waiting.pending
    definitions = load_definitions(LOCATION)
    assert execute_task(ws, definitions, order).outcome == "SUCCESS"
    ws.compactor.compact_until_idle()
    objects = len(ledger_names(ws))
    assert execute_task(ws, definitions, order).outcome == "STALE"
    assert len(ledger_names(ws)) == objects  # nothing written for a finished task
    assert run_status(ws, launched.run_id)["status"] == "SUCCESS"


def test_an_order_delivered_three_times_before_any_compaction_runs_user_code_once(
    ws: Workspace,
) -> None:
    """Cloud Tasks is at-least-once and the projection lags: the attempt claim, not the
    published state, is what keeps a redelivered order from running the asset again."""
    from tests.fixtures.runs_graph import RAW_EXECUTIONS

    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-02"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    (order,) = waiting.pending
    definitions = load_definitions(LOCATION)
    outcomes = [execute_task(ws, definitions, order).outcome for _ in range(3)]
    assert outcomes == ["SUCCESS", "CLAIMED", "CLAIMED"]
    assert RAW_EXECUTIONS[(launched.run_id, "2024-01-02", 1)] == 1
    ws.compactor.compact_until_idle()
    assert run_status(ws, launched.run_id)["status"] == "SUCCESS"


def test_orders_that_do_not_match_the_run_are_refused(ws: Workspace) -> None:
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    ws.compactor.compact_until_idle()
    definitions = load_definitions(LOCATION)
    order = TaskOrder("runs", launched.run_id, 0, 1, "raw_events", "2024-01-02", "x")
    with pytest.raises(InvalidInput, match="not raw_events"):
        execute_task(ws, definitions, order)
    with pytest.raises(NotFound):
        execute_task(ws, definitions, TaskOrder("runs", "run_nope", 0, 1, "raw_events", None, "x"))
    with pytest.raises(InvalidInput, match="workspace"):
        execute_task(ws, definitions, TaskOrder("other", launched.run_id, 0, 1, "a", None, "x"))


def test_schedule_ticks_become_runs_with_their_tick_scoped_run_key(tmp_path: Path) -> None:
    location = "tests.fixtures.scheduling:defs"
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    ws = Workspace(
        LocalObjectStore(tmp_path / "s"),
        "sched",
        clock=FixedClock(int(start.timestamp() * 1000)),
        lookback_ms=3_600_000,
    )
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    moment = datetime(2024, 1, 2, 0, 5, tzinfo=UTC)
    assert isinstance(ws.clock, FixedClock)
    ws.clock._now = int(moment.timestamp() * 1000)
    executor = InProcessExecutor(ws, load_definitions(location))
    result = run_timer(ws, moment, dispatcher=executor)
    assert result.runs_requested >= 1
    ticks = {
        (t["schedule"], t["tick_ms"]): t for t in ws.snapshot().table("schedule_ticks").to_pylist()
    }
    daily = [t for (name, _), t in ticks.items() if name == "daily_partitioned"]
    assert daily and daily[0]["status"] == "TRIGGERED"
    run_ids = json.loads(daily[0]["run_ids"])
    assert len(run_ids) == 1
    view = run_status(ws, run_ids[0])
    assert view["source"] == "schedule" and view["run_key"] == "2024-01-01"
    assert view["tags"]["arco/schedule_name"] == "daily_partitioned"
    requests = {r["request_id"]: r for r in ws.snapshot().table("run_requests").to_pylist()}
    assert {r["status"] for r in requests.values()} <= {"LAUNCHED", "FAILED"}
    # Another timer call at the same moment requests nothing again.
    assert run_timer(ws, moment, dispatcher=executor).runs_requested == 0


def test_a_schedule_key_repeated_on_two_ticks_launches_two_runs(tmp_path: Path) -> None:
    location = "tests.fixtures.scheduling:defs"
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    clock = FixedClock(int(start.timestamp() * 1000))
    ws = Workspace(LocalObjectStore(tmp_path / "s"), "sched", clock=clock, lookback_ms=3_600_000)
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    for day in (2, 3):
        moment = datetime(2024, 1, day, 0, 5, tzinfo=UTC)
        clock._now = int(moment.timestamp() * 1000)
        run_timer(ws, moment)
    regions = [
        r
        for r in list_runs(ws, limit=1000)["runs"]
        if r["tags"].get("arco/schedule_name") == "regions_daily"
    ]
    # `eu` and `us` are the run keys of every tick: each tick gets its own two runs.
    assert sorted(r["run_key"] for r in regions) == ["eu", "eu", "us", "us"]
    assert len({r["run_id"] for r in regions}) == 4


def test_duplicate_keys_in_one_tick_make_one_run_and_keyless_requests_always_run(
    ws: Workspace,
) -> None:
    from arco.domain.run_requests import automation_requests_to_events
    from arco.services.commands.runs import default_retry
    from arco.services.queries.definitions import require_definitions

    request = {
        "source": "schedule",
        "source_name": "nightly",
        "tick_ms": 1_704_067_200_000,
        "run_key": "2024-01-01",
        "partition_key": "2024-01-01",
        "asset_selection": json.dumps(["raw_events"]),
        "tags": "{}",
        "status": "REQUESTED",
    }
    rows = [{**request, "request_id": "a"}, {**request, "request_id": "b"}]
    events = automation_requests_to_events(
        ws.name,
        require_definitions(ws),
        rows,
        frozenset(),
        now_of(ws),
        ws.clock.now_ms(),
        default_retry(ws.snapshot()),
    )
    assert len({e.idempotency_key for e in events}) == 1  # one run id, one key
    ws.writer.append(events)
    for _ in range(2):
        launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    ws.compactor.compact_until_idle()
    runs = list_runs(ws, limit=100)["runs"]
    assert sorted(r["source"] for r in runs) == ["manual", "manual", "schedule"]


def test_doctor_says_when_no_timer_is_advancing_runs(ws: Workspace) -> None:
    from arco.services.operations.doctor import run_doctor

    launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    (finding,) = [f for f in run_doctor(ws) if f.check == "runs"]
    assert finding.status == "ok" and "1 active run(s)" in finding.summary
    # The order is never delivered and no timer runs for 45 minutes: the dispatch should have
    # timed out 15 minutes ago.
    advance(ws, 45 * 60)
    (finding,) = [f for f in run_doctor(ws) if f.check == "runs"]
    assert finding.status == "error" and "no timer call" in finding.summary
    assert finding.details[0]["status"] == "DISPATCHED"
    assert finding.details[0]["overdue_minutes"] == 15
    run_timer(ws, now_of(ws), dispatcher=waiting)  # the timer times it out and retries
    (finding,) = [f for f in run_doctor(ws) if f.check == "runs"]
    assert finding.status == "ok"


def test_an_attempt_the_timer_did_not_dispatch_runs_nothing(ws: Workspace) -> None:
    """A forged attempt number (or a dispatch name the timer never recorded) is refused, even
    after folding what is pending; the ledger is unchanged and user code never runs."""
    launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    waiting = NoWorkers()
    run_timer(ws, now_of(ws), dispatcher=waiting)
    (order,) = waiting.pending
    definitions = load_definitions(LOCATION)
    ws.compactor.compact_until_idle()
    # Something pending in the ledger: a forged order must not even make the worker publish it.
    change_setting(ws, "runs.max_in_flight", 7, "pending", "test")
    manifest = ws.manifest().manifest_id
    objects = len(ledger_names(ws))
    forged = dataclasses.replace(
        order, attempt=3, dispatch_name=dispatch_name("runs", order.run_id, order.task, 3)
    )
    with pytest.raises(InvalidInput, match=r"attempt 3 .* was not dispatched"):
        execute_task(ws, definitions, forged)
    assert ws.manifest().manifest_id == manifest
    renamed = dataclasses.replace(order, dispatch_name="made-up")
    with pytest.raises(InvalidInput, match="was not dispatched"):
        execute_task(ws, definitions, renamed)
    assert len(ledger_names(ws)) == objects
    assert execute_task(ws, definitions, order).outcome == "SUCCESS"


def test_a_backfill_of_an_unpartitioned_asset_is_one_run_and_schedules_keep_ticking(
    tmp_path: Path,
) -> None:
    """Once a backfill over an unpartitioned asset made every timer call fail (its one chunk's
    piece could not be recorded), stopping every schedule of the workspace. It is one run, and
    the timer goes on ticking schedules meanwhile."""
    from arco.services.commands.backfills import BackfillRequest, create_backfill
    from arco.services.queries.backfills import backfill_runs, show_backfill

    location = "tests.fixtures.scheduling:defs"
    start = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
    clock = FixedClock(int(start.timestamp() * 1000))
    ws = Workspace(LocalObjectStore(tmp_path / "s"), "sched", clock=clock, lookback_ms=3_600_000)
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    # `summary` is unpartitioned (and external here, so its run fails with its reason: what
    # matters is that the backfill is planned as one run, ends, and halts nothing).
    backfill, created = create_backfill(ws, BackfillRequest("key:summary"), "test")
    assert created and backfill["partitions"] == 0 and backfill["chunks"] == 1
    executor = InProcessExecutor(ws, load_definitions(location))
    for hour in range(1, 5):  # the timer, hourly
        clock._now = int((start + timedelta(hours=hour)).timestamp() * 1000)
        run_timer(ws, clock_now(clock), dispatcher=executor)
    ws.compactor.compact_until_idle()
    [run] = backfill_runs(ws, backfill["backfill_id"])
    assert run["partition"] is None and run["status"] in ("SUCCESS", "FAILURE")
    assert show_backfill(ws, backfill["backfill_id"])["status"].startswith("COMPLETED_")
    ticks = ws.snapshot().table("schedule_ticks").to_pylist()
    assert len([t for t in ticks if t["schedule"] == "hourly_latest"]) == 4


def test_a_backfill_of_an_unpartitioned_asset_runs_its_function_once(
    ws: Workspace, executor: InProcessExecutor
) -> None:
    from arco.services.commands.backfills import BackfillRequest, create_backfill
    from arco.services.queries.backfills import backfill_runs, show_backfill

    backfill, _ = create_backfill(ws, BackfillRequest("key:unpartitioned_summary"), "test")
    for _ in range(3):
        run_timer(ws, now_of(ws), dispatcher=executor)
    ws.compactor.compact_until_idle()
    [run] = backfill_runs(ws, backfill["backfill_id"])
    assert run["status"] == "SUCCESS" and run["partition"] is None
    assert show_backfill(ws, backfill["backfill_id"])["status"] == "COMPLETED_SUCCESS"


def _versioned(version: str) -> Any:
    """A code location of one asset, `thing`, at `version` (as edited between deploys)."""
    from arco.sdk import Definitions, asset

    @asset(name="thing", code_version=version)
    def thing() -> None: ...

    return Definitions(assets=[thing])


def _materialized(ws: Workspace) -> tuple[str | None, str]:
    """(code version, run) of `thing`'s last materialization."""
    ws.compactor.compact_until_idle()
    (row,) = ws.snapshot().table("partition_status").to_pylist()
    return row["materialized_code_version"], row["materialized_run_id"]


def test_a_worker_never_records_a_code_version_it_did_not_run(tmp_path: Path) -> None:
    """The issue's scenario: old code keeps running in a worker while version 2 is deployed.
    The old worker refuses the run planned with 2 (nothing recorded); the worker with the new
    code runs it and records 2; a run planned with 1 is refused by the new code."""
    ws = Workspace(LocalObjectStore(tmp_path), "cv", clock=FixedClock(int(T0.timestamp() * 1000)))
    old, new = _versioned("1"), _versioned("2")
    deploy(ws, old.snapshot("loc"), "test")
    ws.compactor.compact_until_idle()
    first = launch_run(ws, LaunchRequest("key:thing"))
    assert (
        drive_run(ws, first.run_id, InProcessExecutor(ws, old), sleep=advance_by(ws)) == "SUCCESS"
    )
    assert _materialized(ws) == ("1", first.run_id)

    deploy(ws, new.snapshot("loc"), "test")  # edited and deployed; the old worker still runs
    ws.compactor.compact_until_idle()
    second = launch_run(ws, LaunchRequest("key:thing"))
    assert (
        drive_run(ws, second.run_id, InProcessExecutor(ws, old), sleep=advance_by(ws)) == "FAILURE"
    )
    (task,) = run_status(ws, second.run_id)["task_list"]
    assert task["error"].startswith("CodeVersionMismatch: asset 'thing' has code version '1'")
    assert "planned with code version '2'" in task["error"]
    assert _materialized(ws) == ("1", first.run_id)  # nothing recorded for the old code

    third = launch_run(ws, LaunchRequest("key:thing"))
    assert (
        drive_run(ws, third.run_id, InProcessExecutor(ws, new), sleep=advance_by(ws)) == "SUCCESS"
    )
    assert _materialized(ws) == ("2", third.run_id)
    assert run_status(ws, third.run_id)["task_list"][0]["code_version"] == "2"

    deploy(ws, old.snapshot("loc"), "test")  # rolled back; a worker still has the new code
    ws.compactor.compact_until_idle()
    fourth = launch_run(ws, LaunchRequest("key:thing"))
    status = drive_run(ws, fourth.run_id, InProcessExecutor(ws, new), sleep=advance_by(ws))
    assert status == "FAILURE"
    (task,) = run_status(ws, fourth.run_id)["task_list"]
    assert "has code version '2' in this worker's code" in task["error"]
    assert "planned with code version '1'" in task["error"]
    assert _materialized(ws) == ("2", third.run_id)


def advance_by(ws: Workspace) -> Any:
    def sleep(seconds: float) -> None:
        advance(ws, seconds)

    return sleep
