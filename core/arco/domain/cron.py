"""Cron schedules: parsing, validation and tick iteration with Dagster 1.13's DST rules.

Syntax: five fields (minute hour day-of-month month day-of-week) made of `*`, numbers, ranges
`a-b` (a reversed range wraps around: `FRI-MON`), steps `*/n`, `a-b/n`, `a/n`, lists `a,b`,
month names JAN..DEC, weekday names SUN..SAT (0 and 7 are Sunday), `L` (last day of the month) in
day-of-month, and the aliases `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`,
`@hourly`. When both day-of-month and day-of-week are restricted a day matches if either does
(croniter's rule, including its treatment of a full enumeration such as `1-31` next to `*`).

Ticks are local wall-clock times matching the fields, placed on the timeline of the zone:

- an expression whose hour field is `*` ("hourly or faster") fires at every instant whose wall
  clock matches: a time that does not exist (spring-forward gap) is skipped, a time that occurs
  twice (fall-back) fires twice;
- any other expression fires once per matching wall time: a time in a gap fires at the first
  instant after the gap, a repeated time fires at its later (standard time, fold=1) instant;
  several wall times landing on the same instant give one tick. This is Dagster's documented
  rule, applied in every hour; Dagster's code applies it only in hours 1-3 (ADR 0008 §36).

The timeline is cut into segments of constant UTC offset (found once per zone and year by
sampling the zone every six hours and bisecting each change to the second), so the work per
tick is a few integer operations, a day lookup and one `datetime.fromtimestamp`.

Instants are whole epoch seconds; ascending iteration is unbounded (up to year 9999) and
descending iteration stops before 1970-01-01T00:00:00Z.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from arco.domain.errors import InvalidInput

__all__ = ["CronSchedule", "Segment", "fixed_zone_offset", "offset_segment", "validate_timezone"]

_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SAMPLE_STEP = 6 * 3600
# Instants handled: [start of year 2, start of year 9999) UTC; descending stops at the epoch.
_MIN_YEAR = 2
_MAX_YEAR = 9998
_DESCENDING_FLOOR = 0
_MAX_MONTHS_SCANNED = 12 * 400
_FIRST_SPAN = 3600
_MAX_SPAN = 366 * _DAY

_ALIASES = {
    "@YEARLY": "0 0 1 1 *",
    "@ANNUALLY": "0 0 1 1 *",
    "@MONTHLY": "0 0 1 * *",
    "@WEEKLY": "0 0 * * 0",
    "@DAILY": "0 0 * * *",
    "@MIDNIGHT": "0 0 * * *",
    "@HOURLY": "0 * * * *",
}
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_FULL = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
# (lowest, highest) accepted per field; `*` and `a/n` in day-of-week run over 0-6.
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


# --------------------------------------------------------------------------- time zones


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise InvalidInput(f"unknown timezone {name!r}") from exc


def validate_timezone(name: str) -> ZoneInfo:
    """The zone named by an IANA key (`UTC`, `America/New_York`); InvalidInput otherwise."""
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidInput(f"unknown timezone {name!r}")
    return _zone(name)


def _offset(zone: ZoneInfo, instant: int) -> int:
    delta = datetime.fromtimestamp(instant, zone).utcoffset()
    assert delta is not None
    return delta.days * _DAY + delta.seconds


def _year_start(year: int) -> int:
    return (date(year, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY


_FIRST_INSTANT = _year_start(_MIN_YEAR)
_END_INSTANT = _year_start(_MAX_YEAR + 1)


def _utc_year(instant: int) -> int:
    return date.fromordinal(instant // _DAY + _EPOCH_ORDINAL).year


_ZoneYear = tuple[tuple[int, ...], tuple[int, ...], int, int]
Segment = tuple[int, int, int, int, int]


# tzdb zones defined with one offset and no rules: they never change, so their years need no
# scan (UTC above all, the zone of most partitions).
_FIXED_ZONES = re.compile(r"(Etc/)?(UTC|UCT|Universal|Zulu|GMT|GMT[+-]\d{1,2}|GMT0|Greenwich)")


@functools.lru_cache(maxsize=512)
def fixed_zone_offset(zone: ZoneInfo) -> int | None:
    """The zone's only UTC offset in seconds, for the zones tzdb defines without changes."""
    if zone.key is not None and _FIXED_ZONES.fullmatch(zone.key):
        return _offset(zone, 0)
    return None


@functools.lru_cache(maxsize=2048)
def _zone_year(zone: ZoneInfo, year: int) -> _ZoneYear:
    """(bounds, offsets, offset before, offset after) of one UTC year.

    `offsets[i]` holds on `[bounds[i], bounds[i + 1])`; the year's end is a bound too, so a
    segment never crosses a year boundary (there the offsets on both sides are equal unless a
    real transition falls exactly on it).
    """
    start, end = _year_start(year), _year_start(year + 1)
    fixed = fixed_zone_offset(zone)
    if fixed is not None:
        return (start, end), (fixed,), fixed, fixed
    bounds = [start]
    offsets = [_offset(zone, start)]
    known_t, known_o = start, offsets[0]
    while known_t < end - 1:
        t = min(known_t + _SAMPLE_STEP, end - 1)
        o = _offset(zone, t)
        if o == known_o:
            known_t = t
            continue
        lo, hi = known_t, t  # offset(lo) == known_o != offset(hi): bisect to the second
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _offset(zone, mid) == known_o:
                lo = mid
            else:
                hi = mid
        known_t, known_o = hi, _offset(zone, hi)
        bounds.append(hi)
        offsets.append(known_o)
    bounds.append(end)
    return tuple(bounds), tuple(offsets), _offset(zone, start - 1), _offset(zone, end)


def offset_segment(zone: ZoneInfo, instant: int) -> Segment | None:
    """(start, end, offset, offset before start, offset from end) of the constant-offset
    stretch of time holding `instant`, or None outside the supported years."""
    if not _FIRST_INSTANT <= instant < _END_INSTANT:
        return None  # (past year 9999 a date cannot even be built)
    year = _utc_year(instant)
    bounds, offsets, before, after = _zone_year(zone, year)
    i = bisect_right(bounds, instant) - 1
    return (
        bounds[i],
        bounds[i + 1],
        offsets[i],
        offsets[i - 1] if i else before,
        offsets[i + 1] if i + 1 < len(offsets) else after,
    )


# --------------------------------------------------------------------------- parsing


def _bad(spec: str, why: str) -> InvalidInput:
    return InvalidInput(f"invalid cron string {spec!r}: {why}")


def _value(spec: str, index: int, token: str) -> int:
    name = _FIELD_NAMES[index]
    low, high = _BOUNDS[index]
    if token.isdigit() and token.isascii():
        number = int(token)
        if not low <= number <= high:
            raise _bad(spec, f"{name} value {number} is out of range {low}-{high}")
        return number
    if index == 3 and token in _MONTH_NAMES:
        return _MONTH_NAMES.index(token) + 1
    if index == 4 and token in _DOW_NAMES:
        return _DOW_NAMES.index(token)
    if index == 3 and token.isalpha():
        raise _bad(spec, f"unknown month name {token!r}")
    if index == 4 and token.isalpha():
        raise _bad(spec, f"unknown day-of-week name {token!r}")
    raise _bad(spec, f"{token!r} is not a valid {name} value")


def _parse_field(spec: str, index: int, text: str) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it holds `L` (day-of-month only)."""
    name = _FIELD_NAMES[index]
    low, high = _BOUNDS[index]
    if index == 4:
        high = 6  # for `*` and `a/n`; explicit values may still say 7
    values: set[int] = set()
    last = False
    for item in text.split(","):
        if not item:
            raise _bad(spec, f"empty item in {name} field {text!r}")
        if item == "L":
            if index != 2:
                raise _bad(spec, f"'L' is only supported in the day-of-month field, not {name}")
            last = True
            continue
        if "#" in item or (index == 4 and "L" in item):
            raise _bad(spec, f"unsupported {name} syntax {item!r}")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (step_text.isdigit() and step_text.isascii()):
                raise _bad(spec, f"step {step_text!r} in {name} field is not a number")
            step = int(step_text)
            if step == 0:
                raise _bad(spec, f"step 0 in {name} field")
        if base == "*":
            start, stop = low, high
        elif "-" in base:
            first, _, second = base.partition("-")
            start, stop = _value(spec, index, first), _value(spec, index, second)
        else:
            start = _value(spec, index, base)
            stop = max(high, start) if slash else start
        if index == 4 and start == 7 and stop != 7:
            start = 0
        if start <= stop:
            picked = list(range(start, stop + 1, step))
        else:  # a reversed range wraps around the cycle
            picked = list(range(start, high + 1, step))
            # Dagster (its croniter) resumes the step after the wrap one value late when the
            # step jumps past the cycle's end: `28-4/3` is 28, 31 and 4 (not 3), `50-10/7` is
            # 50, 57 and 5. Ported schedules keep their ticks (docs/scheduling.md §4).
            left = high - picked[-1]
            skip = step - left if step >= left + 2 else 0
            picked += range(low + skip, stop + 1, step)
        values.update(0 if (index == 4 and v == 7) else v for v in picked)
    return frozenset(values), last


def _normalise(spec: str) -> str:
    if not isinstance(spec, str):
        raise InvalidInput(f"invalid cron string {spec!r}: expected a string")
    text = " ".join(spec.split()).upper()
    if not text:
        raise _bad(spec, "empty cron string")
    if text.startswith("@"):
        if text not in _ALIASES:
            raise _bad(spec, f"unknown alias {text.lower()!r}")
        return _ALIASES[text]
    return text


class _Cron:
    """One compiled 5-field expression: field sets, day matching and wall-clock search."""

    __slots__ = (
        "_month_cache",
        "day_kind",
        "dom",
        "dom_all",
        "dom_last",
        "dow_all",
        "dow_mask",
        "hourly",
        "months",
        "seconds_of_day",
        "text",
    )

    def __init__(self, spec: str) -> None:
        text = _normalise(spec)
        parts = text.split(" ")
        if len(parts) != 5:
            raise _bad(
                spec,
                f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}",
            )
        minutes, _ = _parse_field(spec, 0, parts[0])
        hours, _ = _parse_field(spec, 1, parts[1])
        dom, dom_last = _parse_field(spec, 2, parts[2])
        months, _ = _parse_field(spec, 3, parts[3])
        dow, _ = _parse_field(spec, 4, parts[4])
        self.text = text
        self.hourly = len(hours) == 24
        self.seconds_of_day = tuple(sorted(h * 3600 + m * 60 for h in hours for m in minutes))
        self.dom = dom
        self.dom_last = dom_last
        self.months = months
        self.dom_all = parts[2] == "*" or (len(dom) == 31 and not dom_last and "*" in parts[4])
        self.dow_all = parts[4] == "*" or (len(dow) == 7 and "*" in parts[2])
        self.dow_mask = sum(1 << d for d in dow)
        if self.dow_all and not dom_last:
            self._check_possible(spec)
        if len(months) == 12 and self.dom_all and self.dow_all:
            self.day_kind = 0  # every day
        elif len(months) == 12 and self.dom_all:
            self.day_kind = 1  # weekdays only
        else:
            self.day_kind = 2  # needs the calendar
        self._month_cache: dict[int, tuple[int, ...]] = {}

    def _check_possible(self, spec: str) -> None:
        if any(d <= _MAX_DAYS[m - 1] for m in self.months for d in self.dom):
            return
        days = sorted(self.dom)
        names = [_MONTH_FULL[m - 1] for m in sorted(self.months)]
        month_text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        if len(days) == 1:
            raise _bad(spec, f"day {days[0]} never occurs in {month_text}")
        day_text = ", ".join(str(d) for d in days)
        raise _bad(spec, f"days {day_text} never occur in {month_text}")

    # -- days (numbered from 1970-01-01 of the wall clock)

    def _month_days(self, year: int, month: int) -> tuple[int, ...]:
        key = year * 12 + month
        cached = self._month_cache.get(key)
        if cached is not None:
            return cached
        days: tuple[int, ...] = ()
        if month in self.months:
            first = date(year, month, 1).toordinal() - _EPOCH_ORDINAL
            length = _MAX_DAYS[month - 1]
            if month == 2 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
                length = 28
            picked = []
            for day in range(1, length + 1):
                dom_ok = day in self.dom or (self.dom_last and day == length)
                dow_ok = (self.dow_mask >> ((first + day + 3) % 7)) & 1 == 1
                if self.dom_all:
                    ok = dow_ok
                elif self.dow_all:
                    ok = dom_ok
                else:
                    ok = dom_ok or dow_ok
                if ok:
                    picked.append(first + day - 1)
            days = tuple(picked)
        if len(self._month_cache) > 4096:
            self._month_cache.clear()
        self._month_cache[key] = days
        return days

    def _next_day(self, day: int) -> int | None:
        """The first matching day >= `day`."""
        if self.day_kind == 0:
            return day
        if self.day_kind == 1:
            for candidate in range(day, day + 7):
                if (self.dow_mask >> ((candidate + 4) % 7)) & 1:
                    return candidate
            return None  # pragma: no cover - a weekday set is never empty
        current = date.fromordinal(day + _EPOCH_ORDINAL)
        year, month = current.year, current.month
        for _ in range(_MAX_MONTHS_SCANNED):
            days = self._month_days(year, month)
            i = bisect_left(days, day)
            if i < len(days):
                return days[i]
            month += 1
            if month > 12:
                month, year = 1, year + 1
                if year > _MAX_YEAR + 1:
                    return None
        return None

    def _prev_day(self, day: int) -> int | None:
        """The last matching day <= `day`."""
        if self.day_kind == 0:
            return day
        if self.day_kind == 1:
            for candidate in range(day, day - 7, -1):
                if (self.dow_mask >> ((candidate + 4) % 7)) & 1:
                    return candidate
            return None  # pragma: no cover
        current = date.fromordinal(day + _EPOCH_ORDINAL)
        year, month = current.year, current.month
        for _ in range(_MAX_MONTHS_SCANNED):
            days = self._month_days(year, month)
            i = bisect_right(days, day)
            if i:
                return days[i - 1]
            month -= 1
            if month < 1:
                month, year = 12, year - 1
                if year < _MIN_YEAR - 1:
                    return None
        return None

    # -- wall-clock seconds (seconds since 1970-01-01T00:00 of the wall clock)

    def next_wall(self, wall: int) -> int | None:
        """The first matching wall time >= `wall`."""
        day, second = divmod(wall, _DAY)
        seconds = self.seconds_of_day
        if self._next_day(day) == day:
            i = bisect_left(seconds, second)
            if i < len(seconds):
                return day * _DAY + seconds[i]
        following = self._next_day(day + 1)
        return None if following is None else following * _DAY + seconds[0]

    def prev_wall(self, wall: int) -> int | None:
        """The last matching wall time <= `wall`."""
        day, second = divmod(wall, _DAY)
        seconds = self.seconds_of_day
        if self._prev_day(day) == day:
            i = bisect_right(seconds, second)
            if i:
                return day * _DAY + seconds[i - 1]
        previous = self._prev_day(day - 1)
        return None if previous is None else previous * _DAY + seconds[-1]

    def walls_into(self, low: int, high: int, shift: int, out: list[int]) -> None:
        """Append `wall + shift` for every matching wall time in `[low, high)`, ascending."""
        if high <= low:
            return
        seconds = self.seconds_of_day
        first_day, last_day = low // _DAY, (high - 1) // _DAY
        if self.day_kind == 0 and len(seconds) == 1:
            # once a day, every day: an arithmetic sequence
            first, last = first_day * _DAY + seconds[0], last_day * _DAY + seconds[0]
            first += _DAY if first < low else 0
            last -= _DAY if last >= high else 0
            out += range(first + shift, last + shift + 1, _DAY)
            return
        day = self._next_day(first_day)
        while day is not None and day <= last_day:
            base = day * _DAY
            if base >= low and base + _DAY <= high:
                base += shift
                out += [base + s for s in seconds]  # a whole day: no bounds to check
            else:
                out += [base + s + shift for s in seconds if low <= base + s < high]
            day = self._next_day(day + 1)

    # -- instants

    def ticks_into(self, zone: ZoneInfo, low: int, high: int, out: list[int]) -> None:
        """Append every tick in `[low, high]` (epoch seconds), ascending: the segments of
        constant offset in turn, each a run of wall times (the bulk form of
        `first_at_or_after`, with the same rules at the segment ends)."""
        segment = offset_segment(zone, low)
        while segment is not None and segment[0] <= high:
            start, end, offset, before, after = segment
            first = max(start, low)
            if not self.hourly and before < offset and start >= low:
                # wall times skipped by a spring-forward gap fire once, when the gap ends
                wall = self.next_wall(start + before)
                if wall is not None and wall < start + offset:
                    out.append(start)
                    first = start + 1
            limit = end + (offset if self.hourly else min(offset, after))
            self.walls_into(first + offset, min(limit, high + offset + 1), -offset, out)
            segment = offset_segment(zone, end)

    def first_at_or_after(self, zone: ZoneInfo, instant: int) -> int | None:
        """The earliest tick >= `instant` (epoch seconds)."""
        segment = offset_segment(zone, instant)
        while segment is not None:
            start, end, offset, before, after = segment
            if not self.hourly and before < offset and start >= instant:
                # wall times skipped by a spring-forward gap fire when the gap ends
                wall = self.next_wall(start + before)
                if wall is not None and wall < start + offset:
                    return start
            limit = end + (offset if self.hourly else min(offset, after))
            wall = self.next_wall(max(start, instant) + offset)
            if wall is None:
                return None
            if wall < limit:
                return wall - offset
            segment = offset_segment(zone, end)
        return None

    def last_at_or_before(self, zone: ZoneInfo, instant: int) -> int | None:
        """The latest tick <= `instant` (epoch seconds)."""
        segment = offset_segment(zone, instant)
        while segment is not None:
            start, end, offset, before, after = segment
            limit = end + (offset if self.hourly else min(offset, after))
            wall = self.prev_wall(min(instant + offset, limit - 1))
            if wall is None:
                return None
            if wall >= start + offset:
                return wall - offset
            if not self.hourly and before < offset and start <= instant:
                gap_wall = self.prev_wall(start + offset - 1)
                if gap_wall is not None and gap_wall >= start + before:
                    return start
            if start <= _DESCENDING_FLOOR:
                return None
            segment = offset_segment(zone, start - 1)
        return None


@functools.lru_cache(maxsize=4096)
def _compile(spec: str) -> _Cron:
    return _Cron(spec)


# --------------------------------------------------------------------------- datetimes


def _epoch(moment: datetime, what: str) -> tuple[int, bool]:
    """(whole epoch seconds at or before `moment`, whether a fraction of a second remains)."""
    if not isinstance(moment, datetime):
        raise InvalidInput(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(
            f"{what} {moment.isoformat()} is a naive datetime; pass a timezone-aware datetime"
        )
    delta = moment - _EPOCH
    return delta.days * _DAY + delta.seconds, delta.microseconds != 0


def _ceil(moment: datetime, what: str) -> int:
    seconds, fraction = _epoch(moment, what)
    return seconds + 1 if fraction else seconds


def _floor(moment: datetime, what: str) -> int:
    return _epoch(moment, what)[0]


# --------------------------------------------------------------------------- the schedule


@dataclass(frozen=True)
class CronSchedule:
    """One cron string or the union of several. `expressions` are normalised 5-field strings
    (aliases expanded, upper case, single spaces), sorted and unique."""

    expressions: tuple[str, ...]
    _crons: tuple[_Cron, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.expressions, str) or not self.expressions:
            raise InvalidInput("a cron schedule needs at least one cron string")
        crons = {c.text: c for c in (_compile(e) for e in self.expressions)}
        object.__setattr__(self, "expressions", tuple(sorted(crons)))
        object.__setattr__(self, "_crons", tuple(crons[t] for t in self.expressions))

    @classmethod
    def parse(cls, spec: str | Sequence[str]) -> CronSchedule:
        """A schedule from one cron string or a list of them; InvalidInput names the bad one."""
        if isinstance(spec, str):
            return cls((spec,))
        if not isinstance(spec, Sequence):
            raise InvalidInput(f"a cron schedule is a string or a list of strings, not {spec!r}")
        if not spec:
            raise InvalidInput("a cron schedule needs at least one cron string")
        return cls(tuple(spec))

    @property
    def is_hourly_or_faster(self) -> bool:
        """True when every expression's hour field is `*` (all 24 hours): such expressions skip
        wall times that do not exist and fire twice in a repeated hour."""
        return all(c.hourly for c in self._crons)

    # -- single ticks

    def next_tick(self, after: datetime, tz: str = "UTC") -> datetime:
        """The first tick strictly after `after`."""
        zone = validate_timezone(tz)
        instant = _floor(after, "after") + 1
        best: int | None = None
        for cron in self._crons:
            tick = cron.first_at_or_after(zone, instant)
            if tick is not None and (best is None or tick < best):
                best = tick
        if best is None:
            raise InvalidInput(f"no tick of {list(self.expressions)} after {after.isoformat()}")
        return datetime.fromtimestamp(best, zone)

    def latest_tick(self, now: datetime, tz: str = "UTC") -> datetime | None:
        """The last tick at or before `now` (None before the first tick since 1970)."""
        zone = validate_timezone(tz)
        instant = _floor(now, "now")
        best: int | None = None
        for cron in self._crons:
            tick = cron.last_at_or_before(zone, instant)
            if tick is not None and (best is None or tick > best):
                best = tick
        if best is None or best < _DESCENDING_FLOOR:
            return None
        return datetime.fromtimestamp(best, zone)

    def named_wall(self, instant: int, tz: str = "UTC") -> datetime | None:
        """The wall time this schedule named for a tick that a spring-forward gap moved to
        `instant` (the gap's end), read with the offset before the gap as Dagster writes it
        (fold=0); None when no tick was moved there, or a wall time matches `instant` itself.
        Partition keys name it: Nuuk's `30 23 * * *` on 2024-03-30 fires at 00:00 the next
        day, and its window is still the 30th's."""
        zone = validate_timezone(tz)
        segment = offset_segment(zone, instant)
        if segment is None or segment[0] != instant or segment[3] >= segment[2]:
            return None
        start, _, offset, before, _ = segment
        named: int | None = None
        for cron in self._crons:
            if cron.next_wall(start + offset) == start + offset:
                return None
            if cron.hourly:  # hourly-or-faster crons skip a gap's wall times
                continue
            wall = cron.prev_wall(start + offset - 1)
            if wall is not None and wall >= start + before and (named is None or wall > named):
                named = wall
        if named is None:
            return None
        days, seconds = divmod(named, _DAY)
        return datetime.combine(
            date.fromordinal(days + _EPOCH_ORDINAL), time(seconds // 3600, seconds // 60 % 60)
        ).replace(tzinfo=zone)

    # -- iteration

    def instants_between(self, low: int, high: int, tz: str = "UTC") -> list[int]:
        """Ticks with `low <= tick <= high` as epoch seconds, ascending: the bulk form of
        `ticks_between` for callers that work in instants (no datetime is built)."""
        return self._instants(validate_timezone(tz), low, high)

    def _instants(self, zone: ZoneInfo, low: int, high: int) -> list[int]:
        if len(self._crons) == 1:
            out: list[int] = []
            self._crons[0].ticks_into(zone, low, high, out)
            return out
        union: set[int] = set()
        for cron in self._crons:
            part: list[int] = []
            cron.ticks_into(zone, low, high, part)
            union.update(part)
        return sorted(union)

    def ticks_from(self, start: datetime, tz: str = "UTC") -> Iterator[datetime]:
        """Ticks >= `start`, ascending, without end (until year 9999)."""
        zone = validate_timezone(tz)
        return self._ascending(zone, _ceil(start, "start"))

    def ticks_until(self, end: datetime, tz: str = "UTC") -> Iterator[datetime]:
        """Ticks <= `end`, descending, down to 1970-01-01T00:00:00Z."""
        zone = validate_timezone(tz)
        return self._descending(zone, _floor(end, "end"))

    def ticks_between(
        self, after: datetime, until: datetime, tz: str = "UTC", limit: int | None = None
    ) -> list[datetime]:
        """Ticks with `after < tick <= until`, ascending; at most the first `limit` of them."""
        zone = validate_timezone(tz)
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise InvalidInput(f"limit must be a non-negative integer, got {limit!r}")
        low = _floor(after, "after") + 1
        high = _floor(until, "until")
        if limit is None:
            return [datetime.fromtimestamp(t, zone) for t in self._instants(zone, low, high)]
        out: list[datetime] = []
        if limit == 0:
            return out
        for tick in self._ascending_instants(zone, low):
            if tick > high:
                break
            out.append(datetime.fromtimestamp(tick, zone))
            if len(out) >= limit:
                break
        return out

    def _ascending(self, zone: ZoneInfo, instant: int) -> Iterator[datetime]:
        for tick in self._ascending_instants(zone, instant):
            yield datetime.fromtimestamp(tick, zone)

    def _ascending_instants(self, zone: ZoneInfo, instant: int) -> Iterator[int]:
        # Chunks from the next tick on, growing from an hour so that taking one tick stays
        # cheap and a long walk is a few bulk calls.
        span = _FIRST_SPAN
        while True:
            heads = [c.first_at_or_after(zone, instant) for c in self._crons]
            live = [h for h in heads if h is not None]
            if not live:
                return
            first = min(live)
            yield from self._instants(zone, first, first + span)
            instant = first + span + 1
            span = min(span * 4, _MAX_SPAN)

    def _descending(self, zone: ZoneInfo, instant: int) -> Iterator[datetime]:
        crons = self._crons
        heads = [c.last_at_or_before(zone, instant) for c in crons]
        while True:
            live = [h for h in heads if h is not None and h >= _DESCENDING_FLOOR]
            if not live:
                return
            tick = max(live)
            yield datetime.fromtimestamp(tick, zone)
            heads = [
                c.last_at_or_before(zone, tick - 1) if h == tick else h
                for c, h in zip(crons, heads, strict=True)
            ]
