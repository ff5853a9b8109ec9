"""Order dependences the fold properties found, each as its smallest history.

Every test folds one causally possible history twice: as a compactor can see it (a late
object folded in a later call than events with higher ids, written by someone who had not
seen it) and as a rebuild does (one call, id order). They differ: each test is marked
xfail(strict=True), and the fold properties keep the pair in id order (see
order_dependence.py). Fixing one in core/ makes its test XPASS: then remove the mark here and
its entry in order_dependence.KNOWN.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from pydantic import BaseModel

from arco.domain import automation, backfills, reconciliation, runs, schedules, sensors
from arco.domain.canonical import fingerprint
from arco.domain.deployments import DEFINITIONS_DEPLOYED, deploy_idempotency_key
from arco.domain.envelope import EventEnvelope
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.run_plan import PlannedTask, RunPlan, TaskKey
from arco.domain.state import FoldState, StagedState
from tests.factories import EnvelopeWriter, batch_bytes
from tests.property import ledgers as lg

A = TaskKey("a", "p1")
ONE_TASK = RunPlan((PlannedTask(A),))


class Writer(EnvelopeWriter):
    """Events with the production payloads and idempotency keys, one second apart."""

    def requested(
        self, run_id: str = "r1", attempts: int = 1, run_key: str | None = None, by: str = "ann"
    ) -> EventEnvelope:
        payload = runs.RunRequested(
            run_id=run_id,
            run_key=run_key,
            scope="manual",
            fingerprint="fp",
            source="manual",
            tags={"arco/requested_by": by},
            definitions_hash="defs",
            plan=ONE_TASK.to_json(),
            retries={"a": runs.RetrySpec(max_attempts=attempts, delay_ms=0)},
        )
        return self.envelope(runs.RUN_REQUESTED, payload, runs.run_requested_key(run_id))

    def run_event(self, type_: str, payload: BaseModel, key: str) -> EventEnvelope:
        return self.envelope(type_, payload, key)

    def launched(self, run_id: str = "r1") -> EventEnvelope:
        return self.envelope(runs.RUN_LAUNCHED, runs.RunLaunched(run_id=run_id), f"launch:{run_id}")

    def cancel(self, run_id: str = "r1") -> EventEnvelope:
        payload = runs.RunCancelRequested(run_id=run_id, requested_by="op")
        return self.envelope(runs.RUN_CANCEL_REQUESTED, payload, f"cancel:{run_id}")

    def failed(self, run_id: str = "r1") -> EventEnvelope:
        payload = runs.RunFailed(run_id=run_id, error="the timer could not advance this run")
        return self.envelope(runs.RUN_FAILED, payload, f"fail:{run_id}")

    def report(
        self, kind: str, run_id: str = "r1", attempt: int = 1, **fields: object
    ) -> EventEnvelope:
        ids = {"run_id": run_id, "task": 0, "attempt": attempt}
        key = runs.task_report_key(kind, run_id, 0, attempt)
        if kind == "dispatch":
            return self.envelope(
                runs.TASK_DISPATCHED, runs.TaskDispatched(**ids, dispatch_name=f"d{attempt}"), key
            )
        if kind == "started":
            return self.envelope(runs.TASK_STARTED, runs.TaskStarted(**ids, worker="w"), key)
        if kind == "timeout":
            payload = runs.TaskTimedOut(**ids, reason="no heartbeat")
            return self.envelope(runs.TASK_TIMED_OUT, payload, key)
        payload = runs.TaskFinished(**ids, outcome="SUCCESS", data_version="v1", **fields)  # type: ignore[arg-type]
        return self.envelope(runs.TASK_FINISHED, payload, key)

    def started_attempt(self, run_id: str = "r1", attempts: int = 1) -> list[EventEnvelope]:
        """requested, launched, dispatched and started."""
        return [
            self.requested(run_id, attempts),
            self.launched(run_id),
            self.report("dispatch", run_id),
            self.report("started", run_id),
        ]

    def evaluated(self, read: str = "", dispatch: str = "d1") -> EventEnvelope:
        payload = sensors.SensorEvaluated(
            sensor="poll",
            kind="poll",
            outcome="REQUESTED",
            cursor_read_version=read,
            cursor_after="c1",
            run_requests=[sensors.SensorRunRequest(run_key="x", asset_selection=["c"])],
            default_running=True,
        )
        key = sensors.poll_evaluation_key("poll", read, dispatch)
        return self.envelope(sensors.SENSOR_EVALUATED, payload, key)

    def automation_evaluated(self, read: str = "", run: str = "c") -> EventEnvelope:
        payload = automation.AutomationEvaluated(
            cursor_read_version=read,
            assets=[
                automation.AssetEvaluated(
                    asset=run, requested=[""], requested_count=1, memory={"requested": [""]}
                )
            ],
            runs=[automation.AutomationRunRequest(assets=[run])],
            watermark="",
        )
        event_id_seed = f"{read}:{run}:{self.n}"
        key = automation.evaluation_key(automation.SENSOR_NAME, read, event_id_seed)
        return self.envelope(automation.AUTOMATION_EVALUATED, payload, key)

    def automation_status(self, status: str, request: str) -> EventEnvelope:
        payload = automation.AutomationStatusChanged(status=status, request_id=request)  # type: ignore[arg-type]
        key = automation.status_key(automation.SENSOR_NAME, request)
        return self.envelope(automation.AUTOMATION_STATUS_CHANGED, payload, key)

    def pushed(self, data: str) -> EventEnvelope:
        message = sensors.PushedMessage(data_b64=data, subscription="s")
        payload = sensors.SensorEvaluated(
            sensor="push",
            kind="push",
            outcome="REQUESTED",
            message_id="m1",
            message=message,
            run_requests=[sensors.SensorRunRequest(asset_selection=["c"])],
            default_running=True,
        )
        key = sensors.push_evaluation_key("push", "s", "m1", sensors.message_fingerprint(message))
        return self.envelope(sensors.SENSOR_EVALUATED, payload, key)

    def deployed(self, version: int, parent: str | None = None) -> EventEnvelope:
        payload = lg.deploy_payload(version, parent)
        key = deploy_idempotency_key(payload.content_hash, parent)
        return self.envelope(DEFINITIONS_DEPLOYED, payload, key)


def folded(*calls: Sequence[EventEnvelope]) -> lg.Tables:
    """The tables after folding each call's events (one object each), committing after each."""
    state = FoldState()
    for call in calls:
        staged = StagedState(state)
        objects = [LedgerObject(e.event_id, batch_bytes([e])) for e in call]
        fold_objects(staged, objects, lg.REG, lg.WS)
        state = staged.commit()
    return lg.tables(state)


def assert_folds_like_a_rebuild(*calls: Sequence[EventEnvelope]) -> None:
    rebuild = folded([e for call in calls for e in call])
    lg.assert_same_tables(folded(*calls), rebuild)


def known(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


@pytest.fixture
def w() -> Writer:
    return Writer()


# --- runs ----------------------------------------------------------------------------------------


@known(
    "With attempts left, a timeout is undone by the worker's earlier-id finish only while the "
    "next attempt is not dispatched: folded after that dispatch, the finish is a stale report "
    "(the task runs again; the rebuild has it SUCCESS)"
)
def test_retry_dispatched_before_a_late_finish(w: Writer) -> None:
    started = w.started_attempt(attempts=2)
    finished = w.report("finished")  # lands late
    timeout, retry = w.report("timeout"), w.report("dispatch", attempt=2)
    assert_folds_like_a_rebuild(started, [timeout], [retry], [finished])


@known(
    "In a canceling run a timeout cancels the task (final), so the worker's earlier-id finish "
    "folded after it cannot undo it: CANCELED, where the rebuild has SUCCESS"
)
def test_timeout_in_a_canceling_run(w: Writer) -> None:
    started = w.started_attempt(attempts=2)
    cancel, finished, timeout = w.cancel(), w.report("finished"), w.report("timeout")
    assert_folds_like_a_rebuild([*started, cancel], [timeout], [finished])


@known(
    "Undoing a timeout clears partition_status.attempt_version, so the late finish replaces a "
    "newer attempt of another run on the same partition (the rebuild shows that other run's)"
)
def test_undone_timeout_hides_another_runs_attempt(w: Writer) -> None:
    first = w.started_attempt("r1", attempts=2)
    second = w.started_attempt("r2")
    finished = w.report("finished", "r1")  # lands late
    other_timeout, timeout = w.report("timeout", "r2"), w.report("timeout", "r1")
    assert_folds_like_a_rebuild([*first, *second], [other_timeout, timeout], [finished])


@known(
    "run.failed folded before the worker's earlier-id task.finished fails the run; in id "
    "order the finish ends it SUCCESS first and run.failed is superseded"
)
def test_run_failed_before_an_earlier_finish(w: Writer) -> None:
    started = w.started_attempt()
    finished, failed = w.report("finished"), w.failed()
    assert_folds_like_a_rebuild(started, [failed], [finished])


@known(
    "A cancel of a QUEUED run folded after its (later-id) launch and dispatch leaves it "
    "CANCELING with a dispatched task; in id order it is CANCELED at once"
)
def test_cancel_of_a_queued_run_folded_after_its_launch(w: Writer) -> None:
    requested, cancel = w.requested(), w.cancel()  # the cancel lands late
    launched, dispatched = w.launched(), w.report("dispatch")
    assert_folds_like_a_rebuild([requested], [launched, dispatched], [cancel])


@known(
    "A cancel folded before the worker's earlier-id finish is recorded on the run "
    "(cancel_requested_ms, canceled_by); in id order the run is SUCCESS first and the cancel "
    "superseded"
)
def test_cancel_folded_before_an_earlier_finish(w: Writer) -> None:
    started = w.started_attempt()
    finished, cancel = w.report("finished"), w.cancel()
    assert_folds_like_a_rebuild(started, [cancel], [finished])


@known(
    "A cancel folded after a later-id run.failed is superseded and forgotten; in id order it "
    "is recorded (cancel_requested_ms, canceled_by) before the run fails"
)
def test_cancel_folded_after_a_later_run_failed(w: Writer) -> None:
    requested, launched, dispatched = w.requested(), w.launched(), w.report("dispatch")
    cancel, failed = w.cancel(), w.failed()
    assert_folds_like_a_rebuild([requested, launched, dispatched], [failed], [cancel])


@known(
    "partition_status.materialized_data_version_since_ms is the time of the first folded "
    "materialization of the current data version, not of the earliest one"
)
def test_materializations_of_one_data_version(w: Writer) -> None:
    first, second = w.started_attempt("r1"), w.started_attempt("r2")
    early, late = w.report("finished", "r1"), w.report("finished", "r2")
    assert_folds_like_a_rebuild([*first, *second], [late], [early])


# --- sensors, schedules, backfills, deployments ------------------------------------------------


@known(
    "A sensor evaluation folded after a later-id stop is SKIPPED (sensor is stopped) and "
    "requests nothing; in id order it requests its run"
)
def test_sensor_stopped_after_an_earlier_evaluation(w: Writer) -> None:
    evaluation = w.evaluated()  # lands late
    payload = sensors.SensorStatusChanged(sensor="poll", status="STOPPED", request_id="q1")
    key = sensors.status_idempotency_key("poll", "q1")
    stop = w.envelope(sensors.SENSOR_STATUS_CHANGED, payload, key)
    assert_folds_like_a_rebuild([stop], [evaluation])


@known(
    "A poll evaluation folded after a later-id cursor_set loses its compare-and-set (stale "
    "cursor); in id order it wins and the cursor_set follows it"
)
def test_cursor_set_after_an_earlier_evaluation(w: Writer) -> None:
    evaluation = w.evaluated()  # lands late
    payload = sensors.SensorCursorSet(sensor="poll", cursor="0", request_id="q1")
    cursor = w.envelope(
        sensors.SENSOR_CURSOR_SET, payload, sensors.cursor_idempotency_key("poll", "q1")
    )
    assert_folds_like_a_rebuild([cursor], [evaluation])


@known(
    "Of two poll evaluations that read the same cursor version, the first folded wins the "
    "compare-and-set, not the lowest id"
)
def test_poll_evaluations_from_one_cursor_version(w: Writer) -> None:
    first, second = w.evaluated(dispatch="d1"), w.evaluated(dispatch="d2")
    assert_folds_like_a_rebuild([second], [first])


@known(
    "Of two pushes of one message id with different content, the first folded claims the "
    "message (the other is listed as a conflict), not the lowest id"
)
def test_push_message_id_with_other_content(w: Writer) -> None:
    first, second = w.pushed("b25l"), w.pushed("dHdv")
    assert_folds_like_a_rebuild([second], [first])


@known(
    "An automation evaluation folded after a later-id stop is SKIPPED (automation is stopped); "
    "in id order it applies and requests its runs (as a sensor's)"
)
def test_automation_stopped_after_an_earlier_evaluation(w: Writer) -> None:
    start = w.automation_status("RUNNING", "q0")
    evaluation = w.automation_evaluated()  # lands late
    stop = w.automation_status("STOPPED", "q1")
    assert_folds_like_a_rebuild([start], [stop], [evaluation])


@known(
    "Of two automation evaluations that read the same version (two timers at once), the first "
    "folded wins the compare-and-set, not the lowest id: each run is requested once either way"
)
def test_automation_evaluations_from_one_version(w: Writer) -> None:
    start = w.automation_status("RUNNING", "q0")
    first, second = w.automation_evaluated(run="c"), w.automation_evaluated(run="d")
    assert_folds_like_a_rebuild([start], [second], [first])


@known(
    "Starting a RUNNING schedule keeps operator_changed_at_ms: with two starts folded out of "
    "id order it is the later start's time, in id order the earlier one's"
)
def test_schedule_started_twice(w: Writer) -> None:
    starts = []
    for request in ("q1", "q2"):
        payload = schedules.ScheduleStatusChanged(
            schedule="every_minute", status="RUNNING", request_id=request
        )
        key = schedules.status_idempotency_key("every_minute", request)
        starts.append(w.envelope(schedules.SCHEDULE_STATUS_CHANGED, payload, key))
    assert_folds_like_a_rebuild([starts[1]], [starts[0]])


@known(
    "A backfill pause folded after the timer's later-id chunk plan and completion (decided "
    "without it) leaves the backfill COMPLETED_SUCCESS; in id order it is PAUSED and the "
    "plan and completion are dropped"
)
def test_backfill_paused_before_the_timer_completes_it(w: Writer) -> None:
    created_payload = backfills.BackfillCreated(
        backfill_id="bf",
        selection='key:"a"',
        assets=["a"],
        anchor="a",
        partitions=backfills.PartitionSelection(kind="all", status="missing"),
        range_runs=[(0, 1, 1, 1)],
        chunk_size=1,
        max_concurrent_runs=1,
        fingerprint="fp",
    )
    created = w.envelope(backfills.BACKFILL_CREATED, created_payload, backfills.created_key("bf"))
    pause_payload = backfills.BackfillStatusChanged(
        backfill_id="bf", action="pause", request_id="q1"
    )
    pause = w.envelope(
        backfills.BACKFILL_STATUS_CHANGED, pause_payload, backfills.status_key("bf", "q1")
    )
    plan = backfills.BackfillChunkPlanned(backfill_id="bf", chunk=0, partitions=0)
    planned = w.envelope(
        backfills.BACKFILL_CHUNK_PLANNED, plan, backfills.chunk_key("bf", 0, created.event_id)
    )
    request = f"timer-complete_success-{created.event_id}"
    done = backfills.BackfillStatusChanged(
        backfill_id="bf", action="complete_success", request_id=request, changed_by="timer"
    )
    completed = w.envelope(
        backfills.BACKFILL_STATUS_CHANGED, done, backfills.status_key("bf", request)
    )
    assert_folds_like_a_rebuild([created], [planned, completed], [pause])


@known(
    "Of two deploys made from the same published state, one folded after the later-id other "
    "is SUPERSEDED, so what it declared (schedule_state, asset_versions and their since "
    "times) is never recorded; in id order both are applied"
)
def test_concurrent_deploys(w: Writer) -> None:
    first, second = w.deployed(1), w.deployed(2)  # both from "nothing deployed"
    assert_folds_like_a_rebuild([second], [first])


def _deploy_twice(w: Writer) -> tuple[EventEnvelope, EventEnvelope]:
    """`arco deploy` twice before the first is published: one key, two ids."""
    return w.deployed(1), w.deployed(1)


def _request_twice(w: Writer) -> tuple[EventEnvelope, EventEnvelope]:
    """One run key requested by two users (same fingerprint) before the run is published."""
    run_id = "run_k1"
    return w.requested(run_id, run_key="k1", by="ann"), w.requested(run_id, run_key="k1", by="bob")


def _push_twice(w: Writer) -> tuple[EventEnvelope, EventEnvelope]:
    """Pub/Sub redelivers a message: one key (same content), two ids, two tick ids."""
    return w.pushed("b25l"), w.pushed("b25l")


def _reconcile_twice(w: Writer) -> tuple[EventEnvelope, EventEnvelope]:
    """The same reconciliation dry run recorded twice: one key, two ids (the log's key)."""
    outcome = reconciliation.RunOutcome(run_key="r", selection='key:"c"', outcome="would_launch")
    payload = reconciliation.ReconciliationEvaluated(
        trigger="manual", mode="dry_run", plan_hash="h", runs=[outcome]
    )
    key = reconciliation.evaluated_key(
        "h", "dry_run", "manual", fingerprint([outcome.model_dump()])
    )
    return (
        w.envelope(reconciliation.RECONCILIATION_EVALUATED, payload, key),
        w.envelope(reconciliation.RECONCILIATION_EVALUATED, payload, key),
    )


@known(
    "Two events with one idempotency key and different ids: the fold keeps the first it "
    "folds, a rebuild the lowest id (times, tags, tick and log keys differ)"
)
@pytest.mark.parametrize("history", [_deploy_twice, _request_twice, _push_twice, _reconcile_twice])
def test_one_key_two_ids(w: Writer, history: object) -> None:
    first, second = history(w)  # type: ignore[operator]
    assert first.idempotency_key == second.idempotency_key
    assert_folds_like_a_rebuild([second], [first])
