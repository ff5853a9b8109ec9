"""Running one task attempt: the `worker` function's job, and the in-process executor's.

    started -> the asset function (heartbeats from a thread) -> logs object -> finished

Every report is an append with an idempotency key per (run, task, attempt), so a redelivered
order (Cloud Tasks is at-least-once) writes nothing twice; a report about an attempt the run
has moved past is ignored by the fold. The asset's own failure is a FAILURE report, not an
error of the worker: the platform must not redeliver a task that ran and failed.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from arco.clock import clock_now
from arco.domain.data_versions import (
    INITIAL_VERSION,
    NULL_VERSION,
    dependency_reads,
    dependency_version,
    derive_data_version,
    input_name,
    upstream_inputs,
)
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput, NotFound, StorageUnavailable
from arco.domain.partitions import TimeWindowPartitionsDefinition
from arco.domain.run_controller import TaskOrder, dispatch_name
from arco.domain.runs import (
    FINAL_TASK,
    NO_PARTITION,
    PARTITION_STATUS,
    TASK_FINISHED,
    TASK_HEARTBEAT,
    TASK_STARTED,
    CheckOutcome,
    TaskFinished,
    TaskHeartbeat,
    TaskStarted,
    task_report_key,
)
from arco.domain.tables import Row
from arco.domain.ulid import encode_ulid
from arco.ledger.writer import NewEvent
from arco.projections.cache import Snapshot
from arco.sdk.assets import CONTEXT_PARAMETERS, AssetKey, AssetsDefinition
from arco.sdk.checks import AssetCheckResult, AssetChecksDefinition
from arco.sdk.config import config_parameter
from arco.sdk.context import AssetExecutionContext, DataVersion, MaterializeResult
from arco.sdk.io_managers import (
    DEFAULT_IO_MANAGER_KEY,
    InputContext,
    IOManager,
    ObjectStoreIOManager,
    OutputContext,
)
from arco.sdk.metadata import Output, normalise_metadata
from arco.sdk.resources import Resources, resources_for_execution
from arco.services.engines.io_storage import StoreValueStorage
from arco.services.queries.definitions import (
    current_definitions,
    deployed_definitions,
    dynamic_partition_keys,
)
from arco.services.queries.runs import find_run, rows_where, tasks_of
from arco.services.workspace import Workspace

if TYPE_CHECKING:
    from arco.sdk import Definitions

MAX_ERROR_CHARS = 8000


@dataclass
class TaskResult:
    order: TaskOrder
    outcome: str  # SUCCESS | FAILURE | CANCELED | STALE | CLAIMED (another delivery runs it)
    error: str | None = None
    duration_ms: int = 0
    log_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.order.run_id,
            "task": self.order.task,
            "attempt": self.order.attempt,
            "asset": self.order.asset,
            "partition": self.order.partition,
            "outcome": self.outcome,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "logs": self.log_key,
        }


class _Capture(logging.Handler):
    """Keeps what the asset function logged, for the log object."""

    def __init__(self, clock_ms: Any) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[dict[str, Any]] = []
        self._clock_ms = clock_ms

    def emit(self, record: logging.LogRecord) -> None:
        entry = {
            "time_ms": self._clock_ms(),
            "seq": len(self.records),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        self.records.append(entry)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Once an attempt is claimed, a redelivered order only finds the claim and runs nothing: the
# claim and the reports are retried here a few times before the attempt is given up (and the
# timer times it out and dispatches the next one).
STORE_TRIES = 4
T = TypeVar("T")


def _retrying(call: Callable[[], T]) -> T:
    """`call()`, again on StorageUnavailable (each call must be safe to repeat)."""
    for attempt in range(STORE_TRIES - 1):
        try:
            return call()
        except StorageUnavailable:
            time.sleep(0.05 * 2**attempt)
    return call()


def _report(ws: Workspace, kind: str, type_: str, order: TaskOrder, payload: Any) -> None:
    """Append one report. Safe to repeat: its idempotency key makes a second copy a no-op."""
    key = task_report_key(kind, order.run_id, order.task, order.attempt)
    _retrying(lambda: ws.writer.append([NewEvent(type_, payload, key)]))


def _claim(ws: Workspace, order: TaskOrder) -> bool:
    """Take this attempt (a create-once object). False if another delivery took it. A worker
    that dies after this never runs the attempt again: the timer times the attempt out and
    dispatches the next one, so user code runs twice only if a worker dies while it runs."""
    key = ws.layout.attempt_claim_key(order.run_id, order.task, order.attempt)
    token = f"{worker_id()}:{encode_ulid(ws.clock.now_ms(), secrets.randbits(80))}"
    body = json.dumps({"worker": worker_id(), "token": token}).encode()

    def take() -> bool:
        try:
            if ws.store.create(key, body).ok:
                return True
        except StorageUnavailable:
            pass  # the answer was lost, perhaps not the write: look
        stored = ws.store.get(key)
        if stored is None:
            raise StorageUnavailable(f"could not take the claim {key}")
        return stored.data == body  # ours (an earlier try of this delivery landed), or another's

    return _retrying(take)


def _not_dispatched(order: TaskOrder, task: Row) -> str:
    return (
        f"attempt {order.attempt} of task {order.task} of run {order.run_id} was not "
        f"dispatched (the task is at attempt {task['attempt']}, {task['status']})"
    )


def _dispatched(task: Row, order: TaskOrder) -> bool:
    """Whether the task's current attempt is this order's, with the Cloud Tasks name the timer
    recorded for it (a consistency check: the name is derived from public ids). An order naming
    any other attempt (forged, or from a confused caller) runs nothing."""
    return bool(task["attempt"] == order.attempt and task["dispatch_name"] == order.dispatch_name)


def execute_task(
    ws: Workspace,
    definitions: Definitions,
    order: TaskOrder,
    heartbeat_interval_s: float = 60.0,
) -> TaskResult:
    """Run one attempt of one task and report it. InvalidInput/NotFound for an order that does
    not match the published run (nothing is written then)."""
    if order.workspace != ws.name:
        raise InvalidInput(f"order is for workspace {order.workspace!r}, not {ws.name!r}")
    snapshot = ws.snapshot()
    run = find_run(snapshot, order.run_id)
    if run is None:  # the order can outrun the projections: fold what is pending, look again
        ws.compactor.compact_until_idle()
        snapshot = ws.snapshot()
        run = find_run(snapshot, order.run_id)
    if run is None:
        raise NotFound(f"no run {order.run_id!r} in workspace {ws.name!r} (not compacted yet?)")
    tasks = tasks_of(snapshot, order.run_id)
    if not 0 <= order.task < len(tasks):
        raise InvalidInput(f"run {order.run_id} has no task {order.task}")
    task = tasks[order.task]
    if (task["asset"], task["partition"]) != (order.asset, order.partition):
        raise InvalidInput(
            f"task {order.task} of run {order.run_id} is {task['asset']}[{task['partition']}], "
            f"not {order.asset}[{order.partition}]"
        )
    if task["status"] in FINAL_TASK or task["attempt"] > order.attempt:
        return TaskResult(order, "STALE")  # the run moved on; nothing to do, nothing to write
    if not _dispatched(task, order):
        if order.attempt > task["attempt"] + 1 or order.dispatch_name != dispatch_name(
            ws.name, order.run_id, order.task, order.attempt
        ):
            # Not even the next attempt, or not the name the timer gives it: refused as it is.
            raise InvalidInput(_not_dispatched(order, task))
        # The projection may lag the timer's dispatch: fold what is pending, look again.
        ws.compactor.compact_until_idle()
        task = tasks_of(ws.snapshot(), order.run_id)[order.task]
        if task["status"] in FINAL_TASK or task["attempt"] > order.attempt:
            return TaskResult(order, "STALE")
        if not _dispatched(task, order):
            raise InvalidInput(_not_dispatched(order, task))
    if run["cancel_requested_ms"] is not None:
        _report(
            ws,
            "finished",
            TASK_FINISHED,
            order,
            TaskFinished(
                run_id=order.run_id,
                task=order.task,
                attempt=order.attempt,
                outcome="CANCELED",
                error="run was canceled before the task started",
            ),
        )
        return TaskResult(order, "CANCELED")

    # Everything read before the claim: after it, a failure would leave the attempt claimed and
    # never run.
    defs_snapshot = current_definitions(snapshot)
    node = defs_snapshot.assets.get(order.asset) if defs_snapshot else None
    # The code version recorded is the one of the code that runs here; a run planned with
    # another version of this asset (a deploy this worker's code does not match) is refused
    # before user code runs, rather than recorded under a version that did not run.
    planned = (
        deployed_definitions(snapshot, run["definitions_hash"]) if run["definitions_hash"] else None
    )
    planned_node = planned.assets.get(order.asset) if planned is not None else node
    mismatch = _code_mismatch(definitions, order, planned_node)
    if not _claim(ws, order):
        # Cloud Tasks delivered this attempt again while it runs (or after it ran, before the
        # projection shows it): user code runs once per dispatched attempt.
        return TaskResult(order, "CLAIMED")
    _report(
        ws,
        "started",
        TASK_STARTED,
        order,
        TaskStarted(
            run_id=order.run_id, task=order.task, attempt=order.attempt, worker=worker_id()
        ),
    )
    capture = _Capture(ws.clock.now_ms)
    logger = logging.getLogger(f"arco.asset.{order.asset}.{order.run_id}.{order.task}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(capture)
    window = None
    pdef = node.partitions if node is not None else None
    if isinstance(pdef, TimeWindowPartitionsDefinition) and order.partition is not None:
        window = pdef.time_window_for_key(order.partition)
    context = AssetExecutionContext(
        run_id=order.run_id,
        asset_key=order.asset,
        partition_key_or_none=order.partition,
        attempt=order.attempt,
        log=logger,
        time_window=window,
        run_tags=json.loads(run["tags"] or "{}"),
    )
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(ws, order, stop, heartbeat_interval_s), daemon=True
    )
    beat.start()
    started = time.monotonic()
    outcome, error = "SUCCESS", None
    checks: list[CheckOutcome] = []
    metadata: dict[str, Any] = {}
    data_version: str | None = None
    try:
        configured = json.loads(run.get("run_config") or "{}").get(order.asset, {})
        io = _Values(
            StoreValueStorage(ws.store, ws.layout),
            defs_snapshot,
            clock_now(ws.clock),
            dynamic_partition_keys(snapshot),
        )
        if mismatch is not None:
            raise CodeVersionMismatch(mismatch)
        value, checks = _call(definitions, order.asset, context, configured, io)
        if isinstance(value, MaterializeResult | Output):
            metadata.update(value.metadata or {})
            version = value.data_version
            data_version = version.value if isinstance(version, DataVersion) else version
        metadata.update(context.output_metadata)
        metadata = normalise_metadata(metadata, f"asset {order.asset!r}")
    except Exception as exc:  # the asset's failure is reported, not raised
        outcome = "FAILURE"
        error = (
            f"CodeVersionMismatch: {exc}"  # Arco's refusal: its own traceback says nothing
            if isinstance(exc, CodeVersionMismatch)
            else "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
        )
        # With its traceback: `arco logs RUN` shows it next to what the asset logged.
        logger.error("asset %s failed: %s: %s", order.asset, type(exc).__name__, exc, exc_info=exc)
    finally:
        stop.set()
        beat.join(timeout=5)
        logger.removeHandler(capture)
    duration_ms = round((time.monotonic() - started) * 1000)
    log_key = _retrying(lambda: _write_logs(ws, order, capture.records))
    inputs, by_dependency = (
        _retrying(lambda: _input_versions(snapshot, defs_snapshot, order, clock_now(ws.clock)))
        if defs_snapshot
        else ({}, {})
    )
    provided = data_version is not None
    code_version = _loaded_code_version(definitions, order.asset, node)
    if outcome == "SUCCESS" and data_version is None:
        data_version = derive_data_version(code_version, by_dependency, order.run_id)
    _report(
        ws,
        "finished",
        TASK_FINISHED,
        order,
        TaskFinished(
            run_id=order.run_id,
            task=order.task,
            attempt=order.attempt,
            outcome=outcome,  # type: ignore[arg-type]
            error=error,
            metadata=json.loads(json.dumps(metadata, default=str)),
            code_version=code_version,
            data_version=data_version,
            input_data_versions=inputs,
            data_version_provided=provided,
            duration_ms=duration_ms,
            logs=log_key,
            check_results=checks,
            blocked_by=_blocked_by(checks) if outcome == "SUCCESS" else None,
        ),
    )
    return TaskResult(order, outcome, error, duration_ms, log_key, metadata)


def _blocked_by(checks: Sequence[CheckOutcome]) -> str | None:
    """The first failed blocking check of severity ERROR, which fails the task."""
    for check in checks:
        if check.blocking and not check.passed and check.severity == "ERROR":
            return check.name
    return None


def _input_versions(
    snapshot: Snapshot, defs: DefinitionsSnapshot, order: TaskOrder, now: datetime
) -> tuple[dict[str, str], dict[str, str]]:
    """What this task reads, as two maps: the current data version of every upstream partition
    (NULL for one never materialized), the provenance its materialization records; and one
    input version per dependency (`dependency_version`), which its data version is derived from.
    """
    if order.asset not in defs.assets:
        return {}, {}
    dynamic = dynamic_partition_keys(snapshot)
    inputs = upstream_inputs(defs, order.asset, order.partition, now, dynamic)
    reads = dependency_reads(defs, order.asset, order.partition, now, dynamic)
    if not reads:
        return {}, {}
    rows = rows_where(snapshot, PARTITION_STATUS.name, "asset", sorted({r.asset for r in reads}))
    current: dict[str, dict[str, str]] = {}  # asset -> partition -> data version
    latest: dict[str, tuple[str, str]] = {}  # asset -> (event id, data version)
    for row in rows:
        asset, version = row["asset"], row["materialized_data_version"]
        if not version:
            continue
        current.setdefault(asset, {})[row["partition"]] = version
        seen = (row["materialized_version"] or "", version)
        latest[asset] = max(latest.get(asset, seen), seen)

    def missing(asset: str) -> str:
        return INITIAL_VERSION if defs.assets[asset].compute is None else NULL_VERSION

    provenance = {
        input_name(asset, key): current.get(asset, {}).get(key or NO_PARTITION) or missing(asset)
        for asset, key in inputs
    }
    by_dependency: dict[str, str] = {}
    for read in reads:
        found = latest.get(read.asset)
        versions = current.get(read.asset, {})
        version = dependency_version(read, found[1] if found else None, versions)
        by_dependency[read.asset] = version or missing(read.asset)
    return provenance, by_dependency


@dataclass(frozen=True)
class _Values:
    """What moving values between assets needs: where they are, and the deployed graph."""

    storage: StoreValueStorage
    defs: DefinitionsSnapshot | None
    now: datetime
    dynamic: Mapping[str, Sequence[str]]

    def upstream_partitions(self, asset: str, partition: str | None, upstream: str) -> Any:
        """The partitions of `upstream` that `asset[partition]` reads (None: unpartitioned)."""
        if self.defs is None or upstream not in self.defs.assets:
            return None
        up = self.defs.assets[upstream].partitions
        if up is None:
            return None
        node = self.defs.assets[asset]
        mapping = self.defs.mapping_for(asset, upstream)
        keys = mapping.upstream_partitions(
            node.partitions, [partition] if partition else [], up, self.now, self.dynamic
        ).keys
        return list(keys)


class CodeVersionMismatch(Exception):
    """This worker's code is not the code the run was planned with."""


def _loaded_code_version(definitions: Definitions, asset: str, node: Any) -> str | None:
    try:
        return definitions.get_code_version(asset)
    except NotFound:  # not in this code at all: the task fails in `_call`, saying so
        return node.code_version if node is not None else None


def _code_mismatch(definitions: Definitions, order: TaskOrder, planned: Any) -> str | None:
    """Why this worker must not run `order` (its asset's code version differs from the run's
    deployment), or None."""
    if planned is None:
        return None
    try:
        loaded = definitions.get_code_version(order.asset)
    except NotFound:
        return None  # `_call` says the asset is not in this code location
    if loaded == planned.code_version:
        return None
    return (
        f"asset {order.asset!r} has code version {loaded!r} in this worker's code, but run "
        f"{order.run_id} was planned with code version {planned.code_version!r}: deploy the "
        "code the workers run (`arco package`, `arco deploy`) and re-execute. The asset did "
        "not run, so nothing is recorded under a version that did not run."
    )


def _call(
    definitions: Definitions,
    asset: str,
    context: AssetExecutionContext,
    config_values: Mapping[str, Any],
    io: _Values,
) -> Any:
    """Call the asset's function: the context first if it asks for it, its `Config` object
    (from the run's configuration), resources by name, inputs loaded by the IO manager of
    their upstream asset; then store what it returned with its own IO manager. Resources are
    prepared for this task and torn down after it."""
    item = definitions.get_assets_definition(asset)
    function = item.fn
    wanted = item.required_resource_keys
    configured = config_parameter(function)
    config = configured[1](**config_values) if configured is not None else None
    context.op_config = config.model_dump(mode="json") if config is not None else None
    parameters = list(inspect.signature(function).parameters.values())
    checks = definitions.get_asset_checks(asset)
    # Only what this task uses is prepared (as Dagster does): another asset's resource, its
    # connections and its environment variables never touch this task.
    needed = {
        *wanted,
        item.io_manager_key,
        *(_io_manager_key(definitions, upstream) for upstream, _ in item.inputs.values()),
        *(key for check in checks for key in check.required_resource_keys),
    }
    available = {DEFAULT_IO_MANAGER_KEY: ObjectStoreIOManager(), **definitions.get_resources()}
    resources = {key: available[key] for key in sorted(needed) if key in available}
    with resources_for_execution(resources, context.log, io.storage) as ready:
        context.resources = Resources(**ready)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for position, parameter in enumerate(parameters):
            if parameter.kind in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
            ):
                continue
            value: Any = None
            if position == 0 and parameter.name in CONTEXT_PARAMETERS:
                value = context
            elif parameter.name in wanted:
                value = ready[parameter.name]
            elif configured is not None and parameter.name == configured[0]:
                value = config
            elif parameter.name in item.inputs:
                value = _load_input(definitions, item, parameter.name, context, ready, io)
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                kwargs[parameter.name] = value
            else:
                args.append(value)
        if item.output_name is not None:
            context.selected_asset_keys = {item.key}
            context.selected_output_names = {item.output_name}
        result = function(*args, **kwargs)
        if item.observable:
            result = _observed(result, asset)
        if item.output_name is not None:
            result = _select_output(result, item)
        stored = result.value if isinstance(result, Output) else result
        if stored is not None and not isinstance(stored, MaterializeResult):
            manager = _io_manager(ready, item.io_manager_key, asset)
            out = _output_context(item, context)
            manager.handle_output(out, stored)
            context.add_output_metadata(out.metadata)
        value = None if isinstance(stored, MaterializeResult) else stored
        outcomes = [_run_check(check, context, ready, value) for check in checks]
        return result, outcomes


def _observed(result: Any, asset: str) -> MaterializeResult:
    """An observation function's answer as what the task records: its data version (and
    metadata); nothing is stored by an IO manager."""
    from arco.sdk.observations import ObserveResult

    if isinstance(result, DataVersion):
        return MaterializeResult(data_version=result)
    if isinstance(result, ObserveResult) and result.data_version is not None:
        return MaterializeResult(metadata=result.metadata, data_version=result.data_version)
    raise InvalidInput(
        f"observable source asset {asset!r} returned {type(result).__name__}: return a "
        "DataVersion or ObserveResult(data_version=...)"
    )


def _run_check(
    check: AssetChecksDefinition,
    context: AssetExecutionContext,
    ready: Mapping[str, object],
    value: Any,
) -> CheckOutcome:
    """Run one check of the asset just materialized; an exception is a failed check."""
    try:
        kwargs: dict[str, Any] = {
            name: ready[name]
            for name in check.required_resource_keys
            if name in inspect.signature(check.fn).parameters
        }
        parameter = check.value_parameter
        if parameter is not None:
            kwargs[parameter] = value
        first = next(iter(inspect.signature(check.fn).parameters), None)
        args = [context] if first in CONTEXT_PARAMETERS else []
        result = check.fn(*args, **kwargs)
        if not isinstance(result, AssetCheckResult):
            raise InvalidInput(
                f"asset check {check.name!r} returned {type(result).__name__}, "
                "not an AssetCheckResult"
            )
        return CheckOutcome(
            name=check.name,
            passed=bool(result.passed),
            severity=str(result.severity),  # type: ignore[arg-type]
            blocking=check.blocking,
            metadata=normalise_metadata(result.metadata, f"asset check {check.name!r}"),
            description=result.description,
        )
    except Exception as exc:
        context.log.error("asset check %s failed: %s: %s", check.name, type(exc).__name__, exc)
        return CheckOutcome(
            name=check.name,
            passed=False,
            blocking=check.blocking,
            error="".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:],
        )


def _select_output(result: Any, item: AssetsDefinition) -> Any:
    """A @multi_asset's result for `item`: by position in a tuple, by `output_name` of an
    `Output`, by `asset_key` of a `MaterializeResult` (a generator is read whole)."""
    if inspect.isgenerator(result):
        result = list(result)
    items = result if isinstance(result, list | tuple) else [result]
    tagged = [r for r in items if isinstance(r, Output | MaterializeResult)]
    if tagged and len(tagged) == len(items):
        for candidate in tagged:
            if isinstance(candidate, Output) and candidate.output_name == item.output_name:
                return candidate
            if isinstance(candidate, MaterializeResult) and candidate.asset_key is not None:
                key = candidate.asset_key
                text = key.to_user_string() if isinstance(key, AssetKey) else str(key)
                if text == item.key.to_user_string():
                    return candidate
        return None
    if isinstance(result, tuple) and len(result) == len(item.output_names):
        return result[item.output_names.index(item.output_name or "")]
    if len(item.output_names) == 1:
        return result
    raise InvalidInput(
        f"multi_asset output {item.output_name!r}: return a tuple of "
        f"{len(item.output_names)} values, or Output(..., output_name=) / "
        "MaterializeResult(asset_key=) for each asset"
    )


def _io_manager_key(definitions: Definitions, upstream: str) -> str:
    """The IO manager that stored `upstream`'s value (Dagster loads an input with it)."""
    try:
        return definitions.get_assets_definition(upstream).io_manager_key
    except (NotFound, InvalidInput):  # an AssetSpec (or another location's asset)
        return DEFAULT_IO_MANAGER_KEY


def _io_manager(ready: Mapping[str, object], key: str, asset: str) -> IOManager:
    manager = ready.get(key)
    if not isinstance(manager, IOManager):
        raise InvalidInput(
            f"asset {asset!r}: resource {key!r} is not an IO manager "
            f"({type(manager).__name__} has no handle_output/load_input)"
        )
    return manager


def _output_context(item: AssetsDefinition, context: AssetExecutionContext) -> OutputContext:
    return OutputContext(
        asset_key=item.key,
        partition=context.partition_key_or_none,
        run_id=context.run_id,
        log=context.log,
        definition_metadata=dict(item.node.metadata),
    )


def _load_input(
    definitions: Definitions,
    item: AssetsDefinition,
    name: str,
    context: AssetExecutionContext,
    ready: Mapping[str, object],
    io: _Values,
) -> Any:
    upstream, metadata = item.inputs[name]
    manager = _io_manager(ready, _io_manager_key(definitions, upstream), upstream)
    partitions = io.upstream_partitions(
        item.key.to_user_string(), context.partition_key_or_none, upstream
    )
    return manager.load_input(
        InputContext(
            asset_key=AssetKey(upstream),
            upstream_partitions=partitions,
            partition=context.partition_key_or_none,
            name=name,
            log=context.log,
            metadata=metadata,
        )
    )


def _heartbeat(ws: Workspace, order: TaskOrder, stop: threading.Event, interval_s: float) -> None:
    while not stop.wait(interval_s):
        now = ws.clock.now_ms()
        payload = TaskHeartbeat(
            run_id=order.run_id, task=order.task, attempt=order.attempt, at_ms=now
        )
        key = task_report_key("heartbeat", order.run_id, order.task, order.attempt)
        try:
            ws.writer.append([NewEvent(TASK_HEARTBEAT, payload, f"{key}:{now}")])
        except Exception:  # a missed heartbeat is retried next interval; the task goes on
            logging.getLogger("arco.worker").exception("heartbeat failed")


def _write_logs(ws: Workspace, order: TaskOrder, records: list[dict[str, Any]]) -> str:
    """One object per execution (a redelivered order writes a second one, nothing is lost)."""
    execution = encode_ulid(ws.clock.now_ms(), int.from_bytes(os.urandom(10), "big"))
    # (Retried whole: a copy that landed before a lost answer is one more log object, kept.)
    key = ws.layout.task_log_key(order.run_id, order.task, order.attempt, execution)
    base = {
        "run_id": order.run_id,
        "task": order.task,
        "attempt": order.attempt,
        "asset": order.asset,
        "partition": order.partition,
    }
    body = "".join(
        json.dumps({**base, **record}, default=str) + "\n" for record in records
    ).encode()
    ws.store.create(key, body)
    return key
