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
from arco.sdk.jobs import JobLike, UnresolvedAssetJobDefinition

__all__ = [
    "DefaultSensorStatus",
    "PubSubMessage",
    "PushSensorContext",
    "RunRequest",
    "RunStatus",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "asset_sensor",
    "push_sensor",
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
    """Everything one evaluation decided: run requests or a skip reason, and the new cursor."""

    run_requests: Sequence[RunRequest] | None = None
    skip_reason: SkipReason | str | None = None
    cursor: str | None = None


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

    @property
    def job_name(self) -> str | None:
        """The name of the job this sensor requests (None when it targets assets)."""
        return self.job.name if isinstance(self.job, UnresolvedAssetJobDefinition) else self.job

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the evaluation function directly (handy in tests, as in Dagster)."""
        if self.fn is None:
            raise InvalidInput(f"sensor {self.name!r} is declarative: it has no function")
        return self.fn(*args, **kwargs)


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
) -> Callable[[SensorFunction], SensorDefinition]:
    def decorate(fn: SensorFunction) -> SensorDefinition:
        sensor_name = name or fn.__name__
        targets, requested = _target_or_job(target, job, job_name, f"sensor {sensor_name!r}")
        return SensorDefinition(
            name=sensor_name,
            kind=kind,
            target=targets,
            fn=fn,
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=_default_status(default_status),
            subscription=subscription,
            tags=dict(tags or {}),
            description=description if description is not None else fn.__doc__,
            job=requested,
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
    name: str,
    monitored_assets: Any,
    target: Any = None,
    job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> SensorDefinition:
    """Request `target` (or `job`) once for every new materialization of `monitored_assets`
    (for the same partition key when the target is partitioned). Evaluated by the timer."""
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


def run_status_sensor(
    *,
    name: str,
    run_status: RunStatus | str | Sequence[RunStatus | str],
    target: Any = None,
    request_job: UnresolvedAssetJobDefinition | None = None,
    job_name: str | None = None,
    monitored_assets: Any = (),
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S,
    default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> SensorDefinition:
    """Request `target` (or `request_job`) once for every run that reaches `run_status` (runs
    touching `monitored_assets`, or every run when none are given; never runs this sensor
    started)."""
    owner = f"sensor {name!r}"
    targets, requested = _target_or_job(target, request_job, job_name, owner, "request_job")
    statuses = (run_status,) if isinstance(run_status, str) else tuple(run_status)
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
