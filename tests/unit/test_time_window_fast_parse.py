"""The fast key reader of time-window partitions answers as strptime does.

`_fast_parse` reads keys of plain numeric formats with one regex instead of `strptime` (10,000
run requests name keys again and again). It may decline (None), and then `strptime` reads the
key; whenever both answer, the answers must be the same; and a key written with a plain
numeric format is read by the fast path, not left to strptime.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.partitions.time_window import _fast_parse

_DIRECTIVES = ("%Y", "%m", "%d", "%H", "%M", "%S", "%z")
_SEPARATORS = ("%%", "-", "/", ":", " ", "T", "_", "x")


def _strptime(text: str, fmt: str) -> datetime | None:
    """What `_parse` asks strptime: `fmt`, then `fmt` + `%z` when `fmt` has none."""
    for candidate in (fmt, fmt + "%z"):
        try:
            return datetime.strptime(text, candidate)
        except (ValueError, re.error):
            if "%z" in fmt:
                return None
    return None


@st.composite
def _formats(draw: st.DrawFn) -> str:
    """Each directive at most once (%Y %m %d always), separators between some of them."""
    extra = draw(st.lists(st.sampled_from(_DIRECTIVES[3:]), unique=True, max_size=4))
    directives = draw(st.permutations(["%Y", "%m", "%d", *extra]))
    parts = []
    for directive in directives:
        parts.append(directive)
        parts.extend(draw(st.lists(st.sampled_from(_SEPARATORS), max_size=2)))
    return "".join(parts)


_MOMENTS = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31))
_OFFSETS = st.integers(-14 * 60 + 1, 14 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))


@given(_formats(), _MOMENTS, _OFFSETS, st.sampled_from(("", "+0530", "-0500", "+0000")))
def test_a_key_written_with_a_plain_format_is_read_by_the_fast_path(
    fmt: str, moment: datetime, offset: timezone, appended: str
) -> None:
    text = moment.replace(microsecond=0, tzinfo=offset).strftime(fmt)
    if "%z" not in fmt:
        text += appended
    fast, slow = _fast_parse(fmt, text), _strptime(text, fmt)
    assert slow is not None
    if re.search(r"%z%[YmdHMS]", fmt):
        return  # strptime's %z may take the next digits as seconds: its reading is not ours
    assert fast is not None, (fmt, text)
    assert (fast, fast.tzinfo) == (slow, slow.tzinfo), (fmt, text)


@given(_formats(), _MOMENTS, st.data())
def test_the_fast_path_reads_any_string_as_strptime_does_or_declines(
    fmt: str, moment: datetime, data: st.DataObject
) -> None:
    text = moment.replace(microsecond=0).strftime(fmt.replace("%z", "+0100"))
    if text:
        at = data.draw(st.integers(0, len(text) - 1))
        text = text[:at] + data.draw(st.sampled_from("0123456789x+-:")) + text[at + 1 :]
    fast, slow = _fast_parse(fmt, text), _strptime(text, fmt)
    if fast is not None and slow is not None and not re.search(r"%z%[YmdHMS]", fmt):
        assert (fast, fast.tzinfo) == (slow, slow.tzinfo), (fmt, text)
    if slow is None:
        assert fast is None or re.search(r"%z%[YmdHMS]", fmt), (fmt, text)


@pytest.mark.parametrize("offset", ["+0000", "+0530", "-0500", "+1030", "-1145", "+1400"])
@pytest.mark.parametrize("fmt", ["%Y-%m-%d%z", "%Y-%m-%d-%H:%M"])
def test_an_offset_is_read_to_the_minute(fmt: str, offset: str) -> None:
    text = f"2024-01-02{offset}" if fmt.endswith("%z") else f"2024-01-02-03:04{offset}"
    fast = _fast_parse(fmt, text)
    assert fast is not None and fast.utcoffset() == _strptime(text, fmt).utcoffset()  # type: ignore[union-attr]
