"""The timer: fold what is pending, run the controllers as of `now`, append their decisions.

    schedules -> sensors -> run requests -> backfills -> reconciliation -> runs
    -> publish (one compaction) -> dispatch

Run by the `timer` Cloud Function on every Cloud Tasks call, by `arco tick`, and by the
`arco dev` loop. Controllers are pure; two timers at once append identical events.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arco.domain.backfill_controller import BackfillDecisions, BackfillView, advance_backfills
from arco.domain.backfills import BACKFILL_CHUNKS, BACKFILLS, TERMINAL
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import ArcoError, ConflictError, StorageUnavailable
from arco.domain.fold import LedgerObject
from arco.domain.run_controller import RunPolicy, TaskOrder, advance_runs
from arco.domain.run_requests import automation_requests_to_events
from arco.domain.runs import PARTITION_STATUS, RUN_REQUESTED, RUNS
from arco.domain.schedule_controller import evaluate_schedules
from arco.domain.schedules import RUN_REQUESTS, SCHEDULE_STATE, ScheduleTicked
from arco.domain.sensor_controller import (
    SensorDecisions,
    SensorInputs,
    SensorOrder,
    evaluate_sensors,
)
from arco.domain.sensors import SENSOR_RUN_KEYS, SENSOR_STATE
from arco.domain.tables import Row
from arco.ledger.writer import NewEvent
from arco.projections.cache import Snapshot
from arco.projections.compactor import CompactionResult, CompactionSession
from arco.services.commands.runs import default_retry
from arco.services.engines.dispatch import DispatchReport, NoWorkers, TaskDispatcher
from arco.services.queries.definitions import current_definitions, dynamic_partition_keys
from arco.services.queries.runs import active_runs, partition_state, rows_where, tasks_by_run
from arco.services.queries.settings import setting_value
from arco.services.workspace import Workspace

APPEND_CHUNK = 1000
CLAIMS_EVERY_MINUTES = 15

log = logging.getLogger(__name__)


@dataclass
class TimerResult:
    now: str
    schedules_evaluated: int = 0
    ticks: dict[str, int] = field(default_factory=dict)
    sensors_evaluated: int = 0
    sensor_ticks: int = 0
    automation_evaluations: int = 0
    backfill_chunks_planned: int = 0
    backfill_chunks_finished: int = 0
    backfill_runs_requested: int = 0
    backfill_transitions: int = 0
    reconciliation: dict[str, int] = field(default_factory=dict)
    sensor_dispatch: DispatchReport = field(default_factory=DispatchReport)
    runs_requested: int = 0
    requests_failed: int = 0
    runs_launched: int = 0
    tasks_dispatched: int = 0
    tasks_redispatched: int = 0
    tasks_timed_out: int = 0
    runs_failed: int = 0
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    ledger_objects: list[str] = field(default_factory=list)
    gc: dict[str, Any] | None = None
    # Publications during the call: one, unless a backlog, a lost race or in-process workers
    # needed more.
    compactions: int = 0
    # Steps that raised outside any entity (a bug in the step): the others still ran.
    failed_steps: dict[str, str] = field(default_factory=dict)
    evaluate_seconds: float = 0.0
    manifest_id: int = 0

    @property
    def progressed(self) -> bool:
        """Whether this call decided anything about runs (callers loop while it does)."""
        return bool(
            self.reconciliation.get("launched")
            or self.backfill_chunks_planned
            or self.backfill_chunks_finished
            or self.backfill_runs_requested
            or self.backfill_transitions
            or self.sensor_ticks
            or any(r.outcome != "STALE" for r in self.sensor_dispatch.sensors_evaluated)
            or self.runs_requested
            or self.runs_launched
            or self.tasks_dispatched
            or self.tasks_timed_out
            or self.runs_failed
            or self.dispatch.executed
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "schedules_evaluated": self.schedules_evaluated,
            "ticks": self.ticks,
            "sensors_evaluated": self.sensors_evaluated,
            "sensor_ticks": self.sensor_ticks,
            "sensor_dispatch": self.sensor_dispatch.as_dict(),
            "automation_evaluations": self.automation_evaluations,
            "backfill_chunks_planned": self.backfill_chunks_planned,
            "backfill_chunks_finished": self.backfill_chunks_finished,
            "backfill_runs_requested": self.backfill_runs_requested,
            "backfill_transitions": self.backfill_transitions,
            "reconciliation": self.reconciliation,
            "runs_requested": self.runs_requested,
            "requests_failed": self.requests_failed,
            "runs_launched": self.runs_launched,
            "tasks_dispatched": self.tasks_dispatched,
            "tasks_redispatched": self.tasks_redispatched,
            "tasks_timed_out": self.tasks_timed_out,
            "runs_failed": self.runs_failed,
            "dispatch": self.dispatch.as_dict(),
            "ledger_objects": self.ledger_objects,
            "evaluate_seconds": round(self.evaluate_seconds, 4),
            "manifest_id": self.manifest_id,
            "compactions": self.compactions,
            "failed_steps": self.failed_steps,
        }


def run_policy(snapshot: Snapshot) -> RunPolicy:
    return RunPolicy(
        max_in_flight=int(setting_value(snapshot, "runs.max_in_flight")),
        heartbeat_timeout_ms=int(setting_value(snapshot, "runs.heartbeat_timeout_seconds")) * 1000,
    )


@dataclass
class TimerCall:
    """What the steps of one timer call share: the compaction session every decision is folded
    into as it is written (so a step reads what the steps before it decided, unpublished), the
    instants, and the result."""

    ws: Workspace
    session: CompactionSession
    now: datetime
    dispatcher: TaskDispatcher
    result: TimerResult
    # Runs are decided 1 ms after the ticks and sensor evaluations of this call (at `now`), so
    # a rebuild, folding in id order, sees every request before the run made from it.
    runs_ms: int = 0
    # Orders are sent once the call has published: a worker reads what it is sent.
    sensor_orders: list[SensorOrder] = field(default_factory=list)
    orders: list[TaskOrder] = field(default_factory=list)

    @property
    def now_ms(self) -> int:
        return round(self.now.timestamp() * 1000)

    def view(self) -> Snapshot:
        """The state as published plus everything folded in this call so far."""
        return self.ws.staged_snapshot(self.session)

    def append(self, events: Sequence[NewEvent]) -> None:
        """Write decisions to the ledger (one object per chunk) and fold them here."""
        for start in range(0, len(events), APPEND_CHUNK):
            appended = self.ws.writer.append(events[start : start + APPEND_CHUNK])
            self.result.ledger_objects.append(appended.object_name)
            self.session.fold([LedgerObject(appended.object_name, appended.data)])

    def publish(self, then_continue: bool = True) -> None:
        """Publish what is folded so far (and go on in a new session over it). If another
        compactor published first, compact normally: the decisions are in the ledger."""
        if self.session.pending:
            if self.session.publish() is not None:
                self.result.compactions += 1
            else:
                self.result.compactions += _published(self.ws.compactor.compact_until_idle())
        if then_continue:
            self.session = _begin(self.ws, self.result)

    def catch_up(self) -> None:
        """Fold what others wrote meanwhile (in-process sensors, reconciliation's launches)."""
        self.session.refresh()
        self.runs_ms = max(self.runs_ms, self.ws.clock.now_ms() + 1)  # after what they wrote


Step = Callable[[TimerCall, DefinitionsSnapshot], None]


def schedules_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """Due schedule ticks (a failing schedule fails its own tick)."""
    view = call.view()
    states = {k[0]: row for k, row in view.rows(SCHEDULE_STATE.name).items()}
    started = time.perf_counter()
    decisions = evaluate_schedules(defs, states, call.now, dynamic_partition_keys(view))
    call.result.evaluate_seconds = time.perf_counter() - started
    call.result.schedules_evaluated = decisions.evaluated
    for event in decisions.events:
        if isinstance(event.payload, ScheduleTicked):
            status = event.payload.status
            call.result.ticks[status] = call.result.ticks.get(status, 0) + 1
    if decisions.events:
        call.append(list(decisions.events))


def sensors_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """Built-in sensor evaluations here; poll sensors ordered to workers."""
    sensors = _sensor_decisions(call.ws, call.view(), defs, call.now_ms)
    call.result.sensors_evaluated = sensors.evaluated
    call.result.sensor_ticks = len(sensors.events)
    if sensors.events:
        call.append(sensors.events)
    if not sensors.orders:
        return
    if not call.dispatcher.runs_here:
        call.sensor_orders.extend(sensors.orders)
        return
    # Evaluated in this process, now, on the published state: publish first, then fold what
    # they wrote so the requests they made become runs in this call.
    call.publish()
    call.result.sensor_dispatch = call.dispatcher.dispatch(sensors.orders)
    if call.result.sensor_dispatch.sensors_evaluated:
        call.catch_up()


def automation_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """Declarative automation, when started: evaluate the assets' conditions and request the
    runs they ask for (the requests step, next, turns them into runs)."""
    from arco.domain.automation_controller import evaluate_conditions
    from arco.services.queries.automation import automation_inputs

    view = call.view()
    inputs = automation_inputs(view, defs, call.now_ms, call.ws.lookback_ms)
    if inputs is None:
        return
    events = evaluate_conditions(defs, inputs, call.now_ms, lookback_ms=call.ws.lookback_ms)
    call.result.automation_evaluations = len(events)
    if events:
        call.append(events)


def requests_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """Open run requests of schedules and sensors become runs (or FAILED, with the reason)."""
    view = call.view()
    requests = _open_requests(view)
    if not requests:
        return
    requested = automation_requests_to_events(
        call.ws.name,
        defs,
        requests,
        _known_runs(view),
        datetime.fromtimestamp(call.runs_ms / 1000, tz=UTC),
        call.runs_ms,
        default_retry(view),
        dynamic_partition_keys(view),
    )
    call.result.runs_requested = sum(1 for e in requested if e.type == RUN_REQUESTED)
    call.result.requests_failed = len(requested) - call.result.runs_requested
    if requested:
        call.append(requested)


def backfills_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """Backfills plan chunks and request their runs (a failing backfill is FAILED alone)."""
    result = call.result
    # Twice: chunks planned in the first pass get their runs in the second, from the folded
    # chunk rows (a plan the fold dropped never gets a run).
    for _ in range(2):
        backfill = _backfill_decisions(call.ws, call.view(), defs, call.runs_ms)
        result.backfill_chunks_planned += backfill.chunks_planned
        result.backfill_chunks_finished += backfill.chunks_finished
        result.backfill_runs_requested += backfill.runs_requested
        result.backfill_transitions += backfill.transitions
        if not backfill.events:
            break
        call.append(backfill.events)
        call.runs_ms += 2  # launches come after the run requests (at runs_ms + 1)


def reconciliation_step(call: TimerCall, defs: DefinitionsSnapshot) -> None:
    """When the workspace enabled it, reconciliation launches what its plan asks for."""
    from arco.services.commands.reconcile import timer_reconcile

    executed = timer_reconcile(call.ws, call.view())
    if executed is None:
        return
    call.result.reconciliation = dict(executed["counts"])
    if executed["counts"].get("launched"):
        call.catch_up()  # its launches, folded before the runs step (which launches them)
    else:
        call.session.refresh()  # its record


def runs_step(call: TimerCall, defs: DefinitionsSnapshot | None) -> None:
    """Launch queued runs, dispatch ready tasks, time out silent attempts."""
    view = call.view()
    runs = active_runs(view)
    if not runs:
        return
    advance = advance_runs(
        call.ws.name,
        runs,
        tasks_by_run(view, [r["run_id"] for r in runs]),
        call.runs_ms,
        run_policy(view),
    )
    result = call.result
    result.runs_launched = advance.launched
    result.tasks_dispatched = advance.dispatched
    result.tasks_redispatched = advance.redispatched
    result.tasks_timed_out = advance.timed_out
    result.runs_failed = advance.failed
    if advance.events:
        call.append(list(advance.events))
    call.orders.extend(advance.dispatches)


# The pipeline, in order: each step reads the decisions of the steps before it.
AUTOMATION_STEPS: tuple[tuple[str, Step], ...] = (
    ("schedules", schedules_step),
    ("sensors", sensors_step),
    ("automation", automation_step),
    ("requests", requests_step),
    ("backfills", backfills_step),
    ("reconciliation", reconciliation_step),
)


def run_timer(
    ws: Workspace,
    now: datetime,
    compact: bool = True,
    dispatcher: TaskDispatcher | None = None,
) -> TimerResult:
    """One timer call: fold what is pending, run the steps, publish once, then dispatch.

    Each step's decisions are written to the ledger and folded into this call's compaction
    session, so later steps see them without a publication between steps. Without `compact`
    nothing is published (the decisions are in the ledger for the next compaction).
    """
    result = TimerResult(now=now.isoformat())
    call = TimerCall(ws, _begin(ws, result), now, dispatcher or NoWorkers(), result)
    call.runs_ms = call.now_ms + 1
    defs = current_definitions(call.view())
    if defs is not None:
        for name, step in AUTOMATION_STEPS:
            _isolated(call, name, step, defs)
    _isolated(call, "runs", runs_step, defs)
    if compact:
        call.publish(then_continue=False)
    if call.sensor_orders:
        result.sensor_dispatch = call.dispatcher.dispatch(call.sensor_orders)
    if call.orders:
        result.dispatch = call.dispatcher.dispatch(call.orders)
    if compact:
        if result.dispatch.executed:  # in-process workers reported: fold their reports too
            result.compactions += _published(ws.compactor.compact_until_idle())
        result.gc = _collect_garbage(ws, call.now_ms)
    result.manifest_id = ws.manifest().manifest_id
    return result


def _begin(ws: Workspace, result: TimerResult) -> CompactionSession:
    """A session with what is pending folded. A backlog larger than one session takes (more
    than `max_objects` objects) is published first, in as many publications as it needs."""
    while True:
        session = ws.compactor.begin()
        session.refresh()
        if not session.result.more_pending:
            return session
        result.compactions += _published(ws.compactor.compact_until_idle())


def _published(steps: Sequence[CompactionResult]) -> int:
    return sum(1 for step in steps if step.published)


def _isolated(
    call: TimerCall, name: str, step: Callable[[TimerCall, Any], None], defs: Any
) -> None:
    """Run one step. Entities fail alone inside the steps; this catches what escapes a step
    (a bug in the step itself), so the steps after it and the publication still happen. A
    store that cannot be written fails the call: the next timer call retries everything."""
    try:
        step(call, defs)
    except (StorageUnavailable, ConflictError):
        raise
    except Exception as exc:
        log.exception("timer step %s failed in workspace %s", name, call.ws.name)
        call.result.failed_steps[name] = f"{type(exc).__name__}: {exc}"


def _collect_garbage(ws: Workspace, now_ms: int) -> dict[str, Any] | None:
    """When `gc.enabled`: a bounded collection after the call's compaction. Its failure is
    reported, never the timer's: what it did not delete, the next call does. Attempt claims
    (which cost a read of an older `tasks` table) in the calls of every 15th minute."""
    from arco.services.operations.gc import collect_garbage

    snapshot = ws.snapshot()
    if not setting_value(snapshot, "gc.enabled"):
        return None
    grace_ms = int(setting_value(snapshot, "gc.grace_minutes")) * 60_000
    claims = (now_ms // 60_000) % CLAIMS_EVERY_MINUTES == 0
    try:
        return collect_garbage(ws, grace_ms, max_deletes=1000, claims=claims).as_dict()
    except ArcoError as exc:
        return {"error": str(exc)}


def _sensor_decisions(
    ws: Workspace, snapshot: Snapshot, defs: DefinitionsSnapshot, now_ms: int
) -> SensorDecisions:
    if not defs.sensors:
        return SensorDecisions()
    states = {k[0]: row for k, row in snapshot.rows(SENSOR_STATE.name).items()}
    builtin = [n for n, node in defs.sensors.items() if node.kind in ("asset", "run_status")]
    inputs = SensorInputs()
    if builtin:
        nodes = [defs.sensors[n] for n in builtin]
        monitored = sorted({a for n in nodes if n.kind == "asset" for a in n.monitored_assets})
        watches_runs = any(n.kind == "run_status" for n in nodes)
        inputs = SensorInputs(
            materializations=rows_where(snapshot, PARTITION_STATUS.name, "asset", monitored),
            finished_runs=_finished_runs(snapshot) if watches_runs else [],
            claimed=_claims(snapshot, builtin),
        )
    return evaluate_sensors(ws.name, defs, states, inputs, now_ms, ws.lookback_ms)


def _backfill_decisions(
    ws: Workspace, snapshot: Snapshot, defs: DefinitionsSnapshot, now_ms: int
) -> BackfillDecisions:
    """The timer's view of every backfill that is not finished, and its decisions."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = snapshot.table(BACKFILLS.name)
    if table.num_rows == 0:
        return BackfillDecisions()
    finished = pa.array(sorted(TERMINAL), pa.string())
    live = table.filter(pc.invert(pc.is_in(table.column("status"), value_set=finished)))
    rows: list[Row] = live.to_pylist()
    if not rows:
        return BackfillDecisions()
    ids = [r["backfill_id"] for r in rows]
    chunks: dict[str, list[Row]] = {i: [] for i in ids}
    for chunk in rows_where(snapshot, BACKFILL_CHUNKS.name, "backfill_id", ids):
        chunks[chunk["backfill_id"]].append(chunk)
    run_ids = [r for c in chunks.values() for row in c for r in json.loads(row["run_ids"] or "[]")]
    statuses = {
        r["run_id"]: r["status"] for r in rows_where(snapshot, RUNS.name, "run_id", run_ids)
    }
    dynamic = dynamic_partition_keys(snapshot)
    views = []
    for row in rows:
        anchor_status: dict[str, str] = {}
        if row["status_filter"] and row["anchor"] and row["status"] == "REQUESTED":
            anchor_status = _anchor_status(snapshot, row["anchor"], row["status_filter"])
        views.append(
            BackfillView(
                row=row,
                chunks=sorted(chunks[row["backfill_id"]], key=lambda c: int(c["chunk"])),
                run_status=statuses,
                anchor_status=anchor_status,
            )
        )
    when = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    return advance_backfills(ws.name, defs, views, when, now_ms, default_retry(snapshot), dynamic)


def _anchor_status(snapshot: Snapshot, anchor: str, status_filter: str) -> dict[str, str]:
    """Per anchor key, what the status filter looks at: MATERIALIZED (ever materialized) for
    `missing`, FAILED (the last attempt failed) for `failed`."""
    out = {}
    for row in rows_where(snapshot, PARTITION_STATUS.name, "asset", [anchor]):
        if status_filter == "missing" and row.get("materialized_run_id"):
            out[row["partition"]] = "MATERIALIZED"
        elif status_filter == "failed" and partition_state(row) == "FAILED":
            out[row["partition"]] = "FAILED"
    return out


def _finished_runs(snapshot: Snapshot) -> list[Row]:
    import pyarrow.compute as pc

    table = snapshot.table(RUNS.name)
    if table.num_rows == 0:
        return []
    columns = ["run_id", "status", "scope", "assets", "finished_ms"]
    rows: list[Row] = (
        table.select(columns).filter(pc.is_valid(table.column("finished_ms"))).to_pylist()
    )
    return rows


def _claims(snapshot: Snapshot, sensors: list[str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {name: set() for name in sensors}
    for row in rows_where(snapshot, SENSOR_RUN_KEYS.name, "sensor", sensors):
        out[row["sensor"]].add(row["run_key"])
    return {name: frozenset(keys) for name, keys in out.items()}


def _open_requests(snapshot: Snapshot) -> list[Row]:
    import pyarrow.compute as pc

    table = snapshot.table(RUN_REQUESTS.name)
    if table.num_rows == 0:
        return []
    rows: list[Row] = table.filter(pc.equal(table.column("status"), "REQUESTED")).to_pylist()
    return rows


def _known_runs(snapshot: Snapshot) -> frozenset[str]:
    """Run ids already requested (so a request whose run exists is not asked for again)."""
    return frozenset(snapshot.table(RUNS.name).column("run_id").to_pylist())


def next_slot(now_s: int, interval_s: int) -> int:
    """The start of the next interval slot: every timer computes the same one."""
    return (now_s // interval_s + 1) * interval_s


def from_expected_queue(header: str | None, expected: str | None) -> bool:
    """Whether a call's X-CloudTasks-QueueName names the configured queue.

    Cloud Tasks sends the short queue name; its emulator sends the full path. Compare the last
    path segment. With no queue configured (local runs) every call is accepted.
    """
    if expected is None:
        return True
    if not header:
        return False
    return header.rsplit("/", 1)[-1] == expected.rsplit("/", 1)[-1]
