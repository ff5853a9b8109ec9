"""Time-window definitions, rule by rule (found by mutation testing of partitions/time_window.py
after issue 18): the start it reports, keys in a format only strptime reads, exclusions given
as datetimes, and unevenly spaced minutes (never taken for a uniform step)."""

from __future__ import annotations

from datetime import UTC, datetime

from arco.domain.partitions import DailyPartitionsDefinition, TimeWindowPartitionsDefinition

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
