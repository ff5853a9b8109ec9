"""Runs, their tasks and partition status: tables, events and fold rules.

A run is requested once (`run.requested`, with its plan), launched by the timer within the
workspace's in-flight limit, and advanced by reports about its tasks. Every rule is written for
at-least-once, out-of-order delivery:

- a report names its attempt; a report for an older attempt than the task's current one is
  stale and changes nothing about the task (it is still kept in the attempt history and in
  partition status, because what a worker did really happened);
- a report for a newer attempt moves the task to that attempt (the dispatch may fold later);
- a finished task stays finished; statuses only move forward;
- the run's counters move when a task enters a final status, which happens once per task, so
  a run becomes terminal exactly once.

Tasks are keyed by (run id, position in the plan), so the fold can walk a run's tasks (for
failure propagation and cancellation) without scanning the table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arco.domain import automation, sensors
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.run_plan import RunPlan
from arco.domain.schedules import RUN_REQUESTS, SCHEDULE_TICKS
from arco.domain.tables import ROW_VERSION, Column, Row, TableSpec

RUN_REQUESTED = "run.requested"
RUN_LAUNCHED = "run.launched"
RUN_CANCEL_REQUESTED = "run.cancel_requested"
RUN_KEY_CONFLICTED = "run.key_conflicted"
RUN_REQUEST_FAILED = "run.request_failed"
RUN_FAILED = "run.failed"
TASK_DISPATCHED = "task.dispatched"
TASK_STARTED = "task.started"
TASK_HEARTBEAT = "task.heartbeat"
TASK_FINISHED = "task.finished"
TASK_TIMED_OUT = "task.timed_out"

RunStatus = Literal["QUEUED", "STARTING", "STARTED", "CANCELING", "SUCCESS", "FAILURE", "CANCELED"]
TaskStatus = Literal[
    "PENDING", "DISPATCHED", "STARTED", "RETRY_WAIT", "SUCCESS", "FAILURE", "SKIPPED", "CANCELED"
]
Outcome_ = Literal["SUCCESS", "FAILURE", "CANCELED"]
Backoff = Literal["constant", "linear", "exponential"]

RUN_RANK = {
    "QUEUED": 0,
    "STARTING": 1,
    "STARTED": 2,
    "CANCELING": 3,
    "SUCCESS": 4,
    "FAILURE": 4,
    "CANCELED": 4,
}
TERMINAL_RUN = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
IN_FLIGHT_RUN = frozenset({"STARTING", "STARTED", "CANCELING"})
FINAL_TASK = frozenset({"SUCCESS", "FAILURE", "SKIPPED", "CANCELED"})
_OPEN_TASK = ("PENDING", "DISPATCHED", "STARTED", "RETRY_WAIT")
# Within one attempt a task only moves forward; RETRY_WAIT means the attempt is over.
_ATTEMPT_RANK = {"PENDING": 0, "DISPATCHED": 1, "STARTED": 2, "RETRY_WAIT": 3}

MAX_BACKOFF_MS = 15 * 60 * 1000
RUN_ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"
"""Run ids appear in object keys and Cloud Tasks names: letters, digits, `_` and `-`."""
NO_PARTITION = ""
"""The partition column of an unpartitioned asset in `partition_status`."""

RUNS = TableSpec(
    name="runs",
    key=("run_id",),
    columns=(
        Column("run_id", "string"),
        Column("run_key", "string"),
        Column("scope", "string"),
        Column("fingerprint", "string"),
        Column("status", "string"),
        Column("source", "string"),
        Column("selection", "string"),
        Column("assets", "json"),
        Column("partition", "string"),
        Column("partition_range", "json"),
        Column("tags", "json"),
        Column("parent_run_id", "string"),
        Column("root_run_id", "string"),
        Column("definitions_hash", "string"),
        Column("created_ms", "int64"),
        Column("launched_ms", "int64"),
        Column("started_ms", "int64"),
        Column("finished_ms", "int64"),
        Column("cancel_requested_ms", "int64"),
        Column("canceled_by", "string"),
        Column("tasks_total", "int64"),
        Column("tasks_succeeded", "int64"),
        Column("tasks_failed", "int64"),
        Column("tasks_skipped", "int64"),
        Column("tasks_canceled", "int64"),
        Column("tasks_final_ms", "int64"),
        Column("error", "string"),
        Column("run_config", "json"),
    ),
    description="One row per run: identity, lineage, lifecycle status and task counters.",
)

TASKS = TableSpec(
    name="tasks",
    key=("run_id", "index"),
    columns=(
        Column("run_id", "string"),
        Column("index", "int64"),
        Column("asset", "string"),
        Column("partition", "string"),
        Column("depends_on", "json"),
        Column("status", "string"),
        Column("attempt", "int64"),
        Column("max_attempts", "int64"),
        Column("retry_delay_ms", "int64"),
        Column("retry_backoff", "string"),
        Column("retry_at_ms", "int64"),
        Column("dispatched_ms", "int64"),
        Column("dispatch_name", "string"),
        Column("started_ms", "int64"),
        Column("heartbeat_ms", "int64"),
        Column("finished_ms", "int64"),
        Column("worker", "string"),
        Column("error", "string"),
        Column("skipped_because", "string"),
        Column("timed_out_by", "string"),
        Column("metadata", "json"),
        Column("code_version", "string"),
        Column("data_version", "string"),
        Column("attempts", "json"),
    ),
    description="One row per task (asset x partition) of a run, with its attempt history.",
)

RUN_KEYS = TableSpec(
    name="run_keys",
    key=("scope", "run_key"),
    columns=(
        Column("scope", "string"),
        Column("run_key", "string"),
        Column("run_id", "string"),
        Column("fingerprint", "string"),
        Column("created_ms", "int64"),
    ),
    description="The run each (scope, run_key) belongs to: the first request wins.",
)

RUN_KEY_CONFLICTS = TableSpec(
    name="run_key_conflicts",
    key=("scope", "run_key", "fingerprint"),
    columns=(
        Column("scope", "string"),
        Column("run_key", "string"),
        Column("fingerprint", "string"),
        Column("existing_run_id", "string"),
        Column("existing_fingerprint", "string"),
        Column("first_seen_ms", "int64"),
    ),
    description="Requests refused because their run_key was taken by a different request.",
)

PARTITION_STATUS = TableSpec(
    name="partition_status",
    key=("asset", "partition"),
    columns=(
        Column("asset", "string"),
        Column("partition", "string"),
        Column("materialized_run_id", "string"),
        Column("materialized_ms", "int64"),
        Column("materialized_code_version", "string"),
        Column("materialized_data_version", "string"),
        Column("materialized_metadata", "json"),
        Column("materialized_version", "string"),
        Column("materialized_input_versions", "json"),
        Column("materialized_data_version_since_ms", "int64"),
        Column("materialized_data_version_provided", "bool"),
        Column("attempt_run_id", "string"),
        Column("attempt_ms", "int64"),
        Column("attempt_status", "string"),
        Column("attempt_error", "string"),
        Column("attempt_version", "string"),
    ),
    description="Per asset partition: the last materialization and, apart, the last attempt.",
)


ASSET_CHECK_RESULTS = TableSpec(
    name="asset_check_results",
    key=("asset", "partition", "check_name"),
    columns=(
        Column("asset", "string"),
        Column("partition", "string"),
        Column("check_name", "string"),
        Column("passed", "bool"),
        Column("severity", "string"),
        Column("blocking", "bool"),
        Column("metadata", "json"),
        Column("description", "string"),
        Column("error", "string"),
        Column("run_id", "string"),
        Column("evaluated_ms", "int64"),
        Column("materialized_version", "string"),
    ),
    description="Per asset partition and check: the result for its latest materialization.",
)


PARTITION_INPUTS = TableSpec(
    name="partition_inputs",
    key=("asset", "partition", "input_asset", "input_partition"),
    columns=(
        Column("asset", "string"),
        Column("partition", "string"),
        Column("input_asset", "string"),
        Column("input_partition", "string"),
        Column("data_version", "string"),
    ),
    description="Provenance of each partition's latest materialization: the data version of "
    "every upstream partition it read (one row per input, for joins).",
)


# --- events ------------------------------------------------------------------------------------


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetrySpec(_Payload):
    """How often a task of one asset is tried, and how long to wait between tries."""

    max_attempts: int = Field(ge=1, le=100)
    delay_ms: int = Field(ge=0, le=MAX_BACKOFF_MS)
    backoff: Backoff = "exponential"

    def delay_after(self, attempt: int) -> int:
        """The wait after failed attempt `attempt` (1-based), capped at 15 minutes:
        constant `delay`, linear `delay x attempt`, exponential `delay x 2^(attempt-1)`."""
        n = max(attempt, 1)
        if self.backoff == "constant":
            return self.delay_ms
        if self.backoff == "linear":
            return min(self.delay_ms * n, MAX_BACKOFF_MS)
        return min(self.delay_ms * (1 << (n - 1)), MAX_BACKOFF_MS)


class RunRequested(_Payload):
    run_id: str = Field(pattern=RUN_ID_PATTERN)
    run_key: str | None = None
    scope: str = Field(min_length=1, max_length=300)
    fingerprint: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1, max_length=100)
    selection: str = ""
    partition: str | None = None
    partition_range: tuple[str, str] | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    parent_run_id: str | None = None
    root_run_id: str | None = None
    request_id: str | None = None
    definitions_hash: str
    plan: dict[str, Any]
    retries: dict[str, RetrySpec]
    # Per configurable asset, the config values given at launch (checked then).
    run_config: dict[str, dict[str, Any]] | None = None


class RunRequestFailed(_Payload):
    """An automation request that cannot become a run (its partition no longer exists, ...)."""

    request_id: str
    error: str


class RunLaunched(_Payload):
    run_id: str


class RunCancelRequested(_Payload):
    run_id: str
    requested_by: str = Field(default="unknown", max_length=200)


class RunFailed(_Payload):
    """The timer could not decide what comes next for a run: it fails alone, with the reason."""

    run_id: str = Field(pattern=RUN_ID_PATTERN)
    error: str = Field(min_length=1, max_length=20_000)


class RunKeyConflicted(_Payload):
    scope: str
    run_key: str
    fingerprint: str
    existing_run_id: str
    existing_fingerprint: str


class _TaskReport(_Payload):
    run_id: str = Field(pattern=RUN_ID_PATTERN)
    task: int = Field(ge=0)
    attempt: int = Field(ge=1)


class TaskDispatched(_TaskReport):
    dispatch_name: str


class TaskStarted(_TaskReport):
    worker: str = Field(default="", max_length=300)


class TaskHeartbeat(_TaskReport):
    at_ms: int  # the worker's clock


class CheckOutcome(_Payload):
    """One asset check's result, recorded with the materialization it checked."""

    name: str
    passed: bool
    severity: Literal["WARN", "ERROR"] = "ERROR"
    blocking: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)
    description: str | None = None
    error: str | None = None


class TaskFinished(_TaskReport):
    outcome: Outcome_
    error: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    code_version: str | None = None
    data_version: str | None = None
    # Provenance: the data version of every upstream partition read (`asset[partition]`), and
    # whether `data_version` came from the asset function (else derived, as Dagster does).
    input_data_versions: dict[str, str] = Field(default_factory=dict)
    data_version_provided: bool = False
    duration_ms: int | None = None
    logs: str | None = None
    check_results: list[CheckOutcome] = Field(default_factory=list)
    # A failed blocking check: the materialization stands, the task fails (no retry) and
    # its downstream in the run is skipped.
    blocked_by: str | None = None


class TaskTimedOut(_TaskReport):
    reason: str


def task_report_key(kind: str, run_id: str, task: int, attempt: int) -> str:
    return f"{kind}:{run_id}:{task}:{attempt}"


def run_requested_key(run_id: str) -> str:
    return f"run:{run_id}"


# --- helpers -----------------------------------------------------------------------------------


def _copy(row: Row | None) -> dict[str, Any] | None:
    return None if row is None else {k: v for k, v in row.items() if k != ROW_VERSION}


def _history(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    raw = row.get("attempts")
    return dict(json.loads(raw)) if raw else {}


def _note_attempt(row: dict[str, Any], attempt: int, **fields: Any) -> None:
    """Record facts about one attempt; a fact already recorded is kept (first report wins)."""
    history = _history(row)
    entry = history.setdefault(str(attempt), {})
    for name, value in fields.items():
        if value is not None and entry.get(name) is None:
            entry[name] = value
    row["attempts"] = json.dumps(history, sort_keys=True)


def _move_to_attempt(row: dict[str, Any], attempt: int) -> None:
    """Start a newer attempt: forget the previous attempt's per-attempt fields. A report about
    an attempt means it was dispatched, even if its dispatch has not folded yet (so the timer
    never dispatches past it)."""
    row.update(
        attempt=attempt,
        status="DISPATCHED",
        timed_out_by=None,
        retry_at_ms=None,
        dispatched_ms=None,
        dispatch_name=None,
        started_ms=None,
        heartbeat_ms=None,
        finished_ms=None,
        worker=None,
        error=None,
    )


def _partition(value: str | None) -> str:
    return NO_PARTITION if value is None else value


# --- run lifecycle -----------------------------------------------------------------------------


def _derive_terminal(run: dict[str, Any]) -> None:
    """Once every task is final the run is: CANCELED if canceled, else FAILURE if any task
    failed or was skipped, else SUCCESS."""
    done = (
        run["tasks_succeeded"] + run["tasks_failed"] + run["tasks_skipped"] + run["tasks_canceled"]
    )
    if run["status"] in TERMINAL_RUN or done < run["tasks_total"]:
        return
    if run.get("cancel_requested_ms") is not None and run["tasks_canceled"] > 0:
        run["status"] = "CANCELED"
    elif run["tasks_failed"] or run["tasks_skipped"]:
        run["status"] = "FAILURE"
    else:
        run["status"] = "SUCCESS"
    # When its last task became final: the same whatever order the reports folded in.
    run["finished_ms"] = run["tasks_final_ms"]


_COUNTER = {
    "SUCCESS": "tasks_succeeded",
    "FAILURE": "tasks_failed",
    "SKIPPED": "tasks_skipped",
    "CANCELED": "tasks_canceled",
}


class _RunUpdate:
    """The run row and the task rows one event changes, written once at the end."""

    def __init__(self, ctx: FoldContext, run_id: str) -> None:
        self.ctx = ctx
        self.original = ctx.get(RUNS.name, run_id)
        self.run = _copy(self.original)
        self.tasks: dict[int, tuple[Row | None, dict[str, Any]]] = {}
        # Tasks this event is about even if it changes nothing in them (stamped with it).
        self.touched: set[int] = set()

    def task(self, index: int) -> dict[str, Any] | None:
        if index in self.tasks:
            return self.tasks[index][1]
        assert self.run is not None
        original = self.ctx.get(TASKS.name, self.run["run_id"], index)
        copy = _copy(original)
        if copy is not None:
            self.tasks[index] = (original, copy)
        return copy

    def finalize(self, index: int, status: str, time_ms: int) -> None:
        """Move task `index` to a final status and count it (once)."""
        task = self.task(index)
        assert task is not None and self.run is not None
        if task["status"] in FINAL_TASK:
            return
        task["status"] = status
        task["retry_at_ms"] = None
        if task.get("finished_ms") is None and status in ("SUCCESS", "FAILURE", "CANCELED"):
            task["finished_ms"] = time_ms
        self.run[_COUNTER[status]] += 1
        self.run["tasks_final_ms"] = max(self.run.get("tasks_final_ms") or 0, time_ms)

    def skip_downstream(self, failed: int) -> None:
        """Skip every pending task that (transitively) waits for task `failed`, and name its
        failed or skipped upstream tasks (recomputed for tasks already skipped, so the reason
        is the same whatever order several failures folded in)."""
        assert self.run is not None
        blocked = {failed}
        for index in range(failed + 1, self.run["tasks_total"]):
            task = self.task(index)
            if task is None or task["status"] not in ("SKIPPED", *_OPEN_TASK):
                continue
            deps = json.loads(task["depends_on"] or "[]")
            if not any(d in blocked for d in deps):
                continue
            blocked.add(index)
            self.touched.add(index)
            if task["status"] != "SKIPPED":
                self.finalize(index, "SKIPPED", self.ctx.time_ms)
            reasons = []
            for dep in sorted(deps):
                upstream = self.task(dep)
                if upstream is not None and upstream["status"] in ("FAILURE", "SKIPPED"):
                    verb = "failed" if upstream["status"] == "FAILURE" else "was skipped"
                    reasons.append(
                        f"{_task_label(upstream['asset'], upstream['partition'])} {verb}"
                    )
            task["skipped_because"] = "; ".join(reasons)

    def write(self, reported: int | None = None) -> None:
        """Write the run row and the reported task's row (always: their row_version is then
        the newest event about them, whatever the fold order) and any other changed task."""
        assert self.run is not None
        _derive_terminal(self.run)
        for index, (original, task) in self.tasks.items():
            if (
                index == reported
                or index in self.touched
                or original is None
                or any(task.get(k) != original.get(k) for k in task)
            ):
                # stamped with the newest event that touched it, whatever the fold order
                self.ctx.put(TASKS.name, task)
        self.ctx.put(RUNS.name, self.run)


def _task_label(asset: str, partition: str | None) -> str:
    return asset if partition is None else f"{asset}[{partition}]"


def fold_run_requested(ctx: FoldContext, event: RunRequested) -> Outcome:
    if ctx.get(RUNS.name, event.run_id) is not None:
        return Outcome.SUPERSEDED
    if event.run_key is not None:
        claimed = ctx.get(RUN_KEYS.name, event.scope, event.run_key)
        if claimed is not None:
            if claimed["fingerprint"] != event.fingerprint:
                _record_conflict(
                    ctx,
                    event.scope,
                    event.run_key,
                    event.fingerprint,
                    claimed["run_id"],
                    claimed["fingerprint"],
                )
            return Outcome.SUPERSEDED
        ctx.put(
            RUN_KEYS.name,
            {
                "scope": event.scope,
                "run_key": event.run_key,
                "run_id": event.run_id,
                "fingerprint": event.fingerprint,
                "created_ms": ctx.time_ms,
            },
        )
    plan = RunPlan.from_json(event.plan)
    position = {key: i for i, key in enumerate(plan.keys)}
    for index, planned in enumerate(plan.tasks):
        retry = event.retries.get(planned.key.asset) or RetrySpec(max_attempts=1, delay_ms=0)
        ctx.put(
            TASKS.name,
            {
                "run_id": event.run_id,
                "index": index,
                "asset": planned.key.asset,
                "partition": planned.key.partition,
                "depends_on": json.dumps([position[d] for d in planned.depends_on]),
                "status": "PENDING",
                "attempt": 0,
                "max_attempts": retry.max_attempts,
                "retry_delay_ms": retry.delay_ms,
                "retry_backoff": retry.backoff,
                "attempts": "{}",
            },
        )
    ctx.put(
        RUNS.name,
        {
            "run_id": event.run_id,
            "run_key": event.run_key,
            "scope": event.scope,
            "fingerprint": event.fingerprint,
            "status": "QUEUED",
            "source": event.source,
            "selection": event.selection,
            "assets": json.dumps(sorted({k.asset for k in plan.keys})),
            "partition": event.partition,
            "partition_range": (
                json.dumps(list(event.partition_range)) if event.partition_range else None
            ),
            "tags": json.dumps(event.tags, sort_keys=True),
            "parent_run_id": event.parent_run_id,
            "root_run_id": event.root_run_id or event.run_id,
            "definitions_hash": event.definitions_hash,
            "created_ms": ctx.time_ms,
            "tasks_total": len(plan),
            "tasks_succeeded": 0,
            "tasks_failed": 0,
            "tasks_skipped": 0,
            "tasks_canceled": 0,
            "run_config": json.dumps(event.run_config, sort_keys=True)
            if event.run_config
            else None,
        },
    )
    if event.request_id is not None:
        _link_request(ctx, event.request_id, event.run_id)
    return Outcome.APPLIED


def _link_request(ctx: FoldContext, request_id: str, run_id: str) -> None:
    """Mark the automation request as launched and list the run on its schedule tick."""
    request = _copy(ctx.get(RUN_REQUESTS.name, request_id))
    if request is None:
        return
    request.update(status="LAUNCHED", run_id=run_id, error=None)
    ctx.put(RUN_REQUESTS.name, request)
    if request.get("source") == "sensor":
        sensors.link_run(ctx, request_id, run_id)
    elif request.get("source") == "automation":
        automation.link_run(ctx, request_id, run_id)
    elif request.get("source") == "schedule":
        tick = _copy(ctx.get(SCHEDULE_TICKS.name, request["source_name"], request["tick_ms"]))
        if tick is not None:
            run_ids = sorted({*json.loads(tick.get("run_ids") or "[]"), run_id})
            tick["run_ids"] = json.dumps(run_ids)
            ctx.put(SCHEDULE_TICKS.name, tick)


def _record_conflict(
    ctx: FoldContext,
    scope: str,
    run_key: str,
    fingerprint: str,
    existing_run_id: str,
    existing_fingerprint: str,
) -> None:
    if ctx.get(RUN_KEY_CONFLICTS.name, scope, run_key, fingerprint) is None:
        ctx.put(
            RUN_KEY_CONFLICTS.name,
            {
                "scope": scope,
                "run_key": run_key,
                "fingerprint": fingerprint,
                "existing_run_id": existing_run_id,
                "existing_fingerprint": existing_fingerprint,
                "first_seen_ms": ctx.time_ms,
            },
        )


def fold_request_failed(ctx: FoldContext, event: RunRequestFailed) -> Outcome:
    request = _copy(ctx.get(RUN_REQUESTS.name, event.request_id))
    if request is None:
        return Outcome.REJECTED
    if request.get("status") != "REQUESTED":
        return Outcome.SUPERSEDED
    request.update(status="FAILED", error=event.error)
    ctx.put(RUN_REQUESTS.name, request)
    _fail_tick(ctx, request, event.error)
    return Outcome.APPLIED


def _fail_tick(ctx: FoldContext, request: Row, error: str) -> None:
    """A request that can never become a run fails the tick that made it, with the reason
    (as Dagster fails a tick whose run request is invalid): never a SUCCESS with no run."""
    if request.get("source") == "sensor":
        sensors.fail_request(ctx, request["request_id"], error)
    elif request.get("source") == "automation":
        automation.fail_request(ctx, request["request_id"], error)
    elif request.get("source") == "schedule":
        tick = _copy(ctx.get(SCHEDULE_TICKS.name, request["source_name"], request["tick_ms"]))
        if tick is not None:
            tick.update(status="FAILED", error=_joined(tick.get("error"), error))
            ctx.put(SCHEDULE_TICKS.name, tick)


def _joined(existing: str | None, error: str) -> str:
    """One tick can carry the failures of several of its requests."""
    if not existing:
        return error
    return existing if error in existing else f"{existing}\n{error}"


def fold_key_conflicted(ctx: FoldContext, event: RunKeyConflicted) -> Outcome:
    if ctx.get(RUN_KEY_CONFLICTS.name, event.scope, event.run_key, event.fingerprint):
        return Outcome.SUPERSEDED
    _record_conflict(
        ctx,
        event.scope,
        event.run_key,
        event.fingerprint,
        event.existing_run_id,
        event.existing_fingerprint,
    )
    return Outcome.APPLIED


def fold_launched(ctx: FoldContext, event: RunLaunched) -> Outcome:
    update = _RunUpdate(ctx, event.run_id)
    run = update.run
    if run is None:
        return Outcome.REJECTED
    if run.get("launched_ms") is not None:
        return Outcome.SUPERSEDED
    run["launched_ms"] = ctx.time_ms
    if RUN_RANK[run["status"]] < RUN_RANK["STARTING"]:
        run["status"] = "STARTING"
    update.write()
    return Outcome.APPLIED


def fold_cancel_requested(ctx: FoldContext, event: RunCancelRequested) -> Outcome:
    update = _RunUpdate(ctx, event.run_id)
    run = update.run
    if run is None:
        return Outcome.REJECTED
    if run["status"] in TERMINAL_RUN or run.get("cancel_requested_ms") is not None:
        return Outcome.SUPERSEDED
    run["cancel_requested_ms"] = ctx.time_ms
    run["canceled_by"] = event.requested_by
    queued = run["status"] == "QUEUED"
    run["status"] = "CANCELING"
    for index in range(run["tasks_total"]):
        task = update.task(index)
        if task is None or task["status"] in FINAL_TASK:
            continue
        # A task a worker may hold finishes (or times out) on its own; the rest stop here.
        if queued or task["status"] in ("PENDING", "RETRY_WAIT"):
            update.finalize(index, "CANCELED", ctx.time_ms)
    update.write()
    return Outcome.APPLIED


def fold_run_failed(ctx: FoldContext, event: RunFailed) -> Outcome:
    """FAILURE now, with the error. Tasks waiting to be dispatched are skipped; an attempt a
    worker may hold still reports (and is counted) when it ends."""
    update = _RunUpdate(ctx, event.run_id)
    run = update.run
    if run is None:
        return Outcome.REJECTED
    if run["status"] in TERMINAL_RUN:
        return Outcome.SUPERSEDED
    for index in range(run["tasks_total"]):
        task = update.task(index)
        if task is None or task["status"] in (*FINAL_TASK, "DISPATCHED", "STARTED"):
            continue
        task["skipped_because"] = f"the run failed: {event.error}"
        update.finalize(index, "SKIPPED", ctx.time_ms)
    run.update(status="FAILURE", error=event.error, finished_ms=ctx.time_ms)
    update.write()
    return Outcome.APPLIED


# --- task reports ------------------------------------------------------------------------------


def _partition_attempt(
    ctx: FoldContext, task: Mapping[str, Any], run_id: str, status: str, error: str | None
) -> None:
    """Record the latest attempt on a partition (newest event wins, whatever the order)."""
    key = (task["asset"], _partition(task["partition"]))
    original = ctx.get(PARTITION_STATUS.name, *key)
    row = _copy(original) or {"asset": key[0], "partition": key[1]}
    if (row.get("attempt_version") or "") >= ctx.event_id:
        return
    row.update(
        attempt_run_id=run_id,
        attempt_ms=ctx.time_ms,
        attempt_status=status,
        attempt_error=error,
        attempt_version=ctx.event_id,
    )
    ctx.put(PARTITION_STATUS.name, row)


def _partition_materialized(
    ctx: FoldContext, task: Mapping[str, Any], run_id: str, event: TaskFinished
) -> None:
    key = (task["asset"], _partition(task["partition"]))
    original = ctx.get(PARTITION_STATUS.name, *key)
    row = _copy(original) or {"asset": key[0], "partition": key[1]}
    if (row.get("materialized_version") or "") >= ctx.event_id:
        return
    if row.get("materialized_data_version") != event.data_version:
        # When this data version appeared: what makes a downstream stale is a new version, not
        # a re-materialization with the same one.
        row["materialized_data_version_since_ms"] = ctx.time_ms
    _replace_inputs(ctx, key, row.get("materialized_input_versions"), event.input_data_versions)
    row.update(
        materialized_run_id=run_id,
        materialized_ms=ctx.time_ms,
        materialized_code_version=event.code_version,
        materialized_data_version=event.data_version,
        materialized_metadata=json.dumps(event.metadata, sort_keys=True, default=str),
        materialized_version=ctx.event_id,
        materialized_input_versions=json.dumps(event.input_data_versions, sort_keys=True),
        materialized_data_version_provided=event.data_version_provided,
    )
    ctx.put(PARTITION_STATUS.name, row)


def _checks_evaluated(ctx: FoldContext, task: Mapping[str, Any], event: TaskFinished) -> None:
    for result in event.check_results:
        key = (task["asset"], _partition(task["partition"]), result.name)
        original = ctx.get(ASSET_CHECK_RESULTS.name, *key)
        if original is not None and (original.get("materialized_version") or "") >= ctx.event_id:
            continue  # a later materialization's result is already here
        ctx.put(
            ASSET_CHECK_RESULTS.name,
            {
                "asset": key[0],
                "partition": key[1],
                "check_name": result.name,
                "passed": result.passed,
                "severity": result.severity,
                "blocking": result.blocking,
                "metadata": json.dumps(result.metadata, sort_keys=True, default=str),
                "description": result.description,
                "error": result.error,
                "run_id": event.run_id,
                "evaluated_ms": ctx.time_ms,
                "materialized_version": ctx.event_id,
            },
        )


def split_input_name(name: str) -> tuple[str, str]:
    """`asset[partition]` -> (asset, partition); `asset` -> (asset, NO_PARTITION)."""
    asset, _, rest = name.partition("[")
    return asset, rest[:-1] if rest else NO_PARTITION


def _replace_inputs(
    ctx: FoldContext, key: tuple[str, str], previous: str | None, inputs: Mapping[str, str]
) -> None:
    """The provenance rows of a partition become those of its newest materialization."""
    for name in json.loads(previous or "{}"):
        if name not in inputs:
            ctx.delete(PARTITION_INPUTS.name, *key, *split_input_name(name))
    for name, version in sorted(inputs.items()):
        input_asset, input_partition = split_input_name(name)
        ctx.put(
            PARTITION_INPUTS.name,
            {
                "asset": key[0],
                "partition": key[1],
                "input_asset": input_asset,
                "input_partition": input_partition,
                "data_version": version,
            },
        )


def _open_report(
    ctx: FoldContext, event: _TaskReport, jump: bool = True
) -> tuple[_RunUpdate, dict[str, Any], bool, bool] | None:
    """The run update and task row for a report; whether the report may move the task
    (current), and whether it is about the task's attempt (same: its facts, such as when it
    was dispatched or started, are recorded even once the task is final, so the row does not
    depend on the order reports folded in).

    None if the run or task does not exist (REJECTED: the report can never apply).
    """
    update = _RunUpdate(ctx, event.run_id)
    if update.run is None:
        return None
    task = update.task(event.task)
    if task is None:
        return None
    if (
        task["status"] in FINAL_TASK
        or event.attempt < task["attempt"]
        or (event.attempt > task["attempt"] and not jump)
    ):
        return update, task, False, event.attempt == task["attempt"]
    if event.attempt > task["attempt"]:
        _move_to_attempt(task, event.attempt)
    return update, task, True, True


def fold_dispatched(ctx: FoldContext, event: TaskDispatched) -> Outcome:
    opened = _open_report(ctx, event)
    if opened is None:
        return Outcome.REJECTED
    update, task, current, same = opened
    _note_attempt(task, event.attempt, dispatched_ms=ctx.time_ms)
    # `_open_report` has already moved the task to this attempt (DISPATCHED): a task is only
    # PENDING before its first attempt. The first dispatch of the attempt is recorded, as in its
    # history (the protocol's idempotency key names the attempt, so there is only one).
    if same and task.get("dispatched_ms") is None:
        task.update(dispatched_ms=ctx.time_ms, dispatch_name=event.dispatch_name)
    update.write(event.task)
    return Outcome.APPLIED if current else Outcome.SUPERSEDED


def fold_started(ctx: FoldContext, event: TaskStarted) -> Outcome:
    opened = _open_report(ctx, event)
    if opened is None:
        return Outcome.REJECTED
    update, task, current, same = opened
    _note_attempt(task, event.attempt, started_ms=ctx.time_ms, worker=event.worker or None)
    _partition_attempt(ctx, task, event.run_id, "STARTED", None)
    if current and _ATTEMPT_RANK.get(task["status"], 9) < _ATTEMPT_RANK["STARTED"]:
        task["status"] = "STARTED"
    if same and task.get("started_ms") is None:
        task.update(started_ms=ctx.time_ms, worker=event.worker or None)
    # Any attempt starting (even one the task has moved past) means the run started; the
    # earliest report wins, so the order reports fold in does not matter.
    run = update.run
    assert run is not None
    if RUN_RANK[run["status"]] < RUN_RANK["STARTED"]:
        run["status"] = "STARTED"
    if run.get("started_ms") is None or run["started_ms"] > ctx.time_ms:
        run["started_ms"] = ctx.time_ms
    update.write(event.task)
    return Outcome.APPLIED if current else Outcome.SUPERSEDED


def fold_heartbeat(ctx: FoldContext, event: TaskHeartbeat) -> Outcome:
    opened = _open_report(ctx, event)
    if opened is None:
        return Outcome.REJECTED
    update, task, _, same = opened
    last = task.get("heartbeat_ms")
    applies = same and (last is None or last < event.at_ms)
    if applies:
        task["heartbeat_ms"] = event.at_ms
    update.write(event.task)
    return Outcome.APPLIED if applies else Outcome.SUPERSEDED


def _attempt_failed(update: _RunUpdate, task: dict[str, Any], error: str, time_ms: int) -> None:
    """A failed attempt: wait and retry if attempts remain (and the run is not canceling),
    otherwise the task fails for good and what waits for it is skipped."""
    run = update.run
    assert run is not None
    task["error"] = error
    task["finished_ms"] = time_ms
    canceling = run.get("cancel_requested_ms") is not None
    if task["attempt"] < task["max_attempts"] and canceling:
        # It would have waited for a retry, and a cancel stops that: the same end whichever
        # folds first.
        update.finalize(task["index"], "CANCELED", time_ms)
        return
    if task["attempt"] < task["max_attempts"]:
        retry = RetrySpec(
            max_attempts=task["max_attempts"],
            delay_ms=task["retry_delay_ms"] or 0,
            backoff=task["retry_backoff"] or "exponential",
        )
        task["status"] = "RETRY_WAIT"
        task["retry_at_ms"] = time_ms + retry.delay_after(task["attempt"])
        return
    update.finalize(task["index"], "FAILURE", time_ms)
    update.skip_downstream(task["index"])


def fold_finished(ctx: FoldContext, event: TaskFinished) -> Outcome:
    opened = _open_report(ctx, event)
    if opened is None:
        return Outcome.REJECTED
    update, task, current, _ = opened
    _note_attempt(
        task,
        event.attempt,
        finished_ms=ctx.time_ms,
        outcome=event.outcome,
        error=event.error,
        logs=event.logs,
    )
    if event.outcome == "SUCCESS":
        _partition_materialized(ctx, task, event.run_id, event)
        _checks_evaluated(ctx, task, event)
    if current and _timed_out_after(ctx, task):
        # The timer gave up on this attempt without having seen this (earlier) report: in
        # event-id order the report came first, so it decides the attempt.
        _undo_timeout(ctx, task, event)
    if event.outcome != "CANCELED":  # canceled before it started: not an attempt at the data
        _partition_attempt(ctx, task, event.run_id, event.outcome, event.error)
    # A RETRY_WAIT attempt is over (it timed out): its late report changes nothing.
    if current and _ATTEMPT_RANK.get(task["status"], 9) <= _ATTEMPT_RANK["STARTED"]:
        if event.outcome == "SUCCESS":
            task.update(  # (its error is None: entering an attempt or undoing a timeout clears it)
                metadata=json.dumps(event.metadata, sort_keys=True, default=str),
                code_version=event.code_version,
                data_version=event.data_version,
            )
            if event.blocked_by is not None:
                task["error"] = f"blocking asset check {event.blocked_by!r} failed"
                update.finalize(task["index"], "FAILURE", ctx.time_ms)
                update.skip_downstream(task["index"])
            else:
                update.finalize(task["index"], "SUCCESS", ctx.time_ms)
        elif event.outcome == "CANCELED":
            task["error"] = event.error
            update.finalize(task["index"], "CANCELED", ctx.time_ms)
        else:
            _attempt_failed(update, task, event.error or "failed", ctx.time_ms)
    update.write(event.task)
    return Outcome.APPLIED if current else Outcome.SUPERSEDED


def _touch_partition(ctx: FoldContext, task: Mapping[str, Any]) -> None:
    """Stamp the partition's row with this event (it is about the partition) so its
    row_version does not depend on whether the event changed anything."""
    original = ctx.get(PARTITION_STATUS.name, task["asset"], _partition(task["partition"]))
    if original is not None:
        ctx.put(PARTITION_STATUS.name, dict(original))


def _timed_out_after(ctx: FoldContext, task: Mapping[str, Any]) -> bool:
    by = task.get("timed_out_by")
    return task["status"] == "RETRY_WAIT" and by is not None and ctx.event_id < by


def _undo_timeout(ctx: FoldContext, task: dict[str, Any], event: TaskFinished) -> None:
    """Put the attempt back as it was before the timeout folded."""
    timed_out_by = task["timed_out_by"]
    task.update(status="STARTED", timed_out_by=None, retry_at_ms=None, finished_ms=None, error=None)
    history = _history(task)
    entry = history.setdefault(str(event.attempt), {})
    entry.update(finished_ms=ctx.time_ms, outcome=event.outcome)
    entry.pop("error", None)
    if event.error is not None:
        entry["error"] = event.error
    # (the report's logs are already noted: the timeout wrote none, and the first report wins)
    task["attempts"] = json.dumps(history, sort_keys=True)
    key = (task["asset"], _partition(task["partition"]))
    original = ctx.get(PARTITION_STATUS.name, *key)
    if original is not None and original.get("attempt_version") == timed_out_by:
        row = _copy(original)
        assert row is not None
        row["attempt_version"] = ""  # let this report's attempt replace the timeout's
        ctx.put(PARTITION_STATUS.name, row)


def fold_timed_out(ctx: FoldContext, event: TaskTimedOut) -> Outcome:
    # The timer only times out an attempt it saw dispatched: never one the task has not reached.
    opened = _open_report(ctx, event, jump=False)
    if opened is None:
        return Outcome.REJECTED
    update, task, current, _ = opened
    if not current or task["status"] not in ("DISPATCHED", "STARTED"):
        update.write(event.task)
        _touch_partition(ctx, task)
        return Outcome.SUPERSEDED
    task["timed_out_by"] = ctx.event_id
    _note_attempt(task, event.attempt, finished_ms=ctx.time_ms, outcome="TIMED_OUT")
    _partition_attempt(ctx, task, event.run_id, "FAILURE", event.reason)
    if update.run is not None and update.run.get("cancel_requested_ms") is not None:
        task["error"] = event.reason
        update.finalize(task["index"], "CANCELED", ctx.time_ms)
    else:
        _attempt_failed(update, task, event.reason, ctx.time_ms)
    update.write(event.task)
    return Outcome.APPLIED


def install(registry: Registry) -> None:
    for spec in (
        RUNS,
        TASKS,
        RUN_KEYS,
        RUN_KEY_CONFLICTS,
        PARTITION_STATUS,
        PARTITION_INPUTS,
        ASSET_CHECK_RESULTS,
    ):
        registry.add_table(spec)
    for name, payload, rule, description in (
        (RUN_REQUESTED, RunRequested, fold_run_requested, "A run was requested, with its plan."),
        (RUN_LAUNCHED, RunLaunched, fold_launched, "The timer launched a queued run."),
        (
            RUN_REQUEST_FAILED,
            RunRequestFailed,
            fold_request_failed,
            "An automation request could not become a run; the reason is kept.",
        ),
        (
            RUN_FAILED,
            RunFailed,
            fold_run_failed,
            "The timer could not advance a run; it failed alone, with the reason.",
        ),
        (
            RUN_CANCEL_REQUESTED,
            RunCancelRequested,
            fold_cancel_requested,
            "Someone asked to cancel a run.",
        ),
        (
            RUN_KEY_CONFLICTED,
            RunKeyConflicted,
            fold_key_conflicted,
            "A request reused a run_key with a different payload and was refused.",
        ),
        (TASK_DISPATCHED, TaskDispatched, fold_dispatched, "A task attempt was dispatched."),
        (TASK_STARTED, TaskStarted, fold_started, "A worker started a task attempt."),
        (TASK_HEARTBEAT, TaskHeartbeat, fold_heartbeat, "A worker is still running an attempt."),
        (TASK_FINISHED, TaskFinished, fold_finished, "A worker finished a task attempt."),
        (
            TASK_TIMED_OUT,
            TaskTimedOut,
            fold_timed_out,
            "The timer gave up on an attempt whose worker went silent.",
        ),
    ):
        registry.add_event(
            EventType(name=name, version=1, payload=payload, rule=rule, description=description)
        )
