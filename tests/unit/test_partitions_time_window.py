"""Time-window partitions against Dagster 1.13's rules (reference §5.1).

Expected values are written out as strings; the labels in brackets name the oracle cases of the
reference notes they come from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from arco.domain.cron import CronSchedule
from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
    partitions_from_snapshot,
)

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def hours(window: TimeWindow) -> float:
    return (window.end.timestamp() - window.start.timestamp()) / 3600


# --------------------------------------------------------------------------- basics


def test_daily_keys_are_window_starts_formatted_with_the_default_fmt() -> None:  # [daily_basic]
    daily = DailyPartitionsDefinition("2024-01-01")
    assert daily.cron_schedule == "0 0 * * *"
    assert daily.keys(utc(2024, 1, 5, 12)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]


def test_a_partition_appears_the_instant_its_window_closes() -> None:  # [daily_at_exact_boundary]
    daily = DailyPartitionsDefinition("2024-01-01")
    assert daily.last_key(utc(2024, 1, 10)) == "2024-01-09"
    assert daily.last_key(utc(2024, 1, 9, 23, 59, 59)) == "2024-01-08"
    assert daily.last_key(datetime(2024, 1, 9, 23, 59, 59, 999_999, tzinfo=UTC)) == "2024-01-08"


def test_hourly_keys_use_the_hourly_fmt() -> None:  # [hourly_basic]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    assert hourly.cron_schedule == "0 * * * *"
    assert hourly.keys(utc(2024, 1, 1, 3)) == [
        "2024-01-01-00:00",
        "2024-01-01-01:00",
        "2024-01-01-02:00",
    ]


def test_first_partition_is_the_first_tick_at_or_after_start() -> None:
    # [weekly_basic] a Monday start: weeks start on Sunday, so the first one is the 7th
    weekly = WeeklyPartitionsDefinition("2024-01-01")
    assert weekly.cron_schedule == "0 0 * * 0"
    assert weekly.keys(utc(2024, 2, 1)) == ["2024-01-07", "2024-01-14", "2024-01-21"]
    # [monthly_start_mid_month]
    monthly = MonthlyPartitionsDefinition("2024-01-15")
    assert monthly.cron_schedule == "0 0 1 * *"
    assert monthly.keys(utc(2024, 5, 1)) == ["2024-02-01", "2024-03-01", "2024-04-01"]
    # [daily_start_not_on_boundary]
    daily = DailyPartitionsDefinition(datetime(2024, 1, 1, 12))
    assert daily.first_key() == "2024-01-02"
    assert daily.keys(utc(2024, 1, 4)) == ["2024-01-02", "2024-01-03"]


def test_offsets_shift_the_cron() -> None:
    # [daily_minute_hour_offset]
    daily = DailyPartitionsDefinition("2024-01-01", minute_offset=30, hour_offset=1)
    assert daily.cron_schedule == "30 1 * * *"
    assert daily.keys(utc(2024, 1, 3, 1, 30)) == ["2024-01-01", "2024-01-02"]
    assert daily.time_window_for_key("2024-01-01") == TimeWindow(
        utc(2024, 1, 1, 1, 30), utc(2024, 1, 2, 1, 30)
    )
    # [weekly_day_offset_1]
    weekly = WeeklyPartitionsDefinition("2024-01-01", day_offset=1)
    assert weekly.cron_schedule == "0 0 * * 1"
    assert weekly.keys(utc(2024, 1, 16)) == ["2024-01-01", "2024-01-08"]
    # [monthly_day_offset_15]
    monthly = MonthlyPartitionsDefinition("2024-01-01", day_offset=15)
    assert monthly.cron_schedule == "0 0 15 * *"
    assert monthly.keys(utc(2024, 3, 15)) == ["2024-01-15", "2024-02-15"]
    assert HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=15).keys(
        utc(2024, 1, 1, 2)
    ) == ["2024-01-01-00:15"]


def test_offsets_out_of_range_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="hour_offset 24"):
        DailyPartitionsDefinition("2024-01-01", hour_offset=24)
    with pytest.raises(InvalidInput, match="day_offset 7"):
        WeeklyPartitionsDefinition("2024-01-01", day_offset=7)
    with pytest.raises(InvalidInput, match="minute_offset -1"):
        HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=-1)


def test_custom_fmt_is_used_for_keys_and_for_parsing_start() -> None:  # [daily_custom_fmt]
    daily = DailyPartitionsDefinition("20240101", fmt="%Y%m%d")
    assert daily.keys(utc(2024, 1, 4)) == ["20240101", "20240102", "20240103"]
    assert daily.has_key("20240102", utc(2024, 1, 4))
    assert not daily.has_key("2024-01-02", utc(2024, 1, 4))


def test_a_start_that_does_not_match_fmt_is_rejected() -> None:  # [err_bad_start_for_fmt]
    with pytest.raises(InvalidInput, match="start '2024-01-01' does not match fmt"):
        HourlyPartitionsDefinition("2024-01-01")
    with pytest.raises(InvalidInput, match="end '2024/02/01' does not match fmt '%Y-%m-%d'"):
        DailyPartitionsDefinition("2024-01-01", end_date="2024/02/01")


def test_fmt_that_maps_two_windows_to_one_key_is_rejected() -> None:  # [err_fmt_not_granular]
    with pytest.raises(InvalidInput, match="not granular enough"):
        TimeWindowPartitionsDefinition("0 * * * *", "2024-01-01", "%Y-%m-%d")
    with pytest.raises(InvalidInput, match="not granular enough"):
        TimeWindowPartitionsDefinition("0 0 * * 1", utc(2024, 1, 1), "%Y-%m")
    with pytest.raises(InvalidInput, match="not granular enough"):
        DailyPartitionsDefinition(utc(2024, 1, 1), fmt="%m-%d")  # no year: keys repeat yearly
    # a coarse fmt that still identifies each window is fine (cron at 07:00, keys by date)
    seven = TimeWindowPartitionsDefinition("0 7 * * *", "2024-01-01", "%Y-%m-%d")
    assert seven.time_window_for_key("2024-01-02").start == utc(2024, 1, 2, 7)


def test_bad_timezone_cron_and_arguments_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="unknown timezone 'Mars/Olympus'"):
        DailyPartitionsDefinition("2024-01-01", timezone="Mars/Olympus")
    with pytest.raises(InvalidInput, match="invalid cron string"):
        TimeWindowPartitionsDefinition("0 0 * *", "2024-01-01", "%Y-%m-%d")
    with pytest.raises(InvalidInput, match="end 2024-01-01T00:00:00\\+00:00 must be after start"):
        DailyPartitionsDefinition("2024-01-02", end_date="2024-01-01")
    with pytest.raises(InvalidInput, match="end 2024-01-02T00:00:00\\+00:00 must be after start"):
        DailyPartitionsDefinition("2024-01-02", end_date="2024-01-02")  # ADR 0008 §38
    with pytest.raises(InvalidInput, match="end_offset"):
        DailyPartitionsDefinition("2024-01-01", end_offset=True)
    with pytest.raises(InvalidInput, match="now must be timezone-aware"):
        DailyPartitionsDefinition("2024-01-01").keys(datetime(2024, 2, 1))


# --------------------------------------------------------------------------- the end of the set


def test_end_offset_adds_or_drops_windows() -> None:
    now = utc(2024, 1, 4, 12)
    assert DailyPartitionsDefinition("2024-01-01").keys(now)[-1] == "2024-01-03"
    # [daily_end_offset_1] the window in progress; [daily_end_offset_2] one more
    assert DailyPartitionsDefinition("2024-01-01", end_offset=1).keys(now)[-1] == "2024-01-04"
    assert DailyPartitionsDefinition("2024-01-01", end_offset=2).keys(now)[-2:] == [
        "2024-01-04",
        "2024-01-05",
    ]
    # [daily_end_offset_neg1]
    assert DailyPartitionsDefinition("2024-01-01", end_offset=-1).keys(now) == [
        "2024-01-01",
        "2024-01-02",
    ]
    # [hourly_end_offset_1], [weekly_end_offset_1], [monthly_end_offset_1]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00", end_offset=1)
    assert hourly.last_key(utc(2024, 1, 1, 5, 30)) == "2024-01-01-05:00"
    weekly = WeeklyPartitionsDefinition("2024-01-01", end_offset=1)
    assert weekly.last_key(utc(2024, 1, 16)) == "2024-01-14"
    monthly = MonthlyPartitionsDefinition("2024-01-01", end_offset=1)
    assert monthly.last_key(utc(2024, 3, 10)) == "2024-03-01"


def test_end_date_caps_the_set_whatever_the_offset() -> None:
    now = utc(2024, 2, 1)
    capped = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    # [daily_with_end_date]
    assert DailyPartitionsDefinition("2024-01-01", end_date="2024-01-05").keys(now) == capped
    # [daily_with_end_date_and_end_offset]
    offset = DailyPartitionsDefinition("2024-01-01", end_date="2024-01-05", end_offset=3)
    assert offset.keys(now) == capped
    assert offset.keys(utc(2024, 1, 2, 12)) == capped  # 1 closed + 3 ahead, still within the end
    # a negative offset moves the last closed window back; the end date still caps, and the
    # earlier of the two wins (as Dagster): long after the end, nothing more is dropped
    dropped = DailyPartitionsDefinition("2024-01-01", end_date="2024-01-05", end_offset=-1)
    assert dropped.keys(now) == capped
    assert dropped.keys(utc(2024, 1, 4, 12)) == capped[:2]  # 01-03 closed, moved back one
    # an end between two boundaries keeps only windows that end before it
    mid = DailyPartitionsDefinition("2024-01-01", end_date=utc(2024, 1, 5, 12))
    assert mid.keys(now) == capped
    assert not mid.has_key("2024-01-05", now)
    with pytest.raises(InvalidInput, match="past the end"):
        mid.key_at(4)


def test_no_partitions_until_the_first_window_closes() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    now = utc(2024, 1, 1, 12)
    assert daily.keys(now) == []  # [daily_no_partitions_yet]
    assert daily.last_key(now) is None
    assert daily.first_key(now) is None
    assert daily.first_key() == "2024-01-01"
    assert daily.key_count(now) == 0
    # [daily_no_partitions_yet_end_offset_1]
    assert DailyPartitionsDefinition("2024-01-01", end_offset=1).keys(now) == ["2024-01-01"]
    assert daily.keys(utc(2023, 6, 1)) == []


# --------------------------------------------------------------------------- time zones and DST


def test_daily_windows_on_dst_days_are_23_and_25_hours() -> None:  # [daily_ny], [daily_ny_fall]
    daily = DailyPartitionsDefinition("2024-03-01", timezone="America/New_York")
    spring = daily.time_window_for_key("2024-03-10")
    assert spring.start == datetime(2024, 3, 10, tzinfo=NY)
    assert spring.start.isoformat() == "2024-03-10T00:00:00-05:00"
    assert spring.end.isoformat() == "2024-03-11T00:00:00-04:00"
    assert hours(spring) == 23
    fall = daily.time_window_for_key("2024-11-03")
    assert fall.start.isoformat() == "2024-11-03T00:00:00-04:00"
    assert fall.end.isoformat() == "2024-11-04T00:00:00-05:00"
    assert hours(fall) == 25
    assert daily.last_key(datetime(2024, 3, 11, tzinfo=NY)) == "2024-03-10"
    assert daily.last_key(utc(2024, 3, 11, 3, 59)) == "2024-03-09"


def test_a_daily_window_inside_the_spring_gap_starts_when_the_gap_ends() -> None:
    daily = DailyPartitionsDefinition("2024-03-08", hour_offset=2, timezone="America/New_York")
    assert daily.time_window_for_key("2024-03-10").start.isoformat() == "2024-03-10T03:00:00-04:00"
    assert daily.time_window_for_key("2024-03-11").start.isoformat() == "2024-03-11T02:00:00-04:00"
    late = DailyPartitionsDefinition("2024-11-01", hour_offset=1, timezone="America/New_York")
    # a repeated wall time fires once, at its later (standard time) instant
    assert late.time_window_for_key("2024-11-03").start.isoformat() == "2024-11-03T01:00:00-05:00"


def test_hourly_keys_across_fall_back_append_the_offset_to_the_repeated_hour() -> None:
    # [hourly_ny_fall_back]
    hourly = HourlyPartitionsDefinition("2024-11-03-00:00", timezone="America/New_York")
    assert hourly.keys(utc(2024, 11, 3, 9)) == [
        "2024-11-03-00:00",
        "2024-11-03-01:00",
        "2024-11-03-01:00-0500",
        "2024-11-03-02:00",
        "2024-11-03-03:00",
    ]
    second = hourly.time_window_for_key("2024-11-03-01:00-0500")
    assert second.start.isoformat() == "2024-11-03T01:00:00-05:00"
    assert second.start.astimezone(UTC) == utc(2024, 11, 3, 6)
    assert hourly.time_window_for_key("2024-11-03-01:00").start.astimezone(UTC) == utc(
        2024, 11, 3, 5
    )
    assert hourly.key_index("2024-11-03-01:00-0500") == 2
    assert hourly.key_at(3) == "2024-11-03-02:00"
    assert hourly.key_for_timestamp(utc(2024, 11, 3, 6, 30)) == "2024-11-03-01:00-0500"


def test_hourly_keys_across_spring_forward_skip_the_missing_hour() -> None:
    # [hourly_ny_spring_forward]
    hourly = HourlyPartitionsDefinition("2024-03-10-00:00", timezone="America/New_York")
    assert hourly.keys(utc(2024, 3, 10, 9)) == [
        "2024-03-10-00:00",
        "2024-03-10-01:00",
        "2024-03-10-03:00",
        "2024-03-10-04:00",
    ]
    now = utc(2024, 4, 1)
    assert not hourly.has_key("2024-03-10-02:00", now)
    # Dagster accepts this non-existent key (quirk 1); we do not
    assert not hourly.has_key("2024-03-10-02:30", now)
    with pytest.raises(InvalidInput, match="partition key '2024-03-10-02:00' is not in"):
        hourly.validate_key("2024-03-10-02:00", now)


def test_hourly_keys_in_berlin_fall_back() -> None:  # [hourly_berlin_fall_back]
    hourly = HourlyPartitionsDefinition("2024-10-27-00:00", timezone="Europe/Berlin")
    assert hourly.keys(utc(2024, 10, 27, 3)) == [
        "2024-10-27-00:00",
        "2024-10-27-01:00",
        "2024-10-27-02:00",
        "2024-10-27-02:00+0100",
        "2024-10-27-03:00",
    ]
    assert hourly.time_window_for_key("2024-10-27-02:00+0100").start == datetime(
        2024, 10, 27, 2, fold=1, tzinfo=BERLIN
    )


def test_fmt_with_z_gives_every_key_an_offset() -> None:  # [hourly_ny_fall_back_fmt_with_z]
    hourly = HourlyPartitionsDefinition(
        datetime(2024, 11, 3), timezone="America/New_York", fmt="%Y-%m-%d-%H:%M%z"
    )
    assert hourly.keys(utc(2024, 11, 3, 8)) == [
        "2024-11-03-00:00-0400",
        "2024-11-03-01:00-0400",
        "2024-11-03-01:00-0500",
        "2024-11-03-02:00-0500",
    ]


def test_the_offset_suffix_only_applies_to_hourly_or_faster_crons() -> None:
    # a cron at 01:00 and 01:30 fires once in the repeated hour (later instant), no suffix
    twice = TimeWindowPartitionsDefinition(
        "0,30 1 * * *", datetime(2024, 11, 2), "%Y-%m-%d-%H:%M", timezone="America/New_York"
    )
    assert twice.keys(utc(2024, 11, 5)) == [
        "2024-11-02-01:00",
        "2024-11-02-01:30",
        "2024-11-03-01:00",
        "2024-11-03-01:30",
        "2024-11-04-01:00",
    ]
    assert twice.time_window_for_key("2024-11-03-01:00").start.isoformat() == (
        "2024-11-03T01:00:00-05:00"
    )


def test_half_hour_zones_and_sub_hourly_crons() -> None:
    kolkata = HourlyPartitionsDefinition("2024-01-01-00:00", timezone="Asia/Kolkata")
    assert kolkata.keys(utc(2023, 12, 31, 21, 30)) == [
        "2024-01-01-00:00",
        "2024-01-01-01:00",
        "2024-01-01-02:00",
    ]
    assert kolkata.time_window_for_key("2024-01-01-01:00").start == utc(2023, 12, 31, 19, 30)
    quarter = TimeWindowPartitionsDefinition("*/15 * * * *", "2024-01-01-00:00", "%Y-%m-%d-%H:%M")
    assert quarter.keys(utc(2024, 1, 1, 1)) == [
        "2024-01-01-00:00",
        "2024-01-01-00:15",
        "2024-01-01-00:30",
        "2024-01-01-00:45",
    ]


def test_custom_crons() -> None:  # [custom_cron_*]
    weekdays = TimeWindowPartitionsDefinition("0 0 * * 1-5", "2024-01-01", "%Y-%m-%d")
    assert weekdays.keys(utc(2024, 1, 10)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
    ]
    # Friday's window runs until Monday
    assert weekdays.time_window_for_key("2024-01-05").end == utc(2024, 1, 8)
    every_other = TimeWindowPartitionsDefinition("0 0 */2 * *", "2024-01-27", "%Y-%m-%d")
    assert every_other.keys(utc(2024, 2, 4)) == [
        "2024-01-27",
        "2024-01-29",
        "2024-01-31",
        "2024-02-01",
    ]
    assert every_other.time_window_for_key("2024-01-31").end == utc(2024, 2, 1)


# --------------------------------------------------------------------------- exclusions


def test_exclusions_remove_windows_starting_on_them() -> None:  # [exclusions_weekends]
    weekdays = DailyPartitionsDefinition("2024-01-01", exclusions=["0 0 * * 6,0"])
    assert weekdays.keys(utc(2024, 1, 16)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-15",
    ]
    now = utc(2024, 2, 1)
    assert not weekdays.has_key("2024-01-06", now)
    assert weekdays.key_for_timestamp(utc(2024, 1, 6, 12)) is None
    # Monday midnight: Sunday's window just closed but is excluded
    assert weekdays.last_key(utc(2024, 1, 8)) == "2024-01-05"
    with pytest.raises(InvalidInput, match="'2024-01-07' is not in"):
        weekdays.key_index("2024-01-07")
    holiday = DailyPartitionsDefinition("2024-01-01", exclusions=[datetime(2024, 1, 2)])
    assert holiday.keys(utc(2024, 1, 4)) == ["2024-01-01", "2024-01-03"]
    assert holiday.key_count(utc(2024, 1, 4)) == 2


def test_bad_exclusions_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="exclusion invalid cron string 'weekends'"):
        DailyPartitionsDefinition("2024-01-01", exclusions=["weekends"])
    with pytest.raises(InvalidInput, match="exclusion 5 must be a cron string or a datetime"):
        DailyPartitionsDefinition("2024-01-01", exclusions=[5])  # type: ignore[list-item]


# --------------------------------------------------------------------------- lookups


def test_key_for_timestamp_with_open_and_closed_ends() -> None:  # [key_for_ts|*]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    assert hourly.key_for_timestamp(utc(2024, 1, 1, 5)) == "2024-01-01-05:00"
    assert hourly.key_for_timestamp(utc(2024, 1, 1, 5), end_closed=True) == "2024-01-01-04:00"
    assert hourly.key_for_timestamp(utc(2024, 1, 1, 5, 30)) == "2024-01-01-05:00"
    assert hourly.key_for_timestamp(utc(2024, 1, 1, 5, 30), end_closed=True) == "2024-01-01-05:00"
    assert hourly.key_for_timestamp(utc(2023, 12, 31, 23, 30)) is None
    assert hourly.key_for_timestamp(utc(2024, 1, 1), end_closed=True) is None
    daily = DailyPartitionsDefinition("2024-01-01", timezone="America/New_York")
    assert daily.key_for_timestamp(utc(2024, 1, 2, 4, 59)) == "2024-01-01"
    assert daily.key_for_timestamp(utc(2024, 1, 2, 5)) == "2024-01-02"
    assert daily.key_for_timestamp(utc(2024, 1, 2, 5), end_closed=True) == "2024-01-01"


def test_keys_in_range_is_inclusive_and_checks_its_ends() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    now = utc(2024, 2, 1)
    assert daily.keys_in_range("2024-01-03", "2024-01-05", now) == [
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    with pytest.raises(InvalidInput, match="reversed"):
        daily.keys_in_range("2024-01-05", "2024-01-03", now)
    with pytest.raises(InvalidInput, match="'2024-02-05' is not in"):
        daily.keys_in_range("2024-01-05", "2024-02-05", now)
    weekdays = DailyPartitionsDefinition("2024-01-01", exclusions=["0 0 * * 6,0"])
    assert weekdays.keys_in_range("2024-01-05", "2024-01-08", now) == ["2024-01-05", "2024-01-08"]


def test_key_index_and_key_at_are_window_numbers() -> None:
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    assert hourly.key_index("2024-01-02-00:00") == 24
    assert hourly.key_at(24) == "2024-01-02-00:00"
    assert hourly.window_at(0) == TimeWindow(utc(2024, 1, 1), utc(2024, 1, 1, 1))
    monthly = MonthlyPartitionsDefinition("2020-01-01")
    assert monthly.key_index("2024-02-01") == 49
    assert monthly.key_at(49) == "2024-02-01"
    with pytest.raises(InvalidInput, match="'2024-02-02' is not in"):
        monthly.key_index("2024-02-02")
    with pytest.raises(InvalidInput, match="'2019-12-01' is not in"):
        monthly.key_index("2019-12-01")
    with pytest.raises(InvalidInput, match="window index -1"):
        monthly.key_at(-1)


def test_windows_and_index_ranges() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    assert daily.windows(utc(2024, 1, 3)) == [
        TimeWindow(utc(2024, 1, 1), utc(2024, 1, 2)),
        TimeWindow(utc(2024, 1, 2), utc(2024, 1, 3)),
    ]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    # the hours overlapping 2024-01-02 (the whole day) are windows 24..47
    assert hourly.index_range_overlapping(utc(2024, 1, 2), utc(2024, 1, 3)) == (24, 48)
    assert hourly.index_range_overlapping(utc(2024, 1, 2, 0, 30), utc(2024, 1, 2, 1, 30)) == (
        24,
        26,
    )
    assert daily.index_range_overlapping(utc(2023, 1, 1), utc(2023, 6, 1)) == (0, 0)


# --------------------------------------------------------------------------- snapshots


def test_snapshot_round_trip_and_equality() -> None:
    definitions = [
        DailyPartitionsDefinition("2024-01-01"),
        HourlyPartitionsDefinition("2024-03-01-00:00", timezone="America/New_York", end_offset=1),
        WeeklyPartitionsDefinition("2024-01-01", day_offset=1, end_date="2025-01-01"),
        MonthlyPartitionsDefinition("2024-01-15", hour_offset=3, end_offset=-1),
        DailyPartitionsDefinition(
            "2024-01-01", exclusions=["0 0 * * 6,0", datetime(2024, 12, 25)], timezone="Asia/Tokyo"
        ),
        TimeWindowPartitionsDefinition("*/15 * * * *", "2024-01-01 00:00", "%Y-%m-%d %H:%M"),
    ]
    now = utc(2024, 6, 1)
    for definition in definitions:
        snapshot = definition.to_snapshot()
        assert snapshot["kind"] == "time_window"
        again = partitions_from_snapshot(snapshot)
        assert again == definition
        assert hash(again) == hash(definition)
        assert again.to_snapshot() == snapshot
        assert again.keys(now) == definition.keys(now)
    assert definitions[0].to_snapshot() == {
        "kind": "time_window",
        "cron_schedule": "0 0 * * *",
        "start": "2024-01-01T00:00:00+00:00",
        "end": None,
        "timezone": "UTC",
        "fmt": "%Y-%m-%d",
        "end_offset": 0,
        "exclusions": {"crons": [], "datetimes": []},
    }
    assert definitions[4].to_snapshot()["exclusions"] == {
        "crons": ["0 0 * * 6,0"],
        "datetimes": ["2024-12-25T00:00:00+09:00"],
    }
    generic = TimeWindowPartitionsDefinition("0 0 * * *", utc(2024, 1, 1), "%Y-%m-%d")
    assert generic == definitions[0]
    assert DailyPartitionsDefinition("2024-01-02") != definitions[0]


# --------------------------------------------------------------------------- arithmetic vs cron


@pytest.mark.parametrize(
    ("cron", "fmt", "tz", "count"),
    [
        ("0 * * * *", "%Y-%m-%d-%H:%M", "America/New_York", 24 * 400),
        ("30 * * * *", "%Y-%m-%d-%H:%M", "Europe/Berlin", 24 * 400),
        ("0 * * * *", "%Y-%m-%d-%H:%M", "Australia/Lord_Howe", 24 * 400),
        ("0 0 * * *", "%Y-%m-%d", "America/Santiago", 800),
        ("30 2 * * *", "%Y-%m-%d", "America/New_York", 800),
        ("0 0 * * *", "%Y-%m-%d", "Pacific/Apia", 800),
        ("0 3 * * 0", "%Y-%m-%d", "Australia/Sydney", 200),
        ("0 0 15 * *", "%Y-%m-%d", "America/Havana", 100),
        ("0 9 * * 1-5", "%Y-%m-%d", "Europe/London", 600),
    ],
)
def test_keys_match_the_cron_ticks_one_by_one(cron: str, fmt: str, tz: str, count: int) -> None:
    start = datetime(2011, 1, 1)
    definition = TimeWindowPartitionsDefinition(cron, start, fmt, timezone=tz)
    ticks = CronSchedule.parse(cron).ticks_from(start.replace(tzinfo=ZoneInfo(tz)), tz)
    starts = [next(ticks) for _ in range(count + 1)]
    now = starts[-1] + timedelta(seconds=1)
    keys = definition.keys(now)
    assert len(keys) == count
    assert [definition.window_at(i).start for i in range(count)] == starts[:-1]
    for index in range(0, count, max(1, count // 200)):
        assert definition.key_index(keys[index]) == index
        assert definition.time_window_for_key(keys[index]).start == starts[index]


def test_end_offset_counts_kept_windows_only() -> None:
    # 2024-01-06 is a Saturday: excluded, so one window ahead is Sunday the 7th (as Dagster).
    weekdays = DailyPartitionsDefinition("2024-01-01", end_offset=1, exclusions=["0 0 * * 6"])
    keys = weekdays.keys(utc(2024, 1, 6))
    assert keys[-2:] == ["2024-01-05", "2024-01-07"]


def test_before_the_first_window_only_a_positive_end_offset_reaches_it() -> None:
    start_soon = DailyPartitionsDefinition("2024-01-10", end_offset=2)
    # Half a day before the start: the windows before the first count too (as Dagster).
    assert start_soon.keys(utc(2024, 1, 9, 12)) == ["2024-01-10"]
    one_ahead = DailyPartitionsDefinition("2024-01-10", end_offset=1)
    assert one_ahead.keys(utc(2024, 1, 9, 12)) == ["2024-01-10"]  # the next window to start
    assert one_ahead.keys(utc(2024, 1, 8, 12)) == []
    assert DailyPartitionsDefinition("2024-01-10").keys(utc(2024, 1, 9, 12)) == []
    # Two weeks before a weekly start, one window ahead is still before it.
    weekly = WeeklyPartitionsDefinition("2024-04-27", end_offset=1)
    assert weekly.keys(utc(2024, 4, 12)) == []
