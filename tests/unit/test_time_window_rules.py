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
