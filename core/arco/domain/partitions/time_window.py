"""Time-window partitions, with Dagster 1.13's rules.

- A partition is the window between two consecutive ticks of `cron_schedule` in `timezone`;
  its key is the window start formatted with `fmt` in that zone.
- The first window starts at the first tick at or after `start`; windows are numbered from it
  (window 0), and that number is the key's index in compact subsets.
- At `now`, the present windows are those that have closed (end <= now); `end_offset = n > 0`
  adds n windows past them (1 = the window in progress), `n < 0` drops n; `end` (exclusive)
  keeps only windows that end at or before it, whatever the offset (a negative offset still
  drops from there).
- Hourly-or-faster crons (hour field `*`) in a zone that falls back tick twice in the repeated
  hour: the second window's key gets the UTC offset appended (`2024-11-03-01:00-0500`), unless
  `fmt` has `%z`, in which case every key carries its offset.
- `exclusions` (cron strings, or datetimes) remove the windows that start on them.

Deliberate differences from Dagster: a key must be the exact rendering of a window start
(Dagster accepts `2024-03-10-02:30` for New York hourly partitions; we do not), and an aware
`start`/`end` datetime is converted to the zone rather than having its tzinfo replaced.

Windows are located arithmetically for the common shapes, so a key's index is O(1): evenly
spaced hourly-or-faster crons in zones whose offsets keep the spacing (UTC, New York, Berlin,
Kolkata...), and daily, weekly and monthly (day <= 28) crons at one time of day in any zone.
Other crons walk the cron once and keep the ticks they have seen.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as fixed_offset
from itertools import pairwise
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from arco.domain.cron import CronSchedule, fixed_zone_offset, validate_timezone
from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import NO_DYNAMIC, KeySpace, PartitionsDefinition, check_now
from arco.domain.partitions.key_format import render_keys

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
DEFAULT_HOURLY_FORMAT = "%Y-%m-%d-%H:%M"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOW = {"0", "1", "2", "3", "4", "5", "6", "7", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
_GRANULARITY_SAMPLE = 16
# From this many windows on, starts are taken from the cron in one bulk call.
_BULK_STARTS = 64
# Keys whose window number a definition remembers.
_INDEX_CACHE_SIZE = 65_536
# Offsets are sampled daily from the first window to this year (+1) to see whether an evenly
# spaced cron stays evenly spaced; zoneinfo repeats its last rule every year after that.
_OFFSET_SCAN_UNTIL = datetime(2041, 1, 1, tzinfo=UTC)
_PERIODIC_MAX_JUMP = 12 * 3600
# Searches for a kept window give up after this many excluded windows in a row spanning more
# than `_EXCLUDED_SPAN` seconds (a minutely definition excluding all of January still finds
# February; one that excludes every window ends). Dagster searches forever (ADR 0008 §38).
_EXCLUDED_IN_A_ROW = 10_000
_EXCLUDED_SPAN = int(timedelta(days=400).total_seconds())


def _search_exhausted(excluded: int, span: int) -> bool:
    """Whether `excluded` excluded windows in a row, spanning `span` seconds, end a search for
    a kept window."""
    return excluded > _EXCLUDED_IN_A_ROW and span > _EXCLUDED_SPAN


_GRANULAR_ENOUGH: set[tuple[str, str, str, int, int | None]] = set()


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval [start, end) of aware datetimes in the partitions' zone.

    It unpacks like Dagster's named tuple: `start, end = context.partition_time_window`."""

    start: datetime
    end: datetime

    def __iter__(self) -> Iterator[datetime]:
        return iter((self.start, self.end))

    def __len__(self) -> int:
        return 2

    def __getitem__(self, index: int) -> datetime:
        return (self.start, self.end)[index]


# --------------------------------------------------------------------------- instants


def _seconds(moment: datetime) -> tuple[int, bool]:
    """(whole epoch seconds at or before `moment`, whether a fraction remains)."""
    delta = moment - _EPOCH
    return delta.days * 86_400 + delta.seconds, delta.microseconds != 0


def _floor(moment: datetime) -> int:
    return _seconds(moment)[0]


def _ceil(moment: datetime) -> int:
    seconds, fraction = _seconds(moment)
    return seconds + 1 if fraction else seconds


def _is_second_occurrence(moment: datetime) -> bool:
    """Whether `moment` is the later of two instants with the same wall time (fall-back)."""
    if not moment.fold:
        return False
    before = moment.replace(fold=0).utcoffset()
    after = moment.utcoffset()
    return before is not None and after is not None and before > after


_FAST_DIRECTIVES = {
    "Y": r"(\d{4})",
    "m": r"(\d{2})",
    "d": r"(\d{2})",
    "H": r"(\d{2})",
    "M": r"(\d{2})",
    "S": r"(\d{2})",
    "z": r"([+-]\d{4})",
}


@functools.lru_cache(maxsize=64)
def _fast_pattern(fmt: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """A regex for formats made only of %Y %m %d %H %M %S %z %% and literals (else None)."""
    parts: list[str] = []
    fields: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char != "%":
            parts.append(re.escape(char))
            i += 1
            continue
        directive = fmt[i + 1 : i + 2]
        if directive == "%":
            parts.append("%")
        elif directive in _FAST_DIRECTIVES and directive not in fields:
            parts.append(_FAST_DIRECTIVES[directive])
            fields.append(directive)
        else:
            return None
        i += 2
    if not {"Y", "m", "d"} <= set(fields):
        return None
    return re.compile("".join(parts)), tuple(fields)


def _fast_parse(fmt: str, text: str) -> datetime | None:
    """`datetime.strptime(text, fmt)` (or with `%z` appended) for plain numeric formats; None
    when the fast path does not apply or does not match (the caller then asks strptime)."""
    compiled = _fast_pattern(fmt)
    if compiled is None:
        return None
    pattern, fields = compiled
    match = pattern.fullmatch(text)
    if match is None:
        if "%z" in fmt:
            return None
        compiled = _fast_pattern(fmt + "%z")
        if compiled is None:  # pragma: no cover - fmt compiled, so fmt + %z does too
            return None
        pattern, fields = compiled
        match = pattern.fullmatch(text)
        if match is None:
            return None
    values = dict(zip(fields, match.groups(), strict=True))
    tz = None
    if "z" in values:
        raw = values["z"]
        minutes = int(raw[1:3]) * 60 + int(raw[3:5])
        tz = fixed_offset(timedelta(minutes=-minutes if raw[0] == "-" else minutes))
    try:
        return datetime(
            int(values["Y"]),
            int(values["m"]),
            int(values["d"]),
            int(values.get("H", 0)),
            int(values.get("M", 0)),
            int(values.get("S", 0)),
            tzinfo=tz,
        )
    except ValueError:
        return None


# --------------------------------------------------------------------------- calendars


class _Calendar(ABC):
    """Window starts numbered from the first one (index 0), as epoch seconds."""

    @abstractmethod
    def start(self, index: int) -> int:
        """Start of window `index` (index >= 0)."""

    @abstractmethod
    def index_at_or_after(self, instant: int) -> int:
        """The smallest index whose start is >= `instant` (0 if `instant` <= the first)."""

    def starts(self, lo: int, hi: int) -> Sequence[int]:
        """Starts of windows `lo` to `hi - 1`."""
        return [self.start(i) for i in range(lo, hi)]

    def index_of(self, instant: int) -> int | None:
        """The index of the window starting exactly at `instant`, if any."""
        index = self.index_at_or_after(instant)
        return index if self.start(index) == instant else None


class _Uniform(_Calendar):
    """Evenly spaced starts: `anchor + index * step`."""

    def __init__(self, anchor: int, step: int) -> None:
        self._anchor = anchor
        self._step = step

    def start(self, index: int) -> int:
        return self._anchor + index * self._step

    def starts(self, lo: int, hi: int) -> Sequence[int]:
        return range(self.start(lo), self.start(hi), self._step)

    def index_at_or_after(self, instant: int) -> int:
        return max(0, -((self._anchor - instant) // self._step))


class _Periodic(_Calendar):
    """One tick per day, week or month at a fixed wall time; DST is left to the cron."""

    def __init__(
        self,
        cron: CronSchedule,
        tz: str,
        zone: ZoneInfo,
        unit: str,
        anchor: int,
        hour: int,
        minute: int,
    ) -> None:
        self._cron = cron
        self._tz = tz
        self._zone = zone
        self._unit = unit
        self._hour = hour
        self._minute = minute
        self._cache: dict[int, int] = {}
        local = datetime.fromtimestamp(anchor, zone).date()
        self._base = local
        if self._nominal_tick(local) != anchor:  # moved past midnight by a DST gap
            self._base = local - timedelta(days=1)

    def _nominal_date(self, index: int) -> date:
        if self._unit == "day":
            return self._base + timedelta(days=index)
        if self._unit == "week":
            return self._base + timedelta(days=7 * index)
        months = self._base.year * 12 + self._base.month - 1 + index
        return date(months // 12, months % 12 + 1, self._base.day)

    def _nominal_tick(self, day: date) -> int:
        # The tick for a wall time is the first tick at or after its later (fold=1) reading:
        # the instant itself, the standard-time instant of a repeated time, or the end of a gap.
        wall = datetime(day.year, day.month, day.day, self._hour, self._minute, fold=1)
        probe = _floor(wall.replace(tzinfo=self._zone))
        tick = self._cron.next_tick(datetime.fromtimestamp(probe - 1, UTC), self._tz)
        return _floor(tick)

    def starts(self, lo: int, hi: int) -> Sequence[int]:
        if hi - lo < _BULK_STARTS:
            return [self.start(i) for i in range(lo, hi)]
        # the cron's own ticks between the first and the last start, in one bulk call
        ticks = self._cron.instants_between(self.start(lo), self.start(hi - 1), self._tz)
        if len(ticks) == hi - lo:
            return ticks
        return [self.start(i) for i in range(lo, hi)]  # pragma: no cover - ticks are windows

    def start(self, index: int) -> int:
        cached = self._cache.get(index)
        if cached is None:
            if len(self._cache) > 4096:
                self._cache.clear()
            cached = self._cache[index] = self._nominal_tick(self._nominal_date(index))
        return cached

    def _estimate(self, instant: int) -> int:
        local = datetime.fromtimestamp(instant, self._zone).date()
        if self._unit == "day":
            return (local - self._base).days
        if self._unit == "week":
            return (local - self._base).days // 7
        return (local.year * 12 + local.month) - (self._base.year * 12 + self._base.month)

    def index_at_or_after(self, instant: int) -> int:
        index = max(0, self._estimate(instant) - 1)
        while index > 0 and self.start(index - 1) >= instant:
            index -= 1
        while self.start(index) < instant:
            index += 1
        return index


class _Listed(_Calendar):
    """Any cron: ticks walked once from the first window and remembered."""

    def __init__(self, cron: CronSchedule, tz: str, anchor: int) -> None:
        self._ticks: list[int] = [anchor]
        self._iterator: Iterator[datetime] = cron.ticks_from(
            datetime.fromtimestamp(anchor + 1, UTC), tz
        )

    def _extend_to_index(self, index: int) -> None:
        while len(self._ticks) <= index:
            self._ticks.append(_floor(next(self._iterator)))

    def start(self, index: int) -> int:
        self._extend_to_index(index)
        return self._ticks[index]

    def index_at_or_after(self, instant: int) -> int:
        while self._ticks[-1] < instant:
            self._ticks.append(_floor(next(self._iterator)))
        return bisect_left(self._ticks, instant)


@functools.lru_cache(maxsize=256)
def _zone_profile(tz: str, year: int) -> tuple[frozenset[int], int]:
    """(every UTC offset in seconds, largest change between two days) of `tz` from the start of
    `year` on. Sampled daily up to 2041 plus a year: zoneinfo repeats its last rule every year
    after its table, so later years hold nothing new."""
    zone = validate_timezone(tz)
    fixed = fixed_zone_offset(zone)
    if fixed is not None:
        return frozenset({fixed}), 0
    first = _floor(datetime(year, 1, 1, tzinfo=UTC))
    last = max(first, _floor(_OFFSET_SCAN_UNTIL)) + 400 * 86_400
    offsets: set[int] = set()
    jump = 0
    previous: int | None = None
    for instant in range(first, last, 86_400):
        delta = datetime.fromtimestamp(instant, zone).utcoffset()
        assert delta is not None
        offset = delta.days * 86_400 + delta.seconds
        offsets.add(offset)
        if previous is not None:
            jump = max(jump, abs(offset - previous))
        previous = offset
    return frozenset(offsets), jump


def _minute_spacing(cron: CronSchedule) -> int | None:
    """Minutes between ticks of an evenly spaced hourly-or-faster cron, else None."""
    if len(cron.expressions) != 1 or not cron.is_hourly_or_faster:
        return None
    if cron.expressions[0].split(" ")[2:] != ["*", "*", "*"]:
        return None
    hour = datetime(2000, 1, 1, tzinfo=UTC)
    ticks = cron.ticks_between(hour - timedelta(seconds=1), hour + timedelta(minutes=59), "UTC")
    minutes = [t.minute for t in ticks]
    if not minutes or 60 % len(minutes):
        return None
    step = 60 // len(minutes)
    if any(m % step != minutes[0] % step for m in minutes):
        return None
    return step


def _calendar(cron: CronSchedule, tz: str, zone: ZoneInfo, anchor: int) -> _Calendar:
    offsets, jump = _zone_profile(tz, datetime.fromtimestamp(anchor, UTC).year)
    step = _minute_spacing(cron)
    if step is not None:
        # Ticks are the instants whose wall clock shows a matching minute: evenly spaced as
        # long as every offset of the zone is the same modulo the spacing.
        if len({offset % (step * 60) for offset in offsets}) == 1:
            return _Uniform(anchor, step * 60)
        return _Listed(cron, tz, anchor)
    # One tick per day, week or month holds while no offset change approaches a day (Samoa
    # skipped 2011-12-30 entirely).
    if len(cron.expressions) == 1 and jump < _PERIODIC_MAX_JUMP:
        minute, hour, dom, month, dow = cron.expressions[0].split(" ")
        if minute.isdigit() and hour.isdigit():
            unit = None
            if (dom, month, dow) == ("*", "*", "*"):
                unit = "day"
            elif (dom, month) == ("*", "*") and dow in _DOW:
                unit = "week"
            elif (month, dow) == ("*", "*") and dom.isdigit() and 1 <= int(dom) <= 28:
                unit = "month"
            if unit is not None:
                return _Periodic(cron, tz, zone, unit, anchor, int(hour), int(minute))
    return _Listed(cron, tz, anchor)


# --------------------------------------------------------------------------- the definition


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that are the windows between consecutive ticks of a cron schedule."""

    kind: ClassVar[str] = "time_window"

    def __init__(
        self,
        cron_schedule: str,
        start: datetime | str,
        fmt: str,
        timezone: str = "UTC",
        end: datetime | str | None = None,
        end_offset: int = 0,
        exclusions: Sequence[str | datetime] = (),
    ) -> None:
        zone = validate_timezone(timezone)
        if not isinstance(cron_schedule, str):
            raise InvalidInput(
                f"time-window partitions: cron_schedule must be one cron string, got "
                f"{cron_schedule!r}"
            )
        cron = CronSchedule.parse(cron_schedule)
        if not isinstance(fmt, str) or "%" not in fmt:
            raise InvalidInput(
                f"time-window partitions: fmt {fmt!r} must be a strftime format such as "
                f"{DEFAULT_DATE_FORMAT!r}"
            )
        if isinstance(end_offset, bool) or not isinstance(end_offset, int):
            raise InvalidInput(f"time-window partitions: end_offset {end_offset!r} must be an int")
        self._tz = timezone
        self._zone = zone
        self._cron = cron
        self._fmt = fmt
        self._end_offset = end_offset
        self._hourly = cron.is_hourly_or_faster
        self._start = self._moment(start, "start")
        self._end = None if end is None else self._moment(end, "end")
        if self._end is not None and self._end <= self._start:
            raise InvalidInput(
                f"time-window partitions: end {self._end.isoformat()} must be after start "
                f"{self._start.isoformat()}"
            )
        self._exclude_crons, self._exclude_at = self._parse_exclusions(exclusions)
        try:
            anchor = next(cron.ticks_from(self._start, timezone))
        except StopIteration:  # pragma: no cover - crons always tick again before year 9999
            raise InvalidInput(f"cron {cron_schedule!r} never ticks after {self._start}") from None
        self._calendar = _calendar(cron, timezone, zone, _floor(anchor))
        self._end_ts = None if self._end is None else _floor(self._end)
        self._excluded_cache: dict[int, tuple[int, ...]] = {}
        self._index_cache: dict[str, int | None] = {}
        self._space = _TimeWindowKeySpace(self)
        self._check_granularity()

    # -- construction helpers -----------------------------------------------------------------

    def _moment(self, value: datetime | str, what: str) -> datetime:
        if isinstance(value, str):
            parsed = self._parse(value)
            if parsed is None:
                raise InvalidInput(
                    f"time-window partitions: {what} {value!r} does not match fmt {self._fmt!r}"
                )
            return parsed
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=self._zone)
            return value.astimezone(self._zone)
        raise InvalidInput(
            f"time-window partitions: {what} must be a datetime or a string in fmt "
            f"{self._fmt!r}, got {value!r}"
        )

    def _parse_exclusions(
        self, exclusions: Sequence[str | datetime]
    ) -> tuple[tuple[CronSchedule, ...], frozenset[int]]:
        if isinstance(exclusions, str) or not isinstance(exclusions, Sequence):
            raise InvalidInput(
                f"time-window partitions: exclusions must be a list of cron strings or "
                f"datetimes, got {exclusions!r}"
            )
        crons: dict[str, CronSchedule] = {}
        at: set[int] = set()
        for item in exclusions:
            if isinstance(item, str):
                try:
                    parsed = CronSchedule.parse(item)
                except InvalidInput as exc:
                    raise InvalidInput(f"time-window partitions: exclusion {exc}") from exc
                crons[parsed.expressions[0]] = parsed
            elif isinstance(item, datetime):
                moment = self._moment(item, "exclusion")
                seconds, fraction = _seconds(moment)
                if not fraction:
                    at.add(seconds)
            else:
                raise InvalidInput(
                    f"time-window partitions: exclusion {item!r} must be a cron string or a "
                    "datetime"
                )
        return tuple(crons[k] for k in sorted(crons)), frozenset(at)

    def _check_granularity(self) -> None:
        """Reject a fmt under which two of the first windows share a key or a key does not
        lead back to its window. The verdict depends only on the fields below, so passing
        combinations are remembered (definitions are rebuilt from snapshots often)."""
        verdict_key = (
            self.cron_schedule,
            self._tz,
            self._fmt,
            self._calendar.start(0),
            self._end_ts,
        )
        if verdict_key in _GRANULAR_ENOUGH:
            return
        self._sample_granularity()
        if len(_GRANULAR_ENOUGH) > 4096:
            _GRANULAR_ENOUGH.clear()
        _GRANULAR_ENOUGH.add(verdict_key)

    def _sample_granularity(self) -> None:
        seen: dict[str, int] = {}
        for index in range(_GRANULARITY_SAMPLE):
            if not self._within_end(index):
                break
            key = self._format(index)
            if key in seen:
                raise InvalidInput(
                    f"time-window partitions: fmt {self._fmt!r} is not granular enough for cron "
                    f"{self.cron_schedule!r}: windows starting {self._dt(seen[key]).isoformat()} "
                    f"and {self._dt(index).isoformat()} both have key {key!r}"
                )
            seen[key] = index
            if self._locate(key) != index:
                raise InvalidInput(
                    f"time-window partitions: fmt {self._fmt!r} is not granular enough for cron "
                    f"{self.cron_schedule!r}: key {key!r} does not identify the window starting "
                    f"{self._dt(index).isoformat()}"
                )

    # -- keys and instants --------------------------------------------------------------------

    def _dt(self, index: int) -> datetime:
        return datetime.fromtimestamp(self._calendar.start(index), self._zone)

    def _render(self, moment: datetime) -> str:
        if "%z" not in self._fmt and self._hourly and _is_second_occurrence(moment):
            return moment.strftime(self._fmt + "%z")
        return moment.strftime(self._fmt)

    def _format(self, index: int) -> str:
        return self._key_at(self._calendar.start(index))

    def _format_range(self, lo: int, hi: int) -> list[str]:
        """Keys of windows `lo` to `hi - 1` (the bulk path of `_format`)."""
        return render_keys(self._calendar.starts(lo, hi), self._zone, self._fmt, self._key_at)

    def _key_at(self, instant: int) -> str:
        if not self._hourly:
            # a window a gap moved past midnight keeps the day its cron named (ADR 0008 §36)
            named = self._cron.named_wall(instant, self._tz)
            if named is not None:
                return self._render(named)
        return self._render(datetime.fromtimestamp(instant, self._zone))

    def _parse(self, text: str) -> datetime | None:
        """Read a string written with `fmt` (or `fmt` + `%z`) as a moment in the zone."""
        fast = _fast_parse(self._fmt, text)
        if fast is not None:
            return fast.astimezone(self._zone) if fast.tzinfo else fast.replace(tzinfo=self._zone)
        try:
            parsed = datetime.strptime(text, self._fmt)
        except ValueError:
            if "%z" in self._fmt:
                return None
            try:
                parsed = datetime.strptime(text, self._fmt + "%z")
            except ValueError:
                return None
        if parsed.tzinfo is not None:
            return parsed.astimezone(self._zone)
        return parsed.replace(tzinfo=self._zone)

    def _locate(self, key: str) -> int | None:
        """The number of the window whose key is `key` (ignoring bounds and exclusions)."""
        if not isinstance(key, str):
            return None
        parsed = self._parse(key)
        if parsed is None:
            return None
        index = self._calendar.index_at_or_after(_ceil(parsed))
        if self._format(index) == key:
            return index
        if not self._hourly and self._format(index + 1) == key:
            # the window at `parsed` is the previous day's, moved there by a gap (`_key_at`)
            return index + 1
        later = parsed.replace(fold=1)
        if not parsed.fold and later.utcoffset() != parsed.utcoffset():
            # a repeated wall time: non-hourly crons fire at its later instant
            index = self._calendar.index_at_or_after(_ceil(later))
            if self._format(index) == key:
                return index
        return None

    def _within_end(self, index: int) -> bool:
        """Whether window `index` ends at or before `end` (always, without an end)."""
        return self._end_ts is None or self._calendar.start(index + 1) <= self._end_ts

    def _cap(self) -> int:
        """How many windows end at or before `end` (only called when `end` is set)."""
        assert self._end_ts is not None
        return max(0, self._calendar.index_at_or_after(self._end_ts + 1) - 1)

    def _is_excluded(self, index: int) -> bool:
        if not self._exclude_crons and not self._exclude_at:
            return False
        return self._excludes(self._calendar.start(index))

    def _excludes(self, instant: int) -> bool:
        """Whether the window starting at `instant` (before the first window too) is excluded."""
        if instant in self._exclude_at:
            return True
        moment = datetime.fromtimestamp(instant, self._zone)
        return any(cron.latest_tick(moment, self._tz) == moment for cron in self._exclude_crons)

    def _index(self, key: str) -> int | None:
        """The window number of `key` if it names a window within bounds, not excluded.
        Remembered per key: 10,000 run requests name the same few keys again and again."""
        if not isinstance(key, str):
            return None
        if key in self._index_cache:
            return self._index_cache[key]
        index = self._locate(key)
        if index is not None and (not self._within_end(index) or self._is_excluded(index)):
            index = None
        if len(self._index_cache) >= _INDEX_CACHE_SIZE:
            self._index_cache.clear()
        self._index_cache[key] = index
        return index

    def _count(self, now: datetime) -> int:
        """How many windows (counting excluded ones) are present at `now`.

        As Dagster: the last window is the last one ended by `now` moved by `end_offset`
        windows (kept windows only, when some are excluded, from the last kept one ended), and
        then no later than the last window ending by `end_date`."""
        moment = _floor(check_now(now))
        if moment < self._calendar.start(0):
            count = self._count_before_start(moment, _ceil(now))
        else:
            # The first window starting after `now`; the one before it is in progress.
            last = self._calendar.index_at_or_after(moment + 1) - 2
            if not self._exclude_crons and not self._exclude_at:
                last += self._end_offset
            elif self._end_offset > 0:
                for _ in range(self._end_offset):
                    kept = self._next_kept(last + 1)
                    if kept is None:  # excluded from here on: no later partition to reach
                        break
                    last = kept
            elif self._end_offset < 0:
                # back from the last kept window ended by `now`, over kept windows
                last = self._prev_kept(last)
                for _ in range(-self._end_offset):
                    last = self._prev_kept(last - 1)
            count = max(0, last + 1)
        if count and not self._within_end(count - 1):
            count = self._cap()
        return count

    def _count_before_start(self, moment: int, ceiling: int) -> int:
        """Before the first window starts, only a positive `end_offset` reaches it. As Dagster,
        counting kept windows only (excluded ones are skipped, before the first window too):
        there are partitions once the `end_offset`-th kept window after the next one to start
        begins after the first kept window ends; the last is then the `end_offset`-th kept
        window from the one in progress at `now`, and at least the first. (`moment` is `now`
        rounded down to the second, `ceiling` rounded up: a window starting half a second
        before `now` has started.)"""
        offset = self._end_offset
        if offset <= 0:
            return 0
        first = self._next_kept(0)
        ahead = self._kept_starts(ceiling, offset + 1)
        if first is None or ahead is None or ahead[offset] < self._calendar.start(first + 1):
            return 0
        # The kept windows from the one in progress: that window (if kept), then `ahead`'s (no
        # tick falls between them: a tick after it and before `ceiling` would be in progress).
        # (`latest_tick` finds no tick before 1970: a window in progress then is not counted.)
        in_progress = self._cron.latest_tick(datetime.fromtimestamp(moment, UTC), self._tz)
        lead = []
        if in_progress is not None:
            since = _floor(in_progress)
            if since < ahead[0] and not self._excludes(since):
                lead.append(since)
        last = [*lead, *ahead][offset - 1]
        if last < self._calendar.start(first):
            return first + 1
        return self._calendar.index_at_or_after(last) + 1

    def _kept_starts(self, instant: int, count: int) -> list[int] | None:
        """The starts of the first `count` windows starting at or after `instant` that are not
        excluded (None past `_EXCLUDED_IN_A_ROW` excluded windows in a row)."""
        starts: list[int] = []
        excluded = 0
        for tick in self._cron.ticks_from(datetime.fromtimestamp(instant, UTC), self._tz):
            start = _floor(tick)
            if self._excludes(start):
                excluded += 1
                if _search_exhausted(excluded, start - instant):
                    return None
                continue
            starts.append(start)
            excluded, instant = 0, start
            if len(starts) == count:
                return starts
        return None

    def _next_kept(self, index: int) -> int | None:
        """The first window at or after `index` that is not excluded (None past
        `_EXCLUDED_IN_A_ROW` excluded windows in a row: an exclusion such as the cron itself
        excludes every window, and the search must end)."""
        candidate = index
        while self._is_excluded(candidate):
            candidate += 1
            if self._excluded_run_exhausted(index, candidate):
                return None
        return candidate

    def _excluded_run_exhausted(self, lo: int, hi: int) -> bool:
        """`_search_exhausted` for excluded windows `lo` to `hi` (their starts are only computed
        once the count is past the limit)."""
        return hi - lo > _EXCLUDED_IN_A_ROW and _search_exhausted(
            hi - lo, self._calendar.start(hi) - self._calendar.start(lo)
        )

    def _prev_kept(self, index: int) -> int:
        """The last window at or before `index` that is not excluded (-1 if none: the search
        also gives up as `_next_kept` does)."""
        candidate = index
        while candidate >= 0 and self._is_excluded(candidate):
            candidate -= 1
            if candidate >= 0 and self._excluded_run_exhausted(candidate, index):
                return -1
        return candidate

    def _excluded_below(self, count: int) -> tuple[int, ...]:
        """Sorted indices < `count` of excluded windows."""
        if (not self._exclude_crons and not self._exclude_at) or count <= 0:
            return ()
        cached = self._excluded_cache.get(count)
        if cached is not None:
            return cached
        limit = self._calendar.start(count)
        found: set[int] = set()
        instants = {i for i in self._exclude_at if self._calendar.start(0) <= i < limit}
        # from an instant (not wall-clock arithmetic: the first window may start at a gap's end)
        first = datetime.fromtimestamp(self._calendar.start(0) - 1, UTC)
        last = datetime.fromtimestamp(limit - 1, self._zone)
        for cron in self._exclude_crons:
            instants.update(_floor(t) for t in cron.ticks_between(first, last, self._tz))
        for instant in instants:
            index = self._calendar.index_of(instant)
            if index is not None and index < count:
                found.add(index)
        result = tuple(sorted(found))
        if len(self._excluded_cache) > 64:
            self._excluded_cache.clear()
        self._excluded_cache[count] = result
        return result

    def _present_ranges(self, now: datetime) -> list[tuple[int, int]]:
        count = self._count(now)
        ranges: list[tuple[int, int]] = []
        lo = 0
        for index in self._excluded_below(count):
            if index > lo:
                ranges.append((lo, index))
            lo = index + 1
        if lo < count:
            ranges.append((lo, count))
        return ranges

    # -- the contract -------------------------------------------------------------------------

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return [key for lo, hi in self._present_ranges(now) for key in self._format_range(lo, hi)]

    def has_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> bool:
        index = self._index(key)
        return index is not None and index < self._count(now)

    def describe(self) -> str:
        text = (
            f"time-window partitions (cron {self.cron_schedule!r} in {self._tz}, "
            f"from {self._start.isoformat()}"
        )
        if self._end is not None:
            text += f" until {self._end.isoformat()}"
        if self._end_offset:
            text += f", end_offset {self._end_offset}"
        return text + ")"

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cron_schedule": self.cron_schedule,
            "start": self._start.isoformat(),
            "end": None if self._end is None else self._end.isoformat(),
            "timezone": self._tz,
            "fmt": self._fmt,
            "end_offset": self._end_offset,
            "exclusions": {
                "crons": [c.expressions[0] for c in self._exclude_crons],
                "datetimes": [
                    datetime.fromtimestamp(i, self._zone).isoformat()
                    for i in sorted(self._exclude_at)
                ],
            },
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> TimeWindowPartitionsDefinition:
        exclusions = data.get("exclusions") or {}
        if not isinstance(exclusions, Mapping):
            raise InvalidInput(f"time-window partitions snapshot: bad exclusions {exclusions!r}")
        items: list[str | datetime] = list(exclusions.get("crons") or [])
        items += [_iso(v, "exclusion") for v in exclusions.get("datetimes") or []]
        end = data.get("end")
        return cls(
            cron_schedule=data["cron_schedule"],
            start=_iso(data["start"], "start"),
            fmt=data["fmt"],
            timezone=data.get("timezone", "UTC"),
            end=None if end is None else _iso(end, "end"),
            end_offset=data.get("end_offset", 0),
            exclusions=items,
        )

    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        return self._space

    # -- time-window API ----------------------------------------------------------------------

    @property
    def cron_schedule(self) -> str:
        return self._cron.expressions[0]

    @property
    def timezone(self) -> str:
        return self._tz

    @property
    def fmt(self) -> str:
        return self._fmt

    @property
    def start(self) -> datetime:
        return self._start

    @property
    def end(self) -> datetime | None:
        return self._end

    @property
    def end_offset(self) -> int:
        return self._end_offset

    @property
    def is_hourly_or_faster(self) -> bool:
        return self._hourly

    @property
    def exclusions(self) -> tuple[str | datetime, ...]:
        crons: list[str | datetime] = [c.expressions[0] for c in self._exclude_crons]
        return tuple(
            crons + [datetime.fromtimestamp(i, self._zone) for i in sorted(self._exclude_at)]
        )

    def key_count(self, now: datetime) -> int:
        """How many keys are present at `now` (arithmetic, without listing them)."""
        return sum(hi - lo for lo, hi in self._present_ranges(now))

    def window_at(self, index: int) -> TimeWindow:
        """The window numbered `index` (0 = the first window; no bounds check above)."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput(f"time-window partitions: window index {index!r} must be >= 0")
        return TimeWindow(self._dt(index), self._dt(index + 1))

    def time_window_for_key(self, key: str) -> TimeWindow:
        """The window of `key` (InvalidInput unless it is one of this definition's windows)."""
        return self.window_at(self.key_index(key))

    def key_index(self, key: str) -> int:
        """The window number of `key`: 0 for the first window."""
        index = self._index(key)
        if index is None:
            raise InvalidInput(f"partition key {key!r} is not in {self.describe()}")
        return index

    def key_at(self, index: int) -> str:
        """The key of window number `index`."""
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise InvalidInput(f"time-window partitions: window index {index!r} must be >= 0")
        if not self._within_end(index):
            raise InvalidInput(
                f"time-window partitions: window {index} is past the end "
                f"({self._end.isoformat() if self._end else ''})"
            )
        return self._format(index)

    def key_for_timestamp(self, ts: datetime, end_closed: bool = False) -> str | None:
        """The key of the window holding `ts` (None if that window is not a partition).

        With `end_closed`, windows are (start, end]: a `ts` exactly on a boundary belongs to the
        window that ends there.
        """
        check_now(ts)
        if end_closed:
            index = self._calendar.index_at_or_after(_ceil(ts)) - 1
        else:
            index = self._calendar.index_at_or_after(_floor(ts) + 1) - 1
        if index < 0 or not self._within_end(index):
            return None
        return None if self._is_excluded(index) else self._format(index)

    def index_range_overlapping(self, start: datetime, end: datetime) -> tuple[int, int]:
        """Half-open range of window numbers whose windows overlap [start, end)."""
        check_now(start)
        check_now(end)
        lo = max(0, self._calendar.index_at_or_after(_floor(start) + 1) - 1)
        hi = self._calendar.index_at_or_after(_ceil(end))
        if hi > lo and not self._within_end(hi - 1):
            hi = self._cap()
        return lo, max(lo, hi)

    def first_key(self, now: datetime | None = None) -> str | None:
        """The first key (None if every window is excluded or, given `now`, none exists yet)."""
        if now is not None:
            ranges = self._present_ranges(now)
            return self._format(ranges[0][0]) if ranges else None
        index = self._next_kept(0)
        if index is None or not self._within_end(index):
            return None
        return self._format(index)

    def last_key(self, now: datetime) -> str | None:
        """The last key present at `now` (None before the first window closes)."""
        ranges = self._present_ranges(now)
        return self._format(ranges[-1][1] - 1) if ranges else None

    def windows(self, now: datetime) -> list[TimeWindow]:
        """The windows of every key present at `now`, in order."""
        out: list[TimeWindow] = []
        for lo, hi in self._present_ranges(now):
            moments = [self._dt(i) for i in range(lo, hi + 1)]
            out.extend(TimeWindow(a, b) for a, b in pairwise(moments))
        return out

    def keys_in_range(self, start_key: str, end_key: str, now: datetime) -> list[str]:
        """Present keys from `start_key` to `end_key` inclusive (InvalidInput if reversed)."""
        indices = []
        for key in (start_key, end_key):
            index = self._index(key)
            if index is None or index >= self._count(now):
                raise InvalidInput(f"partition key {key!r} is not in {self.describe()}")
            indices.append(index)
        lo, hi = indices
        if lo > hi:
            raise InvalidInput(
                f"partition range {start_key!r}..{end_key!r} is reversed: {start_key!r} comes "
                f"after {end_key!r}"
            )
        out: list[str] = []
        for a, b in self._present_ranges(now):
            out.extend(self._format_range(max(a, lo), min(b, hi + 1)))
        return out


def _iso(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"time-window partitions snapshot: {what} {value!r} must be ISO 8601")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(
            f"time-window partitions snapshot: {what} {value!r} is not ISO 8601"
        ) from exc


class _TimeWindowKeySpace(KeySpace):
    def __init__(self, definition: TimeWindowPartitionsDefinition) -> None:
        self._definition = definition

    def index_of(self, key: str) -> int | None:
        return self._definition._index(key)

    def key_at(self, index: int) -> str:
        return self._definition.key_at(index)

    def keys_between(self, lo: int, hi: int) -> list[str]:
        if lo >= hi:
            return []
        self._definition.key_at(lo)  # bounds checks
        self._definition.key_at(hi - 1)
        return self._definition._format_range(lo, hi)

    def all_ranges(self, now: datetime) -> list[tuple[int, int]]:
        return self._definition._present_ranges(now)

    @property
    def identity(self) -> Any:
        return ("time_window", self._definition)


# --------------------------------------------------------------------------- Dagster's classes


def _offset(value: int, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} {value!r} must be an integer from {low} to {high}")
    return value


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """Hourly windows at `minute_offset` past the hour; keys `%Y-%m-%d-%H:%M`."""

    def __init__(
        self,
        start_date: datetime | str,
        minute_offset: int = 0,
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
        end_date: datetime | str | None = None,
        exclusions: Sequence[str | datetime] = (),
    ) -> None:
        minute = _offset(minute_offset, "minute_offset", 0, 59)
        super().__init__(
            cron_schedule=f"{minute} * * * *",
            start=start_date,
            fmt=fmt or DEFAULT_HOURLY_FORMAT,
            timezone=timezone,
            end=end_date,
            end_offset=end_offset,
            exclusions=exclusions,
        )


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """Daily windows at `hour_offset:minute_offset`; keys `%Y-%m-%d`."""

    def __init__(
        self,
        start_date: datetime | str,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
        end_date: datetime | str | None = None,
        exclusions: Sequence[str | datetime] = (),
    ) -> None:
        minute = _offset(minute_offset, "minute_offset", 0, 59)
        hour = _offset(hour_offset, "hour_offset", 0, 23)
        super().__init__(
            cron_schedule=f"{minute} {hour} * * *",
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            timezone=timezone,
            end=end_date,
            end_offset=end_offset,
            exclusions=exclusions,
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """Weekly windows starting on `day_offset` (0 = Sunday); keys `%Y-%m-%d`."""

    def __init__(
        self,
        start_date: datetime | str,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
        end_date: datetime | str | None = None,
        exclusions: Sequence[str | datetime] = (),
    ) -> None:
        minute = _offset(minute_offset, "minute_offset", 0, 59)
        hour = _offset(hour_offset, "hour_offset", 0, 23)
        day = _offset(day_offset, "day_offset", 0, 6)
        super().__init__(
            cron_schedule=f"{minute} {hour} * * {day}",
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            timezone=timezone,
            end=end_date,
            end_offset=end_offset,
            exclusions=exclusions,
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """Monthly windows starting on day `day_offset` of the month (0 means 1); keys `%Y-%m-%d`."""

    def __init__(
        self,
        start_date: datetime | str,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str = "UTC",
        fmt: str | None = None,
        end_offset: int = 0,
        end_date: datetime | str | None = None,
        exclusions: Sequence[str | datetime] = (),
    ) -> None:
        minute = _offset(minute_offset, "minute_offset", 0, 59)
        hour = _offset(hour_offset, "hour_offset", 0, 23)
        day = _offset(day_offset, "day_offset", 0, 31) or 1
        super().__init__(
            cron_schedule=f"{minute} {hour} {day} * *",
            start=start_date,
            fmt=fmt or DEFAULT_DATE_FORMAT,
            timezone=timezone,
            end=end_date,
            end_offset=end_offset,
            exclusions=exclusions,
        )
