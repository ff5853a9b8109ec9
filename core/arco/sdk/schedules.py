"""Schedules: `ScheduleDefinition`, catch-up policies, schedules built from partitioned assets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import StrEnum

from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.definitions import (
    AssetNode,
    CatchUpPolicy,
    DefaultStatus,
    ScheduleNode,
)
from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.sdk.assets import (
    AssetKey,
    AssetLike,
    AssetsDefinition,
    AssetSpec,
    CoercibleToAssetKey,
    _coerce_key,
    _tags,
)

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
