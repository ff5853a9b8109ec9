"""Keys rendered in bulk equal `strftime`'s, whatever the format, zone and instant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.cron import _offset, fixed_zone_offset
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.key_format import render_keys

FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%d-%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y%m%d",
    "%Y-%m",
    "year %Y, 100%% day %d",
    "%Y-%m-%d %H",
    "%d/%m/%Y",
    "%H:%M on %Y-%m-%d",  # a time directive first: strftime
    "%Y-%m-%d %z",  # another directive: strftime
    "%Y-%j",
]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]


def _reference(zone: ZoneInfo, fmt: str) -> Callable[[int], str]:
    return lambda t: datetime.fromtimestamp(t, zone).strftime(fmt)


@given(
    fmt=st.sampled_from(FORMATS),
    tz=st.sampled_from(ZONES),
    start=st.integers(-62_000_000_000, 4_000_000_000),  # year 5 to 2096
    steps=st.lists(st.integers(1, 40 * 86_400), min_size=1, max_size=60),
)
def test_bulk_keys_equal_strftime(fmt: str, tz: str, start: int, steps: list[int]) -> None:
    zone = ZoneInfo(tz)
    instants = [start]
    for step in steps:
        instants.append(instants[-1] + step)
    reference = _reference(zone, fmt)
    assert render_keys(instants, zone, fmt, reference) == [reference(t) for t in instants]


def test_the_repeated_hour_is_rendered_by_the_slow_path() -> None:
    # New York's 2024-11-03 01:00-02:00 happens twice; the renderer asks `slow` for those keys.
    zone = ZoneInfo("America/New_York")
    first = int(datetime(2024, 11, 3, 5, 0, tzinfo=UTC).timestamp())  # 01:00 EDT
    instants = list(range(first - 3600, first + 3 * 3600, 900))
    asked: list[int] = []

    def slow(t: int) -> str:
        asked.append(t)
        return "slow"

    keys = render_keys(instants, zone, "%Y-%m-%d-%H:%M", slow)
    repeated = [t for t in instants if first + 3600 <= t < first + 7200]
    assert asked == repeated
    assert keys[:4] == [
        "2024-11-03-00:00",
        "2024-11-03-00:15",
        "2024-11-03-00:30",
        "2024-11-03-00:45",
    ]
    assert keys[4:8] == [
        "2024-11-03-01:00",
        "2024-11-03-01:15",
        "2024-11-03-01:30",
        "2024-11-03-01:45",
    ]
    assert keys[8:12] == ["slow"] * 4


def test_hourly_keys_over_a_fall_back_carry_the_offset_once() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-11-02-00:00", timezone="America/New_York")
    keys = hourly.keys(datetime(2024, 11, 4, tzinfo=UTC))
    assert keys[24:28] == [
        "2024-11-03-00:00",
        "2024-11-03-01:00",
        "2024-11-03-01:00-0500",
        "2024-11-03-02:00",
    ]
    # now is 19:00 EST on the 3rd: 24 windows on the 2nd, 19 wall hours and the repeat on the 3rd
    assert len(keys) == len(set(keys)) == 24 + 19 + 1


def test_a_century_of_daily_keys() -> None:
    daily = DailyPartitionsDefinition(start_date="1925-01-01")
    keys = daily.keys(datetime(2025, 1, 1, tzinfo=UTC))
    assert len(keys) == 36_525
    assert keys[0] == "1925-01-01" and keys[-1] == "2024-12-31"
    assert "2000-02-29" in keys and "1900-02-29" not in keys


def test_zones_taken_as_fixed_never_change_offset() -> None:
    weekly = range(-2_208_988_800, 4_102_444_800, 7 * 86_400)  # 1900 to 2100
    fixed_zones = []
    for tz in sorted(available_timezones()):
        zone = ZoneInfo(tz)
        fixed = fixed_zone_offset(zone)
        if fixed is not None:
            fixed_zones.append(tz)
            assert {_offset(zone, t) for t in weekly} == {fixed}, tz
    assert {"UTC", "Etc/UTC", "GMT", "Etc/GMT+5", "Etc/GMT-14"} <= set(fixed_zones)
    assert "America/New_York" not in fixed_zones and "Europe/London" not in fixed_zones


def test_a_fall_back_just_before_a_utc_new_year_repeats_into_the_new_year() -> None:
    # Africa/Niamey fell back from local mean time (+00:08) to -01:00 just before 1912: wall
    # hour 23:00 of Dec 31 comes again at 1912-01-01T00:00Z, after the offset tables' cut at
    # the UTC new year. The second one carries its offset, as in every other fall-back.
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *", "1911-12-31-20:00", "%Y-%m-%d-%H:%M", "Africa/Niamey"
    )
    bulk = hourly._format_range(0, 12)
    assert bulk == [hourly._format(i) for i in range(12)]
    assert len(set(bulk)) == 12 and "1911-12-31-23:00-0100" in bulk


def _transitions(tz: str, year: int) -> list[int]:
    zone = ZoneInfo(tz)
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    out, previous = [], datetime.fromtimestamp(start, zone).utcoffset()
    for t in range(start, start + 366 * 86_400, 1800):
        offset = datetime.fromtimestamp(t, zone).utcoffset()
        if offset != previous:
            out.append(t)
            previous = offset
    return out


@pytest.mark.parametrize(
    "tz", ["America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC"]
)
@pytest.mark.parametrize("step", [900, 3600, 86_400])
def test_keys_equal_strftime_across_every_change_of_clocks_and_at_year_999(
    tz: str, step: int
) -> None:
    # Deterministic: every format, in windows of `step` seconds over the two days around each
    # change of clocks of 2024 (gaps, repeated hours, Lord Howe's half hour), and across the
    # years 999-1000, where the fast path hands over to strftime.
    zone = ZoneInfo(tz)
    year_1000 = int(datetime(1000, 1, 1, tzinfo=UTC).timestamp())
    centres = [
        *_transitions(tz, 2024),
        year_1000,
        int(datetime(2024, 12, 31, 23, tzinfo=UTC).timestamp()),
    ]
    for fmt in FORMATS:
        reference = _reference(zone, fmt)
        for centre in centres:
            first = centre - 2 * 86_400 - (centre % step)
            instants = list(range(first, centre + 2 * 86_400, step))
            assert render_keys(instants, zone, fmt, reference) == [
                reference(t) for t in instants
            ], (
                fmt,
                centre,
            )


@pytest.mark.parametrize("tz", ["America/New_York", "Australia/Lord_Howe", "Europe/London"])
def test_every_repeated_wall_time_and_gap_end_goes_to_the_slow_path(tz: str) -> None:
    # Keys of a repeated wall time may carry a suffix, and a gap's end may be named by a wall
    # time inside the gap: the definition's own renderer decides those, so the fast path must
    # hand over every instant whose wall time occurred before (fold 1) and every instant at
    # which clocks spring forward.
    zone = ZoneInfo(tz)
    asked: set[int] = set()

    def slow(t: int) -> str:
        asked.add(t)
        return datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M")

    for change in _transitions(tz, 2024):
        instants = list(range(change - 86_400 - change % 900, change + 86_400, 900))
        asked.clear()
        keys = render_keys(instants, zone, "%Y-%m-%d %H:%M", slow)
        assert keys == [slow(t) for t in instants]
        repeated = {t for t in instants if datetime.fromtimestamp(t, zone).fold == 1}
        springs = (
            datetime.fromtimestamp(change, zone).utcoffset()
            > datetime.fromtimestamp(change - 1, zone).utcoffset()
        )
        assert repeated or springs
        must = repeated | ({change} if springs else set())
        assert must <= asked, sorted(must - asked)


def test_a_directive_the_fast_path_does_not_know_goes_to_strftime() -> None:
    zone = ZoneInfo("UTC")
    instants = [0, 3600, 86_400]
    for fmt in ("%Y-%m-%d %X", "%x", "%Y %a"):
        reference = _reference(zone, fmt)
        assert render_keys(instants, zone, fmt, reference) == [reference(t) for t in instants]


def test_instants_outside_the_offset_tables_go_to_strftime_and_the_rest_follow() -> None:
    zone = ZoneInfo("Europe/Berlin")
    year_one = int(datetime(1, 6, 1, tzinfo=UTC).timestamp())
    instants = [year_one, 0, 86_400]
    reference = _reference(zone, "%Y-%m-%d")
    assert render_keys(instants, zone, "%Y-%m-%d", reference) == [reference(t) for t in instants]


def test_the_first_supported_year_is_rendered_from_its_first_second() -> None:
    zone = ZoneInfo("UTC")
    first = int(datetime(2, 1, 1, tzinfo=UTC).timestamp())
    instants = list(range(first, first + 3 * 86_400, 3600))
    reference = _reference(zone, "%Y-%m-%d %H")
    assert render_keys(instants, zone, "%Y-%m-%d %H", reference) == [reference(t) for t in instants]
