"""Defining sensors, in the spirit of Dagster (re-exported by `arco.sdk`).

```python
@sensor(target=[orders], minimum_interval_seconds=60)
def new_files(context: SensorEvaluationContext) -> SensorResult:
    files = list_files(after=context.cursor)
    return SensorResult(
        run_requests=[RunRequest(run_key=f.name, partition_key=f.day) for f in files],
        cursor=files[-1].name if files else None,
    )

@push_sensor(subscription="projects/p/subscriptions/orders-landed", target=[orders])
def landed(context: PushSensorContext) -> RunRequest | SkipReason:
    day = context.message.attributes.get("day")
    return RunRequest(run_key=context.message.message_id, partition_key=day) if day else \\
        SkipReason("no day attribute")

revenue_after_orders = asset_sensor(name="revenue_after_orders", monitored_assets=[orders],
                                    target=[revenue])
alert_on_failure = run_status_sensor(name="cleanup", run_status=RunStatus.FAILURE,
                                     target=[cleanup])
```

Instead of `target=`, a sensor may name a job (`job=`, `job_name=`; `request_job=` for run-status
sensors, as in Dagster): it then requests the job's assets, and the snapshot records the job.

Poll and push sensors run user code (the worker and `sensor_push` functions); asset and
run-status sensors are declarative, so the timer evaluates them without importing user code.
This module only holds what the user writes; `Definitions` resolves targets into the snapshot
and `arco.services.sensor_evaluation` applies Dagster's rules to what a function returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, overload

from arco.domain.definitions import DEFAULT_MINIMUM_INTERVAL_S, SensorKind, validate_schedule_name
from arco.domain.errors import InvalidInput
from arco.sdk.assets import AssetKey
from arco.sdk.jobs import JobLike, UnresolvedAssetJobDefinition
from arco.sdk.sensor_state import (
    AddDynamicPartitionsRequest,
    AssetObservation,
    DagsterRun,
    DeleteDynamicPartitionsRequest,
    EventLogRecord,
    RunFailureEvent,
    SensorInstance,
)

__all__ = [
    "DefaultSensorStatus",
    "MultiAssetSensorEvaluationContext",
    "PubSubMessage",
    "PushSensorContext",
    "RunFailureSensorContext",
    "RunRequest",
    "RunStatus",
    "RunStatusSensorContext",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "asset_sensor",
    "multi_asset_sensor",
    "push_sensor",
    "run_failure_sensor",
    "run_status_sensor",
    "sensor",
]


class DefaultSensorStatus(StrEnum):
    """Whether a sensor runs as soon as it is deployed (until an operator says otherwise)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class RunStatus(StrEnum):
    """The run outcomes a run-status sensor can watch (Dagster's `DagsterRunStatus` subset)."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    CANCELED = "CANCELED"


@dataclass(frozen=True)
class RunRequest:
    """Ask for a run. `run_key` makes it happen at most once per sensor, forever;
    `asset_selection` (default: the sensor's target) must lie inside the target."""

    run_key: str | None = None
    partition_key: str | None = None
    asset_selection: Sequence[Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Dagster's run config, a dict `{"ops": {...}}` or a `RunConfig`: checked when the
    # request becomes a run (a bad one fails that request, named in the tick history).
    run_config: Any = None


@dataclass(frozen=True)
class SkipReason:
    """Nothing to do this time, and why (shown in the sensor's tick history)."""

    skip_message: str | None = None


@dataclass(frozen=True)
class SensorResult:
    """Everything one evaluation decided: run requests or a skip reason, the new cursor, and
    dynamic partitions to add or delete (applied before the run requests, as in Dagster)."""

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None
    dynamic_partitions_requests: (
        Sequence[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] | None
    ) = None
    asset_events: Sequence[AssetObservation] | None = None


@dataclass(frozen=True)
class PubSubMessage:
    """The Pub/Sub message a push sensor is evaluated for."""

    data: bytes
    attributes: Mapping[str, str]
    message_id: str
    publish_time: str | None = None
    ordering_key: str | None = None
    subscription: str | None = None

    @property
    def text(self) -> str:
        """The data as UTF-8 text."""
        return self.data.decode("utf-8")

    def json(self) -> Any:
        """The data parsed as JSON."""
        return json.loads(self.data)


@dataclass
class SensorEvaluationContext:
    """What a poll sensor's function sees: its name, its durable cursor, a logger."""

    sensor_name: str
    cursor: str | None
    last_evaluation_ms: int | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("arco.sensor"))
    instance: SensorInstance = field(default_factory=SensorInstance)
    _new_cursor: str | None = field(default=None, repr=False)
    _cursor_updated: bool = field(default=False, repr=False)

    def update_cursor(self, cursor: str | None) -> None:
        """Set the cursor saved when this evaluation succeeds or skips (Dagster's rule)."""
        if cursor is not None and not isinstance(cursor, str):
            raise InvalidInput(f"a sensor cursor is a string, not {type(cursor).__name__}")
        self._new_cursor = cursor
        self._cursor_updated = True

    @property
    def cursor_updated(self) -> bool:
        return self._cursor_updated

    @property
    def new_cursor(self) -> str | None:
        return self._new_cursor


@dataclass
class MultiAssetSensorEvaluationContext(SensorEvaluationContext):
    """What a `@multi_asset_sensor`'s function sees: the monitored assets' newest
    materializations since the records it consumed, and the means to consume them. The cursor
    is kept per asset (a JSON object); only what `advance_cursor` / `advance_all_cursors` marks
    is consumed, so "both updated" waits until both are."""

    monitored_asset_keys: tuple[str, ...] = ()
    _consumed: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        try:
            parsed = json.loads(self.cursor) if self.cursor else {}
        except ValueError:
            parsed = {}
        if not isinstance(parsed, dict):  # a cursor of another form (set by hand): start over
            parsed = {}
        self._consumed = {k: v for k, v in parsed.items() if isinstance(v, str)}

    @property
    def asset_keys(self) -> list[AssetKey]:
        return [AssetKey(k) for k in self.monitored_asset_keys]

    def latest_materialization_records_by_key(
        self, asset_keys: Sequence[Any] | None = None
    ) -> dict[AssetKey, EventLogRecord | None]:
        """Per asset, its newest materialization not yet consumed (None if there is none)."""
        keys = self.monitored_asset_keys if asset_keys is None else [_key(k) for k in asset_keys]
        return {
            AssetKey(k): self.instance.latest_materialization(k, self._consumed.get(k))
            for k in keys
        }

    def advance_cursor(self, materialization_records_by_key: Mapping[Any, Any]) -> None:
        """Mark these records consumed (and everything of their asset before them)."""
        for key, record in materialization_records_by_key.items():
            if record is not None:
                self._consumed[_key(key)] = record.storage_id
        self.update_cursor(json.dumps(self._consumed, sort_keys=True))

    def advance_all_cursors(self) -> None:
        """Consume every monitored asset's newest materialization."""
        self.advance_cursor(self.latest_materialization_records_by_key())


def _key(value: Any) -> str:
    if isinstance(value, AssetKey):
        return value.to_user_string()
    if hasattr(value, "key") and isinstance(value.key, AssetKey):
        return str(value.key.to_user_string())
    if isinstance(value, str):
        return value
    raise InvalidInput(f"an asset key is an AssetKey or a string, not {type(value).__name__}")


@dataclass
class RunStatusSensorContext:
    """What a `@run_status_sensor`'s function sees, once per run that reached the status."""

    sensor_name: str
    dagster_run: DagsterRun
    instance: SensorInstance = field(default_factory=SensorInstance)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("arco.sensor"))
    failure_event: RunFailureEvent | None = None


RunFailureSensorContext = RunStatusSensorContext
"""`@run_failure_sensor`'s context: `failure_event.message` holds the run's error."""


@dataclass
class PushSensorContext:
    """What a push sensor's function sees: its name, the message, a logger."""

    sensor_name: str
    message: PubSubMessage
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("arco.sensor"))


SensorFunction = Callable[..., Any]


@dataclass(frozen=True, eq=False)
class SensorDefinition:
    """One sensor as the user wrote it. `target` and `monitored_assets` hold what was passed
    (keys, asset objects, selections); `job` the job (or job name) it requests instead of a
    target. `Definitions` resolves them when it builds the snapshot."""

    name: str
    kind: SensorKind
    target: tuple[Any, ...]
    fn: SensorFunction | None = None
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED
    subscription: str | None = None
    monitored_assets: tuple[Any, ...] = ()
    run_statuses: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    job: JobLike | None = None
    # A poll sensor whose function Arco feeds: "asset" (@asset_sensor with a function),
    # "multi_asset" (@multi_asset_sensor), "run_status" (@run_status_sensor with a function).
    flavor: str = ""

    @property
    def job_name(self) -> str | None:
        """The name of the job this sensor requests (None when it targets assets)."""
        return self.job.name if isinstance(self.job, UnresolvedAssetJobDefinition) else self.job

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the evaluation function directly (handy in tests, as in Dagster). A declarative
        asset or run-status sensor used as a decorator becomes one with that function."""
        decorating = len(args) == 1 and callable(args[0]) and not kwargs
        if self.fn is None and self.kind in ("asset", "run_status") and decorating:
            return _with_function(self, args[0])
        if self.fn is None:
            raise InvalidInput(f"sensor {self.name!r} is declarative: it has no function")
        return self.fn(*args, **kwargs)


def _with_function(declared: SensorDefinition, fn: SensorFunction) -> SensorDefinition:
    """The function form of a declarative asset or run-status sensor."""
    from dataclasses import replace

    if declared.kind == "asset":
        if len(declared.monitored_assets) != 1:
            raise InvalidInput(
                f"sensor {declared.name!r}: an asset sensor with a function watches one asset; "
                "use @multi_asset_sensor for several"
            )
        (key,) = declared.monitored_assets
        return replace(declared, kind="poll", fn=fn, flavor="asset", monitored_assets=(_key(key),))
    if declared.monitored_assets:
        raise InvalidInput(
            f"sensor {declared.name!r}: a run-status sensor with a function watches every run "
            "(monitored_assets is for the declarative form)"
        )
    return replace(declared, kind="poll", fn=fn, flavor="run_status")


def _targets(target: Any, owner: str) -> tuple[Any, ...]:
    items = (target,) if isinstance(target, str) or not isinstance(target, Iterable) else target
    out = tuple(items)
    if not out:
        raise InvalidInput(f"{owner} targets no assets")
    return out


def _target_or_job(
    target: Any, job: Any, job_name: str | None, owner: str, job_argument: str = "job"
) -> tuple[tuple[Any, ...], JobLike | None]:
    """(target, job): exactly one of a target, a job and a job name (a job passed as the target
    counts as the job)."""
    if isinstance(target, UnresolvedAssetJobDefinition) and job is None and job_name is None:
        target, job = None, target
    given = [x for x in (target, job, job_name) if x is not None]
    if len(given) != 1:
        raise InvalidInput(f"{owner} takes exactly one of target=, {job_argument}= and job_name=")
    if job is not None:
        if not isinstance(job, UnresolvedAssetJobDefinition):
            raise InvalidInput(
                f"{owner}: {job_argument}= takes a job made by define_asset_job, "
                f"not {type(job).__name__}"
            )
        return (), job
    if job_name is not None:
        return (), validate_schedule_name(job_name, "job")
    return _targets(target, owner), None


def _default_status(value: DefaultSensorStatus | str) -> DefaultSensorStatus:
    try:
        return DefaultSensorStatus(value)
    except ValueError:
        raise InvalidInput(f"default_status must be RUNNING or STOPPED, not {value!r}") from None


def _decorator(
    kind: SensorKind,
    name: str | None,
    target: Any,
    job: Any,
    job_name: str | None,
    minimum_interval_seconds: int,
    default_status: DefaultSensorStatus | str,
    subscription: str | None,
    tags: Mapping[str, str] | None,
    description: str | None,
    *,
    flavor: str = "",
    monitored_assets: tuple[str, ...] = (),
    run_statuses: tuple[str, ...] = (),
    job_argument: str = "job",
    may_request_nothing: bool = False,
) -> Callable[[SensorFunction], SensorDefinition]:
    """What every sensor decorator returns: the function, named after it unless `name`, with
    its target or job; `may_request_nothing` lets a sensor that only alerts have neither."""

    def decorate(fn: SensorFunction) -> SensorDefinition:
        sensor_name = name or fn.__name__
        owner = f"sensor {sensor_name!r}"
        if may_request_nothing and all(x is None for x in (target, job, job_name)):
            targets, requested = (), None
        else:
            targets, requested = _target_or_job(target, job, job_name, owner, job_argument)
        return SensorDefinition(
            name=sensor_name,
            kind=kind,
            target=targets,
            fn=fn,
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=_default_status(default_status),
            subscription=subscription,
            monitored_assets=monitored_assets,
            run_statuses=run_statuses,
            tags=dict(tags or {}),
            description=description if description is not None else fn.__doc__,
            job=requested,
            flavor=flavor,
        )

    return decorate


@overload
def sensor(job_name: SensorFunction, /) -> SensorDefinition: ...


@overload
def sensor(
    job_name: str | None = None,
    *,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    asset_selection: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Callable[[SensorFunction], SensorDefinition]: ...


def sensor(
    job_name: SensorFunction | str | None = None,
    *,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    asset_selection: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> SensorDefinition | Callable[[SensorFunction], SensorDefinition]:
    """A poll sensor: the timer has its function evaluated at most every
    `minimum_interval_seconds` (default 30), with the cursor it saved last time. It requests
    `target` (`asset_selection` is Dagster's other name for it), `job`, or the job `job_name`."""
    if callable(job_name):
        raise InvalidInput(
            f"@sensor on {getattr(job_name, '__name__', job_name)!r} needs a target: use "
            "@sensor(target=...) or @sensor(job=...)"
        )
    if asset_selection is not None:
        if target is not None:
            raise InvalidInput("@sensor takes target= or asset_selection=, not both")
        target = asset_selection
    return _decorator(
        "poll",
        name,
        target,
        job,
        job_name,
        minimum_interval_seconds,
        default_status,
        None,
        tags,
        description,
    )


def push_sensor(
    subscription: str,
    *,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    name: str | None = None,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Callable[[SensorFunction], SensorDefinition]:
    """A push sensor: its function is evaluated once for every message Pub/Sub pushes from
    `subscription` to the `sensor_push` function (a redelivered message has no new effect)."""
    return _decorator(
        "push",
        name,
        target,
        job,
        job_name,
        DEFAULT_MINIMUM_INTERVAL_S,
        default_status,
        subscription,
        tags,
        description,
    )


def asset_sensor(
    *,
    asset_key: Any = None,
    name: str | None = None,
    monitored_assets: Any = None,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Any:
    """Two forms.

    Dagster's decorator, `@asset_sensor(asset_key=AssetKey("orders"), job=...)` on a function
    `(context, asset_event)`: evaluated by a worker every `minimum_interval_seconds`; the
    function is called with the newest materialization of the asset since the last one it saw
    (none new: SKIPPED without calling it), and the cursor moves past it.

    Arco's declarative form, `asset_sensor(name=..., monitored_assets=[...], target=...)`:
    `target` is requested once for every new materialization of the monitored assets (for the
    same partition key when the target is partitioned), evaluated by the timer itself."""
    if asset_key is not None:
        if monitored_assets is not None:
            raise InvalidInput("asset_sensor takes asset_key= (a decorator) or monitored_assets=")
        return _decorator(
            "poll", name, target, job, job_name, minimum_interval_seconds, default_status,
            None, tags, description, flavor="asset", monitored_assets=(_key(asset_key),),
        )  # fmt: skip
    if name is None or monitored_assets is None:
        raise InvalidInput(
            "asset_sensor takes asset_key= (used as a decorator, as in Dagster) or name= and "
            "monitored_assets= (Arco's declarative form)"
        )
    targets, requested = _target_or_job(target, job, job_name, f"sensor {name!r}")
    return SensorDefinition(
        name=name,
        kind="asset",
        target=targets,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=_default_status(default_status),
        monitored_assets=_targets(monitored_assets, f"sensor {name!r} (monitored assets)"),
        tags=dict(tags or {}),
        description=description,
        job=requested,
    )


def multi_asset_sensor(
    *,
    monitored_assets: Any,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    request_assets: Any = None,
    name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Callable[[SensorFunction], SensorDefinition]:
    """Dagster's `@multi_asset_sensor`: the function gets a `MultiAssetSensorEvaluationContext`
    and decides when to request runs (`latest_materialization_records_by_key`, then
    `advance_all_cursors` once it has what it waits for, e.g. every monitored asset updated).
    Evaluated by a worker every `minimum_interval_seconds`."""
    if request_assets is not None:
        if target is not None:
            raise InvalidInput("@multi_asset_sensor takes target= or request_assets=, not both")
        target = request_assets
    items = monitored_assets
    if isinstance(items, str) or not isinstance(items, Iterable):
        items = [items]
    keys = tuple(dict.fromkeys(_key(k) for k in items))
    if not keys:
        raise InvalidInput("@multi_asset_sensor monitors at least one asset")

    return _decorator(
        "poll", name, target, job, job_name, minimum_interval_seconds, default_status, None,
        tags, description, flavor="multi_asset", monitored_assets=keys,
    )  # fmt: skip


def run_status_sensor(
    *,
    run_status: RunStatus | str | Sequence[RunStatus | str],
    name: str | None = None,
    target: Any = None,
    request_job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    monitored_assets: Any = (),
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Any:
    """Two forms.

    Dagster's decorator, `@run_status_sensor(run_status=...)` on a function taking a
    `RunStatusSensorContext`: a worker calls it once for every run that reached the status since
    the sensor started (alerts, follow-up runs with `request_job=`), oldest first.

    Arco's declarative form, `run_status_sensor(name=..., run_status=..., target=...)`: `target`
    (or `request_job`) is requested once for every run that reaches `run_status` (runs touching
    `monitored_assets`, or every run when none are given; never runs this sensor started),
    evaluated by the timer itself. A declarative definition used as a decorator takes the
    function form."""
    statuses = (run_status,) if isinstance(run_status, str) else tuple(run_status)
    declared = name is not None and any(x is not None for x in (target, request_job, job_name))
    if not declared:
        return _run_status_decorator(
            statuses, name, target, request_job, job_name, monitored_assets,
            minimum_interval_seconds, default_status, tags, description,
        )  # fmt: skip
    assert name is not None
    owner = f"sensor {name!r}"
    targets, requested = _target_or_job(target, request_job, job_name, owner, "request_job")
    return SensorDefinition(
        name=name,
        kind="run_status",
        target=targets,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=_default_status(default_status),
        monitored_assets=tuple(monitored_assets)
        if not isinstance(monitored_assets, str)
        else (monitored_assets,),
        run_statuses=tuple(str(s) for s in statuses),
        tags=dict(tags or {}),
        description=description,
        job=requested,
    )


def run_failure_sensor(
    fn: SensorFunction | None = None,
    *,
    name: str | None = None,
    target: Any = None,
    request_job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> Any:
    """Dagster's `@run_failure_sensor`: the function is called once for every run that failed,
    with `context.dagster_run` and `context.failure_event.message` (e.g. to alert)."""
    decorate = _run_status_decorator(
        (RunStatus.FAILURE,), name, target, request_job, job_name, (),
        minimum_interval_seconds, default_status, tags, description,
    )  # fmt: skip
    return decorate(fn) if fn is not None else decorate


def _run_status_decorator(
    statuses: Sequence[RunStatus | str],
    name: str | None,
    target: Any,
    request_job: Any,
    job_name: str | None,
    monitored_assets: Any,
    minimum_interval_seconds: int,
    default_status: DefaultSensorStatus | str,
    tags: Mapping[str, str] | None,
    description: str | None,
) -> Callable[[SensorFunction], SensorDefinition]:
    if monitored_assets:
        raise InvalidInput(
            "@run_status_sensor with a function watches every run: monitored_assets is for "
            "the declarative form"
        )
    unknown = [str(s) for s in statuses if str(s) not in {r.value for r in RunStatus}]
    if not statuses or unknown:
        raise InvalidInput(
            f"run_status must be one or more of {', '.join(r.value for r in RunStatus)}"
        )

    return _decorator(
        "poll", name, target, request_job, job_name, minimum_interval_seconds, default_status,
        None, tags, description, flavor="run_status",
        run_statuses=tuple(str(s) for s in statuses), job_argument="request_job",
        may_request_nothing=True,
    )  # fmt: skip
