"""Window starts rendered as partition keys in bulk, as `strftime` would.

`datetime.fromtimestamp(...).strftime(fmt)` costs about 2 µs a key; a 100-year daily
definition has 36,500 keys and an hourly one 87,600 per decade. Formats made of `%Y %m %d %H
%M %S`, `%%` and literal text, with the date directives before the time ones (every format
Dagster's partitions use), are rendered from the wall clock instead: the date part once per
day, the time part once per second of the day, a key being their concatenation. Anything
else — other directives, years before 1000, the second occurrence of a repeated wall time,
an instant outside the offset tables — goes through `datetime.strftime`, so the fast path
only ever returns what `strftime` returns (tests/unit/test_partition_key_format.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from arco.domain.cron import offset_segment

__all__ = ["render_keys"]

_DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DATE = frozenset("Ymd")
_TIME = frozenset("HMS")

_WIDTH = {"Y": "%d", "m": "%02d", "d": "%02d", "H": "%02d", "M": "%02d", "S": "%02d"}
_FIELD = {"Y": 0, "m": 1, "d": 2, "H": 0, "M": 1, "S": 2}
_ALL = (0, 1, 2)


class _Part:
    """One half of a format as a %-template and the fields it takes, in order (year, month,
    day for the date half; hour, minute, second for the time half)."""

    __slots__ = ("fields", "template")

    def __init__(self, template: str, fields: tuple[int, ...]) -> None:
        self.template = template
        self.fields = fields

    def render(self, values: tuple[int, int, int]) -> str:
        if self.fields == _ALL:
            return self.template % values
        return self.template % tuple([values[i] for i in self.fields])


@functools.lru_cache(maxsize=64)
def _split(fmt: str) -> tuple[_Part, _Part] | None:
    """(date half, time half) of a format whose date directives all precede its time
    directives and that uses no other directive; None otherwise."""
    halves: list[list[str]] = [[], []]
    fields: list[list[int]] = [[], []]
    half = 0
    i = 0
    while i < len(fmt):
        if fmt[i] != "%":
            halves[half].append(fmt[i].replace("%", "%%"))
            i += 1
            continue
        directive = fmt[i + 1 : i + 2]
        if directive == "%":
            halves[half].append("%%")
        elif directive in _DATE or directive in _TIME:
            if directive in _TIME:
                half = 1
            elif half == 1:
                return None  # a date directive after a time one
            halves[half].append(_WIDTH[directive])
            fields[half].append(_FIELD[directive])
        else:
            return None
        i += 2
    date_part, time_part = (
        _Part("".join(h), tuple(f)) for h, f in zip(halves, fields, strict=True)
    )
    return date_part, time_part


def _repeated_until(zone: ZoneInfo, start: int, offset: int, before: int) -> int:
    """The end of the wall times a segment starting at `start` repeats: those right after a
    fall-back also occurred before it. Segments are also cut at each UTC new year without an
    offset change (`before == offset`); a fall-back just before one repeats into the next
    segment (Africa/Niamey, 1911-12-31 23:00), so look at the segment before."""
    if before == offset:
        previous = offset_segment(zone, start - 1)
        if previous is not None and previous[2] == offset:
            return previous[0] + max(0, previous[3] - offset)
    return start + max(0, before - offset)


def render_keys(
    instants: Sequence[int], zone: ZoneInfo, fmt: str, slow: Callable[[int], str]
) -> list[str]:
    """Keys of ascending `instants` (epoch seconds) in `zone`. `slow(instant)` renders one key
    the reference way; it is used for anything the fast path does not cover, and for every
    instant inside a repeated (fall-back) hour, whose key may carry a suffix."""
    split = _split(fmt)
    if split is None:
        return [slow(t) for t in instants]
    date_part, time_part = split
    timed = bool(time_part.fields) or time_part.template != ""
    times: dict[int, str] = {}
    out: list[str] = []
    append = out.append
    end = repeat_end = offset = 0
    segment_start = gap_end = 1
    last_day = None
    prefix: str | None = None
    for t in instants:
        if not segment_start <= t < end:
            segment = offset_segment(zone, t)
            if segment is None:
                append(slow(t))
                continue
            segment_start, end, offset, before, _ = segment
            repeat_end = _repeated_until(zone, segment_start, offset, before)
            gap_end = segment_start if before < offset else -1
        if t < repeat_end or t == gap_end:  # a gap's end may name a wall time in the gap
            append(slow(t))
            continue
        day, second = divmod(t + offset, _DAY)
        if day != last_day:
            last_day = day
            calendar_day = date.fromordinal(day + _EPOCH_ORDINAL)
            prefix = (
                None
                if calendar_day.year < 1000
                else date_part.render((calendar_day.year, calendar_day.month, calendar_day.day))
            )
        if prefix is None:
            append(slow(t))
            continue
        if not timed:
            append(prefix)
            continue
        suffix = times.get(second)
        if suffix is None:
            hour, rest = divmod(second, 3600)
            suffix = times[second] = time_part.render((hour, rest // 60, rest % 60))
        append(prefix + suffix)
    return out
