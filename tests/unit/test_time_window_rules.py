"""Time-window definitions, rule by rule (found by mutation testing of partitions/time_window.py
after issue 18): the start it reports, keys in a format only strptime reads, exclusions given
as datetimes, and unevenly spaced minutes (never taken for a uniform step)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arco.domain.cron import CronSchedule
from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

NOW = datetime(2024, 1, 10, tzinfo=UTC)


def test_the_start_is_the_one_given() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-03")
    assert daily.start == datetime(2024, 1, 3, tzinfo=UTC)


def test_keys_in_a_format_only_strptime_reads() -> None:
    named = TimeWindowPartitionsDefinition(
        "0 0 * * *", datetime(2024, 1, 1, tzinfo=UTC), "%d %b %Y"
    )
    assert named.keys(NOW)[:2] == ["01 Jan 2024", "02 Jan 2024"]
    assert named.has_key("05 Jan 2024", NOW) and not named.has_key("05 Foo 2024", NOW)
    assert named.key_index("05 Jan 2024") == 4


def test_an_exclusion_given_as_a_datetime_removes_that_window() -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-01", "%Y-%m-%d", exclusions=[datetime(2024, 1, 3, tzinfo=UTC)]
    )
    assert not daily.has_key("2024-01-03", NOW) and daily.has_key("2024-01-04", NOW)
    assert "2024-01-03" not in daily.keys(NOW) and len(daily.keys(NOW)) == 8


def test_unevenly_spaced_minutes_keep_their_own_ticks() -> None:
    # Three ticks an hour, but not every 20 minutes: the windows are the ticks themselves.
    uneven = TimeWindowPartitionsDefinition(
        "0,15,45 * * * *", datetime(2024, 1, 1, tzinfo=UTC), "%Y-%m-%d %H:%M"
    )
    keys = uneven.keys(datetime(2024, 1, 1, 1, 16, tzinfo=UTC))
    assert keys == ["2024-01-01 00:00", "2024-01-01 00:15", "2024-01-01 00:45", "2024-01-01 01:00"]
    assert uneven.key_index("2024-01-01 00:45") == 2


def test_the_definition_reports_what_it_was_given() -> None:
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *",
        datetime(2024, 1, 1, tzinfo=UTC),
        "%Y-%m-%d-%H:%M",
        end=datetime(2024, 2, 1, tzinfo=UTC),
        end_offset=2,
    )
    assert hourly.end == datetime(2024, 2, 1, tzinfo=UTC) and hourly.end_offset == 2
    assert hourly.is_hourly_or_faster is True
    assert DailyPartitionsDefinition(start_date="2024-01-01").is_hourly_or_faster is False
    # Two definitions that number keys the same way share a key space identity.
    same = TimeWindowPartitionsDefinition(
        "0 * * * *",
        datetime(2024, 1, 1, tzinfo=UTC),
        "%Y-%m-%d-%H:%M",
        end=datetime(2024, 2, 1, tzinfo=UTC),
        end_offset=2,
    )
    assert hourly.key_space().identity == same.key_space().identity
    assert hourly.key_space().identity is not None
    assert (
        hourly.key_space().identity != DailyPartitionsDefinition("2024-01-01").key_space().identity
    )


def test_a_fraction_of_a_second_past_a_boundary_is_in_the_next_window() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    just_after = datetime(2024, 1, 3, 0, 0, 0, 1, tzinfo=UTC)
    assert daily.key_for_timestamp(just_after, end_closed=True) == "2024-01-03"
    assert daily.key_for_timestamp(datetime(2024, 1, 3, tzinfo=UTC), end_closed=True) == (
        "2024-01-02"
    )
    # [Jan 2, Jan 3 + 1 µs) overlaps Jan 2 and Jan 3
    lo, hi = daily.index_range_overlapping(datetime(2024, 1, 2, tzinfo=UTC), just_after)
    assert (lo, hi) == (1, 3)


def test_a_fresh_listed_calendar_reaches_any_window_asked_for() -> None:
    uneven = TimeWindowPartitionsDefinition(
        "0,15,45 * * * *", datetime(2024, 1, 1, tzinfo=UTC), "%Y-%m-%d %H:%M"
    )
    assert uneven.key_at(5) == "2024-01-01 01:45"  # nothing listed before this call


def test_an_offset_change_years_after_the_start_keeps_hourly_keys_on_the_hour() -> None:
    # Caracas moved from -04:30 to -04:00 on 2016-05-01: hourly windows stay on the wall
    # clock's hours, so the definition cannot be a fixed 3,600-second step from 2015.
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *", datetime(2015, 6, 1, tzinfo=UTC), "%Y-%m-%d-%H:%M", "America/Caracas"
    )
    keys = hourly.keys(datetime(2016, 5, 2, tzinfo=UTC))
    assert all(k.endswith(":00") for k in keys)
    assert "2016-05-01-03:00" in keys and keys[-1] == "2016-05-01-19:00"


def test_bad_arguments_are_refused() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="must be a strftime format"):
        TimeWindowPartitionsDefinition("0 0 * * *", start, "daily")
    with pytest.raises(InvalidInput, match="exclusions"):
        TimeWindowPartitionsDefinition("0 0 * * *", start, "%Y-%m-%d", exclusions="0 0 * * SAT")  # type: ignore[arg-type]
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(InvalidInput):
        daily.key_at(True)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="at least one cron string"):
        CronSchedule("@daily")  # type: ignore[arg-type]


def test_the_granularity_check_runs_for_each_format() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    TimeWindowPartitionsDefinition("0 * * * *", start, "%Y-%m-%d-%H:%M")  # granular enough
    with pytest.raises(InvalidInput, match="not granular enough"):
        TimeWindowPartitionsDefinition("0 * * * *", start, "%Y-%m-%d")  # 24 windows a key


def test_an_exclusion_on_the_first_window_removes_it() -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", datetime(2024, 1, 6, tzinfo=UTC), "%Y-%m-%d", exclusions=["0 0 * * SAT"]
    )  # January 6th 2024 is a Saturday
    assert daily.keys(NOW)[:2] == ["2024-01-07", "2024-01-08"]


def test_a_time_of_day_key_in_a_repeated_hour_is_found() -> None:
    # New York's 01:00-02:00 repeats on 2024-11-03; a non-hourly cron fires at the later one.
    twice = TimeWindowPartitionsDefinition(
        "0,30 1 * * *",
        datetime(2024, 11, 1, tzinfo=UTC),
        "%Y-%m-%d %H:%M",
        "America/New_York",
    )
    now = datetime(2024, 11, 5, tzinfo=UTC)
    assert twice.has_key("2024-11-03 01:30", now) and twice.has_key("2024-11-03 01:00", now)
    assert twice.key_index("2024-11-03 01:30") == twice.key_index("2024-11-03 01:00") + 1


def test_the_description_names_the_end_offset() -> None:
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *", datetime(2024, 1, 1, tzinfo=UTC), "%Y-%m-%d-%H:%M", end_offset=2
    )
    assert hourly.describe().endswith(", end_offset 2)")


# Nuuk's clocks jump from 23:00 (-02:00) to 00:00 (-01:00) on 2024-03-31 (01:00 UTC): the
# 23:30 of the 30th never happens, and the tick moves to the gap's end, 00:00 on the 31st.
NUUK = "America/Nuuk"
NUUK_GAP_END = datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


def _nuuk_daily(start: str) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(
        start_date=start, hour_offset=23, minute_offset=30, timezone=NUUK, end_date="2024-04-03"
    )


@pytest.mark.parametrize("start", ["2024-03-28", "2024-03-30"])
def test_a_window_a_gap_moves_past_midnight_keeps_its_day(start: str) -> None:
    # The keys are Dagster 1.13.29's (`get_partition_keys`); Arco used to refuse the
    # definition, its 30th and 31st windows both starting on the 31st.
    daily = _nuuk_daily(start)
    later = datetime(2025, 1, 1, tzinfo=UTC)
    expected = ["2024-03-28", "2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01"]
    assert daily.keys(later) == expected[expected.index(start) :]
    moved = daily.time_window_for_key("2024-03-30")
    assert moved.start == NUUK_GAP_END  # Arco's placement (ADR 0008 §36)
    assert moved.end == datetime(2024, 4, 1, 0, 30, tzinfo=UTC)  # 23:30 -01:00 on the 31st
    assert daily.time_window_for_key("2024-03-31").start == moved.end
    assert daily.key_for_timestamp(NUUK_GAP_END) == "2024-03-30"
    assert daily.has_key("2024-03-31", later) and daily.has_key("2024-03-30", later)


def test_the_wall_time_a_gap_moved_is_the_one_the_cron_named() -> None:
    cron = CronSchedule.parse("30 23 * * *")
    gap_end = int(NUUK_GAP_END.timestamp())
    named = cron.named_wall(gap_end, NUUK)
    assert named is not None
    assert (named.replace(tzinfo=None), named.utcoffset()) == (
        datetime(2024, 3, 30, 23, 30),
        timedelta(hours=-2),  # read with the offset before the gap, as Dagster writes it
    )
    first = CronSchedule.parse("0 23 * * *").named_wall(gap_end, NUUK)  # the gap's first wall
    assert first is not None and first.replace(tzinfo=None) == datetime(2024, 3, 30, 23, 0)
    assert cron.named_wall(gap_end + 60, NUUK) is None  # not a gap's end
    assert CronSchedule.parse("0 0 * * *").named_wall(gap_end, NUUK) is None  # fires there
    # With an hourly expression beside it (which skips the gap), the daily one still names it.
    both = CronSchedule.parse(["15 * * * *", "30 23 * * *"]).named_wall(gap_end, NUUK)
    assert both == named
    # With an expression that fires at the gap's end itself, nothing was moved there.
    assert CronSchedule.parse(["0 0 * * *", "30 23 * * *"]).named_wall(gap_end, NUUK) is None
    assert CronSchedule.parse("30 22 * * *").named_wall(gap_end, NUUK) is None  # not in it
    assert CronSchedule.parse("30 * * * *").named_wall(gap_end, NUUK) is None  # hourly skips
    fall_back = int(datetime(2024, 10, 27, 1, tzinfo=UTC).timestamp())  # a repeat, no gap
    assert CronSchedule.parse("30 23 * * *").named_wall(fall_back, NUUK) is None


# The convenience constructors pass every argument on (mutation survivors of
# partitions/time_window.py: a dropped timezone, end or exclusions went unnoticed).
CONSTRUCTORS = {
    "hourly": (HourlyPartitionsDefinition, "2024-01-01-00:00", timedelta(hours=1)),
    "daily": (DailyPartitionsDefinition, "2024-01-01", timedelta(days=1)),
    "weekly": (WeeklyPartitionsDefinition, "2024-01-07", timedelta(days=7)),
    "monthly": (MonthlyPartitionsDefinition, "2024-01-01", None),
}


@pytest.mark.parametrize("kind", sorted(CONSTRUCTORS))
def test_the_constructors_pass_timezone_end_and_exclusions_on(kind: str) -> None:
    cls, start, _ = CONSTRUCTORS[kind]
    plain = cls(start_date=start)
    later = datetime(2024, 6, 1, tzinfo=UTC)
    keys = plain.keys(later)
    zoned = cls(start_date=start, timezone="America/New_York")
    assert zoned.timezone == "America/New_York"
    assert zoned.time_window_for_key(keys[1]).start.utcoffset() == timedelta(hours=-5)
    ended = cls(start_date=start, end_date=keys[3])
    assert ended.keys(later) == keys[:3]
    excluded = cls(start_date=start, exclusions=[plain.time_window_for_key(keys[1]).start])
    assert excluded.keys(later)[:2] == [keys[0], keys[2]]


@pytest.mark.parametrize(
    ("kind", "argument", "bad"),
    [
        ("hourly", "minute_offset", 60),
        ("daily", "minute_offset", 60),
        ("daily", "hour_offset", 24),
        ("weekly", "minute_offset", 60),
        ("weekly", "hour_offset", 24),
        ("weekly", "day_offset", 7),
        ("monthly", "minute_offset", 60),
        ("monthly", "hour_offset", 24),
        ("monthly", "day_offset", 32),
    ],
)
def test_offsets_out_of_range_are_refused_by_name(kind: str, argument: str, bad: int) -> None:
    cls, start, _ = CONSTRUCTORS[kind]
    with pytest.raises(InvalidInput, match=f"{argument}"):
        cls(start_date=start, **{argument: bad})
    cls(start_date=start, **{argument: bad - 1})  # the last value allowed


def test_a_monthly_day_offset_of_zero_means_the_first() -> None:
    first = MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=0)
    assert first.cron_schedule == "0 0 1 * *"
    assert MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=31).cron_schedule == (
        "0 0 31 * *"
    )


def test_a_format_only_strptime_reads_in_a_zone_west_of_utc() -> None:
    # New York falls back on 2024-11-03: 01:00 happens twice. The second 01:00 is written
    # with its offset, as Dagster writes it, and read back with it.
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *", "03 Nov 2024 00:00", "%d %b %Y %H:%M", timezone="America/New_York"
    )
    keys = hourly.keys(datetime(2024, 11, 3, 9, tzinfo=UTC))
    assert keys == [
        "03 Nov 2024 00:00",
        "03 Nov 2024 01:00",
        "03 Nov 2024 01:00-0500",
        "03 Nov 2024 02:00",
        "03 Nov 2024 03:00",
    ]
    assert [hourly.key_index(key) for key in keys] == [0, 1, 2, 3, 4]
    starts = [hourly.time_window_for_key(key).start.astimezone(UTC).hour for key in keys]
    assert starts == [4, 5, 6, 7, 8]


def test_a_format_with_its_own_offset_refuses_what_it_cannot_read() -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", "01 Jan 2024 -0500", "%d %b %Y %z", timezone="America/New_York"
    )
    now = datetime(2024, 1, 4, tzinfo=UTC)
    assert daily.keys(now) == ["01 Jan 2024 -0500", "02 Jan 2024 -0500"]
    assert daily.has_key("02 Jan 2024 -0500", now)
    assert not daily.has_key("02 Jan 2024", now) and not daily.has_key("nonsense", now)


def test_a_key_of_a_repeated_wall_time_names_its_later_instant() -> None:
    # A non-hourly cron fires once at a repeated time, at its later instant (01:40 EST on the
    # day New York falls back): the key, read at the earlier instant first, still finds it.
    thrice_at_one = TimeWindowPartitionsDefinition(
        "0,20,40 1 * * *", "2024-11-02 00:00", "%Y-%m-%d %H:%M", timezone="America/New_York"
    )
    keys = thrice_at_one.keys(datetime(2024, 11, 5, tzinfo=UTC))
    assert keys[3:6] == ["2024-11-03 01:00", "2024-11-03 01:20", "2024-11-03 01:40"]
    assert [thrice_at_one.key_index(key) for key in keys[:7]] == list(range(7))
    start = thrice_at_one.time_window_for_key("2024-11-03 01:40").start
    assert start.timestamp() == datetime(2024, 11, 3, 6, 40, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("start", "end_offset", "exclusions", "now", "keys"),
    [
        # Dagster 1.13.29's get_partition_keys(current_time=now) for each (tests/differential
        # has the same cases): an end offset counts kept windows, before the first one too.
        ("2024-01-06", 1, ["0 0 * * 6"], "2024-01-05T23:59:00", ["2024-01-07"]),
        ("2024-01-06", 2, ["0 0 * * 6"], "2024-01-04T12:00:00", ["2024-01-07"]),
        ("2024-01-08", 1, ["0 0 * * 6,0"], "2024-01-05T12:00:00", ["2024-01-08"]),
        ("2024-01-08", 2, ["0 0 * * 6,0"], "2024-01-05T12:00:00", ["2024-01-08"]),
        (
            "2024-01-08",
            4,
            ["0 0 * * 6,0"],
            "2024-01-05T12:00:00",
            ["2024-01-08", "2024-01-09", "2024-01-10"],
        ),
        # A negative offset steps back over kept windows from the last kept one ended.
        ("2024-01-01", -1, ["0 0 * * 6"], "2024-01-07T12:00:00", [f"2024-01-0{d}" for d in "1234"]),
        ("2024-01-01", -2, ["0 0 * * 6"], "2024-01-07T12:00:00", [f"2024-01-0{d}" for d in "123"]),
        (
            "2024-01-01",
            -2,
            ["0 0 * * 6,0"],
            "2024-01-09T00:00:00",
            [f"2024-01-0{d}" for d in "1234"],
        ),
    ],
)
def test_an_end_offset_counts_kept_windows(
    start: str, end_offset: int, exclusions: list[str], now: str, keys: list[str]
) -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", start, "%Y-%m-%d", end_offset=end_offset, exclusions=exclusions
    )
    assert daily.keys(datetime.fromisoformat(now).replace(tzinfo=UTC)) == keys


def test_an_end_inside_the_first_window_leaves_no_partition() -> None:
    # ADR 0008 §38: the partitions are the windows that end by `end` (Dagster lists the first
    # one anyway, and refuses its key).
    def daily_until(end: str) -> TimeWindowPartitionsDefinition:
        return TimeWindowPartitionsDefinition(
            "0 0 * * *", "2024-01-01-00:00", "%Y-%m-%d-%H:%M", end=end
        )

    now = datetime(2024, 2, 1, tzinfo=UTC)
    inside_first = daily_until("2024-01-01-12:00")
    assert inside_first.keys(now) == [] and inside_first.key_count(now) == 0
    assert not inside_first.has_key("2024-01-01-00:00", now)
    assert daily_until("2024-01-02-12:00").keys(now) == ["2024-01-01-00:00"]


def test_exclusions_that_name_no_window_start_exclude_nothing() -> None:
    # Monday 09:00 (a cron) and Tuesday 09:00 (a datetime) fall inside daily windows, at no
    # window's start: every window stays.
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *",
        "2024-01-01",
        "%Y-%m-%d",
        exclusions=["0 9 * * 1", datetime(2024, 1, 2, 9, tzinfo=UTC)],
    )
    now = datetime(2024, 1, 10, tzinfo=UTC)
    assert daily.keys(now) == [f"2024-01-0{d}" for d in range(1, 10)]
    assert daily.key_count(now) == 9 and daily.has_key("2024-01-08", now)


@pytest.mark.parametrize(
    ("end_offset", "now", "last_keys"),
    [
        # Dagster 1.13.29's keys, 2024-01-10 excluded by a datetime (not a cron)
        (1, datetime(2024, 1, 10, 12, tzinfo=UTC), ["2024-01-09", "2024-01-11"]),
        (-1, datetime(2024, 1, 11, 12, tzinfo=UTC), ["2024-01-07", "2024-01-08"]),
    ],
)
def test_an_end_offset_steps_over_a_window_excluded_by_a_datetime(
    end_offset: int, now: datetime, last_keys: list[str]
) -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *",
        "2024-01-01",
        "%Y-%m-%d",
        end_offset=end_offset,
        exclusions=[datetime(2024, 1, 10, tzinfo=UTC)],
    )
    assert daily.keys(now)[-2:] == last_keys


def test_a_snapshot_names_what_it_cannot_read() -> None:
    snapshot = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-01", "%Y-%m-%d", exclusions=[datetime(2024, 1, 3, tzinfo=UTC)]
    ).to_snapshot()
    assert TimeWindowPartitionsDefinition.from_snapshot(snapshot).exclusions == (
        datetime(2024, 1, 3, tzinfo=UTC),
    )
    bad = {**snapshot, "exclusions": {"datetimes": ["the third"]}}
    with pytest.raises(InvalidInput, match="snapshot: exclusion 'the third' is not ISO 8601"):
        TimeWindowPartitionsDefinition.from_snapshot(bad)
    with pytest.raises(InvalidInput, match="snapshot: end 3 must be ISO 8601"):
        TimeWindowPartitionsDefinition.from_snapshot({**snapshot, "end": 3})
    with pytest.raises(InvalidInput, match="bad exclusions"):
        TimeWindowPartitionsDefinition.from_snapshot({**snapshot, "exclusions": ["0 0 * * 6"]})


def test_a_window_excluded_alone_is_not_listed() -> None:
    # 2024-01-06 is a Saturday: the only window ended is excluded, so no key yet.
    saturdays_off = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-06", "%Y-%m-%d", exclusions=["0 0 * * 6"]
    )
    assert saturdays_off.keys(datetime(2024, 1, 7, 1, tzinfo=UTC)) == []
    assert saturdays_off.keys(datetime(2024, 1, 8, tzinfo=UTC)) == ["2024-01-07"]


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=60), "minute_offset"),
        (lambda: DailyPartitionsDefinition("2024-01-01", minute_offset=60), "minute_offset"),
        (lambda: DailyPartitionsDefinition("2024-01-01", hour_offset=24), "hour_offset"),
        (lambda: WeeklyPartitionsDefinition("2024-01-01", minute_offset=-1), "minute_offset"),
        (lambda: WeeklyPartitionsDefinition("2024-01-01", hour_offset=24), "hour_offset"),
        (lambda: WeeklyPartitionsDefinition("2024-01-01", day_offset=7), "day_offset"),
        (lambda: MonthlyPartitionsDefinition("2024-01-01", minute_offset=60), "minute_offset"),
        (lambda: MonthlyPartitionsDefinition("2024-01-01", hour_offset=24), "hour_offset"),
        (lambda: MonthlyPartitionsDefinition("2024-01-01", day_offset=32), "day_offset"),
    ],
)
def test_every_constructor_names_the_offset_it_refuses(make: Any, name: str) -> None:
    with pytest.raises(InvalidInput, match=f"^{name} "):
        make()


def test_the_end_bounds_the_windows_to_the_second() -> None:
    # Dagster 1.13.29: an end one second before midnight leaves that day's window out
    daily = DailyPartitionsDefinition(
        "2024-01-01", end_date=datetime(2024, 1, 5, 23, 59, 59, tzinfo=UTC)
    )
    assert daily.last_key(datetime(2024, 2, 1, tzinfo=UTC)) == "2024-01-04"
    # An end after `now` does not bring the window in progress forward (Dagster: 2024-01-09).
    soon = DailyPartitionsDefinition("2024-01-01", end_date="2024-01-11")
    assert soon.last_key(datetime(2024, 1, 10, tzinfo=UTC)) == "2024-01-09"


def test_a_negative_offset_landing_on_an_excluded_window_steps_over_it() -> None:
    # Dagster 1.13.29: Saturdays excluded, 2024-01-08: the last kept window ended is Sunday the
    # 7th; one back over the excluded Saturday is Friday the 5th.
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-01", "%Y-%m-%d", end_offset=-1, exclusions=["0 0 * * 6"]
    )
    assert daily.keys(datetime(2024, 1, 8, tzinfo=UTC))[-2:] == ["2024-01-04", "2024-01-05"]


def test_the_first_key_skips_excluded_windows_without_now() -> None:
    saturdays_off = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-06", "%Y-%m-%d", exclusions=["0 0 * * 6"]
    )
    assert saturdays_off.first_key() == "2024-01-07"


def test_windows_overlapping_a_range_stop_at_the_end() -> None:
    daily = DailyPartitionsDefinition("2024-01-01", end_date="2024-01-05")  # 1st to 4th

    def overlapping(start: datetime, end: datetime) -> tuple[int, int]:
        return daily.index_range_overlapping(start, end)

    assert overlapping(datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 10, tzinfo=UTC)) == (
        2,
        4,
    )
    assert overlapping(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 6, tzinfo=UTC)) == (1, 4)
    a_second_before_the_3rd = datetime(2024, 1, 2, 23, 59, 59, tzinfo=UTC)
    assert overlapping(a_second_before_the_3rd, datetime(2024, 1, 4, tzinfo=UTC)) == (1, 3)
    until_the_9th = DailyPartitionsDefinition("2024-01-01", end_date="2024-01-09")
    in_range = until_the_9th.index_range_overlapping(
        datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC)
    )
    assert in_range == (2, 7)


def test_the_key_for_a_timestamp_a_second_before_a_boundary() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    assert daily.key_for_timestamp(datetime(2024, 1, 3, 23, 59, 59, tzinfo=UTC)) == "2024-01-03"


def test_a_range_cannot_end_at_the_window_in_progress() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    now = datetime(2024, 1, 10, 12, tzinfo=UTC)
    assert daily.keys_in_range("2024-01-08", "2024-01-09", now) == ["2024-01-08", "2024-01-09"]
    with pytest.raises(InvalidInput, match="partition key '2024-01-10' is not in"):
        daily.keys_in_range("2024-01-08", "2024-01-10", now)


@pytest.mark.parametrize("index", [-1, True, 1.0])
def test_a_window_number_must_be_a_natural_number(index: Any) -> None:
    with pytest.raises(InvalidInput, match="must be >= 0"):
        DailyPartitionsDefinition("2024-01-01").window_at(index)


def test_an_empty_range_of_window_numbers_has_no_keys() -> None:
    space = DailyPartitionsDefinition("2024-01-01").key_space()
    assert space.keys_between(0, 0) == [] and space.keys_between(3, 3) == []
    assert space.keys_between(3, 5) == ["2024-01-04", "2024-01-05"]


@pytest.mark.parametrize(
    "now", [datetime(2024, 1, 5, tzinfo=UTC), datetime(2024, 1, 15, tzinfo=UTC)]
)
def test_an_exclusion_of_every_window_leaves_no_partition_and_ends(now: datetime) -> None:
    # The exclusion is the cron itself: every window is excluded, before the first window
    # starts (2024-01-10) and after. The searches for a kept window give up; nothing hangs.
    nothing = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-10", "%Y-%m-%d", end_offset=1, exclusions=["0 0 * * *"]
    )
    assert nothing.keys(now) == [] and nothing.key_count(now) == 0
    assert nothing.first_key() is None and nothing.first_key(now) is None


def test_an_excluded_first_window_at_a_gaps_end_is_not_listed() -> None:
    # Berlin springs forward at 02:00 on 2024-03-31: the first window starts at 03:00 CEST,
    # the gap's end, and is excluded. Dagster 1.13.29 lists 04:00 and 05:00 at 06:00 CEST.
    hourly = TimeWindowPartitionsDefinition(
        "0 * * * *",
        "2024-03-31-03:00",
        "%Y-%m-%d-%H:%M",
        timezone="Europe/Berlin",
        exclusions=["0 3 * * *"],
    )
    now = datetime(2024, 3, 31, 4, tzinfo=UTC)
    assert hourly.keys(now) == ["2024-03-31-04:00", "2024-03-31-05:00"]
    assert not hourly.has_key("2024-03-31-03:00", now)
    assert hourly.first_key() == hourly.first_key(now) == "2024-03-31-04:00"


def test_a_window_starting_half_a_second_before_now_has_started() -> None:
    # Dagster 1.13.29: ['2024-01-10'] (the window of the 9th started half a second ago).
    daily = DailyPartitionsDefinition("2024-01-10", end_offset=1)
    assert daily.keys(datetime(2024, 1, 9, 0, 0, 0, 500_000, tzinfo=UTC)) == ["2024-01-10"]


def test_a_month_of_excluded_minutes_is_searched_through() -> None:
    # 44,640 excluded windows in a row, then February (Dagster 1.13.29 lists these three).
    minutely = TimeWindowPartitionsDefinition(
        "* * * * *", "2024-01-01-00:00", "%Y-%m-%d-%H:%M", exclusions=["* * * 1 *"]
    )
    assert minutely.first_key() == "2024-02-01-00:00"
    assert minutely.keys(datetime(2024, 2, 1, 0, 3, tzinfo=UTC)) == [
        "2024-02-01-00:00",
        "2024-02-01-00:01",
        "2024-02-01-00:02",
    ]


def test_the_key_for_a_timestamp_half_a_second_before_a_boundary_end_closed() -> None:
    daily = DailyPartitionsDefinition("2024-01-01")
    ts = datetime(2024, 1, 3, 23, 59, 59, 500_000, tzinfo=UTC)
    assert daily.key_for_timestamp(ts, end_closed=True) == "2024-01-03"
    assert daily.index_range_overlapping(datetime(2024, 1, 3, tzinfo=UTC), ts) == (2, 3)


def test_the_search_for_a_kept_window_gives_up_only_after_both_bounds() -> None:
    # Two years of excluded days (731 windows, fewer than 10,000): still searched through.
    two_years = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=d) for d in range(731)]
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-01", "%Y-%m-%d", exclusions=two_years
    )
    assert daily.first_key() == "2026-01-01"
    ahead = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-01", "%Y-%m-%d", end_offset=1, exclusions=two_years
    )
    assert ahead.keys(datetime(2023, 12, 31, 12, tzinfo=UTC)) == ["2026-01-01"]
    # Every day excluded for 34 years, looking back from the last one ended: nothing.
    nothing = TimeWindowPartitionsDefinition(
        "0 0 * * *", "1990-01-01", "%Y-%m-%d", end_offset=-1, exclusions=["0 0 * * *"]
    )
    assert nothing.keys(datetime(2024, 1, 1, tzinfo=UTC)) == []


# The give-up rule at its exact bounds (ADR 0008 §38: more than 10,000 excluded windows in a
# row AND more than 400 days). Where a kept window is found, the key is Dagster 1.13.29's
# (`get_first_partition_key`, `get_partition_keys(current_time=...)`), which never gives up.
START = datetime(2024, 1, 1, tzinfo=UTC)
FMT = "%Y-%m-%d-%H:%M"


def _hours(first: int, last: int) -> list[datetime]:
    return [START + timedelta(hours=h) for h in range(first, last + 1)]


def test_ten_thousand_excluded_windows_are_searched_through_and_one_more_ends_the_search() -> None:
    # Hourly: 10,000 windows span 416 days, so the count is the bound that decides.
    searched = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, exclusions=_hours(0, 9_999))
    assert searched.first_key() == "2025-02-20-16:00"
    ended = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, exclusions=_hours(0, 10_000))
    assert ended.first_key() is None


def test_four_hundred_days_of_excluded_windows_are_searched_through_and_one_more_ends_it() -> None:
    # Every 30 minutes: 19,200 windows span exactly 400 days, so the span decides.
    halves = [START + timedelta(minutes=30 * i) for i in range(19_201)]
    searched = TimeWindowPartitionsDefinition(
        "0,30 * * * *", START, FMT, exclusions=halves[:19_200]
    )
    assert searched.first_key() == "2025-02-04-00:00"
    ended = TimeWindowPartitionsDefinition("0,30 * * * *", START, FMT, exclusions=halves)
    assert ended.first_key() is None


def test_a_long_excluded_run_of_short_windows_is_searched_through_before_the_start() -> None:
    # Minutely, all of January excluded: 44,640 windows in a row, but 31 days. Three minutes
    # before 2025 with end_offset 3, the third kept window from now is February's first.
    january = TimeWindowPartitionsDefinition(
        "* * * * *", "2025-02-01-00:00", FMT, end_offset=3, exclusions=["* * * 1 *"]
    )
    assert january.keys(datetime(2024, 12, 31, 23, 58, 30, tzinfo=UTC)) == ["2025-02-01-00:00"]


def test_kept_windows_before_the_start_are_counted_at_the_search_bound() -> None:
    # The 10,000 hourly windows before the start are excluded; now is just before them (with
    # end_offset 1), or one kept window before them (end_offset 2): the start is reached.
    before = _hours(-10_000, -1)
    one = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, end_offset=1, exclusions=before)
    assert one.keys(START - timedelta(hours=10_000, minutes=30)) == ["2024-01-01-00:00"]
    two = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, end_offset=2, exclusions=before)
    assert two.keys(START - timedelta(hours=10_001, minutes=30)) == ["2024-01-01-00:00"]


def test_an_excluded_window_in_progress_does_not_count_toward_the_search_bound() -> None:
    # now is inside the first of 10,001 excluded windows before the start: from the next
    # window the search passes 10,000 excluded ones and reaches the start, as Dagster does.
    before = _hours(-10_001, -1)
    one = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, end_offset=1, exclusions=before)
    now = START - timedelta(hours=10_001) + timedelta(minutes=30)
    assert one.keys(now) == ["2024-01-01-00:00"]


def test_looking_back_over_more_than_ten_thousand_excluded_windows_gives_up() -> None:
    # Window 0 is kept, the 10,001 after it are excluded (416 days), and end_offset -1 steps
    # back from window 10,002: the search gives up before window 0. Dagster, which never
    # gives up, lists window 0 (ADR 0008 §38).
    after = _hours(1, 10_001)
    back = TimeWindowPartitionsDefinition("0 * * * *", START, FMT, end_offset=-1, exclusions=after)
    assert back.keys(START + timedelta(hours=10_003, minutes=30)) == []
    # With one excluded window fewer it is found.
    fewer = TimeWindowPartitionsDefinition(
        "0 * * * *", START, FMT, end_offset=-1, exclusions=after[:-1]
    )
    assert fewer.keys(START + timedelta(hours=10_002, minutes=30)) == ["2024-01-01-00:00"]


@pytest.mark.parametrize(
    ("now", "end_offset", "exclusions"),
    [
        # Dagster 1.13.29's keys. The window in progress is excluded: the sixth kept window
        # from now is the 11th.
        (datetime(2024, 1, 5, 12, tzinfo=UTC), 6, [datetime(2024, 1, 5, tzinfo=UTC)]),
        # now is exactly a window's start: that window is in progress, counted once.
        (datetime(2024, 1, 5, tzinfo=UTC), 7, []),
    ],
)
def test_before_the_start_the_window_in_progress_counts_once_and_only_if_kept(
    now: datetime, end_offset: int, exclusions: list[datetime]
) -> None:
    daily = TimeWindowPartitionsDefinition(
        "0 0 * * *", "2024-01-10", "%Y-%m-%d", end_offset=end_offset, exclusions=exclusions
    )
    assert daily.keys(now) == ["2024-01-10", "2024-01-11"]
