"""Defining a code location: assets, schedules, partitions, in the spirit of Dagster.

```python
from arco.definitions import Definitions, DailyPartitionsDefinition, asset

daily = DailyPartitionsDefinition(start_date="2024-01-01")

@asset(partitions_def=daily)
def raw() -> None: ...

@asset(partitions_def=daily, code_version="2")
def clean(raw) -> None: ...          # a parameter names an upstream asset

defs = Definitions(assets=[raw, clean])
```

`Definitions.snapshot(code_location)` compiles everything into the canonical
`DefinitionsSnapshot` (`arco.domain.definitions`) that `arco deploy` records and the control
plane runs on without importing this code again. Mistakes raise `InvalidInput` naming the
culprit: local ones (a bad key, cron string or timezone) where the definition is written, graph
ones (a cycle, an unknown dependency, incompatible partitions) when the snapshot is built.

This module is import-light on purpose: user code imports it, and so does the worker.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, overload

from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.definitions import (
    AssetDepNode,
    AssetNode,
    CatchUpPolicy,
    DefaultStatus,
    DefinitionsSnapshot,
    FreshnessPolicy,
    RetryPolicy,
    ScheduleNode,
    SensorNode,
    validate_asset_key,
)
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.partition_mappings import (
    AllPartitionMapping,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
)
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from arco.execution import AssetExecutionContext, DataVersion, MaterializeResult
from arco.sensor_definitions import (
    DefaultSensorStatus,
    PubSubMessage,
    PushSensorContext,
    RunRequest,
    RunStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    push_sensor,
    run_status_sensor,
    sensor,
)

__all__ = [
    "AllPartitionMapping",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetSpec",
    "AssetsDefinition",
    "CatchUp",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "FreshnessPolicy",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MaterializeResult",
    "MonthlyPartitionsDefinition",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "PartitionsDefinition",
    "PubSubMessage",
    "PushSensorContext",
    "RetryPolicy",
    "RunRequest",
    "RunStatus",
    "ScheduleDefinition",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_sensor",
    "build_schedule_from_partitioned_assets",
    "push_sensor",
    "run_status_sensor",
    "sensor",
]

# The first parameter of an asset function may take the execution context instead of an input.
CONTEXT_PARAMETERS = ("context", "_context")


# --- keys and dependencies ---------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class AssetKey:
    """An asset's key: a path of segments, written "a/b" in the snapshot and the CLI.

    `AssetKey("a")`, `AssetKey(["a", "b"])`, and, since "/" never appears inside a segment,
    `AssetKey("a/b")` == `AssetKey(["a", "b"])`.
    """

    path: tuple[str, ...]

    def __init__(self, path: str | Sequence[str]) -> None:
        parts = tuple(path.split("/")) if isinstance(path, str) else tuple(path)
        if not all(isinstance(part, str) for part in parts):
            raise InvalidInput(f"an asset key is a string or a list of strings, not {path!r}")
        validate_asset_key("/".join(parts))
        object.__setattr__(self, "path", parts)

    @staticmethod
    def from_user_string(value: str) -> AssetKey:
        return AssetKey(value)

    def to_user_string(self) -> str:
        return "/".join(self.path)

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        return AssetKey([*_prefix_path(prefix), *self.path])

    def __str__(self) -> str:
        return self.to_user_string()

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"


CoercibleToAssetKey = str | Sequence[str] | AssetKey


def _prefix_path(prefix: str | Sequence[str] | None) -> tuple[str, ...]:
    if prefix is None:
        return ()
    return tuple(prefix.split("/")) if isinstance(prefix, str) else tuple(prefix)


def _coerce_key(value: object, what: str) -> AssetKey:
    if isinstance(value, AssetKey):
        return value
    if isinstance(value, AssetsDefinition | AssetSpec):
        return value.key
    if isinstance(value, str) or (
        isinstance(value, Sequence) and all(isinstance(v, str) for v in value)
    ):
        return AssetKey(value)
    raise InvalidInput(
        f"{what}: expected an asset key, an asset or an AssetSpec, not {type(value).__name__}"
    )


@dataclass(frozen=True, init=False)
class AssetDep:
    """A dependency that is not a function input, optionally with a partition mapping."""

    asset: AssetKey
    partition_mapping: PartitionMapping | None

    def __init__(
        self,
        asset: CoercibleToAssetKey | AssetsDefinition | AssetSpec,
        *,
        partition_mapping: PartitionMapping | None = None,
    ) -> None:
        object.__setattr__(self, "asset", _coerce_key(asset, "AssetDep"))
        if partition_mapping is not None and not isinstance(partition_mapping, PartitionMapping):
            raise InvalidInput(
                f"AssetDep({self.asset.to_user_string()!r}): partition_mapping must be a "
                f"PartitionMapping, not {type(partition_mapping).__name__}"
            )
        object.__setattr__(self, "partition_mapping", partition_mapping)

    @property
    def key(self) -> AssetKey:
        return self.asset


@dataclass(frozen=True)
class AssetIn:
    """Where a function parameter's value comes from (default: the asset named like it)."""

    key: CoercibleToAssetKey | None = None
    partition_mapping: PartitionMapping | None = None
    key_prefix: str | Sequence[str] | None = None

    def resolve(self, parameter: str) -> AssetKey:
        key = (
            _coerce_key(self.key, f"AssetIn for {parameter!r}")
            if self.key is not None
            else AssetKey([parameter])
        )
        return key.with_prefix(self.key_prefix) if self.key_prefix is not None else key


DepLike = CoercibleToAssetKey | AssetDep
DepsArgument = Iterable["DepLike | AssetsDefinition | AssetSpec"] | None


def _coerce_deps(deps: DepsArgument, owner: str) -> list[AssetDep]:
    if deps is None:
        return []
    if isinstance(deps, str | AssetKey):
        raise InvalidInput(f"{owner}: deps must be a list, not a single {type(deps).__name__}")
    return [d if isinstance(d, AssetDep) else AssetDep(_coerce_key(d, owner)) for d in deps]


def _dep_nodes(deps: Iterable[AssetDep], owner: str) -> tuple[AssetDepNode, ...]:
    """One node per upstream key; the same key twice is fine unless the mappings disagree."""
    merged: dict[str, PartitionMapping | None] = {}
    for dep in deps:
        key = dep.asset.to_user_string()
        if key in merged:
            previous = merged[key]
            mapping = dep.partition_mapping
            if previous is not None and mapping is not None and previous != mapping:
                raise InvalidInput(
                    f"{owner} depends on {key!r} twice with different partition mappings"
                )
            merged[key] = previous if previous is not None else mapping
        else:
            merged[key] = dep.partition_mapping
    return tuple(AssetDepNode(key, mapping) for key, mapping in merged.items())


# --- assets ------------------------------------------------------------------------------------


def _tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    return dict(tags) if tags is not None else {}


def _build_node(
    key: AssetKey,
    *,
    deps: Iterable[AssetDep],
    code_version: str | None,
    group_name: str | None,
    tags: Mapping[str, str] | None,
    owners: Sequence[str] | None,
    kinds: Iterable[str] | None,
    description: str | None,
    partitions_def: PartitionsDefinition | None,
    freshness_policy: FreshnessPolicy | None,
    reconcile: bool,
    compute: str | None,
    retry_policy: RetryPolicy | None = None,
) -> AssetNode:
    owner = f"asset {key.to_user_string()!r}"
    return AssetNode(
        key=key.to_user_string(),
        deps=_dep_nodes(deps, owner),
        code_version=code_version,
        group=group_name if group_name is not None else "default",
        tags=_tags(tags),
        owners=tuple(owners or ()),
        kinds=tuple(kinds or ()),
        description=description,
        partitions=partitions_def,
        freshness=freshness_policy,
        reconcile=reconcile,
        compute=compute,
        retry_policy=retry_policy,
    )


class AssetSpec:
    """An asset without code in this location (materialized elsewhere, or only observed)."""

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: DepsArgument = None,
        description: str | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        freshness_policy: FreshnessPolicy | None = None,
        reconcile: bool = False,
    ) -> None:
        self.key = _coerce_key(key, "AssetSpec")
        owner = f"asset {self.key.to_user_string()!r}"
        self.deps: tuple[AssetDep, ...] = tuple(_coerce_deps(deps, owner))
        self.partitions_def = partitions_def
        self.node = _build_node(
            self.key,
            deps=self.deps,
            code_version=code_version,
            group_name=group_name,
            tags=tags,
            owners=owners,
            kinds=kinds,
            description=description,
            partitions_def=partitions_def,
            freshness_policy=freshness_policy,
            reconcile=reconcile,
            compute=None,
        )

    def __repr__(self) -> str:
        return f"AssetSpec({self.key.to_user_string()!r})"


class AssetsDefinition:
    """An asset with code: what `@asset` returns. Calling it calls the function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        key: AssetKey,
        node: AssetNode,
        deps: tuple[AssetDep, ...],
        partitions_def: PartitionsDefinition | None,
    ) -> None:
        functools.update_wrapper(self, fn)  # name, docstring, module: it reads like fn
        self.fn = fn
        self.key = key
        self.node = node
        self.deps = deps
        self.partitions_def = partitions_def

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"AssetsDefinition({self.key.to_user_string()!r}, compute={self.node.compute!r})"


def _input_deps(fn: Callable[..., Any], ins: Mapping[str, AssetIn], owner: str) -> list[AssetDep]:
    """Upstream assets named by the function's parameters (or by `ins`), in signature order."""
    parameters = list(inspect.signature(fn).parameters.values())
    if parameters and parameters[0].name in CONTEXT_PARAMETERS:
        parameters = parameters[1:]
    names = [
        p.name
        for p in parameters
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    for name in ins:
        if name not in names and not takes_kwargs:
            raise InvalidInput(
                f"{owner}: ins names {name!r}, which is not a parameter of the function"
            )
    deps = []
    for name in [*names, *(n for n in ins if n not in names)]:
        asset_in = ins.get(name, AssetIn())
        if not isinstance(asset_in, AssetIn):
            raise InvalidInput(f"{owner}: ins[{name!r}] must be an AssetIn")
        deps.append(AssetDep(asset_in.resolve(name), partition_mapping=asset_in.partition_mapping))
    return deps


def _compute_ref(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    deps: DepsArgument = None,
    ins: Mapping[str, AssetIn] | None = None,
    code_version: str | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    description: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    freshness_policy: FreshnessPolicy | None = None,
    reconcile: bool = False,
    retry_policy: RetryPolicy | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    deps: DepsArgument = None,
    ins: Mapping[str, AssetIn] | None = None,
    code_version: str | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    description: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    freshness_policy: FreshnessPolicy | None = None,
    reconcile: bool = False,
    retry_policy: RetryPolicy | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare an asset computed by the decorated function.

    The key is `key`, else `key_prefix` + (`name` or the function's name). Each parameter
    (except a leading `context`) is an upstream asset of the same name, unless `ins` maps it
    elsewhere; `deps` adds upstreams that are not inputs. `AssetDep(..., partition_mapping=)`
    and `AssetIn(partition_mapping=)` choose a non-default partition mapping. `reconcile=True`
    opts the asset in to automatic reconciliation.
    """

    def decorate(function: Callable[..., Any]) -> AssetsDefinition:
        if not callable(function):
            raise InvalidInput(f"@asset decorates a function, not {type(function).__name__}")
        if key is not None:
            if name is not None or key_prefix is not None:
                raise InvalidInput("@asset: pass either key, or name/key_prefix, not both")
            asset_key = _coerce_key(key, "@asset key")
        else:
            asset_key = AssetKey([*_prefix_path(key_prefix), name or function.__name__])
        owner = f"asset {asset_key.to_user_string()!r}"
        all_deps = (
            *_input_deps(function, dict(ins or {}), owner),
            *_coerce_deps(deps, owner),
        )
        doc = inspect.getdoc(function)
        node = _build_node(
            asset_key,
            deps=all_deps,
            code_version=code_version,
            group_name=group_name,
            tags=tags,
            owners=owners,
            kinds=[*(kinds or ()), *([compute_kind] if compute_kind else [])],
            description=description if description is not None else doc,
            partitions_def=partitions_def,
            freshness_policy=freshness_policy,
            reconcile=reconcile,
            compute=_compute_ref(function),
            retry_policy=retry_policy,
        )
        return AssetsDefinition(function, asset_key, node, tuple(all_deps), partitions_def)

    if fn is not None:
        return decorate(fn)
    return decorate


AssetLike = AssetsDefinition | AssetSpec


# --- schedules ---------------------------------------------------------------------------------


class DefaultScheduleStatus(StrEnum):
    """Whether a schedule runs as soon as it is deployed (until an operator says otherwise)."""

    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


class CatchUp:
    """Catch-up policies for missed schedule ticks (after downtime or a late timer)."""

    @staticmethod
    def latest() -> CatchUpPolicy:
        """Evaluate only the most recent missed tick (the default)."""
        return CatchUpPolicy("latest")

    @staticmethod
    def all(window: timedelta, max_per_call: int = 5) -> CatchUpPolicy:
        """Evaluate every missed tick of the last `window`, oldest first, `max_per_call` at a
        time (the rest on the following timer calls)."""
        if not isinstance(window, timedelta):
            raise InvalidInput("CatchUp.all(window=...) takes a timedelta")
        seconds = window.total_seconds()
        if seconds != int(seconds):
            raise InvalidInput("CatchUp.all(window=...) must be a whole number of seconds")
        return CatchUpPolicy("all", int(seconds), max_per_call)


TargetArgument = Iterable["CoercibleToAssetKey | AssetsDefinition | AssetSpec"]


def _status(value: DefaultScheduleStatus | str) -> DefaultStatus:
    text = value.value if isinstance(value, DefaultScheduleStatus) else value
    if text == "RUNNING":
        return "RUNNING"
    if text == "STOPPED":
        return "STOPPED"
    raise InvalidInput(f"default_status must be RUNNING or STOPPED, not {value!r}")


def _target(
    target: TargetArgument | AssetLike | str | AssetKey, owner: str
) -> tuple[list[AssetKey], dict[str, PartitionsDefinition | None]]:
    """The target keys, and the partitions of those given as asset objects."""
    if isinstance(target, str | AssetKey | AssetsDefinition | AssetSpec):
        target = [target]
    keys: list[AssetKey] = []
    known: dict[str, PartitionsDefinition | None] = {}
    for item in target:
        key = _coerce_key(item, f"{owner} target")
        keys.append(key)
        if isinstance(item, AssetsDefinition | AssetSpec):
            known[key.to_user_string()] = item.partitions_def
    if not keys:
        raise InvalidInput(f"{owner} targets no assets")
    return keys, known


class ScheduleDefinition:
    """Request a run of `target` at every tick of `cron_schedule` in `execution_timezone`.

    `partitioned=True` makes each tick target the partition whose window just closed (every
    key for static or dynamic partitions); `build_schedule_from_partitioned_assets` derives
    the cron and timezone from the partitions instead.
    """

    def __init__(
        self,
        name: str,
        cron_schedule: str | Sequence[str],
        target: TargetArgument | AssetLike | str | AssetKey,
        *,
        execution_timezone: str = "UTC",
        default_status: DefaultScheduleStatus | str = DefaultScheduleStatus.STOPPED,
        catch_up: CatchUpPolicy | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        partitioned: bool = False,
    ) -> None:
        self.name = name
        owner = f"schedule {name!r}"
        keys, _ = _target(target, owner)
        self.target = tuple(keys)
        self._node: ScheduleNode | None = ScheduleNode(
            name=name,
            cron=_parse_cron(cron_schedule, owner),
            target=tuple(k.to_user_string() for k in keys),
            timezone=execution_timezone,
            default_status=_status(default_status),
            partitioned=partitioned,
            catch_up=catch_up if catch_up is not None else CatchUp.latest(),
            tags=_tags(tags),
            description=description,
        )

    @property
    def node(self) -> ScheduleNode:
        """The schedule's snapshot node (InvalidInput if it can only be derived in Definitions)."""
        if self._node is None:
            raise InvalidInput(
                f"schedule {self.name!r} derives its cron from its targets' partitions; it is "
                "known once the schedule is part of Definitions"
            )
        return self._node

    @property
    def cron_schedule(self) -> str | tuple[str, ...]:
        expressions = self.node.cron.expressions
        return expressions[0] if len(expressions) == 1 else expressions

    @property
    def execution_timezone(self) -> str:
        return self.node.timezone

    def resolve(self, assets: Mapping[str, AssetNode]) -> ScheduleNode:
        """The schedule's snapshot node (partitioned schedules derive theirs from `assets`)."""
        return self.node

    def __repr__(self) -> str:
        return f"ScheduleDefinition({self.name!r})"


def _parse_cron(spec: str | Sequence[str], owner: str) -> CronSchedule:
    try:
        return CronSchedule.parse(spec)
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from exc


def _time_window(pdef: PartitionsDefinition | None) -> TimeWindowPartitionsDefinition | None:
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        return pdef
    if isinstance(pdef, MultiPartitionsDefinition):
        for dim in pdef.dimensions.values():
            if isinstance(dim, TimeWindowPartitionsDefinition):
                return dim
    return None


_CRON_FIELDS = {  # parameter -> (cron field index, lowest, highest)
    "minute_of_hour": (0, 0, 59),
    "hour_of_day": (1, 0, 23),
    "day_of_month": (2, 1, 31),
    "day_of_week": (4, 0, 6),
}


def _cron_with_offsets(cron: CronSchedule, offsets: Mapping[str, int | None], owner: str) -> str:
    """The partitions' cron with fixed fields replaced (Dagster's minute_of_hour & co.)."""
    wanted = {name: value for name, value in offsets.items() if value is not None}
    if len(cron.expressions) != 1 and wanted:
        raise InvalidInput(f"{owner}: cannot offset a multi-expression cron schedule")
    fields = cron.expressions[0].split(" ")
    for name, value in wanted.items():
        index, low, high = _CRON_FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidInput(f"{owner}: {name} must be an integer from {low} to {high}")
        if not fields[index].isdigit():
            raise InvalidInput(
                f"{owner}: {name} does not apply to partitions with cron {cron.expressions[0]!r}"
            )
        fields[index] = str(value)
    return " ".join(fields)


class _PartitionedAssetsSchedule(ScheduleDefinition):
    """A partitioned schedule whose cron and timezone come from its targets' partitions."""

    def __init__(
        self,
        name: str,
        target: TargetArgument | AssetLike | str | AssetKey,
        *,
        offsets: Mapping[str, int | None],
        cron_schedule: str | Sequence[str] | None,
        execution_timezone: str | None,
        default_status: DefaultScheduleStatus | str,
        catch_up: CatchUpPolicy | None,
        tags: Mapping[str, str] | None,
        description: str | None,
    ) -> None:
        self.name = name
        owner = f"schedule {name!r}"
        keys, known = _target(target, owner)
        self.target = tuple(keys)
        self._offsets = dict(offsets)
        if cron_schedule is not None:
            _parse_cron(cron_schedule, owner)
        if execution_timezone is not None:
            try:
                validate_timezone(execution_timezone)
            except InvalidInput as exc:
                raise InvalidInput(f"{owner}: {exc}") from exc
        self._cron_schedule = cron_schedule
        self._timezone = execution_timezone
        self._status = _status(default_status)
        self._catch_up = catch_up if catch_up is not None else CatchUp.latest()
        self._tags = _tags(tags)
        self._description = description
        self._node = None
        if len(known) == len({k.to_user_string() for k in keys}):
            self._node = self._derive(known)  # all targets at hand: fail early

    def resolve(self, assets: Mapping[str, AssetNode]) -> ScheduleNode:
        if self._node is not None:
            return self._node
        owner = f"schedule {self.name!r}"
        partitions: dict[str, PartitionsDefinition | None] = {}
        for key in self.target:
            text = key.to_user_string()
            if text not in assets:
                raise InvalidInput(f"{owner} targets unknown asset {text!r}")
            partitions[text] = assets[text].partitions
        return self._derive(partitions)

    def _derive(self, partitions: Mapping[str, PartitionsDefinition | None]) -> ScheduleNode:
        owner = f"schedule {self.name!r}"
        keys = sorted(partitions)
        unpartitioned = [k for k in keys if partitions[k] is None]
        if unpartitioned:
            raise InvalidInput(
                f"{owner} is built from partitioned assets but {unpartitioned[0]!r} is "
                "not partitioned"
            )
        first = partitions[keys[0]]
        for key in keys[1:]:
            if partitions[key] != first:
                raise InvalidInput(
                    f"{owner}: its targets do not share one partitions definition "
                    f"({keys[0]!r} and {key!r} differ)"
                )
        time_window = _time_window(first)
        cron: str | Sequence[str]
        if time_window is not None:
            if self._cron_schedule is not None:
                raise InvalidInput(
                    f"{owner}: the cron schedule comes from the time partitions of its "
                    "targets; use minute_of_hour/hour_of_day/day_of_week/day_of_month to shift it"
                )
            cron = _cron_with_offsets(
                _parse_cron(time_window.cron_schedule, owner), self._offsets, owner
            )
            timezone = self._timezone or time_window.timezone
        else:
            if self._cron_schedule is None:
                raise InvalidInput(
                    f"{owner}: its targets have no time partitions, so pass cron_schedule"
                )
            if any(v is not None for v in self._offsets.values()):
                raise InvalidInput(
                    f"{owner}: minute_of_hour/hour_of_day/day_of_week/day_of_month only apply "
                    "to time partitions"
                )
            cron = self._cron_schedule
            timezone = self._timezone or "UTC"
        return ScheduleNode(
            name=self.name,
            cron=_parse_cron(cron, owner),
            target=tuple(keys),
            timezone=timezone,
            default_status=self._status,
            partitioned=True,
            catch_up=self._catch_up,
            tags=self._tags,
            description=self._description,
        )


def build_schedule_from_partitioned_assets(
    name: str,
    target: TargetArgument | AssetLike | str | AssetKey,
    *,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    cron_schedule: str | Sequence[str] | None = None,
    execution_timezone: str | None = None,
    default_status: DefaultScheduleStatus | str = DefaultScheduleStatus.STOPPED,
    catch_up: CatchUpPolicy | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
) -> ScheduleDefinition:
    """A schedule that materializes the partition whose window just closed at each tick.

    Like Dagster's `build_schedule_from_partitioned_job`: the cron and timezone are the time
    partitions' own (daily partitions tick at midnight in the partitions' timezone), shifted
    by `minute_of_hour`, `hour_of_day`, `day_of_week` or `day_of_month`. Targets with static
    or dynamic partitions need `cron_schedule`; each tick then requests every key.
    """
    return _PartitionedAssetsSchedule(
        name,
        target,
        offsets={
            "minute_of_hour": minute_of_hour,
            "hour_of_day": hour_of_day,
            "day_of_week": day_of_week,
            "day_of_month": day_of_month,
        },
        cron_schedule=cron_schedule,
        execution_timezone=execution_timezone,
        default_status=default_status,
        catch_up=catch_up,
        tags=tags,
        description=description,
    )


# --- the code location -------------------------------------------------------------------------


class Definitions:
    """The assets, schedules and sensors of one code location."""

    def __init__(
        self,
        assets: Iterable[AssetLike] | None = None,
        schedules: Iterable[ScheduleDefinition] | None = None,
        sensors: Iterable[SensorDefinition] | None = None,
    ) -> None:
        self.assets: tuple[AssetLike, ...] = tuple(assets or ())
        self.schedules: tuple[ScheduleDefinition, ...] = tuple(schedules or ())
        self.sensors: tuple[SensorDefinition, ...] = tuple(sensors or ())
        for sensor_def in self.sensors:
            if not isinstance(sensor_def, SensorDefinition):
                raise InvalidInput(
                    f"Definitions(sensors=...) takes sensors (@sensor, @push_sensor, "
                    f"asset_sensor, run_status_sensor), not {type(sensor_def).__name__}"
                )
        for item in self.assets:
            if not isinstance(item, AssetsDefinition | AssetSpec):
                raise InvalidInput(
                    f"Definitions(assets=...) takes @asset functions and AssetSpecs, "
                    f"not {type(item).__name__} {item!r}"
                )
        for schedule in self.schedules:
            if not isinstance(schedule, ScheduleDefinition):
                raise InvalidInput(
                    f"Definitions(schedules=...) takes ScheduleDefinitions, "
                    f"not {type(schedule).__name__}"
                )

    def _assets_by_key(self) -> dict[str, AssetLike]:
        out: dict[str, AssetLike] = {}
        for item in self.assets:
            key = item.key.to_user_string()
            if key in out and out[key] is not item:
                raise InvalidInput(f"duplicate asset key {key!r}")
            out[key] = item
        return out

    def snapshot(self, code_location: str) -> DefinitionsSnapshot:
        """Compile and validate everything into the canonical snapshot."""
        nodes = {key: item.node for key, item in self._assets_by_key().items()}
        schedules: dict[str, ScheduleNode] = {}
        seen: set[int] = set()
        for schedule in self.schedules:
            if id(schedule) in seen:
                continue
            seen.add(id(schedule))
            if schedule.name in schedules:
                raise InvalidInput(f"duplicate schedule name {schedule.name!r}")
            schedules[schedule.name] = schedule.resolve(nodes)
        sensors: dict[str, SensorNode] = {}
        for item in dict.fromkeys(self.sensors):
            if item.name in sensors:
                raise InvalidInput(f"duplicate sensor name {item.name!r}")
            sensors[item.name] = _sensor_node(item)
        return DefinitionsSnapshot(
            code_location=code_location, assets=nodes, schedules=schedules, sensors=sensors
        )

    def get_asset_function(self, key: CoercibleToAssetKey) -> Callable[..., Any]:
        """The Python function that computes asset `key` (for the worker)."""
        text = _coerce_key(key, "get_asset_function").to_user_string()
        item = self._assets_by_key().get(text)
        if item is None:
            raise NotFound(f"no asset {text!r} in these definitions")
        if not isinstance(item, AssetsDefinition):
            raise InvalidInput(f"asset {text!r} is an AssetSpec: it has no function to run")
        return item.fn

    def get_sensor(self, name: str) -> SensorDefinition:
        for item in self.sensors:
            if item.name == name:
                return item
        raise NotFound(f"no sensor {name!r} in these definitions")

    def get_schedule(self, name: str) -> ScheduleDefinition:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        raise NotFound(f"no schedule {name!r} in these definitions")


def _sensor_node(item: SensorDefinition) -> SensorNode:
    owner = f"sensor {item.name!r}"
    target, _ = _target(item.target, owner)
    monitored = [_coerce_key(m, f"{owner} monitored asset") for m in item.monitored_assets]
    return SensorNode(
        name=item.name,
        kind=item.kind,
        target=tuple(k.to_user_string() for k in target),
        minimum_interval_seconds=item.minimum_interval_seconds,
        default_status=_status(item.default_status),
        subscription=item.subscription,
        monitored_assets=tuple(k.to_user_string() for k in monitored),
        run_statuses=item.run_statuses,
        tags=_tags(item.tags),
        description=item.description,
    )
