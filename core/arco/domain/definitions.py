"""The definitions snapshot: the canonical, code-free form of a code location.

`arco.sdk` (the user API) compiles a user's assets and schedules into a
`DefinitionsSnapshot`; controllers, the compactor and reports work from the snapshot alone and
never import user code. The snapshot validates itself on construction (so `from_json` of a
tampered or hand-written document fails the same way a bad code location does), has one
canonical JSON form, and a content hash over that form.

Every validation failure is an `InvalidInput` whose message names the asset, schedule or tag
at fault.
"""

from __future__ import annotations

import heapq
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any, Literal, cast

from arco.domain.automation_conditions import AutomationCondition, misplaced_check_operand
from arco.domain.canonical import canonical_json, sha256_hex
from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.partition_mappings import (
    PartitionMapping,
    TimeWindowPartitionMapping,
    default_partition_mapping,
    mapping_from_snapshot,
)
from arco.domain.partitions import (
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
    partitions_from_snapshot,
)

SNAPSHOT_FORMAT = 1
# Written only by snapshots that use what format 1 cannot say (a table of automation
# conditions, automation running by default): an older build refuses them by their format.
SNAPSHOT_FORMAT_CONDITIONS = 2
DEFAULT_GROUP = "default"
RESERVED_TAG_PREFIXES = ("dagster/", "arco/")

DefaultStatus = Literal["RUNNING", "STOPPED"]
CatchUpMode = Literal["latest", "all"]
SensorKind = Literal["poll", "push", "asset", "run_status"]
SENSOR_KINDS: tuple[SensorKind, ...] = ("poll", "push", "asset", "run_status")
RUN_STATUSES = ("SUCCESS", "FAILURE", "CANCELED")
DEFAULT_MINIMUM_INTERVAL_S = 30

_ASSET_KEY = re.compile(r"[A-Za-z0-9_]+(?:/[A-Za-z0-9_]+)*\Z")
_GROUP = re.compile(r"^[A-Za-z0-9_]{1,200}\Z")
# A schedule name is one object-key component (ticks and state are keyed by it).
_SCHEDULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}\Z")
# Dagster's definition tag keys: an optional `prefix/` and a name, each 1-63 of [A-Za-z0-9_.-].
_TAG_KEY = re.compile(r"^(?:[A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}\Z")
_COMPUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_<][A-Za-z0-9_.<>]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_KEY_LENGTH = 500
_MAX_TAG_VALUE = 1000
_MAX_TEXT = 100_000
_MAX_CATCH_UP_TICKS = 1000
# projects/<project>/subscriptions/<name>, or the short name alone.
_SUBSCRIPTION = re.compile(
    r"^(?:projects/[a-z][a-z0-9-]{4,61}[a-z0-9]/subscriptions/)?[A-Za-z][\w.~+%-]{2,254}\Z"
)


# --- small validators -------------------------------------------------------------------------


def validate_asset_key(key: str) -> str:
    """Return `key` ("a/b", slash-joined path) if every segment is `[A-Za-z0-9_]+`."""
    if (
        not isinstance(key, str)
        or not key
        or len(key) > _MAX_KEY_LENGTH
        or not _ASSET_KEY.match(key)
    ):
        raise InvalidInput(
            f"invalid asset key {key!r}: use '/'-separated segments of letters, digits and '_'"
        )
    return key


def validate_schedule_name(name: str, what: str = "schedule") -> str:
    """Return `name` if it is 1-200 of `[A-Za-z0-9_.-]`, starting with a letter or digit
    (schedule and sensor names: `what` says which)."""
    if not isinstance(name, str) or not _SCHEDULE_NAME.match(name) or ".." in name:
        raise InvalidInput(
            f"invalid {what} name {name!r}: use 1-200 characters from A-Z a-z 0-9 _ . -, "
            "starting with a letter or digit, without '..'"
        )
    return name


def validate_tags(tags: Mapping[str, str], owner: str) -> dict[str, str]:
    """Return `tags` as a key-sorted dict; `owner` ("asset 'a'") names the culprit on failure."""
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"{owner}: tags must be a mapping of strings to strings")
    out: dict[str, str] = {}
    for key in sorted(tags, key=str):
        value = tags[key]
        if not isinstance(key, str) or not _TAG_KEY.match(key):
            raise InvalidInput(
                f"{owner}: invalid tag key {key!r}: use an optional 'prefix/' and a name, "
                "each 1-63 characters from A-Z a-z 0-9 _ . -"
            )
        if key.startswith(RESERVED_TAG_PREFIXES):
            raise InvalidInput(
                f"{owner}: tag key {key!r} uses a reserved prefix "
                f"({', '.join(RESERVED_TAG_PREFIXES)} are reserved for the system)"
            )
        if not isinstance(value, str) or len(value) > _MAX_TAG_VALUE:
            raise InvalidInput(
                f"{owner}: tag {key!r} must have a string value of at most {_MAX_TAG_VALUE} "
                "characters"
            )
        out[key] = value
    return out


def _optional_text(value: str | None, what: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > _MAX_TEXT):
        raise InvalidInput(f"{what} must be a string of at most {_MAX_TEXT} characters")


def _labels(values: Iterable[str], what: str) -> tuple[str, ...]:
    """Owners and kinds: non-empty strings without control characters, as a sorted set."""
    if isinstance(values, str):
        raise InvalidInput(f"{what} must be a list of strings, not the string {values!r}")
    out = set()
    for value in values:
        if not isinstance(value, str) or not value or len(value) > 200 or _CONTROL.search(value):
            raise InvalidInput(f"{what}: invalid entry {value!r} (use 1-200 printable characters)")
        out.add(value)
    return tuple(sorted(out))


def _timezone(name: str, owner: str) -> None:
    try:
        validate_timezone(name)
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from exc


def _cron(expression: str | Iterable[str] | CronSchedule, owner: str) -> CronSchedule:
    if isinstance(expression, CronSchedule):
        return expression
    try:
        if isinstance(expression, str):
            return CronSchedule.parse(expression)
        return CronSchedule.parse(list(expression))
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from exc


# --- policies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatchUpPolicy:
    """Which missed schedule ticks a timer call evaluates.

    `latest`: only the most recent due tick. `all`: every missed tick inside the last
    `window_seconds`, oldest first, at most `max_ticks_per_call` per timer call (the rest on
    the following calls).
    """

    mode: CatchUpMode = "latest"
    window_seconds: int = 0
    max_ticks_per_call: int = 1

    def __post_init__(self) -> None:
        if self.mode not in ("latest", "all"):
            raise InvalidInput(f"catch-up mode must be 'latest' or 'all', not {self.mode!r}")
        if not _is_int(self.window_seconds) or self.window_seconds < 0:
            raise InvalidInput("catch-up window_seconds must be a non-negative integer")
        if (
            not _is_int(self.max_ticks_per_call)
            or not 1 <= self.max_ticks_per_call <= _MAX_CATCH_UP_TICKS
        ):
            raise InvalidInput(
                f"catch-up max_ticks_per_call must be between 1 and {_MAX_CATCH_UP_TICKS}"
            )
        if self.mode == "all" and self.window_seconds <= 0:
            raise InvalidInput("catch-up 'all' needs a positive window")

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "window_seconds": self.window_seconds,
            "max_ticks_per_call": self.max_ticks_per_call,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatchUpPolicy:
        reader = _Reader(data, "catch_up")
        return cls(
            mode=cast(CatchUpMode, reader.get("mode", str)),
            window_seconds=reader.get("window_seconds", int),
            max_ticks_per_call=reader.get("max_ticks_per_call", int),
        )


@dataclass(frozen=True)
class FreshnessPolicy:
    """How fresh an asset should be (Dagster's legacy freshness policy).

    `maximum_lag_minutes` alone: the latest materialization must be at most that old.
    With `cron_schedule`: by each tick of the cron (in `cron_timezone`), the asset must hold
    data no older than `maximum_lag_minutes` before the tick (0 when not given).
    """

    maximum_lag_minutes: float | None = None
    cron_schedule: str | None = None
    cron_timezone: str = "UTC"

    @staticmethod
    def time_window(
        fail_window: timedelta, warn_window: timedelta | None = None
    ) -> FreshnessPolicy:
        """Dagster 1.13's `FreshnessPolicy.time_window`: materialized within `fail_window`.
        Arco has no WARN state: `warn_window` is accepted and not evaluated."""
        if not isinstance(fail_window, timedelta):
            raise InvalidInput("FreshnessPolicy.time_window: fail_window must be a timedelta")
        return FreshnessPolicy(maximum_lag_minutes=fail_window.total_seconds() / 60)

    @staticmethod
    def cron(
        deadline_cron: str, lower_bound_delta: timedelta, timezone: str = "UTC"
    ) -> FreshnessPolicy:
        """Dagster 1.13's `FreshnessPolicy.cron`: by each deadline tick, a materialization no
        older than `lower_bound_delta` before it (the legacy cron policy's rule)."""
        if not isinstance(lower_bound_delta, timedelta):
            raise InvalidInput("FreshnessPolicy.cron: lower_bound_delta must be a timedelta")
        return FreshnessPolicy(
            maximum_lag_minutes=lower_bound_delta.total_seconds() / 60,
            cron_schedule=deadline_cron,
            cron_timezone=timezone,
        )

    def __post_init__(self) -> None:
        lag = self.maximum_lag_minutes
        if lag is not None:
            if isinstance(lag, bool) or not isinstance(lag, int | float):
                raise InvalidInput("freshness maximum_lag_minutes must be a number")
            if not math.isfinite(lag) or lag < 0:
                raise InvalidInput("freshness maximum_lag_minutes must be finite and >= 0")
            # 60 and 60.0 must hash the same.
            object.__setattr__(self, "maximum_lag_minutes", float(lag))
        if lag is None and self.cron_schedule is None:
            raise InvalidInput("a freshness policy needs maximum_lag_minutes or cron_schedule")
        if self.cron_schedule is not None:
            if not isinstance(self.cron_schedule, str):
                raise InvalidInput("freshness cron_schedule must be one cron string")
            _cron(self.cron_schedule, "freshness policy")
        _timezone(self.cron_timezone, "freshness policy")

    def to_json(self) -> dict[str, Any]:
        return {
            "maximum_lag_minutes": self.maximum_lag_minutes,
            "cron_schedule": self.cron_schedule,
            "cron_timezone": self.cron_timezone,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FreshnessPolicy:
        reader = _Reader(data, "freshness")
        lag = reader.get_optional("maximum_lag_minutes", float)
        return cls(
            maximum_lag_minutes=lag,
            cron_schedule=reader.get_optional("cron_schedule", str),
            cron_timezone=reader.get("cron_timezone", str),
        )


_BACKOFFS = ("constant", "linear", "exponential")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a failed task of the asset is tried again (Dagster's RetryPolicy).

    `max_retries` more attempts after the first; `delay` seconds before a retry, growing by
    `backoff` ("constant", "linear": delay x n, "exponential": delay x 2^(n-1)), capped at
    15 minutes.
    """

    max_retries: int = 1
    delay: float = 0.0
    backoff: str = "constant"

    def __post_init__(self) -> None:
        if not _is_int(self.max_retries) or not 0 <= self.max_retries <= 99:
            raise InvalidInput("retry policy max_retries must be an integer from 0 to 99")
        if (
            isinstance(self.delay, bool)
            or not isinstance(self.delay, int | float)
            or not math.isfinite(self.delay)
            or not 0 <= self.delay <= 900
        ):
            raise InvalidInput("retry policy delay must be a number of seconds from 0 to 900")
        object.__setattr__(self, "delay", float(self.delay))
        backoff = str(getattr(self.backoff, "value", self.backoff)).lower()
        if backoff not in _BACKOFFS:
            raise InvalidInput(f"retry policy backoff must be one of {', '.join(_BACKOFFS)}")
        object.__setattr__(self, "backoff", backoff)

    def to_json(self) -> dict[str, Any]:
        return {"max_retries": self.max_retries, "delay": self.delay, "backoff": self.backoff}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetryPolicy:
        reader = _Reader(data, "retry_policy")
        return cls(
            max_retries=reader.get("max_retries", int),
            delay=reader.get("delay", float),
            backoff=reader.get("backoff", str),
        )


# --- nodes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetDepNode:
    """One upstream dependency; `mapping` None means the default mapping rules apply."""

    key: str
    mapping: PartitionMapping | None = None

    def __post_init__(self) -> None:
        validate_asset_key(self.key)
        if self.mapping is not None and not isinstance(self.mapping, PartitionMapping):
            raise InvalidInput(
                f"dependency on {self.key!r}: partition mapping must be a PartitionMapping, "
                f"not {type(self.mapping).__name__}"
            )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "mapping": self.mapping.to_snapshot() if self.mapping is not None else None,
        }


@dataclass(frozen=True)
class CheckNode:
    """An asset check (Dagster's `@asset_check`): run after each materialization of its asset;
    a failed `blocking` check stops the asset's downstream in the run."""

    name: str
    blocking: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InvalidInput(f"asset check name {self.name!r} must be a Python identifier")
        if not isinstance(self.blocking, bool):
            raise InvalidInput(f"asset check {self.name!r}: blocking must be True or False")
        _optional_text(self.description, f"asset check {self.name!r} description")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "blocking": self.blocking, "description": self.description}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckNode:
        reader = _Reader(data, "asset check")
        return cls(
            name=reader.get("name", str),
            blocking=reader.get("blocking", bool),
            description=reader.get_optional("description", str),
        )


@dataclass(frozen=True)
class AssetNode:
    """An asset as the control plane sees it (no code, just what it is and what it needs).

    `key` is the slash-joined path ("a/b"). `compute` is the "module:qualname" the worker
    imports; None for assets declared without code (`AssetSpec`). `reconcile` opts the asset
    in to automatic reconciliation.
    """

    key: str
    deps: tuple[AssetDepNode, ...] = ()
    code_version: str | None = None
    group: str = DEFAULT_GROUP
    tags: Mapping[str, str] = field(default_factory=dict)
    owners: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    description: str | None = None
    partitions: PartitionsDefinition | None = None
    freshness: FreshnessPolicy | None = None
    reconcile: bool = False
    compute: str | None = None
    retry_policy: RetryPolicy | None = None
    # Definition metadata (Dagster's `@asset(metadata=...)`), JSON values.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # The JSON schema of the asset's `Config` class: launches are checked against it.
    config_schema: Mapping[str, Any] | None = None
    checks: tuple[CheckNode, ...] = ()
    # Dagster's op name when it is not the key with `__` between segments: the function's name
    # for assets prefixed by load_assets_from_modules, a multi-asset's name for its assets.
    op: str | None = None
    # When the timer's automation evaluation requests the asset (Dagster's declarative
    # automation); None: never.
    automation_condition: AutomationCondition | None = None

    def __post_init__(self) -> None:
        validate_asset_key(self.key)
        owner = f"asset {self.key!r}"
        deps = tuple(self.deps)
        seen: set[str] = set()
        for dep in deps:
            if not isinstance(dep, AssetDepNode):
                raise InvalidInput(f"{owner}: dependencies must be AssetDepNode values")
            if dep.key in seen:
                raise InvalidInput(f"{owner} depends on {dep.key!r} more than once")
            seen.add(dep.key)
        object.__setattr__(self, "deps", tuple(sorted(deps, key=lambda d: d.key)))
        if self.code_version is not None and (
            not isinstance(self.code_version, str)
            or not self.code_version
            or len(self.code_version) > 200
        ):
            raise InvalidInput(f"{owner}: code_version must be a non-empty string (<= 200)")
        if not isinstance(self.group, str) or not _GROUP.match(self.group):
            raise InvalidInput(
                f"{owner}: invalid group name {self.group!r}: use letters, digits and '_'"
            )
        object.__setattr__(self, "tags", validate_tags(self.tags, owner))
        object.__setattr__(self, "owners", _labels(self.owners, f"{owner} owners"))
        object.__setattr__(self, "kinds", _labels(self.kinds, f"{owner} kinds"))
        _optional_text(self.description, f"{owner} description")
        if self.partitions is not None and not isinstance(self.partitions, PartitionsDefinition):
            raise InvalidInput(
                f"{owner}: partitions must be a PartitionsDefinition, "
                f"not {type(self.partitions).__name__}"
            )
        if self.freshness is not None and not isinstance(self.freshness, FreshnessPolicy):
            raise InvalidInput(f"{owner}: freshness must be a FreshnessPolicy")
        if not isinstance(self.reconcile, bool):
            raise InvalidInput(f"{owner}: reconcile must be True or False")
        if self.retry_policy is not None and not isinstance(self.retry_policy, RetryPolicy):
            raise InvalidInput(f"{owner}: retry_policy must be a RetryPolicy")
        if not isinstance(self.metadata, Mapping) or not all(
            isinstance(k, str) for k in self.metadata
        ):
            raise InvalidInput(f"{owner}: metadata must be a mapping with string keys")
        try:
            if self.metadata:
                canonical_json(dict(self.metadata))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"{owner}: metadata must be JSON values: {exc}") from None
        object.__setattr__(self, "metadata", dict(self.metadata))
        checks = tuple(self.checks)
        if not all(isinstance(c, CheckNode) for c in checks):
            raise InvalidInput(f"{owner}: checks must be CheckNode values")
        names = [c.name for c in checks]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise InvalidInput(f"{owner} has two asset checks named {twice!r}")
        object.__setattr__(self, "checks", tuple(sorted(checks, key=lambda c: c.name)))
        if self.op is not None and (not isinstance(self.op, str) or not self.op.isidentifier()):
            raise InvalidInput(f"{owner}: op name {self.op!r} must be a Python identifier")
        if self.config_schema is not None:
            if not isinstance(self.config_schema, Mapping):
                raise InvalidInput(f"{owner}: config_schema must be a JSON schema object")
            try:
                canonical_json(dict(self.config_schema))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"{owner}: config_schema must be JSON: {exc}") from None
        if self.automation_condition is not None:
            if not isinstance(self.automation_condition, AutomationCondition):
                raise InvalidInput(f"{owner}: automation_condition must be an AutomationCondition")
            misplaced = misplaced_check_operand(self.automation_condition)
            if misplaced is not None:
                raise InvalidInput(
                    f"{owner}: {misplaced}() describes a check: use it inside "
                    "AutomationCondition.any_checks_match(...) or all_checks_match(...)"
                )
            if self.compute is None:
                raise InvalidInput(
                    f"{owner} has an automation_condition but no code in this location "
                    "(an AssetSpec): nothing could run it"
                )
            if self.reconcile:
                raise InvalidInput(
                    f"{owner} has both reconcile=True and an automation_condition: choose one "
                    "(the reconciliation plan and declarative automation would both request it)"
                )
        if self.compute is not None and (
            not isinstance(self.compute, str) or not _COMPUTE.match(self.compute)
        ):
            raise InvalidInput(
                f"{owner}: compute {self.compute!r} must look like 'package.module:function'"
            )

    @cached_property
    def dep_keys(self) -> tuple[str, ...]:
        return tuple(dep.key for dep in self.deps)

    def to_json(self) -> dict[str, Any]:
        """The asset without its automation condition: the snapshot writes each distinct
        condition once and names it from here (`DefinitionsSnapshot.to_json`)."""
        return {
            "key": self.key,
            "deps": [dep.to_json() for dep in self.deps],
            "code_version": self.code_version,
            "group": self.group,
            "tags": dict(self.tags),
            "owners": list(self.owners),
            "kinds": list(self.kinds),
            "description": self.description,
            "partitions": self.partitions.to_snapshot() if self.partitions is not None else None,
            "freshness": self.freshness.to_json() if self.freshness is not None else None,
            "reconcile": self.reconcile,
            "compute": self.compute,
            # Only when set, so snapshots deployed before retry policies keep their hash.
            **({"retry_policy": self.retry_policy.to_json()} if self.retry_policy else {}),
            **({"metadata": dict(self.metadata)} if self.metadata else {}),
            **(
                {"config_schema": dict(self.config_schema)}
                if self.config_schema is not None
                else {}
            ),
            **({"checks": [c.to_json() for c in self.checks]} if self.checks else {}),
            **({"op": self.op} if self.op is not None else {}),
        }

    @classmethod
    def from_json(
        cls,
        data: Mapping[str, Any],
        shared: dict[str, PartitionsDefinition] | None = None,
        conditions: Sequence[AutomationCondition] = (),
    ) -> AssetNode:
        """`shared`: partitions definitions already built, by their snapshot (10,000 assets on one
        daily definition build it once). `conditions`: the snapshot's distinct automation
        conditions, which an asset names by index."""
        reader = _Reader(data, "asset")
        key = reader.get("key", str)
        reader.what = f"asset {key!r}"
        deps = []
        for item in reader.get("deps", list):
            dep = _Reader(item, f"asset {key!r} dependency")
            mapping = dep.get_optional("mapping", dict)
            deps.append(
                AssetDepNode(
                    key=dep.get("key", str),
                    mapping=_load(mapping_from_snapshot, mapping, f"asset {key!r} mapping")
                    if mapping is not None
                    else None,
                )
            )
        partitions = reader.get_optional("partitions", dict)
        freshness = reader.get_optional("freshness", dict)
        retry = reader.get_optional("retry_policy", dict)
        condition = _asset_condition(reader, key, conditions)
        return cls(
            key=key,
            deps=tuple(deps),
            code_version=reader.get_optional("code_version", str),
            group=reader.get("group", str),
            tags=reader.get("tags", dict),
            owners=tuple(reader.get("owners", list)),
            kinds=tuple(reader.get("kinds", list)),
            description=reader.get_optional("description", str),
            partitions=_partitions(partitions, key, shared) if partitions is not None else None,
            freshness=FreshnessPolicy.from_json(freshness) if freshness is not None else None,
            reconcile=reader.get("reconcile", bool),
            compute=reader.get_optional("compute", str),
            retry_policy=RetryPolicy.from_json(retry) if retry is not None else None,
            metadata=reader.get_optional("metadata", dict) or {},
            config_schema=reader.get_optional("config_schema", dict),
            op=reader.get_optional("op", str),
            checks=tuple(CheckNode.from_json(c) for c in reader.get_optional("checks", list) or []),
            automation_condition=condition,
        )


_CONDITIONS: dict[str, AutomationCondition] = {}


def _shared_condition(item: Any) -> AutomationCondition:
    if not isinstance(item, dict):
        raise InvalidInput("it must be an object")
    return AutomationCondition.from_json(item)


def _asset_condition(
    reader: _Reader, key: str, conditions: Sequence[AutomationCondition]
) -> AutomationCondition | None:
    """An asset's condition: an index into the snapshot's `automation_conditions` (each tree
    written once), or the tree itself (snapshots written before December 2026)."""
    value = reader.data.get("automation_condition")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < len(conditions):
            raise InvalidInput(
                f"asset {key!r}: automation condition {value} is not in the snapshot"
            )
        return conditions[value]
    return _condition(reader.get("automation_condition", dict), key)


def _condition(snapshot: Mapping[str, Any], key: str) -> AutomationCondition:
    """One object per distinct condition (10,000 eager assets share one tree, and the
    evaluator caches what it derives from a tree by its identity)."""
    text = repr(snapshot)
    found = _CONDITIONS.get(text)
    if found is None:
        found = _load(
            AutomationCondition.from_json, snapshot, f"asset {key!r} automation_condition"
        )
        if len(_CONDITIONS) >= 1024:
            _CONDITIONS.clear()
        _CONDITIONS[text] = found
    return found


def _partitions(
    snapshot: Mapping[str, Any], key: str, shared: dict[str, PartitionsDefinition] | None
) -> PartitionsDefinition:
    # repr, not canonical JSON: snapshots of one deployment list their fields in one order,
    # and another order only misses the cache
    text = repr(snapshot) if shared is not None else ""
    built: PartitionsDefinition | None = shared.get(text) if shared is not None else None
    if built is None:
        built = _load(partitions_from_snapshot, snapshot, f"asset {key!r} partitions")
        assert built is not None
        if shared is not None:
            shared[text] = built
    return built


@dataclass(frozen=True)
class ScheduleNode:
    """A schedule: cron ticks (in `timezone`) that request runs of `target`.

    `partitioned`: each tick targets the partition whose window just closed at the tick time
    (for static or dynamic partitions: every key). `default_status` applies until an operator
    starts or stops the schedule.
    """

    name: str
    cron: CronSchedule
    target: tuple[str, ...]
    timezone: str = "UTC"
    default_status: DefaultStatus = "STOPPED"
    partitioned: bool = False
    catch_up: CatchUpPolicy = field(default_factory=CatchUpPolicy)
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    job: str | None = None  # the asset job it runs (its target is then the job's assets)
    run_config: Mapping[str, Any] | None = None  # Dagster's shape, for every run it requests

    def __post_init__(self) -> None:
        validate_schedule_name(self.name)
        owner = f"schedule {self.name!r}"
        if self.run_config is not None:
            if not isinstance(self.run_config, Mapping):
                raise InvalidInput(f"{owner}: run_config must be an object")
            try:
                canonical_json(dict(self.run_config))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"{owner}: run_config must be JSON: {exc}") from None
        _job_reference(self.job, owner)
        if not isinstance(self.cron, CronSchedule):
            object.__setattr__(self, "cron", _cron(self.cron, owner))
        _timezone(self.timezone, owner)
        if self.default_status not in ("RUNNING", "STOPPED"):
            raise InvalidInput(
                f"{owner}: default_status must be 'RUNNING' or 'STOPPED', "
                f"not {self.default_status!r}"
            )
        if isinstance(self.target, str):
            raise InvalidInput(f"{owner}: target must be a list of asset keys")
        target = tuple(sorted(set(self.target)))
        if not target:
            raise InvalidInput(f"{owner} targets no assets")
        for key in target:
            try:
                validate_asset_key(key)
            except InvalidInput as exc:
                raise InvalidInput(f"{owner}: {exc}") from exc
        object.__setattr__(self, "target", target)
        if not isinstance(self.partitioned, bool):
            raise InvalidInput(f"{owner}: partitioned must be True or False")
        if not isinstance(self.catch_up, CatchUpPolicy):
            raise InvalidInput(f"{owner}: catch_up must be a CatchUpPolicy")
        object.__setattr__(self, "tags", validate_tags(self.tags, owner))
        _optional_text(self.description, f"{owner} description")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cron": list(self.cron.expressions),
            "timezone": self.timezone,
            "default_status": self.default_status,
            "target": list(self.target),
            "partitioned": self.partitioned,
            "catch_up": self.catch_up.to_json(),
            "tags": dict(self.tags),
            "description": self.description,
            # Only when set, so snapshots deployed before jobs keep their hash.
            **({"job": self.job} if self.job is not None else {}),
            **({"run_config": dict(self.run_config)} if self.run_config else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScheduleNode:
        reader = _Reader(data, "schedule")
        name = reader.get("name", str)
        reader.what = f"schedule {name!r}"
        cron = reader.get("cron", list)
        return cls(
            name=name,
            cron=_cron(cron, reader.what),
            timezone=reader.get("timezone", str),
            default_status=cast(DefaultStatus, reader.get("default_status", str)),
            target=tuple(reader.get("target", list)),
            partitioned=reader.get("partitioned", bool),
            catch_up=CatchUpPolicy.from_json(reader.get("catch_up", dict)),
            tags=reader.get("tags", dict),
            description=reader.get_optional("description", str),
            job=reader.get_optional("job", str),
            run_config=reader.get_optional("run_config", dict),
        )


@dataclass(frozen=True)
class SensorNode:
    """A sensor: what it watches, what it targets, how often it may be evaluated.

    - `poll`: the user's function, evaluated by a worker no more often than
      `minimum_interval_seconds`, with a durable cursor (Dagster's `@asset_sensor`,
      `@multi_asset_sensor` and `@run_status_sensor` functions are poll sensors that record
      what they watch in `monitored_assets` / `run_statuses`; one that only alerts has no
      target);
    - `push`: the user's function, evaluated once per Pub/Sub message on `subscription`;
    - `asset`: built in, requests `target` for every new materialization of
      `monitored_assets` (partition by partition);
    - `run_status`: built in, requests `target` for every run of `monitored_assets` (all runs
      when empty) that reaches one of `run_statuses`.
    """

    name: str
    kind: SensorKind
    target: tuple[str, ...]
    minimum_interval_seconds: int = DEFAULT_MINIMUM_INTERVAL_S
    default_status: DefaultStatus = "STOPPED"
    subscription: str | None = None
    monitored_assets: tuple[str, ...] = ()
    run_statuses: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None
    job: str | None = None  # the asset job it requests (its target is then the job's assets)

    def __post_init__(self) -> None:
        validate_schedule_name(self.name, "sensor")
        owner = f"sensor {self.name!r}"
        _job_reference(self.job, owner)
        if self.kind not in SENSOR_KINDS:
            raise InvalidInput(f"{owner}: kind must be one of {', '.join(SENSOR_KINDS)}")
        if self.default_status not in ("RUNNING", "STOPPED"):
            raise InvalidInput(f"{owner}: default_status must be 'RUNNING' or 'STOPPED'")
        object.__setattr__(self, "target", _asset_keys(self.target, f"{owner} target"))
        if not self.target and self.kind != "poll":  # a poll sensor may only alert
            raise InvalidInput(f"{owner} targets no assets")
        interval = self.minimum_interval_seconds
        if not _is_int(interval) or not 1 <= interval <= 86_400:
            raise InvalidInput(
                f"{owner}: minimum_interval_seconds must be a whole number from 1 to 86400"
            )
        monitored = _asset_keys(self.monitored_assets, f"{owner} monitored assets")
        object.__setattr__(self, "monitored_assets", monitored)
        statuses = tuple(sorted(set(self.run_statuses)))
        object.__setattr__(self, "run_statuses", statuses)
        if self.kind == "push":
            if not isinstance(self.subscription, str) or not _SUBSCRIPTION.match(self.subscription):
                raise InvalidInput(
                    f"{owner}: a push sensor needs subscription='projects/P/subscriptions/S' "
                    f"(or the short name S), not {self.subscription!r}"
                )
        elif self.subscription is not None:
            raise InvalidInput(f"{owner}: only push sensors have a subscription")
        if self.kind == "asset" and not monitored:
            raise InvalidInput(f"{owner}: an asset sensor monitors at least one asset")
        if self.kind not in ("asset", "run_status", "poll") and monitored:
            raise InvalidInput(f"{owner}: only asset, run-status and poll sensors monitor assets")
        if self.kind == "run_status" or (self.kind == "poll" and statuses):
            unknown = [s for s in statuses if s not in RUN_STATUSES]
            if not statuses or unknown:
                raise InvalidInput(
                    f"{owner}: run_status must be one or more of {', '.join(RUN_STATUSES)}"
                )
        elif statuses:
            raise InvalidInput(f"{owner}: only run-status and poll sensors have run statuses")
        object.__setattr__(self, "tags", validate_tags(self.tags, owner))
        _optional_text(self.description, f"{owner} description")

    @property
    def subscription_name(self) -> str | None:
        """The short subscription name (what a push envelope's path ends with)."""
        return None if self.subscription is None else self.subscription.rpartition("/")[2]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "target": list(self.target),
            "minimum_interval_seconds": self.minimum_interval_seconds,
            "default_status": self.default_status,
            "subscription": self.subscription,
            "monitored_assets": list(self.monitored_assets),
            "run_statuses": list(self.run_statuses),
            "tags": dict(self.tags),
            "description": self.description,
            # Only when set, so snapshots deployed before jobs keep their hash.
            **({"job": self.job} if self.job is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SensorNode:
        reader = _Reader(data, "sensor")
        name = reader.get("name", str)
        reader.what = f"sensor {name!r}"
        return cls(
            name=name,
            kind=cast(SensorKind, reader.get("kind", str)),
            target=tuple(reader.get("target", list)),
            minimum_interval_seconds=reader.get("minimum_interval_seconds", int),
            default_status=cast(DefaultStatus, reader.get("default_status", str)),
            subscription=reader.get_optional("subscription", str),
            monitored_assets=tuple(reader.get("monitored_assets", list)),
            run_statuses=tuple(reader.get("run_statuses", list)),
            tags=reader.get("tags", dict),
            description=reader.get_optional("description", str),
            job=reader.get_optional("job", str),
        )


def _job_reference(job: str | None, owner: str) -> None:
    if job is not None:
        try:
            validate_schedule_name(job, "job")
        except InvalidInput as exc:
            raise InvalidInput(f"{owner}: {exc}") from exc


_MAX_SELECTION = 10_000


@dataclass(frozen=True)
class JobNode:
    """An asset job (Dagster's `define_asset_job`): a named selection of assets.

    `selection` is the canonical selection string it was defined with, `assets` the keys that
    selection resolved to when the code location was loaded (what a run of the job
    materializes). `run_tags` are for the runs its schedules and sensors request
    (`DefinitionsSnapshot.job_run_tags`); `tags` only describe the job.
    """

    name: str
    selection: str
    assets: tuple[str, ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    description: str | None = None

    def __post_init__(self) -> None:
        validate_schedule_name(self.name, "job")
        owner = f"job {self.name!r}"
        if (
            not isinstance(self.selection, str)
            or not self.selection
            or len(self.selection) > _MAX_SELECTION
            or _CONTROL.search(self.selection)
        ):
            raise InvalidInput(
                f"{owner}: selection must be a selection string of 1-{_MAX_SELECTION} "
                "printable characters"
            )
        object.__setattr__(self, "assets", _asset_keys(self.assets, f"{owner} assets"))
        if not self.assets:
            raise InvalidInput(f"{owner} selects no assets")
        object.__setattr__(self, "tags", validate_tags(self.tags, owner))
        object.__setattr__(self, "run_tags", validate_tags(self.run_tags, f"{owner} run tags"))
        _optional_text(self.description, f"{owner} description")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "selection": self.selection,
            "assets": list(self.assets),
            "tags": dict(self.tags),
            "run_tags": dict(self.run_tags),
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobNode:
        reader = _Reader(data, "job")
        name = reader.get("name", str)
        reader.what = f"job {name!r}"
        return cls(
            name=name,
            selection=reader.get("selection", str),
            assets=tuple(reader.get("assets", list)),
            tags=reader.get("tags", dict),
            run_tags=reader.get("run_tags", dict),
            description=reader.get_optional("description", str),
        )


def _asset_keys(keys: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(keys, str):
        raise InvalidInput(f"{what} must be a list of asset keys")
    out = tuple(sorted(set(keys)))
    for key in out:
        try:
            validate_asset_key(key)
        except InvalidInput as exc:
            raise InvalidInput(f"{what}: {exc}") from exc
    return out


# --- the snapshot ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefinitionsSnapshot:
    """Every asset, schedule and sensor of one code location, validated, with a content hash."""

    code_location: str
    assets: Mapping[str, AssetNode]
    schedules: Mapping[str, ScheduleNode] = field(default_factory=dict)
    sensors: Mapping[str, SensorNode] = field(default_factory=dict)
    jobs: Mapping[str, JobNode] = field(default_factory=dict)
    # Whether declarative automation runs until an operator stops it (an
    # `AutomationConditionSensorDefinition(default_status=RUNNING)`); stopped by default.
    automation_default_running: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.automation_default_running, bool):
            raise InvalidInput("automation_default_running must be True or False")
        object.__setattr__(self, "assets", dict(sorted(dict(self.assets).items())))
        object.__setattr__(self, "schedules", dict(sorted(dict(self.schedules).items())))
        object.__setattr__(self, "sensors", dict(sorted(dict(self.sensors).items())))
        object.__setattr__(self, "jobs", dict(sorted(dict(self.jobs).items())))
        validate_definitions(self)

    # -- serialisation --

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form: lists sorted by key/name, no optional field left out.

        `sensors` appears only when there are some, so code locations deployed before sensors
        existed keep their content hash."""
        assets = [node.to_json() for _, node in sorted(self.assets.items())]
        out: dict[str, Any] = {
            "format": SNAPSHOT_FORMAT,
            "code_location": self.code_location,
            "assets": assets,
            "schedules": [node.to_json() for _, node in sorted(self.schedules.items())],
        }
        conditions = self._distinct_conditions()
        if conditions:
            # Each distinct condition is written once, and named by its index: 10,000 eager
            # assets would otherwise repeat one tree 10,000 times (14 MB to read and parse).
            index = {text: i for i, text in enumerate(conditions)}
            for item, (_, node) in zip(assets, sorted(self.assets.items()), strict=True):
                if node.automation_condition is not None:
                    item["automation_condition"] = index[self._condition_text(node)]
            out["automation_conditions"] = [json.loads(text) for text in conditions]
            out["format"] = SNAPSHOT_FORMAT_CONDITIONS
        if self.sensors:
            out["sensors"] = [node.to_json() for _, node in sorted(self.sensors.items())]
        if self.jobs:  # likewise: only when there are some
            out["jobs"] = [node.to_json() for _, node in sorted(self.jobs.items())]
        if self.automation_default_running:  # likewise: only when set
            out["automation_default_running"] = True
            out["format"] = SNAPSHOT_FORMAT_CONDITIONS
        return out

    def _condition_text(self, node: AssetNode) -> str:
        condition = node.automation_condition
        assert condition is not None
        cache = self.__dict__.setdefault("_condition_texts", {})
        text = cache.get(id(condition))
        if text is None:
            text = cache[id(condition)] = canonical_json(condition.to_json()).decode()
        return str(text)

    def _distinct_conditions(self) -> list[str]:
        """The canonical JSON of each distinct automation condition, sorted."""
        return sorted(
            {
                self._condition_text(node)
                for node in self.assets.values()
                if node.automation_condition is not None
            }
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DefinitionsSnapshot:
        """Parse (and validate) a snapshot written by `to_json`."""
        reader = _Reader(data, "definitions snapshot")
        version = reader.get("format", int)
        if version not in (SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_CONDITIONS):
            raise InvalidInput(
                f"definitions snapshot format {version} is not supported "
                f"(this version of arco reads formats {SNAPSHOT_FORMAT} and "
                f"{SNAPSHOT_FORMAT_CONDITIONS})"
            )
        assets: dict[str, AssetNode] = {}
        shared: dict[str, PartitionsDefinition] = {}
        conditions = [
            _load(_shared_condition, item, f"automation condition #{i} of the snapshot")
            for i, item in enumerate(reader.get_optional("automation_conditions", list) or [])
        ]
        for item in reader.get("assets", list):
            node = AssetNode.from_json(item, shared, conditions)
            if node.key in assets:
                raise InvalidInput(f"duplicate asset key {node.key!r}")
            assets[node.key] = node
        schedules: dict[str, ScheduleNode] = {}
        for item in reader.get("schedules", list):
            schedule = ScheduleNode.from_json(item)
            if schedule.name in schedules:
                raise InvalidInput(f"duplicate schedule name {schedule.name!r}")
            schedules[schedule.name] = schedule
        sensors: dict[str, SensorNode] = {}
        for item in reader.get_optional("sensors", list) or []:
            sensor = SensorNode.from_json(item)
            if sensor.name in sensors:
                raise InvalidInput(f"duplicate sensor name {sensor.name!r}")
            sensors[sensor.name] = sensor
        jobs: dict[str, JobNode] = {}
        for item in reader.get_optional("jobs", list) or []:
            job = JobNode.from_json(item)
            if job.name in jobs:
                raise InvalidInput(f"duplicate job name {job.name!r}")
            jobs[job.name] = job
        running = reader.get_optional("automation_default_running", bool) or False
        return cls(reader.get("code_location", str), assets, schedules, sensors, jobs, running)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON form."""
        return sha256_hex(canonical_json(self.to_json()))

    # -- graph --

    def _asset(self, key: str) -> AssetNode:
        node = self.assets.get(key)
        if node is None:
            raise NotFound(f"unknown asset {key!r} in code location {self.code_location!r}")
        return node

    @cached_property
    def _downstream(self) -> Mapping[str, tuple[str, ...]]:
        children: dict[str, list[str]] = {key: [] for key in self.assets}
        for key, node in self.assets.items():
            for dep in node.deps:
                children[dep.key].append(key)
        return {key: tuple(sorted(keys)) for key, keys in children.items()}

    def upstream(self, key: str) -> tuple[str, ...]:
        """The assets `key` depends on directly, sorted."""
        return self._asset(key).dep_keys

    def downstream(self, key: str) -> tuple[str, ...]:
        """The assets that depend directly on `key`, sorted."""
        self._asset(key)
        return self._downstream[key]

    @cached_property
    def _topological_order(self) -> tuple[str, ...]:
        pending = {key: len(node.deps) for key, node in self.assets.items()}
        ready = [key for key, count in pending.items() if count == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            key = heapq.heappop(ready)
            order.append(key)
            for child in self._downstream[key]:
                pending[child] -= 1
                if pending[child] == 0:
                    heapq.heappush(ready, child)
        return tuple(order)

    def topological_order(self) -> tuple[str, ...]:
        """Every asset after all its upstreams; ties broken by key, so the order is stable."""
        return self._topological_order

    def mapping_for(self, downstream_key: str, upstream_key: str) -> PartitionMapping:
        """The partition mapping of one edge: the explicit one, else the default rules'."""
        node = self._asset(downstream_key)
        for dep in node.deps:
            if dep.key == upstream_key:
                if dep.mapping is not None:
                    return dep.mapping
                return default_partition_mapping(
                    self._asset(upstream_key).partitions, node.partitions
                )
        raise NotFound(f"asset {downstream_key!r} does not depend on {upstream_key!r}")

    def schedule_partitions(self, name: str) -> PartitionsDefinition | None:
        """The partitions definition every target of schedule `name` shares (None if none)."""
        schedule = self.schedules.get(name)
        if schedule is None:
            raise NotFound(f"unknown schedule {name!r} in code location {self.code_location!r}")
        return _shared_partitions(self, schedule)

    def job_run_tags(self, source: str, name: str) -> dict[str, str]:
        """The run tags of the job that schedule or sensor `name` (`source`: "schedule" or
        "sensor") requests; {} when it targets no job. Request tags go over them."""
        nodes: Mapping[str, ScheduleNode | SensorNode] = (
            self.schedules if source == "schedule" else self.sensors if source == "sensor" else {}
        )
        node = nodes.get(name)
        job = None if node is None or node.job is None else self.jobs.get(node.job)
        return dict(job.run_tags) if job is not None else {}


def _shared_partitions(
    snapshot: DefinitionsSnapshot, schedule: ScheduleNode
) -> PartitionsDefinition | None:
    # Validation leaves a schedule's targets all unpartitioned, or sharing one definition.
    return snapshot.assets[schedule.target[0]].partitions


# --- validation --------------------------------------------------------------------------------


def validate_definitions(snapshot: DefinitionsSnapshot) -> None:
    """Raise `InvalidInput` naming the culprit if the snapshot is not a valid code location.

    `DefinitionsSnapshot` calls this on construction; it is exposed for callers that want to
    re-check a snapshot explicitly.
    """
    location = snapshot.code_location
    if (
        not isinstance(location, str)
        or not location
        or len(location) > _MAX_KEY_LENGTH
        or _CONTROL.search(location)
    ):
        raise InvalidInput(
            f"invalid code location name {location!r}: use 1-{_MAX_KEY_LENGTH} printable characters"
        )
    for key, node in snapshot.assets.items():
        if not isinstance(node, AssetNode):
            raise InvalidInput(f"asset {key!r} is a {type(node).__name__}, not an AssetNode")
        if node.key != key:
            raise InvalidInput(f"asset {node.key!r} is listed under the key {key!r}")
    for name, schedule in snapshot.schedules.items():
        if not isinstance(schedule, ScheduleNode):
            raise InvalidInput(
                f"schedule {name!r} is a {type(schedule).__name__}, not a ScheduleNode"
            )
        if schedule.name != name:
            raise InvalidInput(f"schedule {schedule.name!r} is listed under the name {name!r}")
    _check_dependencies(snapshot)
    _check_cycles(snapshot)
    # An implicit mapping's check depends only on the two definitions: assets sharing theirs
    # (10,000 daily assets) are checked once per pair, not once per edge.
    checked: set[tuple[int, int]] = set()
    for node in snapshot.assets.values():
        for dep in node.deps:
            upstream = snapshot.assets[dep.key]
            pair = (id(upstream.partitions), id(node.partitions))
            if dep.mapping is None and pair in checked:
                continue
            _check_edge(upstream, node, dep.mapping)
            if dep.mapping is None:
                checked.add(pair)
    for schedule in snapshot.schedules.values():
        _check_schedule(snapshot, schedule)
    _check_sensors(snapshot)
    _check_jobs(snapshot)


def _check_dependencies(snapshot: DefinitionsSnapshot) -> None:
    for key, node in snapshot.assets.items():
        for dep in node.deps:
            if dep.key not in snapshot.assets:
                raise InvalidInput(f"asset {key!r} depends on unknown asset {dep.key!r}")


def _check_cycles(snapshot: DefinitionsSnapshot) -> None:
    """Depth-first search in key order; the first cycle found is reported as its path."""
    done: set[str] = set()
    for root in sorted(snapshot.assets):
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(snapshot.assets[root].dep_keys)]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if nxt in on_path:
                cycle = [*path[path.index(nxt) :], nxt]
                # Report in the direction data flows (upstream first).
                raise InvalidInput("dependency cycle: " + " -> ".join(reversed(cycle)))
            if nxt in done:
                continue
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(snapshot.assets[nxt].dep_keys))


def _time_window(pdef: PartitionsDefinition | None) -> TimeWindowPartitionsDefinition | None:
    """The time-window definition of `pdef` (itself, or a multi definition's time dimension)."""
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        return pdef
    if isinstance(pdef, MultiPartitionsDefinition):
        for dim in pdef.dimensions.values():
            if isinstance(dim, TimeWindowPartitionsDefinition):
                return dim
    return None


def _check_edge(
    upstream: AssetNode, downstream: AssetNode, explicit: PartitionMapping | None
) -> None:
    edge = f"dependency of {downstream.key!r} on {upstream.key!r}"
    up, down = upstream.partitions, downstream.partitions
    mapping = explicit if explicit is not None else default_partition_mapping(up, down)
    if isinstance(mapping, TimeWindowPartitionMapping):
        up_tw, down_tw = _time_window(up), _time_window(down)
        if up_tw is not None and down_tw is not None and up_tw.timezone != down_tw.timezone:
            raise InvalidInput(
                f"{edge}: time-window partition timezones don't match "
                f"({upstream.key!r} is in {up_tw.timezone}, {downstream.key!r} is in "
                f"{down_tw.timezone})"
            )
    try:
        mapping.validate(up, down)
    except InvalidInput as exc:
        raise InvalidInput(f"{edge}: {exc}") from exc


def _check_schedule(snapshot: DefinitionsSnapshot, schedule: ScheduleNode) -> None:
    owner = f"schedule {schedule.name!r}"
    for key in schedule.target:
        if key not in snapshot.assets:
            raise InvalidInput(f"{owner} targets unknown asset {key!r}")
    if schedule.run_config is not None:
        from arco.domain.run_config import resolve_run_config  # it imports this module

        try:
            resolve_run_config(snapshot, schedule.target, schedule.run_config)
        except InvalidInput as exc:  # refused at deploy, not at its first tick
            raise InvalidInput(f"{owner}: {exc}") from None
    partitioned = sorted(k for k in schedule.target if snapshot.assets[k].partitions is not None)
    if not schedule.partitioned:
        if partitioned:
            raise InvalidInput(
                f"{owner} targets partitioned asset {partitioned[0]!r} but is not a "
                "partitioned schedule (use build_schedule_from_partitioned_assets, or "
                "partitioned=True)"
            )
        return
    unpartitioned = sorted(set(schedule.target) - set(partitioned))
    if unpartitioned:
        raise InvalidInput(
            f"{owner} is partitioned but targets unpartitioned asset {unpartitioned[0]!r}"
        )
    first = snapshot.assets[partitioned[0]]
    assert first.partitions is not None
    for key in partitioned[1:]:
        # Partitions definitions are equal when their snapshots are.
        if snapshot.assets[key].partitions != first.partitions:
            raise InvalidInput(
                f"{owner}: its targets do not share one partitions definition "
                f"({first.key!r} and {key!r} differ)"
            )
    time_window = _time_window(first.partitions)
    if time_window is not None and time_window.timezone != schedule.timezone:
        raise InvalidInput(
            f"{owner} runs in timezone {schedule.timezone} but the partitions of its "
            f"targets are in {time_window.timezone}"
        )


def _check_requests_can_run(snapshot: DefinitionsSnapshot, sensor: SensorNode, owner: str) -> None:
    """A built-in sensor's requests must be able to become runs: an asset sensor requests the
    monitored partition for targets partitioned alike and a whole run for unpartitioned ones; a
    run-status sensor requests whole runs. Anything else could only ever fail, so it is refused
    at deploy time rather than discovered tick after tick."""
    partitioned = [t for t in sensor.target if snapshot.assets[t].partitions is not None]
    if sensor.kind == "run_status" and partitioned:
        raise InvalidInput(
            f"{owner} targets partitioned asset(s) {', '.join(partitioned)}: a run-status sensor "
            "requests whole runs, so target unpartitioned assets"
        )
    if sensor.kind != "asset" or not partitioned:
        return
    for monitored in sensor.monitored_assets:
        expected = snapshot.assets[monitored].partitions
        unlike = [t for t in sensor.target if snapshot.assets[t].partitions != expected]
        if unlike:
            raise InvalidInput(
                f"{owner} monitors {monitored!r} but targets {', '.join(unlike)}, partitioned "
                f"differently: its requests carry {monitored!r}'s partition key (or none), so "
                "they could never run; target assets partitioned like it, or only unpartitioned "
                "ones"
            )


def _check_sensors(snapshot: DefinitionsSnapshot) -> None:
    subscriptions: dict[str, str] = {}
    for name, sensor in snapshot.sensors.items():
        if not isinstance(sensor, SensorNode) or sensor.name != name:
            raise InvalidInput(f"sensor {name!r} is not a SensorNode listed under its own name")
        owner = f"sensor {name!r}"
        for key in (*sensor.target, *sensor.monitored_assets):
            if key not in snapshot.assets:
                raise InvalidInput(f"{owner} refers to unknown asset {key!r}")
        _check_requests_can_run(snapshot, sensor, owner)
        if sensor.kind == "push":
            # A push is routed by its subscription's short name: it must name one sensor.
            short = sensor.subscription_name
            assert short is not None
            if short in subscriptions:
                raise InvalidInput(
                    f"{owner} and sensor {subscriptions[short]!r} share the subscription {short!r}"
                )
            subscriptions[short] = name


def _check_jobs(snapshot: DefinitionsSnapshot) -> None:
    """Jobs select assets with code that share at most one partitions definition (Dagster's
    rules for asset jobs); a schedule or sensor of a job targets exactly the job's assets."""
    for name, job in snapshot.jobs.items():
        if not isinstance(job, JobNode) or job.name != name:
            raise InvalidInput(f"job {name!r} is not a JobNode listed under its own name")
        owner = f"job {name!r}"
        for key in job.assets:
            node = snapshot.assets.get(key)
            if node is None:
                raise InvalidInput(f"{owner} selects unknown asset {key!r}")
            if node.compute is None:
                raise InvalidInput(
                    f"{owner} selects asset {key!r}, which has no code to run (an AssetSpec)"
                )
        partitioned = [k for k in job.assets if snapshot.assets[k].partitions is not None]
        for key in partitioned[1:]:
            if snapshot.assets[key].partitions != snapshot.assets[partitioned[0]].partitions:
                raise InvalidInput(
                    f"{owner}: its partitioned assets do not share one partitions definition "
                    f"({partitioned[0]!r} and {key!r} differ)"
                )
    automations: list[tuple[str, ScheduleNode | SensorNode]] = [
        *((f"schedule {n!r}", s) for n, s in snapshot.schedules.items()),
        *((f"sensor {n!r}", s) for n, s in snapshot.sensors.items()),
    ]
    for owner, automation in automations:
        if automation.job is None:
            continue
        target = snapshot.jobs.get(automation.job)
        if target is None:
            raise InvalidInput(f"{owner} targets unknown job {automation.job!r}")
        if set(automation.target) != set(target.assets):
            raise InvalidInput(
                f"{owner} targets job {automation.job!r} but not exactly the job's assets"
            )


# --- JSON reading helpers ----------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Typed access to one JSON object, with errors that say what and where."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidInput(f"{what} must be a JSON object")
        self.data: Mapping[str, Any] = data
        self.what = what

    def _check(self, name: str, value: Any, kind: type) -> Any:
        if kind is float and _is_int(value):
            return float(value)
        ok = _is_int(value) if kind is int else isinstance(value, kind)
        if kind is not bool and isinstance(value, bool):
            ok = False
        if not ok:
            raise InvalidInput(f"{self.what}: field {name!r} must be a {kind.__name__}")
        return value

    def get(self, name: str, kind: type) -> Any:
        if name not in self.data:
            raise InvalidInput(f"{self.what}: missing field {name!r}")
        return self._check(name, self.data[name], kind)

    def get_optional(self, name: str, kind: type) -> Any:
        value = self.data.get(name)
        return None if value is None else self._check(name, value, kind)


def _load(loader: Any, data: Mapping[str, Any], what: str) -> Any:
    try:
        return loader(data)
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{what}: malformed ({type(exc).__name__}: {exc})") from exc
