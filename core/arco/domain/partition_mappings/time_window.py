"""`TimeWindowPartitionMapping` and its window arithmetic: shifting windows by cron ticks,
aligning them to the other side's windows, clamping at the upstream range."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from arco.domain.cron import CronSchedule
from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings.base import (
    Dynamic,
    PartitionMapping,
    UpstreamPartitions,
    _keys_arg,
    _sides,
)
from arco.domain.partitions import (
    NO_DYNAMIC,
    PartitionsDefinition,
    PartitionsSubset,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now

_SECOND = timedelta(seconds=1)


_NOTHING = UpstreamPartitions((), ())


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
