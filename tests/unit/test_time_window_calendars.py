"""Time-window calendars: the arithmetic ones give the cron's own ticks, and are used.

A definition numbers its windows with the cheapest calendar that holds: evenly spaced starts
(`_Uniform`), one tick per day, week or month at a fixed wall time (`_Periodic`), or the cron's
ticks walked and remembered (`_Listed`, always right, but it walks from the first window).
Each arithmetic calendar must give exactly the listed starts, DST and all; and it must be
chosen where it holds (a definition from 2000 would otherwise walk 24 years of ticks).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.cron import CronSchedule
from arco.domain.partitions.time_window import _calendar, _Listed, _Periodic, _Uniform

ZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # changes by 30 minutes
    "America/Santiago",  # changes at midnight
    "America/Nuuk",  # changes at 23:00 / midnight
    "America/Havana",  # changes at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "Pacific/Apia",  # skipped 2011-12-30
)
CRONS = (
    "0 * * * *",
    "*/15 * * * *",
    "30 * * * *",
    "0 0 * * *",
    "30 2 * * *",
    "30 23 * * *",
    "0 0 * * 1",
    "45 1 * * 0",
    "0 0 1 * *",
    "30 2 15 * *",
    "0 0 28 * *",
    "0 3 31 * *",
    "0,15,45 * * * *",
)


def _anchor(cron: CronSchedule, tz: str, instant: int) -> int:
    return int(cron.next_tick(datetime.fromtimestamp(instant, UTC), tz).timestamp())


@given(
    st.sampled_from(CRONS),
    st.sampled_from(ZONES),
    st.integers(int(datetime(2005, 1, 1, tzinfo=UTC).timestamp()), 2_200_000_000),
    st.lists(st.integers(0, 400 * 86_400), min_size=1, max_size=5),
)
def test_every_calendar_gives_the_crons_own_ticks(
    text: str, tz: str, instant: int, probes: list[int]
) -> None:
    cron = CronSchedule.parse(text)
    anchor = _anchor(cron, tz, instant)
    chosen, listed = _calendar(cron, tz, ZoneInfo(tz), anchor), _Listed(cron, tz, anchor)
    count = 40 if cron.is_hourly_or_faster else 400
    assert [chosen.start(i) for i in range(count)] == [listed.start(i) for i in range(count)]
    assert list(chosen.starts(0, count)) == [listed.start(i) for i in range(count)]
    assert list(chosen.starts(3, 100)) == [listed.start(i) for i in range(3, 100)]
    scale = 1 if not cron.is_hourly_or_faster else 60
    for probe in probes:
        at = anchor - 86_400 + probe // scale
        assert chosen.index_at_or_after(at) == listed.index_at_or_after(at), at
        assert chosen.index_of(at) == listed.index_of(at)


@pytest.mark.parametrize(
    ("text", "tz", "year", "kind"),
    [
        ("0 * * * *", "UTC", 2024, _Uniform),
        ("*/15 * * * *", "Asia/Kolkata", 2024, _Uniform),  # +05:30 is a whole number of steps
        ("0 * * * *", "America/New_York", 2024, _Uniform),
        ("0 * * * *", "Asia/Kolkata", 2024, _Uniform),
        ("0 * * * *", "Australia/Lord_Howe", 2024, _Listed),  # half an hour off half the year
        ("0,15,45 * * * *", "UTC", 2024, _Listed),  # unevenly spaced
        ("0 0 * * *", "UTC", 2024, _Periodic),
        ("0 0 * * *", "America/New_York", 2024, _Periodic),
        ("0 0 * * *", "Atlantic/Azores", 2024, _Periodic),  # -01:00 and +00:00
        ("30 2 * * 1", "Europe/Berlin", 2024, _Periodic),
        ("0 0 15 * *", "UTC", 2024, _Periodic),
        ("0 0 1 * *", "UTC", 2024, _Periodic),
        ("30 * * * *", "UTC", 2024, _Uniform),
        ("0 0 28 * *", "America/Santiago", 2024, _Periodic),
        ("0 0 29 * *", "UTC", 2024, _Listed),  # not every month has it
        ("0 0 * 1 *", "UTC", 2024, _Listed),  # some months only
        ("0 0 * * *", "Pacific/Apia", 2011, _Listed),  # a whole day skipped
        ("0 0 * * *", "Pacific/Apia", 2012, _Periodic),
    ],
)
def test_the_cheapest_calendar_that_holds_is_chosen(
    text: str, tz: str, year: int, kind: type
) -> None:
    cron = CronSchedule.parse(text)
    anchor = _anchor(cron, tz, int(datetime(year, 3, 1, tzinfo=UTC).timestamp()))
    assert type(_calendar(cron, tz, ZoneInfo(tz), anchor)) is kind


def test_an_offset_of_the_first_days_of_a_year_counts() -> None:
    # Monrovia left -00:44:30 for UTC on 1972-01-07: hourly windows from 1972-01-02 are not
    # evenly spaced across that change, so they are listed, tick by tick.
    cron = CronSchedule.parse("0 * * * *")
    anchor = _anchor(cron, "Africa/Monrovia", int(datetime(1972, 1, 2, tzinfo=UTC).timestamp()))
    chosen = _calendar(cron, "Africa/Monrovia", ZoneInfo("Africa/Monrovia"), anchor)
    assert type(chosen) is _Listed
    listed = _Listed(cron, "Africa/Monrovia", anchor)
    assert [chosen.start(i) for i in range(200)] == [listed.start(i) for i in range(200)]
