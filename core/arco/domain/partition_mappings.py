"""Partition mappings: which upstream partitions a downstream partition depends on, and back.

Every mapping answers two questions, with Dagster 1.13's rules:

- `upstream_partitions(downstream_def, downstream_keys, upstream_def, now)`: the upstream keys
  the downstream keys depend on, plus `required_but_nonexistent`, the upstream keys they would
  need that the upstream definition does not have at `now`;
- `downstream_partitions(upstream_def, upstream_keys, downstream_def, now)`: the downstream
  keys that depend on the given upstream keys (only keys present at `now`).

`None` stands for an unpartitioned side. An unpartitioned upstream has no keys to depend on
(the dependency is on the whole asset), so `upstream_partitions` answers nothing for it; an
unpartitioned downstream has no keys either, so `downstream_partitions` answers nothing and the
caller treats the unpartitioned asset as one unit (as Dagster's asset graph does).

Results are tuples without duplicates in the target definition's order (window order for time
windows); `required_but_nonexistent` keys come in the order they were found (chronological for
time windows).

Deliberate differences from Dagster:

- `IdentityPartitionMapping.validate` compares definition kinds (static, time_window, dynamic,
  multi), not Python classes, so daily partitions and a custom daily cron may be mapped;
- a time window that runs past both ends of the upstream range reports only the parts outside
  the range as required-but-nonexistent (Dagster reports the whole window, existing keys too);
- the time-window mapping always takes the general path (no shortcut for equal definitions), so
  a downstream key whose window has not closed upstream yet is reported as nonexistent;
- offsets step over cron ticks; windows removed by `exclusions` still count as a step;
- `SpecificPartitionsPartitionMapping` reports its keys that the upstream does not have at `now`
  as required-but-nonexistent (Dagster returns them as if present) and `validate` checks that
  they can belong to the upstream definition;
- multi mappings report required-but-nonexistent upstream keys as whole multi keys (Dagster
  reports the bare dimension keys);
- `MultiPartitionMapping.validate` also validates each dimension's mapping against the two
  dimension definitions.
"""

from __future__ import annotations

import functools
import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from arco.domain.canonical import canonical_json
from arco.domain.cron import CronSchedule
from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    NO_DYNAMIC,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    PartitionsSubset,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now

__all__ = [
    "AllPartitionMapping",
    "DimensionPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MultiPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "UpstreamPartitions",
    "default_partition_mapping",
    "mapping_from_snapshot",
]

Dynamic = Mapping[str, Sequence[str]]
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class UpstreamPartitions:
    """Upstream keys a set of downstream keys depends on.

    `keys` exist upstream at `now`; `required_but_nonexistent` are upstream keys the mapping
    asks for that the upstream definition does not have (yet, or ever).
    """

    keys: tuple[str, ...]
    required_but_nonexistent: tuple[str, ...] = ()


_NOTHING = UpstreamPartitions((), ())


def _describe(definition: PartitionsDefinition | None) -> str:
    return "unpartitioned" if definition is None else definition.describe()


def _sides(upstream: PartitionsDefinition | None, downstream: PartitionsDefinition | None) -> str:
    return f"upstream {_describe(upstream)}, downstream {_describe(downstream)}"


def _ordered(
    definition: PartitionsDefinition, keys: Iterable[str], dynamic: Dynamic
) -> tuple[str, ...]:
    """`keys` without duplicates, in the definition's order (unknown keys last, as given)."""
    unique = list(dict.fromkeys(keys))
    if len(unique) < 2:
        return tuple(unique)
    space = definition.key_space(dynamic)
    ranked: list[tuple[bool, int, int, str]] = []
    for position, key in enumerate(unique):
        index = space.index_of(key)
        ranked.append((index is None, 0 if index is None else index, position, key))
    ranked.sort()
    return tuple(item[3] for item in ranked)


def _last_key(definition: PartitionsDefinition, now: datetime, dynamic: Dynamic) -> str | None:
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition.last_key(now)
    keys = definition.keys(now, dynamic)
    return keys[-1] if keys else None


def _all_keys(
    definition: PartitionsDefinition | None, now: datetime, dynamic: Dynamic
) -> tuple[str, ...]:
    return () if definition is None else tuple(definition.keys(now, dynamic))


def _keys_arg(keys: Sequence[str], what: str) -> list[str]:
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise InvalidInput(f"{what} must be a list of partition keys, got {keys!r}")
    for key in keys:
        if not isinstance(key, str):
            raise InvalidInput(f"{what}: partition key {key!r} must be a string")
    return list(dict.fromkeys(keys))


# --------------------------------------------------------------------------- the contract


class PartitionMapping(ABC):
    """How the partitions of a downstream asset depend on those of an upstream asset.

    Mappings are immutable values: two mappings are equal when their snapshots are equal.
    """

    kind: ClassVar[str]

    @abstractmethod
    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        """The upstream keys `downstream_keys` depend on at `now`."""

    @abstractmethod
    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        """The downstream keys present at `now` that depend on any of `upstream_keys`."""

    @abstractmethod
    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        """Raise InvalidInput (naming both sides) if the mapping cannot join these definitions."""

    @abstractmethod
    def to_snapshot(self) -> dict[str, Any]:
        """Canonical JSON-able form, including "kind"; `mapping_from_snapshot` inverts it."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionMapping):
            return NotImplemented
        return canonical_json(self.to_snapshot()) == canonical_json(other.to_snapshot())

    def __hash__(self) -> int:
        return hash(canonical_json(self.to_snapshot()))

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.to_snapshot().items() if k != "kind"}
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({shown})"


def _require(
    mapping: PartitionMapping,
    upstream: PartitionsDefinition | None,
    downstream: PartitionsDefinition | None,
    *,
    upstream_needed: bool = True,
    downstream_needed: bool = True,
) -> None:
    name = type(mapping).__name__
    if upstream_needed and upstream is None:
        raise InvalidInput(f"{name} needs a partitioned upstream ({_sides(upstream, downstream)})")
    if downstream_needed and downstream is None:
        raise InvalidInput(
            f"{name} needs a partitioned downstream ({_sides(upstream, downstream)})"
        )


# --------------------------------------------------------------------------- simple mappings


class IdentityPartitionMapping(PartitionMapping):
    """Each downstream key depends on the same key upstream.

    When the definitions differ, the result is the keys both have; downstream keys the
    upstream lacks are required-but-nonexistent.
    """

    kind: ClassVar[str] = "identity"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None
        keys = _keys_arg(downstream_keys, "downstream keys")
        if downstream_def == upstream_def:
            return UpstreamPartitions(_ordered(upstream_def, keys, dynamic), ())
        found = [k for k in keys if upstream_def.has_key(k, now, dynamic)]
        missing = tuple(k for k in keys if not upstream_def.has_key(k, now, dynamic))
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), missing)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        _require(self, upstream_def, downstream_def)
        assert downstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        if downstream_def == upstream_def:
            return _ordered(downstream_def, keys, dynamic)
        found = [k for k in keys if downstream_def.has_key(k, now, dynamic)]
        return _ordered(downstream_def, found, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None and downstream_def is not None
        if upstream_def.kind != downstream_def.kind:
            raise InvalidInput(
                "IdentityPartitionMapping needs partitions of the same kind, or another "
                f"partition mapping: upstream is {upstream_def.kind} "
                f"({upstream_def.describe()}), downstream is {downstream_def.kind} "
                f"({downstream_def.describe()})"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class AllPartitionMapping(PartitionMapping):
    """Every downstream key depends on every upstream key; any upstream key maps to every
    downstream key. Either side may be unpartitioned."""

    kind: ClassVar[str] = "all"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        return UpstreamPartitions(_all_keys(upstream_def, now, dynamic), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        if not _keys_arg(upstream_keys, "upstream keys"):
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        return None

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class LastPartitionMapping(PartitionMapping):
    """Every downstream key depends on the upstream's last key at `now` (respecting the
    upstream's end_offset); only that key maps downstream, to every downstream key."""

    kind: ClassVar[str] = "last"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        last = _last_key(upstream_def, now, dynamic)
        return UpstreamPartitions(() if last is None else (last,), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        last = _last_key(upstream_def, now, dynamic)
        if last is None or last not in keys:
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def, downstream_needed=False)

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class SpecificPartitionsPartitionMapping(PartitionMapping):
    """Every downstream key depends on exactly `keys` upstream; if any of them is among the
    upstream keys, every downstream key depends on it."""

    kind: ClassVar[str] = "specific_partitions"

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise InvalidInput(
                f"SpecificPartitionsPartitionMapping keys must be a list of strings, got {keys!r}"
            )
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidInput(
                    f"SpecificPartitionsPartitionMapping: partition key {key!r} must be a "
                    "non-empty string"
                )
        self._keys: tuple[str, ...] = tuple(dict.fromkeys(keys))

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        found = [k for k in self._keys if upstream_def.has_key(k, now, dynamic)]
        missing = tuple(k for k in self._keys if not upstream_def.has_key(k, now, dynamic))
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), missing)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        keys = set(_keys_arg(upstream_keys, "upstream keys"))
        if not any(k in keys for k in self._keys):
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        unknown = [k for k in self._keys if not _can_belong(upstream_def, k)]
        if unknown:
            raise InvalidInput(
                f"SpecificPartitionsPartitionMapping keys {unknown} can never be in the upstream "
                f"partitions ({_sides(upstream_def, downstream_def)})"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "keys": list(self._keys)}


def _can_belong(definition: PartitionsDefinition, key: str) -> bool:
    """Whether `key` is well formed for `definition` (present at some time, for time windows;
    any key, for dynamic partitions)."""
    if isinstance(definition, StaticPartitionsDefinition):
        return key in definition.partition_keys
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition.key_space().index_of(key) is not None
    if isinstance(definition, MultiPartitionsDefinition):
        parts = key.split("|")
        if len(parts) != 2:
            return False
        return all(
            _can_belong(definition.dimension(name), part)
            for name, part in zip(definition.dimension_names, parts, strict=True)
        )
    return True


class StaticPartitionMapping(PartitionMapping):
    """An explicit correspondence between two static definitions:
    `{upstream key: downstream key or [downstream keys]}` (many to many)."""

    kind: ClassVar[str] = "static"

    def __init__(self, mapping: Mapping[str, str | Sequence[str]]) -> None:
        if not isinstance(mapping, Mapping):
            raise InvalidInput(
                f"StaticPartitionMapping needs {{upstream key: downstream key(s)}}, got {mapping!r}"
            )
        forward: dict[str, tuple[str, ...]] = {}
        for upstream, downstream in mapping.items():
            if not isinstance(upstream, str):
                raise InvalidInput(
                    f"StaticPartitionMapping: upstream key {upstream!r} must be a str"
                )
            targets = [downstream] if isinstance(downstream, str) else downstream
            if not isinstance(targets, Sequence) or not all(isinstance(t, str) for t in targets):
                raise InvalidInput(
                    f"StaticPartitionMapping: upstream key {upstream!r} must map to a key or a "
                    f"list of keys, got {downstream!r}"
                )
            forward[upstream] = tuple(dict.fromkeys(targets))
        self._forward = forward
        inverse: dict[str, list[str]] = {}
        for upstream, targets in forward.items():
            for target in targets:
                inverse.setdefault(target, []).append(upstream)
        self._inverse = inverse

    @property
    def mapping(self) -> dict[str, tuple[str, ...]]:
        """{upstream key: downstream keys}."""
        return dict(self._forward)

    def _check(
        self,
        upstream_def: PartitionsDefinition | None,
        downstream_def: PartitionsDefinition | None,
        *,
        upstream_side: bool,
        downstream_side: bool,
    ) -> None:
        for side, definition in (("Upstream", upstream_def), ("Downstream", downstream_def)):
            if not isinstance(definition, StaticPartitionsDefinition):
                raise InvalidInput(
                    f"StaticPartitionMapping: {side.lower()} partitions must be static "
                    f"({_sides(upstream_def, downstream_def)})"
                )
        assert isinstance(upstream_def, StaticPartitionsDefinition)
        assert isinstance(downstream_def, StaticPartitionsDefinition)
        if upstream_side:
            known = set(upstream_def.partition_keys)
            extra = [k for k in self._forward if k not in known]
            if extra:
                raise InvalidInput(
                    f"StaticPartitionMapping: mapping source keys {extra} are not in the upstream "
                    f"partitions ({_sides(upstream_def, downstream_def)})"
                )
        if downstream_side:
            known = set(downstream_def.partition_keys)
            extra = [k for k in self._inverse if k not in known]
            if extra:
                raise InvalidInput(
                    f"StaticPartitionMapping: mapping target keys {extra} are not in the "
                    f"downstream partitions ({_sides(upstream_def, downstream_def)})"
                )

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        self._check(upstream_def, downstream_def, upstream_side=True, downstream_side=False)
        assert upstream_def is not None
        keys = _keys_arg(downstream_keys, "downstream keys")
        found = [up for key in keys for up in self._inverse.get(key, ())]
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        self._check(upstream_def, downstream_def, upstream_side=False, downstream_side=True)
        assert downstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        found = [down for key in keys for down in self._forward.get(key, ())]
        return _ordered(downstream_def, found, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        self._check(upstream_def, downstream_def, upstream_side=True, downstream_side=True)

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "mapping": {k: list(v) for k, v in self._forward.items()}}


# --------------------------------------------------------------------------- time windows


@functools.lru_cache(maxsize=256)
def _cron(expression: str) -> CronSchedule:
    return CronSchedule.parse(expression)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _shift(cron: CronSchedule, tz: str, moment: datetime, steps: int) -> datetime:
    """`moment` (a tick) moved `steps` ticks later (or earlier, if negative)."""
    if steps == 0:
        return moment
    if steps > 0:
        ticks = cron.ticks_from(moment + _SECOND, tz)
    else:
        ticks = cron.ticks_until(moment - _SECOND, tz)
    result = moment
    for tick in itertools.islice(ticks, abs(steps)):
        result = tick
    return _utc(result)


def _shift_bounded(
    cron: CronSchedule,
    tz: str,
    moment: datetime,
    steps: int,
    bounds: tuple[datetime, datetime] | None,
) -> datetime:
    """`_shift`, not past the target's range: a step back stops at its start, a step forward
    at its end (Dagster clamps offsets this way and does not report what was cut off)."""
    shifted = _shift(cron, tz, moment, steps)
    if bounds is not None:
        if steps < 0:
            shifted = max(shifted, bounds[0])
        elif steps > 0:
            shifted = min(shifted, bounds[1])
    return shifted


def _align_start(cron: CronSchedule, tz: str, moment: datetime) -> datetime:
    """The start of the target window holding `moment` (windows [start, end))."""
    tick = cron.latest_tick(moment, tz)
    return moment if tick is None else _utc(tick)


def _align_end(cron: CronSchedule, tz: str, moment: datetime) -> datetime:
    """The end of the target window holding `moment` (windows (start, end])."""
    return _utc(next(iter(cron.ticks_from(moment, tz))))


def _merge(windows: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _keys_between(
    definition: TimeWindowPartitionsDefinition, start: datetime, end: datetime
) -> list[str]:
    """Keys of the cron windows of `definition` inside [start, end), whether or not they are
    partitions of `definition` (the window may lie before its start or past its end)."""
    shadow = TimeWindowPartitionsDefinition(
        cron_schedule=definition.cron_schedule,
        start=start,
        fmt=definition.fmt,
        timezone=definition.timezone,
        exclusions=definition.exclusions,
    )
    return shadow.keys(end)


def _check_time_windows(
    upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
) -> tuple[TimeWindowPartitionsDefinition, TimeWindowPartitionsDefinition]:
    for side, definition in (("upstream", upstream_def), ("downstream", downstream_def)):
        if not isinstance(definition, TimeWindowPartitionsDefinition):
            raise InvalidInput(
                f"TimeWindowPartitionMapping: {side} partitions must be time windows "
                f"({_sides(upstream_def, downstream_def)})"
            )
    assert isinstance(upstream_def, TimeWindowPartitionsDefinition)
    assert isinstance(downstream_def, TimeWindowPartitionsDefinition)
    if upstream_def.timezone != downstream_def.timezone:
        raise InvalidInput(
            f"Timezones {upstream_def.timezone} and {downstream_def.timezone} don't match: "
            f"TimeWindowPartitionMapping needs both sides in one zone "
            f"({_sides(upstream_def, downstream_def)})"
        )
    return upstream_def, downstream_def


class TimeWindowPartitionMapping(PartitionMapping):
    """A downstream window depends on every upstream window overlapping it, after moving its
    start by `start_offset` and its end by `end_offset` windows of the downstream definition.

    Offsets stop at the upstream range (first window start, last window end at `now`) without
    a report; windows that still fall outside the range are required-but-nonexistent unless
    `allow_nonexistent_upstream_partitions`. Mapping downstream applies the inverted offsets.
    """

    kind: ClassVar[str] = "time_window"

    def __init__(
        self,
        start_offset: int = 0,
        end_offset: int = 0,
        allow_nonexistent_upstream_partitions: bool = False,
    ) -> None:
        for name, value in (("start_offset", start_offset), ("end_offset", end_offset)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInput(f"TimeWindowPartitionMapping {name} {value!r} must be an int")
            if abs(value) > 100_000:
                raise InvalidInput(
                    f"TimeWindowPartitionMapping {name} {value} is out of range (at most 100000)"
                )
        if not isinstance(allow_nonexistent_upstream_partitions, bool):
            raise InvalidInput(
                "TimeWindowPartitionMapping allow_nonexistent_upstream_partitions "
                f"{allow_nonexistent_upstream_partitions!r} must be a bool"
            )
        self._start_offset = start_offset
        self._end_offset = end_offset
        self._allow_nonexistent = allow_nonexistent_upstream_partitions

    @property
    def start_offset(self) -> int:
        return self._start_offset

    @property
    def end_offset(self) -> int:
        return self._end_offset

    @property
    def allow_nonexistent_upstream_partitions(self) -> bool:
        return self._allow_nonexistent

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        upstream, downstream = _check_time_windows(upstream_def, downstream_def)
        keys = _keys_arg(downstream_keys, "downstream keys")
        return self._map(
            downstream,
            keys,
            upstream,
            self._start_offset,
            self._end_offset,
            now,
            to_upstream=True,
        )

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        upstream, downstream = _check_time_windows(upstream_def, downstream_def)
        keys = _keys_arg(upstream_keys, "upstream keys")
        return self._map(
            upstream,
            keys,
            downstream,
            -self._end_offset,
            -self._start_offset,
            now,
            to_upstream=False,
        ).keys

    def _map(
        self,
        source: TimeWindowPartitionsDefinition,
        source_keys: Sequence[str],
        target: TimeWindowPartitionsDefinition,
        start_offset: int,
        end_offset: int,
        now: datetime,
        *,
        to_upstream: bool,
    ) -> UpstreamPartitions:
        """Map `source_keys` onto `target`. Mapping to the upstream, offsets move the source
        window (downstream units) before it is widened to target boundaries; mapping to the
        downstream, the target-aligned window is moved (again downstream units)."""
        if not source_keys:
            return _NOTHING
        tz = target.timezone
        source_cron = _cron(source.cron_schedule)
        target_cron = _cron(target.cron_schedule)
        first_key, last_key = target.first_key(now), target.last_key(now)
        first = last = None
        bounds: tuple[datetime, datetime] | None = None
        if first_key is not None and last_key is not None:
            first = target.time_window_for_key(first_key)
            last = target.time_window_for_key(last_key)
            bounds = (_utc(first.start), _utc(last.end))

        windows: list[tuple[datetime, datetime]] = []
        for key in source_keys:
            window = source.time_window_for_key(key)
            start, end = _utc(window.start), _utc(window.end)
            if to_upstream:
                start = _shift_bounded(source_cron, tz, start, start_offset, bounds)
                end = _shift_bounded(source_cron, tz, end, end_offset, bounds)
            start = _align_start(target_cron, tz, start)
            end = _align_end(target_cron, tz, end)
            if not to_upstream:
                start = _shift_bounded(target_cron, tz, start, start_offset, bounds)
                end = _shift_bounded(target_cron, tz, end, end_offset, bounds)
            if start < end:
                windows.append((start, end))

        kept: list[tuple[datetime, datetime]] = []
        missing: list[tuple[datetime, datetime]] = []
        for start, end in windows:
            if first is None or last is None or bounds is None:
                missing.append((start, end))
                continue
            if start <= _utc(last.start) and end >= _utc(first.end):
                kept.append((max(start, bounds[0]), min(end, bounds[1])))
            if start < bounds[0]:
                missing.append((start, min(end, bounds[0])))
            if end > bounds[1]:
                missing.append((max(start, bounds[1]), end))

        space = target.key_space()
        ranges = [target.index_range_overlapping(start, end) for start, end in kept]
        found = PartitionsSubset(target, space, ranges) & PartitionsSubset.all(target, now)
        nonexistent: list[str] = []
        if to_upstream and not self._allow_nonexistent:
            for start, end in _merge(missing):
                nonexistent.extend(_keys_between(target, start, end))
        return UpstreamPartitions(tuple(found), tuple(dict.fromkeys(nonexistent)))

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _check_time_windows(upstream_def, downstream_def)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start_offset": self._start_offset,
            "end_offset": self._end_offset,
            "allow_nonexistent_upstream_partitions": self._allow_nonexistent,
        }


# --------------------------------------------------------------------------- multi partitions


@dataclass(frozen=True)
class _Dependency:
    """One dimension (or a whole single-dimension definition, when the name is None) of the
    upstream, tied to one of the downstream by `mapping`."""

    mapping: PartitionMapping
    upstream_dimension: str | None
    downstream_dimension: str | None


def _dimension(definition: PartitionsDefinition, name: str | None) -> PartitionsDefinition:
    if name is None:
        return definition
    assert isinstance(definition, MultiPartitionsDefinition)
    return definition.dimension(name)


def _dimension_names(definition: PartitionsDefinition) -> list[str | None]:
    if isinstance(definition, MultiPartitionsDefinition):
        return list(definition.dimension_names)
    return [None]


def _map_dimensions(
    dependencies: Sequence[_Dependency],
    source: PartitionsDefinition,
    source_keys: Sequence[str],
    target: PartitionsDefinition,
    now: datetime,
    dynamic: Dynamic,
    *,
    to_upstream: bool,
) -> UpstreamPartitions:
    """Map keys dimension by dimension. Each source key gives the product of its mapped
    dimensions' keys with every key of the target dimensions no dependency names (Dagster's
    rule for dimensions left out of a MultiPartitionMapping)."""
    links: dict[str | None, tuple[str | None, PartitionMapping]] = {}
    for dep in dependencies:
        if to_upstream:
            links[dep.downstream_dimension] = (dep.upstream_dimension, dep.mapping)
        else:
            links[dep.upstream_dimension] = (dep.downstream_dimension, dep.mapping)

    def parts_of(key: str) -> dict[str | None, str]:
        if isinstance(source, MultiPartitionsDefinition):
            by_name: dict[str | None, str] = {}
            by_name.update(source.dimension_keys(key))
            return by_name
        return {None: key}

    parsed = [(key, parts_of(key)) for key in source_keys]
    mapped: dict[tuple[str | None, str], UpstreamPartitions] = {}
    for source_dim, (target_dim, mapping) in links.items():
        source_part = _dimension(source, source_dim)
        target_part = _dimension(target, target_dim)
        for value in dict.fromkeys(parts[source_dim] for _, parts in parsed):
            if to_upstream:
                result = mapping.upstream_partitions(
                    source_part, [value], target_part, now, dynamic
                )
            else:
                result = UpstreamPartitions(
                    mapping.downstream_partitions(source_part, [value], target_part, now, dynamic)
                )
            mapped[(source_dim, value)] = result

    target_dims = [target_dim for target_dim, _ in links.values()]
    free_dims = [name for name in _dimension_names(target) if name not in target_dims]
    free_keys = [_dimension(target, name).keys(now, dynamic) for name in free_dims]
    names = target_dims + free_dims

    def build(values: tuple[str, ...]) -> str:
        if isinstance(target, MultiPartitionsDefinition):
            return target.key_from({str(n): v for n, v in zip(names, values, strict=True)})
        return values[0]

    found: dict[str, None] = {}
    nonexistent: dict[str, None] = {}
    for _, parts in parsed:
        results = [mapped[(source_dim, parts[source_dim])] for source_dim in links]
        for values in itertools.product(*(r.keys for r in results), *free_keys):
            found[build(values)] = None
        if any(r.required_but_nonexistent for r in results):
            missing_sets = [set(r.required_but_nonexistent) for r in results]
            choices = [r.keys + r.required_but_nonexistent for r in results]
            for values in itertools.product(*choices, *free_keys):
                if any(v in m for v, m in zip(values, missing_sets, strict=False)):
                    nonexistent[build(values)] = None
    return UpstreamPartitions(_ordered(target, found, dynamic), tuple(nonexistent))


def _infer_single_to_multi(
    upstream_def: PartitionsDefinition,
    downstream_def: PartitionsDefinition,
    dimension_name: str | None,
) -> _Dependency | str:
    """The dependency between a multi definition and a single-dimension one, or why there is
    none: the dimension equal to the single definition, else the only time dimension when
    the single definition is a time window."""
    multis = [d for d in (upstream_def, downstream_def) if isinstance(d, MultiPartitionsDefinition)]
    if len(multis) != 1:
        return (
            "MultiToSingleDimensionPartitionMapping needs exactly one multi-partitioned side, "
            f"got {len(multis)} ({_sides(upstream_def, downstream_def)})"
        )
    multi = multis[0]
    upstream_is_multi = isinstance(upstream_def, MultiPartitionsDefinition)
    single = downstream_def if upstream_is_multi else upstream_def
    names = multi.dimension_names
    if dimension_name is not None:
        if dimension_name not in names:
            return (
                f"MultiToSingleDimensionPartitionMapping: dimension {dimension_name!r} is not in "
                f"{multi.describe()} ({_sides(upstream_def, downstream_def)})"
            )
        names = [dimension_name]

    def dependency(name: str, mapping: PartitionMapping) -> _Dependency:
        if upstream_is_multi:
            return _Dependency(mapping, name, None)
        return _Dependency(mapping, None, name)

    matching = [name for name in names if multi.dimension(name) == single]
    if len(matching) == 1:
        return dependency(matching[0], IdentityPartitionMapping())
    if len(matching) > 1:
        return (
            "MultiToSingleDimensionPartitionMapping: partition_dimension_name must be given, "
            f"dimensions {matching} all match ({_sides(upstream_def, downstream_def)})"
        )
    times = [
        name for name in names if isinstance(multi.dimension(name), TimeWindowPartitionsDefinition)
    ]
    if len(times) == 1 and isinstance(single, TimeWindowPartitionsDefinition):
        return dependency(times[0], TimeWindowPartitionMapping())
    return (
        "MultiToSingleDimensionPartitionMapping needs the single-dimension partitions to be a "
        "dimension of the multi partitions, or time windows when the multi partitions have "
        f"exactly one time dimension ({_sides(upstream_def, downstream_def)})"
    )


class MultiToSingleDimensionPartitionMapping(PartitionMapping):
    """A single-dimension key `k` corresponds to every multi key whose dimension
    `partition_dimension_name` is `k`, in both directions (upstream multi and downstream
    single, or the reverse). With no name, the dimension equal to the single definition is
    used (else the only time dimension, when the single definition is a time window)."""

    kind: ClassVar[str] = "multi_to_single_dimension"

    def __init__(self, partition_dimension_name: str | None = None) -> None:
        if partition_dimension_name is not None and (
            not isinstance(partition_dimension_name, str) or not partition_dimension_name
        ):
            raise InvalidInput(
                "MultiToSingleDimensionPartitionMapping partition_dimension_name "
                f"{partition_dimension_name!r} must be a dimension name or None"
            )
        self._dimension_name = partition_dimension_name

    @property
    def partition_dimension_name(self) -> str | None:
        return self._dimension_name

    def _dependency(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> tuple[_Dependency, PartitionsDefinition, PartitionsDefinition]:
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None and downstream_def is not None
        found = _infer_single_to_multi(upstream_def, downstream_def, self._dimension_name)
        if isinstance(found, str):
            raise InvalidInput(found)
        return found, upstream_def, downstream_def

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        keys = _keys_arg(downstream_keys, "downstream keys")
        return _map_dimensions([dep], downstream, keys, upstream, now, dynamic, to_upstream=True)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        keys = _keys_arg(upstream_keys, "upstream keys")
        return _map_dimensions(
            [dep], upstream, keys, downstream, now, dynamic, to_upstream=False
        ).keys

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        dep.mapping.validate(
            _dimension(upstream, dep.upstream_dimension),
            _dimension(downstream, dep.downstream_dimension),
        )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "partition_dimension_name": self._dimension_name}


@dataclass(frozen=True)
class DimensionPartitionMapping:
    """For `MultiPartitionMapping`: the downstream dimension an upstream dimension feeds, and
    the mapping between the two dimensions' definitions."""

    dimension_name: str
    partition_mapping: PartitionMapping

    def __post_init__(self) -> None:
        if not isinstance(self.dimension_name, str) or not self.dimension_name:
            raise InvalidInput(
                f"DimensionPartitionMapping dimension_name {self.dimension_name!r} must be a "
                "non-empty string"
            )
        if not isinstance(self.partition_mapping, PartitionMapping):
            raise InvalidInput(
                f"DimensionPartitionMapping for {self.dimension_name!r}: partition_mapping must "
                f"be a PartitionMapping, got {self.partition_mapping!r}"
            )
        if isinstance(
            self.partition_mapping, MultiPartitionMapping | MultiToSingleDimensionPartitionMapping
        ):
            raise InvalidInput(
                f"DimensionPartitionMapping for {self.dimension_name!r}: a dimension cannot use "
                f"{type(self.partition_mapping).__name__} (dimensions are single-dimensional)"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "dimension_name": self.dimension_name,
            "partition_mapping": self.partition_mapping.to_snapshot(),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> DimensionPartitionMapping:
        if not isinstance(data, Mapping):
            raise InvalidInput(f"dimension partition mapping snapshot must be an object: {data!r}")
        try:
            return cls(data["dimension_name"], mapping_from_snapshot(data["partition_mapping"]))
        except KeyError as exc:
            raise InvalidInput(
                f"dimension partition mapping snapshot is missing {exc.args[0]!r}"
            ) from None


class MultiPartitionMapping(PartitionMapping):
    """Between two multi definitions: `{upstream dimension: DimensionPartitionMapping}`. Each
    listed upstream dimension feeds one downstream dimension through its own mapping;
    dimensions left out depend on all keys of each other (e.g. color identity plus date
    start=-1,end=-1 maps downstream `red|2024-01-05` to upstream `red|2024-01-04`)."""

    kind: ClassVar[str] = "multi"

    def __init__(self, mappings: Mapping[str, DimensionPartitionMapping]) -> None:
        if not isinstance(mappings, Mapping):
            raise InvalidInput(
                "MultiPartitionMapping needs {upstream dimension: DimensionPartitionMapping}, "
                f"got {mappings!r}"
            )
        targets: dict[str, str] = {}
        for upstream_dim, dim_mapping in mappings.items():
            if not isinstance(upstream_dim, str) or not upstream_dim:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} must be a name"
                )
            if not isinstance(dim_mapping, DimensionPartitionMapping):
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} needs a "
                    f"DimensionPartitionMapping, got {dim_mapping!r}"
                )
            if dim_mapping.dimension_name in targets:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimensions "
                    f"{targets[dim_mapping.dimension_name]!r} and {upstream_dim!r} both map to "
                    f"downstream dimension {dim_mapping.dimension_name!r}"
                )
            targets[dim_mapping.dimension_name] = upstream_dim
        self._mappings: dict[str, DimensionPartitionMapping] = dict(sorted(mappings.items()))

    @property
    def mappings(self) -> dict[str, DimensionPartitionMapping]:
        return dict(self._mappings)

    def _dependencies(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> tuple[list[_Dependency], MultiPartitionsDefinition, MultiPartitionsDefinition]:
        for side, definition in (("upstream", upstream_def), ("downstream", downstream_def)):
            if not isinstance(definition, MultiPartitionsDefinition):
                raise InvalidInput(
                    f"MultiPartitionMapping: {side} partitions must be multi partitions "
                    f"({_sides(upstream_def, downstream_def)})"
                )
        assert isinstance(upstream_def, MultiPartitionsDefinition)
        assert isinstance(downstream_def, MultiPartitionsDefinition)
        for upstream_dim, dim_mapping in self._mappings.items():
            if upstream_dim not in upstream_def.dimension_names:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} is not in the "
                    f"upstream partitions ({_sides(upstream_def, downstream_def)})"
                )
            if dim_mapping.dimension_name not in downstream_def.dimension_names:
                raise InvalidInput(
                    f"MultiPartitionMapping: downstream dimension {dim_mapping.dimension_name!r} "
                    f"is not in the downstream partitions ({_sides(upstream_def, downstream_def)})"
                )
        deps = [
            _Dependency(m.partition_mapping, upstream_dim, m.dimension_name)
            for upstream_dim, m in self._mappings.items()
        ]
        return deps, upstream_def, downstream_def

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        keys = _keys_arg(downstream_keys, "downstream keys")
        return _map_dimensions(deps, downstream, keys, upstream, now, dynamic, to_upstream=True)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        keys = _keys_arg(upstream_keys, "upstream keys")
        return _map_dimensions(
            deps, upstream, keys, downstream, now, dynamic, to_upstream=False
        ).keys

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        for dep in deps:
            dep.mapping.validate(
                _dimension(upstream, dep.upstream_dimension),
                _dimension(downstream, dep.downstream_dimension),
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "mappings": {dim: m.to_snapshot() for dim, m in self._mappings.items()},
        }


# --------------------------------------------------------------------------- defaults, snapshots


def default_partition_mapping(
    upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
) -> PartitionMapping:
    """Dagster's inference when a dependency names no mapping: an unpartitioned side gives
    All; multi and single-dimension with a matching dimension give MultiToSingleDimension;
    two time-window definitions give TimeWindow; anything else gives Identity."""
    if upstream_def is None or downstream_def is None:
        return AllPartitionMapping()
    if not isinstance(_infer_single_to_multi(upstream_def, downstream_def, None), str):
        return MultiToSingleDimensionPartitionMapping()
    if isinstance(upstream_def, TimeWindowPartitionsDefinition) and isinstance(
        downstream_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()


_KINDS = (
    "identity, time_window, all, last, static, specific_partitions, "
    "multi_to_single_dimension or multi"
)


def mapping_from_snapshot(data: Mapping[str, Any]) -> PartitionMapping:
    """Rebuild a mapping from `to_snapshot()` output; InvalidInput if it is malformed."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"partition mapping snapshot must be an object, got {data!r}")
    kind = data.get("kind")
    try:
        if kind == IdentityPartitionMapping.kind:
            return IdentityPartitionMapping()
        if kind == AllPartitionMapping.kind:
            return AllPartitionMapping()
        if kind == LastPartitionMapping.kind:
            return LastPartitionMapping()
        if kind == TimeWindowPartitionMapping.kind:
            return TimeWindowPartitionMapping(
                start_offset=data.get("start_offset", 0),
                end_offset=data.get("end_offset", 0),
                allow_nonexistent_upstream_partitions=data.get(
                    "allow_nonexistent_upstream_partitions", False
                ),
            )
        if kind == StaticPartitionMapping.kind:
            return StaticPartitionMapping(data["mapping"])
        if kind == SpecificPartitionsPartitionMapping.kind:
            return SpecificPartitionsPartitionMapping(data["keys"])
        if kind == MultiToSingleDimensionPartitionMapping.kind:
            return MultiToSingleDimensionPartitionMapping(data.get("partition_dimension_name"))
        if kind == MultiPartitionMapping.kind:
            mappings = data["mappings"]
            if not isinstance(mappings, Mapping):
                raise InvalidInput(f"multi partition mapping snapshot: bad mappings {mappings!r}")
            return MultiPartitionMapping(
                {dim: DimensionPartitionMapping.from_snapshot(m) for dim, m in mappings.items()}
            )
    except KeyError as exc:
        raise InvalidInput(
            f"{kind} partition mapping snapshot is missing {exc.args[0]!r}"
        ) from None
    raise InvalidInput(f"unknown partition mapping kind {kind!r} (expected {_KINDS})")
