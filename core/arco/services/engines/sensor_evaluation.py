"""Running a sensor's function and applying Dagster's rules to what it returns.

Shared by the push path (`sensor_push`, which must stay light: no pyarrow here) and the poll
path (the worker). The function's own failure is an evaluation outcome (a FAILURE tick), never
an error of the entry point: the platform must not redeliver an evaluation that ran and failed.

Dagster's rules, as verified against 1.13:
- return (or yield) `RunRequest`s, a `SkipReason`, a `SensorResult`, or nothing;
- a `SensorResult` must be the only thing returned, and cannot carry both run requests and a
  skip reason;
- run requests and a skip reason cannot be mixed;
- `SensorResult(cursor=...)` and `context.update_cursor(...)` cannot both be used.
"""

from __future__ import annotations

import inspect
import json
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from arco.domain.definitions import SensorNode
from arco.domain.dynamic_partitions import DynamicPartitionsChanged
from arco.domain.errors import InvalidInput
from arco.domain.run_identity import json_tag_values, validate_run_key, validate_user_tags
from arco.domain.sensors import (
    DynamicPartitionsRequest,
    EvaluationOutcome,
    SensorEvaluated,
    SensorObservation,
    SensorRunRequest,
)
from arco.sdk import AssetKey, AssetsDefinition, AssetSpec
from arco.sdk.config import run_config_dict
from arco.sdk.resources import resource_parameters, resources_for_execution
from arco.sdk.sensor_state import (
    AddDynamicPartitionsRequest,
    AssetObservation,
    DeleteDynamicPartitionsRequest,
    RunFailureEvent,
)
from arco.sdk.sensors import (
    PushSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
)

MAX_ERROR_CHARS = 8000
MAX_RUN_REQUESTS = 1000


@dataclass
class Evaluation:
    """What one evaluation produced, ready to become a `sensor.evaluated` event."""

    outcome: EvaluationOutcome
    run_requests: list[SensorRunRequest] = field(default_factory=list)
    skip_reason: str | None = None
    error: str | None = None
    cursor_after: str | None = None
    dynamic_partitions: list[DynamicPartitionsRequest] = field(default_factory=list)
    observations: list[SensorObservation] = field(default_factory=list)

    def event(self, node: SensorNode, **kind_fields: Any) -> SensorEvaluated:
        """The `sensor.evaluated` payload, with what the kind adds (message, cursor read)."""
        return SensorEvaluated(
            sensor=node.name,
            kind=node.kind,
            outcome=self.outcome,
            skip_reason=self.skip_reason,
            error=self.error,
            run_requests=self.run_requests,
            dynamic_partitions=self.dynamic_partitions,
            observations=self.observations,
            default_running=node.default_status == "RUNNING",
            **kind_fields,
        )


class _Misuse(Exception):
    """The function returned something Dagster's rules do not allow."""


def evaluate(
    definition: SensorDefinition,
    node: SensorNode,
    context: SensorEvaluationContext | PushSensorContext,
    resources: Mapping[str, object] | None = None,
    known_assets: Collection[str] | None = None,
) -> Evaluation:
    """Call the sensor's function with `context` (its first parameter, unless that is a
    resource) and the location's resources by parameter name; normalise its result."""
    if definition.fn is None:
        raise InvalidInput(f"sensor {node.name!r} has no function to evaluate")
    try:
        if definition.flavor == "run_status":
            assert isinstance(context, SensorEvaluationContext)
            return _run_status(definition, node, context, resources or {})
        extra: tuple[Any, ...] = ()
        if definition.flavor == "asset":
            assert isinstance(context, SensorEvaluationContext)
            (key,) = definition.monitored_assets
            after = (
                context.cursor if _is_ulid(context.cursor) else None
            )  # another form's: start over
            record = context.instance.latest_materialization(str(key), after)
            if record is None:
                return Evaluation(
                    "SKIPPED",
                    skip_reason=f"No new materialization events found for asset key "
                    f"{AssetKey(str(key))!r}",
                )
            extra = (record.event_log_entry,)
        value = _call(definition.fn, context, resources or {}, extra)
        if inspect.isgenerator(value):
            value = list(value)
        if definition.flavor == "asset":  # the cursor moves past the materialization seen
            context.update_cursor(record.storage_id)  # type: ignore[union-attr]
        return _normalise(value, node, context, known_assets)
    except _Misuse as exc:
        return Evaluation("FAILED", error=f"{exc}")
    except Exception as exc:
        return Evaluation(
            "FAILED", error="".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
        )


def _call(
    fn: Callable[..., Any],
    context: SensorEvaluationContext | PushSensorContext | RunStatusSensorContext,
    resources: Mapping[str, object],
    extra: tuple[Any, ...] = (),
) -> Any:
    """The context goes to the first positional parameter that is not a resource, `extra`
    (an asset sensor's event) to the next ones; resources by name."""
    wanted = set(resource_parameters(fn))
    missing = sorted(wanted - set(resources))
    if missing:
        raise _Misuse(f"the sensor needs resource {missing[0]!r}, which the location lacks")
    parameters = list(inspect.signature(fn).parameters.values())
    positional = [context, *extra]
    with resources_for_execution({k: resources[k] for k in wanted}, context.log) as ready:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for parameter in parameters:
            if parameter.name in ready:
                kwargs[parameter.name] = ready[parameter.name]
            elif positional and parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                args.append(positional.pop(0))
            elif parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                args.extend(positional)
                positional = []
            elif positional and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
                kwargs[parameter.name] = positional.pop(0)  # by name: resources may come first
        return fn(*args, **kwargs)


RUNS_PER_EVALUATION = 25


def _is_ulid(value: str | None) -> bool:
    return value is not None and len(value) == 26 and value.isalnum()


def _run_status(
    definition: SensorDefinition,
    node: SensorNode,
    context: SensorEvaluationContext,
    resources: Mapping[str, object],
) -> Evaluation:
    """Dagster's `@run_status_sensor`: the function once per run that ended in a watched status
    since the sensor started, oldest first (at most RUNS_PER_EVALUATION; the next evaluation
    goes on). The cursor is `{"since_ms": t, "seen": [run ids]}`: runs are read back a lookback
    window before the newest one handled, so one whose end is folded late is still seen, and
    the ids already handled are skipped. A first evaluation (or a cursor of another form)
    starts at the newest run, as Dagster starts from when the sensor starts. A function that
    raises fails the evaluation and keeps the cursor: its runs are handled again next time."""
    instance = context.instance
    state = _run_cursor(context.cursor)
    if state is None:
        start = instance.last_run_end_ms() or 0
        since = start - instance.lookback_ms
        recent = instance.runs_ended_since(RUN_STATUS_VALUES, since)
        cursor = {"since_ms": since, "seen": sorted(run.run_id for _, run, _ in recent)}
        return Evaluation(
            "SKIPPED",
            skip_reason="started: runs that end from now on are watched",
            cursor_after=json.dumps(cursor, sort_keys=True),
        )
    since, seen = state
    ended = instance.runs_ended_since(definition.run_statuses, since)
    new = [item for item in ended if item[1].run_id not in seen][:RUNS_PER_EVALUATION]
    requests: list[SensorRunRequest] = []
    for _, run, error in new:
        if run.tags.get("arco/sensor_name") == node.name:
            continue  # never react to a run this sensor requested
        failure = RunFailureEvent(error or "") if run.status == "FAILURE" else None
        run_context = RunStatusSensorContext(
            sensor_name=node.name,
            dagster_run=run,
            instance=instance,
            log=context.log,
            failure_event=failure,
        )
        assert definition.fn is not None
        requests.extend(_run_status_requests(_call(definition.fn, run_context, resources), node))
    handled = seen | {run.run_id for _, run, _ in new}
    latest = max((end for end, _, _ in new), default=since + instance.lookback_ms)
    since_after = max(since, latest - instance.lookback_ms)
    ends = {run.run_id: end for end, run, _ in ended}
    cursor = {
        "since_ms": since_after,
        "seen": sorted(r for r in handled if ends.get(r, since_after + 1) > since_after),
    }
    cursor_after = json.dumps(cursor, sort_keys=True)
    if requests:
        return Evaluation("REQUESTED", run_requests=requests, cursor_after=cursor_after)
    reason = (
        f"{len(new)} run(s) seen, no run requested"
        if new
        else f"no run reached {' or '.join(definition.run_statuses)} since the last evaluation"
    )
    return Evaluation("SKIPPED", skip_reason=reason, cursor_after=cursor_after)


RUN_STATUS_VALUES = ("SUCCESS", "FAILURE", "CANCELED")


def _run_cursor(cursor: str | None) -> tuple[int, set[str]] | None:
    """(since_ms, seen run ids) of a run-status sensor's cursor; None if it is not one."""
    try:
        value = json.loads(cursor) if cursor else None
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("since_ms"), int):
        return None
    seen = value.get("seen")
    if not isinstance(seen, list) or not all(isinstance(r, str) for r in seen):
        return None
    return value["since_ms"], set(seen)


def _run_status_requests(value: Any, node: SensorNode) -> list[SensorRunRequest]:
    if inspect.isgenerator(value):
        value = list(value)
    if isinstance(value, SensorResult):
        if value.dynamic_partitions_requests or value.asset_events or value.cursor is not None:
            raise _Misuse(
                "a run-status sensor's SensorResult may only carry run_requests (its cursor is "
                "Arco's)"
            )
        value = list(value.run_requests or [])
    items = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, RunRequest):
            if not node.target:
                raise _Misuse(
                    f"sensor {node.name!r} requested a run but has no target: give "
                    "request_job= (or target=)"
                )
            out.append(_run_request(item, node))
        elif not isinstance(item, SkipReason):
            raise _Misuse(
                f"sensor {node.name!r} returned a {type(item).__name__}; expected "
                "RunRequest, SkipReason or None"
            )
    return out


def _normalise(
    value: Any,
    node: SensorNode,
    context: SensorEvaluationContext | PushSensorContext,
    known_assets: Collection[str] | None = None,
) -> Evaluation:
    cursor: str | None = None
    if isinstance(context, SensorEvaluationContext) and context.cursor_updated:
        cursor = context.new_cursor
    if isinstance(value, SensorResult):
        return _from_result(value, node, context, cursor, known_assets)
    items = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    if any(isinstance(item, SensorResult) for item in items):
        raise _Misuse("a SensorResult must be the only object a sensor returns")
    requests = [item for item in items if isinstance(item, RunRequest)]
    skips = [item for item in items if isinstance(item, SkipReason)]
    others = [item for item in items if not isinstance(item, RunRequest | SkipReason)]
    if others:
        raise _Misuse(
            f"sensor {node.name!r} returned a {type(others[0]).__name__}; expected RunRequest, "
            "SkipReason, SensorResult or None"
        )
    if requests and skips:
        raise _Misuse("a sensor cannot return both RunRequests and a SkipReason")
    if len(skips) > 1:
        raise _Misuse("a sensor can return at most one SkipReason")
    if skips:
        return Evaluation("SKIPPED", skip_reason=skips[0].skip_message, cursor_after=cursor)
    return _requested(requests, node, cursor)


def _from_result(
    result: SensorResult,
    node: SensorNode,
    context: SensorEvaluationContext | PushSensorContext,
    cursor: str | None,
    known_assets: Collection[str] | None = None,
) -> Evaluation:
    if result.cursor is not None:
        if isinstance(context, PushSensorContext):
            raise _Misuse("a push sensor has no cursor: SensorResult(cursor=...) is not allowed")
        if isinstance(context, SensorEvaluationContext) and context.cursor_updated:
            raise _Misuse(
                "SensorResult.cursor cannot be set when context.update_cursor() was called"
            )
        if not isinstance(result.cursor, str):
            raise _Misuse(f"a sensor cursor is a string, not {type(result.cursor).__name__}")
        cursor = result.cursor
    requests = list(result.run_requests or [])
    if requests and result.skip_reason is not None:
        raise _Misuse("a SensorResult cannot have both run_requests and a skip_reason")
    changes = _dynamic_partitions(result.dynamic_partitions_requests)
    if result.skip_reason is not None:
        reason = result.skip_reason
        message = reason.skip_message if isinstance(reason, SkipReason) else str(reason)
        evaluation = Evaluation("SKIPPED", skip_reason=message, cursor_after=cursor)
    else:
        evaluation = _requested(requests, node, cursor)
    evaluation.dynamic_partitions = changes
    evaluation.observations = _observations(result.asset_events, known_assets)
    return evaluation


def _observations(events: Any, known_assets: Collection[str] | None) -> list[SensorObservation]:
    """`asset_events`: observations of deployed assets, each with its data version."""
    out = []
    for event in events or []:
        if not isinstance(event, AssetObservation):
            raise _Misuse(
                f"asset_events takes AssetObservation, not {type(event).__name__} (a sensor "
                "does not materialize)"
            )
        asset = _asset_key(event.asset_key)
        if known_assets is not None and asset not in known_assets:
            raise _Misuse(f"AssetObservation of {asset!r}, which is not deployed")
        partitioned = known_assets.get(asset) if isinstance(known_assets, Mapping) else None
        if partitioned is not None and partitioned != (event.partition is not None):
            raise _Misuse(
                f"AssetObservation of {asset!r}: "
                + ("give the partition observed" if partitioned else "it is not partitioned")
            )
        version = event.observed_version
        if version is None:
            raise _Misuse(
                f"AssetObservation of {asset!r} has no data version: give data_version= or "
                "tags={'dagster/data_version': ...}"
            )
        try:
            out.append(
                SensorObservation(
                    asset=asset,
                    partition=event.partition,
                    data_version=version,
                    metadata=json.loads(json.dumps(dict(event.metadata or {}), default=str)),
                )
            )
        except ValueError as exc:
            raise _Misuse(f"invalid AssetObservation of {asset!r}: {exc}") from exc
    return out


def _dynamic_partitions(requests: Any) -> list[DynamicPartitionsRequest]:
    """`dynamic_partitions_requests`, in order. A key both added and deleted in one result is
    refused: the order of the two would decide, and Dagster's docs leave it unsaid."""
    out: list[DynamicPartitionsRequest] = []
    added: set[tuple[str, str]] = set()
    deleted: set[tuple[str, str]] = set()
    for request in requests or []:
        if not isinstance(request, AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest):
            raise _Misuse(
                "dynamic_partitions_requests takes AddDynamicPartitionsRequest and "
                f"DeleteDynamicPartitionsRequest, not {type(request).__name__}"
            )
        add = isinstance(request, AddDynamicPartitionsRequest)
        keys = list(dict.fromkeys(request.partition_keys))
        if not keys:
            continue
        mine, other = (added, deleted) if add else (deleted, added)
        both = [k for k in keys if (request.partitions_def_name, k) in other]
        if both:
            raise _Misuse(
                f"dynamic partition {both[0]!r} of {request.partitions_def_name!r} is both "
                "added and deleted in one SensorResult"
            )
        mine.update((request.partitions_def_name, k) for k in keys)
        try:
            # The fold's own checks, here: a key it would refuse fails this tick, rather than
            # quarantining the evaluation (and every retry of it) at compaction.
            DynamicPartitionsChanged(
                definition=request.partitions_def_name, keys=keys, request_id="check"
            )
            out.append(
                DynamicPartitionsRequest(definition=request.partitions_def_name, add=add, keys=keys)
            )
        except ValueError as exc:
            raise _Misuse(f"invalid dynamic partitions request: {exc}") from exc
    return out


def _requested(requests: list[Any], node: SensorNode, cursor: str | None) -> Evaluation:
    if not requests:
        return Evaluation("SKIPPED", cursor_after=cursor)
    if len(requests) > MAX_RUN_REQUESTS:
        raise _Misuse(f"at most {MAX_RUN_REQUESTS} run requests per evaluation")
    out = []
    for request in requests:
        if not isinstance(request, RunRequest):
            raise _Misuse(f"expected RunRequest, got {type(request).__name__}")
        out.append(_run_request(request, node))
    return Evaluation("REQUESTED", run_requests=out, cursor_after=cursor)


def _asset_key(item: Any) -> str:
    if isinstance(item, AssetsDefinition | AssetSpec):
        return item.key.to_user_string()
    if isinstance(item, AssetKey):
        return item.to_user_string()
    if isinstance(item, str):
        return item
    raise _Misuse(f"asset_selection takes asset keys or assets, not {type(item).__name__}")


def _run_request(request: RunRequest, node: SensorNode) -> SensorRunRequest:
    try:
        run_key = validate_run_key(request.run_key) if request.run_key is not None else None
        tags = validate_user_tags(json_tag_values(request.tags, "RunRequest"))
    except InvalidInput as exc:
        raise _Misuse(f"invalid RunRequest: {exc}") from exc
    if request.partition_key is not None and not isinstance(request.partition_key, str):
        raise _Misuse("RunRequest.partition_key must be a string")
    selection: list[str] = []
    if request.asset_selection is not None:
        items = request.asset_selection
        if isinstance(items, str) or not isinstance(items, Iterable):
            items = [items]
        selection = sorted({_asset_key(item) for item in items})
        outside = [key for key in selection if key not in node.target]
        if outside:
            raise _Misuse(
                f"RunRequest selects {outside[0]!r}, which is not in sensor {node.name!r}'s "
                f"target ({', '.join(node.target)})"
            )
    try:
        config = run_config_dict(request.run_config) or None
    except InvalidInput as exc:
        raise _Misuse(f"invalid RunRequest: {exc}") from exc
    return SensorRunRequest(
        run_key=run_key,
        partition_key=request.partition_key,
        asset_selection=selection or list(node.target),
        tags=tags,
        run_config=config,
    )
