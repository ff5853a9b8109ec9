"""Schedules: `ScheduleDefinition`, catch-up policies, schedules built from partitioned assets
or jobs.

Arco evaluates schedules without user code (the timer reads the snapshot), so there is no
`@schedule` decorator: a schedule is a cron and a target (assets, an `AssetSelection` or a job).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.definitions import (
    AssetNode,
    CatchUpPolicy,
    DefaultStatus,
    ScheduleNode,
    validate_schedule_name,
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
from arco.sdk.config import run_config_dict
from arco.sdk.jobs import (
    JobLike,
    JobResolver,
    UnresolvedAssetJobDefinition,
    needs_resolution,
    resolve_target,
    target_items,
)
from arco.sdk.selections import AssetSelection

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


TargetArgument = Iterable["CoercibleToAssetKey | AssetsDefinition | AssetSpec | AssetSelection"]
Target = TargetArgument | AssetLike | str | AssetKey | AssetSelection | UnresolvedAssetJobDefinition


def _status(value: DefaultScheduleStatus | str) -> DefaultStatus:
    text = value.value if isinstance(value, DefaultScheduleStatus) else value
    if text == "RUNNING":
        return "RUNNING"
    if text == "STOPPED":
        return "STOPPED"
    raise InvalidInput(f"default_status must be RUNNING or STOPPED, not {value!r}")


def _target(
    target: Target | None, owner: str
) -> tuple[list[AssetKey], dict[str, PartitionsDefinition | None]]:
    """The target keys (of assets and keys only), and the partitions of those given as asset
    objects."""
    keys: list[AssetKey] = []
    known: dict[str, PartitionsDefinition | None] = {}
    for item in target_items(target):
        key = _coerce_key(item, f"{owner} target")
        keys.append(key)
        if isinstance(item, AssetsDefinition | AssetSpec):
            known[key.to_user_string()] = item.partitions_def
    if not keys:
        raise InvalidInput(f"{owner} targets no assets")
    return keys, known


class ScheduleDefinition:
    """Request a run of `target` (or of `job`, or of the job named `job_name`) at every tick of
    `cron_schedule` in `execution_timezone`.

    `partitioned=True` makes each tick target the partition whose window just closed (every
    key for static or dynamic partitions); `build_schedule_from_partitioned_assets` and
    `build_schedule_from_partitioned_job` derive the cron and timezone from the partitions
    instead. `name` defaults to the job's name + "_schedule", as in Dagster.
    """

    def __init__(
        self,
        name: str | None = None,
        cron_schedule: str | Sequence[str] | None = None,
        target: Target | None = None,
        *,
        job: UnresolvedAssetJobDefinition | None = None,
        job_name: str | None = None,
        execution_timezone: str | None = "UTC",
        default_status: DefaultScheduleStatus | str = DefaultScheduleStatus.STOPPED,
        catch_up: CatchUpPolicy | None = None,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        partitioned: bool = False,
        run_config: Any = None,
    ) -> None:
        target, reference = _job_argument(target, job, job_name, "ScheduleDefinition")
        # Dagster's run config for every run of this schedule, checked at deploy.
        self._run_config = run_config_dict(run_config) or None
        if name is None:
            if reference is None:
                raise InvalidInput("a ScheduleDefinition with target=... needs a name")
            name = f"{reference if isinstance(reference, str) else reference.name}_schedule"
        self.name = validate_schedule_name(name)
        owner = f"schedule {name!r}"
        if cron_schedule is None:
            raise InvalidInput(f"{owner} needs cron_schedule")
        self._job: JobLike | None = reference
        self._target = None if target is None else target_items(target)  # read once
        target = self._target
        self._cron = _parse_cron(cron_schedule, owner)
        self._execution_timezone = _checked_timezone(execution_timezone or "UTC", owner)
        self._status = _status(default_status)
        self._partitioned = partitioned
        self._catch_up = catch_up if catch_up is not None else CatchUp.latest()
        self._tags = _tags(tags)
        self._description = description
        self.target: tuple[AssetKey, ...] = ()
        self._node: ScheduleNode | None = None
        if reference is None and not needs_resolution(target):
            keys, _ = _target(target, owner)
            self.target = tuple(keys)
            self._node = self._build(tuple(k.to_user_string() for k in keys), None)

    def _build(self, target: tuple[str, ...], job: str | None) -> ScheduleNode:
        return ScheduleNode(
            name=self.name,
            cron=self._cron,
            target=target,
            timezone=self._execution_timezone,
            default_status=self._status,
            partitioned=self._partitioned,
            catch_up=self._catch_up,
            tags=self._tags,
            description=self._description,
            job=job,
            run_config=self._run_config,
        )

    @property
    def node(self) -> ScheduleNode:
        """The schedule's snapshot node (InvalidInput if it can only be derived in Definitions)."""
        if self._node is None:
            raise InvalidInput(
                f"schedule {self.name!r} targets a job or a selection, or derives its cron from "
                "its targets' partitions; it is known once the schedule is part of Definitions"
            )
        return self._node

    @property
    def job(self) -> UnresolvedAssetJobDefinition | None:
        """The job this schedule runs, when it was given as a job object."""
        return self._job if isinstance(self._job, UnresolvedAssetJobDefinition) else None

    @property
    def job_name(self) -> str | None:
        """The name of the job this schedule runs (None when it targets assets)."""
        if isinstance(self._job, UnresolvedAssetJobDefinition):
            return self._job.name
        return self._job

    @property
    def cron_schedule(self) -> str | tuple[str, ...]:
        expressions = self.node.cron.expressions
        return expressions[0] if len(expressions) == 1 else expressions

    @property
    def execution_timezone(self) -> str:
        return self.node.timezone

    def resolve(
        self, assets: Mapping[str, AssetNode], resolver: JobResolver | None = None
    ) -> ScheduleNode:
        """The schedule's snapshot node: targets that are jobs or selections are resolved
        against `assets` (through `resolver`, which `Definitions` shares between them)."""
        if self._node is not None:
            return self._node
        resolver = resolver if resolver is not None else JobResolver(_LOCATION, assets)
        keys, job = resolve_target(self._target, self._job, f"schedule {self.name!r}", resolver)
        return self._build(keys, job)

    def __repr__(self) -> str:
        return f"ScheduleDefinition({self.name!r})"


_LOCATION = "schedule"  # the code location name a schedule resolved on its own selects in


def _job_argument(
    target: Target | None,
    job: UnresolvedAssetJobDefinition | None,
    job_name: str | None,
    what: str,
) -> tuple[Target | None, JobLike | None]:
    """(target, job or job name): exactly one of `target`, `job` and `job_name` (a job passed
    as the target counts as `job`)."""
    if isinstance(target, UnresolvedAssetJobDefinition):
        if job is not None or job_name is not None:
            raise InvalidInput(f"{what} takes exactly one of target=, job= and job_name=")
        target, job = None, target
    given = [x for x in (target, job, job_name) if x is not None]
    if len(given) != 1:
        raise InvalidInput(f"{what} takes exactly one of target=, job= and job_name=")
    if job is not None:
        if not isinstance(job, UnresolvedAssetJobDefinition):
            raise InvalidInput(
                f"{what}: job= takes a job made by define_asset_job, not {type(job).__name__}"
            )
        return None, job
    if job_name is not None:
        return None, validate_schedule_name(job_name, "job")
    return target, None


def _checked_timezone(timezone: str, owner: str) -> str:
    try:
        validate_timezone(timezone)
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from exc
    return timezone


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
        target: Target | None,
        *,
        offsets: Mapping[str, int | None],
        cron_schedule: str | Sequence[str] | None,
        execution_timezone: str | None,
        default_status: DefaultScheduleStatus | str,
        catch_up: CatchUpPolicy | None,
        tags: Mapping[str, str] | None,
        description: str | None,
        job: UnresolvedAssetJobDefinition | None = None,
    ) -> None:
        self.name = validate_schedule_name(name)
        owner = f"schedule {name!r}"
        self._job = job
        self._target = None if target is None else target_items(target)  # read once
        target = self._target
        known: dict[str, PartitionsDefinition | None] | None = None
        keys: list[AssetKey] = []
        if job is None and not needs_resolution(target):
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
        if known is not None and len(known) == len({k.to_user_string() for k in keys}):
            self._node = self._derive(known)  # all targets at hand: fail early

    def resolve(
        self, assets: Mapping[str, AssetNode], resolver: JobResolver | None = None
    ) -> ScheduleNode:
        if self._node is not None:
            return self._node
        owner = f"schedule {self.name!r}"
        if self._job is not None or needs_resolution(self._target):
            resolver = resolver if resolver is not None else JobResolver(_LOCATION, assets)
            found, job = resolve_target(self._target, self._job, owner, resolver)
            return self._derive({k: assets[k].partitions for k in found}, job)
        partitions: dict[str, PartitionsDefinition | None] = {}
        for key in self.target:
            text = key.to_user_string()
            if text not in assets:
                raise InvalidInput(f"{owner} targets unknown asset {text!r}")
            partitions[text] = assets[text].partitions
        return self._derive(partitions)

    def _derive(
        self, partitions: Mapping[str, PartitionsDefinition | None], job: str | None = None
    ) -> ScheduleNode:
        owner = f"schedule {self.name!r}"
        keys = sorted(partitions)
        unpartitioned = [k for k in keys if partitions[k] is None]
        if job is not None and unpartitioned:
            which = (
                "has no partitioned assets"
                if len(unpartitioned) == len(keys)
                else f"has unpartitioned asset {unpartitioned[0]!r}"
            )
            raise InvalidInput(
                f"{owner} is built from job {job!r}, which {which}: a partitioned schedule "
                "needs a job whose assets are all partitioned alike"
            )
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
            job=job,
        )


def build_schedule_from_partitioned_assets(
    name: str,
    target: TargetArgument | AssetLike | str | AssetKey | AssetSelection,
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


def build_schedule_from_partitioned_job(
    job: UnresolvedAssetJobDefinition,
    description: str | None = None,
    name: str | None = None,
    minute_of_hour: int | None = None,
    hour_of_day: int | None = None,
    day_of_week: int | None = None,
    day_of_month: int | None = None,
    default_status: DefaultScheduleStatus | str = DefaultScheduleStatus.STOPPED,
    tags: Mapping[str, str] | None = None,
    cron_schedule: str | Sequence[str] | None = None,
    execution_timezone: str | None = None,
    *,
    catch_up: CatchUpPolicy | None = None,
) -> ScheduleDefinition:
    """A schedule that runs `job` for the partition whose window just closed at each tick.

    As Dagster's: named `<job>_schedule` by default; the cron and timezone are those of the
    job's time partitions (its assets' own), shifted by `minute_of_hour`, `hour_of_day`,
    `day_of_week` or `day_of_month`. A job with static (or dynamic) partitions needs
    `cron_schedule`, and each tick then requests every key.
    """
    if not isinstance(job, UnresolvedAssetJobDefinition):
        raise InvalidInput(
            "build_schedule_from_partitioned_job takes a job made by define_asset_job, "
            f"not {type(job).__name__}"
        )
    name = name if name is not None else f"{job.name}_schedule"
    offsets = {
        "minute_of_hour": minute_of_hour,
        "hour_of_day": hour_of_day,
        "day_of_week": day_of_week,
        "day_of_month": day_of_month,
    }
    if day_of_week is not None and day_of_month is not None:
        raise InvalidInput(f"schedule {name!r}: give day_of_week or day_of_month, not both")
    if (cron_schedule is not None or execution_timezone is not None) and any(
        v is not None for v in offsets.values()
    ):
        raise InvalidInput(
            f"schedule {name!r}: cron_schedule and execution_timezone do not combine with "
            "minute_of_hour/hour_of_day/day_of_week/day_of_month"
        )
    return _PartitionedAssetsSchedule(
        name,
        None,
        job=job,
        offsets=offsets,
        cron_schedule=cron_schedule,
        execution_timezone=execution_timezone,
        default_status=default_status,
        catch_up=catch_up,
        tags=tags,
        description=description,
    )
