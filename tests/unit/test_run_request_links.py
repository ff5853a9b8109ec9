"""The runs fold's side of automation requests and its outcomes, rule by rule (found by
mutation testing of domain/runs.py): a run launched for a request marks the request LAUNCHED and
lists the run on the tick that asked for it; a request that can never run fails its tick with the
reason, once per distinct error; each rule's outcome (applied, superseded, rejected) is the one
the fold counts and quarantines by."""

from __future__ import annotations

import json

from arco.domain import automation, runs, schedules, sensors
from arco.domain.catalog import default_registry
from arco.domain.envelope import EventEnvelope
from arco.domain.run_plan import PlannedTask, RunPlan, TaskKey
from arco.domain.schedules import RunRequestSpec, ScheduleTicked, tick_idempotency_key
from arco.domain.tables import ROW_VERSION, Row
from tests.factories import FoldProjection
from tests.unit.test_runs_fold import Writer as RunWriter
from tests.unit.test_sensors_fold import Writer as SensorWriter
from tests.unit.test_sensors_fold import req

TICK_MS = 1_700_000_000_000


class Writer(RunWriter, SensorWriter):
    """Run, sensor and schedule events on one clock."""

    def requested_for(self, request_id: str, run_id: str) -> EventEnvelope:
        event = self.requested(run_id)
        payload = runs.RunRequested.model_validate({**event.payload, "request_id": request_id})
        return self.envelope(runs.RUN_REQUESTED, payload, runs.run_requested_key(run_id))

    def request_failed(self, request_id: str, error: str) -> EventEnvelope:
        payload = runs.RunRequestFailed(request_id=request_id, error=error)
        return self.envelope(runs.RUN_REQUEST_FAILED, payload, f"failed:{request_id}:{error}")

    def run_failed(self, run_id: str, error: str = "boom") -> EventEnvelope:
        payload = runs.RunFailed(run_id=run_id, error=error)
        return self.envelope(runs.RUN_FAILED, payload, f"run_failed:{run_id}")

    def automation_started(self) -> EventEnvelope:
        payload = automation.AutomationStatusChanged(status="RUNNING", request_id="start")
        key = automation.status_key(automation.SENSOR_NAME, "start")
        return self.envelope(automation.AUTOMATION_STATUS_CHANGED, payload, key)

    def automation_evaluated(self, read: str, *assets: str) -> EventEnvelope:
        payload = automation.AutomationEvaluated(
            cursor_read_version=read,
            assets=[
                automation.AssetEvaluated(
                    asset=a, requested=[""], requested_count=1, memory={"requested": [""]}
                )
                for a in assets
            ],
            runs=[automation.AutomationRunRequest(assets=[a]) for a in assets],
        )
        key = automation.evaluation_key(automation.SENSOR_NAME, read, f"e-{read}")
        return self.envelope(automation.AUTOMATION_EVALUATED, payload, key)

    def schedule_tick(self, *run_keys: str) -> EventEnvelope:
        payload = ScheduleTicked(
            schedule="daily",
            tick_ms=TICK_MS,
            tick_time="t",
            status="TRIGGERED",
            run_requests=[RunRequestSpec(run_key=k, asset_selection=["a"]) for k in run_keys],
            definitions_hash="h",
        )
        key = tick_idempotency_key("daily", TICK_MS)
        return self.envelope(schedules.SCHEDULE_TICKED, payload, key)


class Projection(FoldProjection):
    def __init__(self) -> None:
        super().__init__(default_registry())

    def request(self, request_id: str) -> Row:
        return self.state.rows("run_requests")[(request_id,)]

    def requests(self) -> list[Row]:
        return [r for _, r in sorted(self.state.rows("run_requests").items())]

    def schedule_tick(self) -> Row:
        return self.state.rows("schedule_ticks")[("daily", TICK_MS)]

    def sensor_tick(self, event: EventEnvelope) -> Row:
        return self.state.rows("sensor_ticks")[("new_files", event.event_id)]

    def quarantined(self) -> list[str]:
        return [r["kind"] for r in self.state.rows("quarantine").values()]


def test_a_run_for_a_sensor_request_marks_it_launched_and_lists_it_on_the_tick() -> None:
    w, p = Writer(), Projection()
    tick = w.push("m1", req())
    p.deliver(tick)
    [request] = p.requests()
    assert request["status"] == "REQUESTED" and request["run_id"] is None
    assert p.deliver(w.requested_for(request["request_id"], "run_a")) == ["applied"]
    linked = p.request(request["request_id"])
    assert (linked["status"], linked["run_id"], linked["error"]) == ("LAUNCHED", "run_a", None)
    assert json.loads(p.sensor_tick(tick)["run_ids"]) == ["run_a"]


def test_a_run_for_a_schedule_request_is_listed_on_its_tick_once() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.schedule_tick("k1", "k2"))
    first, second = (r["request_id"] for r in p.requests())
    assert p.deliver(w.requested_for(first, "run_1"), w.requested_for(second, "run_2")) == [
        "applied",
        "applied",
    ]
    assert json.loads(p.schedule_tick()["run_ids"]) == ["run_1", "run_2"]
    assert {r["request_id"]: r["status"] for r in p.requests()} == {
        first: "LAUNCHED",
        second: "LAUNCHED",
    }
    assert p.schedule_tick()["status"] != "FAILED"


def test_automation_requests_list_their_runs_and_failures_on_their_tick() -> None:
    w, p = Writer(), Projection()
    evaluation = w.automation_evaluated("", "a", "b")
    p.deliver(w.automation_started(), evaluation)
    tick = evaluation.event_id
    first, second = (r["request_id"] for r in p.requests())
    assert p.deliver(w.requested_for(first, "run_a")) == ["applied"]
    row = p.state.rows("automation_ticks")[(tick,)]
    assert (json.loads(row["run_ids"]), row["status"]) == (["run_a"], "SUCCESS")
    assert p.request(first)["status"] == "LAUNCHED"
    assert p.deliver(w.request_failed(second, "no such asset")) == ["applied"]
    row = p.state.rows("automation_ticks")[(tick,)]
    assert row["status"] == "FAILURE"
    assert row["error"] == f"run request {second.rsplit(':', 1)[-1]} failed: no such asset"


def test_a_failed_request_fails_its_sensor_tick_and_only_a_requested_one_fails() -> None:
    w, p = Writer(), Projection()
    tick = w.push("m1", req())
    p.deliver(tick)
    [request] = p.requests()
    rid = request["request_id"]
    assert p.deliver(w.request_failed(rid, "unknown asset 'x'")) == ["applied"]
    failed = p.request(rid)
    assert (failed["status"], failed["error"]) == ("FAILED", "unknown asset 'x'")
    assert p.sensor_tick(tick)["status"] == "FAILURE"
    assert "unknown asset 'x'" in p.sensor_tick(tick)["error"]
    # Not REQUESTED any more: a second failure changes nothing.
    assert p.deliver(w.request_failed(rid, "another reason")) == ["superseded"]
    assert p.request(rid)["error"] == "unknown asset 'x'"
    # A request the state does not have is rejected, and quarantined with its reason.
    assert p.deliver(w.request_failed("sensor:new_files:nope:0", "x")) == ["rejected"]
    assert p.quarantined() == ["rejected"]


def test_a_request_failed_then_launched_keeps_no_error() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.push("m1", req()))
    rid = p.requests()[0]["request_id"]
    p.deliver(w.request_failed(rid, "transient"), w.requested_for(rid, "run_a"))
    assert (p.request(rid)["status"], p.request(rid)["error"]) == ("LAUNCHED", None)


def test_a_schedule_tick_joins_the_distinct_errors_of_its_failed_requests() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.schedule_tick("k1", "k2", "k3"))
    ids = [r["request_id"] for r in p.requests()]
    p.deliver(w.request_failed(ids[0], "e1"))
    assert (p.schedule_tick()["status"], p.schedule_tick()["error"]) == ("FAILED", "e1")
    p.deliver(w.request_failed(ids[1], "e1"))  # the same error is said once
    assert p.schedule_tick()["error"] == "e1"
    p.deliver(w.request_failed(ids[2], "e2"))
    assert p.schedule_tick()["error"] == "e1\ne2"


def test_run_rules_count_rejections_and_superseded_events() -> None:
    w, p = Writer(), Projection()
    assert p.deliver(w.launched("ghost")) == ["rejected"]
    assert p.deliver(w.cancel("ghost")) == ["rejected"]
    assert p.deliver(w.run_failed("ghost")) == ["rejected"]
    assert p.deliver(w.requested("r1")) == ["applied"]
    assert p.deliver(w.launched("r1")) == ["applied"]
    assert p.deliver(w.run_failed("r1", "lost")) == ["applied"]
    run = p.state.rows("runs")[("r1",)]
    assert (run["status"], run["error"]) == ("FAILURE", "lost")
    assert p.deliver(w.cancel("r1")) == ["superseded"]  # terminal: nothing to cancel
    assert p.quarantined() == ["rejected", "rejected", "rejected"]


def test_a_row_keeps_the_newest_event_that_touched_it_whatever_the_order() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.requested("r1"))
    older = w.dispatched(0)
    newer = w.started(0)
    assert older.event_id < newer.event_id
    p.deliver(newer, older)  # the newer report folds first
    task = p.state.rows("tasks")[("r1", 0)]
    assert task["status"] == "STARTED" and task[ROW_VERSION] == newer.event_id


def test_sensor_module_links_nothing_for_an_unknown_request() -> None:
    # The runs fold calls these for every request it links; a request of no tick is left alone.
    w, p = Writer(), Projection()
    p.deliver(w.push("m1", req()))
    before = p.state.rows("sensor_ticks")
    p.deliver(w.requested_for("sensor:new_files:unknown:0", "run_x"))
    assert p.state.rows("sensor_ticks") == before
    assert sensors.SENSOR_TICKS.name == "sensor_ticks"


# --- run and task rows (mutation survivors of domain/runs.py) ----------------------------------

ONE_TASK = RunPlan((PlannedTask(TaskKey("a")),))


def test_a_late_launch_keeps_a_canceling_or_canceled_run_where_it_is() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.requested("r1"), w.dispatched(0), w.started(0), w.cancel("r1"))
    assert p.state.rows("runs")[("r1",)]["status"] == "CANCELING"
    assert p.deliver(w.launched("r1")) == ["applied"]  # folded after the cancel
    run = p.state.rows("runs")[("r1",)]
    assert run["status"] == "CANCELING" and run["launched_ms"] is not None
    p.deliver(w.requested("r2"), w.cancel("r2"))
    assert p.state.rows("runs")[("r2",)]["status"] == "CANCELED"
    assert p.deliver(w.launched("r2"), w.started(0, run_id="r2")) == ["applied", "superseded"]
    assert p.state.rows("runs")[("r2",)]["status"] == "CANCELED"


def test_canceling_a_queued_run_cancels_a_task_whose_dispatch_folded_first() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.requested("r1"), w.dispatched(0))  # the launch has not folded yet
    assert p.state.rows("runs")[("r1",)]["status"] == "QUEUED"
    p.deliver(w.cancel("r1"))
    assert p.state.rows("tasks")[("r1", 0)]["status"] == "CANCELED"


def test_a_cancel_that_stopped_no_task_leaves_the_runs_own_outcome() -> None:
    w, p = Writer(), Projection()
    p.deliver(w.requested("r1", plan=ONE_TASK), w.dispatched(0), w.started(0), w.cancel("r1"))
    p.deliver(w.finished(0))  # the only task was running: it finished anyway
    assert p.state.rows("runs")[("r1",)]["status"] == "SUCCESS"


def test_a_newer_attempt_forgets_the_previous_attempts_dispatch_worker_and_timeout() -> None:
    w, p = Writer(), Projection()
    retries = {"a": runs.RetrySpec(max_attempts=3, delay_ms=0)}
    p.deliver(w.requested("r1", retries=retries), w.dispatched(0), w.started(0))
    p.deliver(w.timed_out(0))
    task = p.state.rows("tasks")[("r1", 0)]
    assert task["status"] == "RETRY_WAIT" and task["timed_out_by"] is not None
    assert (task["dispatch_name"], task["worker"]) == ("d-0-1", "w1")
    p.deliver(w.heartbeat(0, attempt=2))  # attempt 2 reports before its dispatch folds
    task = p.state.rows("tasks")[("r1", 0)]
    assert (task["attempt"], task["status"]) == (2, "DISPATCHED")
    assert (task["timed_out_by"], task["dispatch_name"], task["worker"]) == (None, None, None)
