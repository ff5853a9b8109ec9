"""Cron schedules: validity, field semantics and Dagster 1.13's tick rules (DST included).

Expected ticks are written out by hand from the rules in `dagster-semantics.md` §2.1-2.2
(feature table rows 10-27); each is an ISO string whose offset must match the tick's
`utcoffset()`. The last section checks the iterators against a brute-force statement of the
same rules, minute by minute, around real transitions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.cron import CronSchedule, validate_timezone
from arco.domain.errors import InvalidInput

NY = "America/New_York"
BERLIN = "Europe/Berlin"
SYDNEY = "Australia/Sydney"
KOLKATA = "Asia/Kolkata"


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def isos(ticks: list[datetime]) -> list[str]:
    return [t.isoformat() for t in ticks]


def first(cron: str | list[str], start: str, tz: str, n: int) -> list[str]:
    ticks = list(islice(CronSchedule.parse(cron).ticks_from(at(start), tz), n))
    assert all(str(t.tzinfo) == tz for t in ticks)
    return isos(ticks)


def last(cron: str | list[str], end: str, tz: str, n: int) -> list[str]:
    ticks = list(islice(CronSchedule.parse(cron).ticks_until(at(end), tz), n))
    assert all(str(t.tzinfo) == tz for t in ticks)
    return isos(ticks)


# --------------------------------------------------------------------------- validity

VALID = [
    "0 0 * * *",
    "* * * * *",
    "@daily",
    "@hourly",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@midnight",
    "@DAILY",
    "0 0 L * *",
    "0 9 * * MON",
    "0 9 * * mon-fri",
    "*/90 * * * *",
    "0 0 29 2 *",
    "0 0 1 JAN,jul *",
    "0 0 * * 7",
    "0 0 * * 0-7",
    "0 0 30 2 1",  # day-of-week restricted: fires on Mondays in February
    "5/15 * * * *",
    "0 22-2 * * *",
    "0 0 * * SAT-SUN",
    "0 0 1-31/2 * *",
    "  0   9  *  *  1-5  ",
]

INVALID = [
    ("0 0 30 2 *", "day 30 never occurs in February"),
    ("0 0 31 2 *", "day 31 never occurs in February"),
    ("0 0 30,31 feb *", "days 30, 31 never occur in February"),
    ("0 0 31 4,6,9,11 *", "day 31 never occurs in April, June, September or November"),
    ("0 0 * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6"),
    ("* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4"),
    ("", "empty cron string"),
    ("   ", "empty cron string"),
    ("60 * * * *", "minute value 60 is out of range 0-59"),
    ("0 24 * * *", "hour value 24 is out of range 0-23"),
    ("0 0 0 * *", "day-of-month value 0 is out of range 1-31"),
    ("0 0 32 * *", "day-of-month value 32 is out of range 1-31"),
    ("0 0 * 13 *", "month value 13 is out of range 1-12"),
    ("0 0 * 0 *", "month value 0 is out of range 1-12"),
    ("0 0 * * 8", "day-of-week value 8 is out of range 0-7"),
    ("*/0 * * * *", "step 0 in minute field"),
    ("*/x * * * *", "step 'X' in minute field is not a number"),
    ("0 0 * FOO *", "unknown month name 'FOO'"),
    ("0 0 * * FUNDAY", "unknown day-of-week name 'FUNDAY'"),
    ("@fortnightly", "unknown alias '@fortnightly'"),
    ("0 0 * * 5#2", "unsupported day-of-week syntax '5#2'"),
    ("0 0 * * 5L", "unsupported day-of-week syntax '5L'"),
    ("a * * * *", "'A' is not a valid minute value"),
    ("-1 * * * *", "'' is not a valid minute value"),
    ("1,,2 * * * *", "empty item in minute field '1,,2'"),
    ("0 L * * *", "'L' is only supported in the day-of-month field, not hour"),
]


@pytest.mark.parametrize("cron", VALID)
def test_valid_cron_strings_parse(cron: str) -> None:
    schedule = CronSchedule.parse(cron)
    assert len(schedule.expressions) == 1
    assert len(schedule.expressions[0].split(" ")) == 5


@pytest.mark.parametrize(("cron", "why"), INVALID)
def test_invalid_cron_strings_name_the_string_and_the_reason(cron: str, why: str) -> None:
    with pytest.raises(InvalidInput) as info:
        CronSchedule.parse(cron)
    assert str(info.value) == f"invalid cron string {cron!r}: {why}"


def test_a_bad_string_in_a_list_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"invalid cron string '0 0 30 2 \*'"):
        CronSchedule.parse(["0 0 * * *", "0 0 30 2 *"])


@pytest.mark.parametrize("spec", [[], ()])
def test_an_empty_list_is_invalid(spec: list[str]) -> None:
    with pytest.raises(InvalidInput, match="at least one cron string"):
        CronSchedule.parse(spec)


def test_a_non_string_in_a_list_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="expected a string"):
        CronSchedule.parse(["0 0 * * *", 5])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("alias", "expression"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@Hourly", "0 * * * *"),
    ],
)
def test_aliases_expand(alias: str, expression: str) -> None:
    assert CronSchedule.parse(alias).expressions == (expression,)
    assert CronSchedule.parse(alias) == CronSchedule.parse(expression)


def test_expressions_are_normalised_sorted_and_unique() -> None:
    schedule = CronSchedule.parse(["0 0 * * *", "@daily", "  0 *  * * * ", "0 9 * * mon-fri"])
    assert schedule.expressions == ("0 * * * *", "0 0 * * *", "0 9 * * MON-FRI")
    assert hash(schedule) == hash(CronSchedule.parse(["0 9 * * MON-FRI", "@hourly", "@daily"]))


@pytest.mark.parametrize(
    ("cron", "hourly"),
    [
        ("0 * * * *", True),
        ("@hourly", True),
        ("*/15 * * * *", True),
        ("* * * * *", True),
        ("0 0-23 * * *", True),
        ("0 */1 * * *", True),
        ("0 */2 * * *", False),
        ("0 0 * * *", False),
        ("0 1,2,3 * * *", False),
        ("0 2-4 * * *", False),
        (["0 * * * *", "*/5 * * * *"], True),
        (["0 * * * *", "0 0 * * *"], False),
    ],
)
def test_is_hourly_or_faster(cron: str | list[str], hourly: bool) -> None:
    assert CronSchedule.parse(cron).is_hourly_or_faster is hourly


# --------------------------------------------------------------------------- field semantics (UTC)

FIELDS = [
    ("*/90 * * * *", "2024-01-01T00:00:00+00:00", 3,
     ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00"]),
    ("10/20 * * * *", "2024-01-01T00:00:00+00:00", 4,
     ["2024-01-01T00:10:00+00:00", "2024-01-01T00:30:00+00:00", "2024-01-01T00:50:00+00:00",
      "2024-01-01T01:10:00+00:00"]),
    ("0 9 * * 1-5", "2024-01-05T10:00:00+00:00", 3,  # Friday after 09:00
     ["2024-01-08T09:00:00+00:00", "2024-01-09T09:00:00+00:00", "2024-01-10T09:00:00+00:00"]),
    ("0 9 * * MON-FRI", "2024-01-06T00:00:00+00:00", 1, ["2024-01-08T09:00:00+00:00"]),
    ("0 0 * * 7", "2024-01-01T00:00:00+00:00", 2,
     ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"]),
    ("0 0 * * SAT-SUN", "2024-01-01T00:00:00+00:00", 3,
     ["2024-01-06T00:00:00+00:00", "2024-01-07T00:00:00+00:00", "2024-01-13T00:00:00+00:00"]),
    ("0 0 L * *", "2024-01-01T00:00:00+00:00", 4,
     ["2024-01-31T00:00:00+00:00", "2024-02-29T00:00:00+00:00", "2024-03-31T00:00:00+00:00",
      "2024-04-30T00:00:00+00:00"]),
    ("0 0 L 2 *", "2025-01-01T00:00:00+00:00", 2,
     ["2025-02-28T00:00:00+00:00", "2026-02-28T00:00:00+00:00"]),
    # day-of-month OR day-of-week when both are restricted (2024-01-01 is a Monday)
    ("0 0 1,15 * 1", "2024-01-01T00:00:00+00:00", 7,
     ["2024-01-01T00:00:00+00:00", "2024-01-08T00:00:00+00:00", "2024-01-15T00:00:00+00:00",
      "2024-01-22T00:00:00+00:00", "2024-01-29T00:00:00+00:00", "2024-02-01T00:00:00+00:00",
      "2024-02-05T00:00:00+00:00"]),
    # croniter keeps a full enumeration restricted next to a restricted day-of-week: every day
    ("0 0 */1 * 1", "2024-01-02T00:00:00+00:00", 2,
     ["2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00"]),
    ("0 12 1 JAN,jul *", "2024-01-01T00:00:00+00:00", 3,
     ["2024-01-01T12:00:00+00:00", "2024-07-01T12:00:00+00:00", "2025-01-01T12:00:00+00:00"]),
    ("0 22-2 * * *", "2024-01-01T00:00:00+00:00", 6,
     ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00",
      "2024-01-01T22:00:00+00:00", "2024-01-01T23:00:00+00:00", "2024-01-02T00:00:00+00:00"]),
    ("0 0 29 2 *", "2024-01-01T00:00:00+00:00", 2,
     ["2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00"]),
    ("0 0 29 2 *", "2096-03-01T00:00:00+00:00", 1, ["2104-02-29T00:00:00+00:00"]),
    ("0 0 31 * *", "2024-01-01T00:00:00+00:00", 8,
     ["2024-01-31T00:00:00+00:00", "2024-03-31T00:00:00+00:00", "2024-05-31T00:00:00+00:00",
      "2024-07-31T00:00:00+00:00", "2024-08-31T00:00:00+00:00", "2024-10-31T00:00:00+00:00",
      "2024-12-31T00:00:00+00:00", "2025-01-31T00:00:00+00:00"]),
    ("@yearly", "2024-01-01T00:00:01+00:00", 2,
     ["2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"]),
    ("@weekly", "2024-01-01T00:00:00+00:00", 2,
     ["2024-01-07T00:00:00+00:00", "2024-01-14T00:00:00+00:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("cron", "start", "n", "expected"), FIELDS)
def test_field_semantics(cron: str, start: str, n: int, expected: list[str]) -> None:
    assert first(cron, start, "UTC", n) == expected


def test_thirty_first_fires_in_the_seven_long_months_of_a_year() -> None:
    schedule = CronSchedule.parse("0 0 31 * *")
    ticks = schedule.ticks_between(at("2024-01-01T00:00:00+00:00"), at("2025-01-01T00:00:00+00:00"))
    assert [t.month for t in ticks] == [1, 3, 5, 7, 8, 10, 12]


# --------------------------------------------------------------------------- DST, ascending

DST_ASC = [
    # New York, spring forward 2024-03-10 02:00 EST -> 03:00 EDT
    ("0 2 * * *", NY, "2024-03-09T00:00:00-05:00", 3,
     ["2024-03-09T02:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00"]),
    ("30 2 * * *", NY, "2024-03-09T00:00:00-05:00", 3,
     ["2024-03-09T02:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"]),
    ("0 3 * * *", NY, "2024-03-09T00:00:00-05:00", 3,
     ["2024-03-09T03:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T03:00:00-04:00"]),
    ("0 1,2,3 * * *", NY, "2024-03-10T00:00:00-05:00", 3,
     ["2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-11T01:00:00-04:00"]),
    ("0 2 * * 0", NY, "2024-03-03T03:00:00-05:00", 2,
     ["2024-03-10T03:00:00-04:00", "2024-03-17T02:00:00-04:00"]),
    ("0 * * * *", NY, "2024-03-10T00:00:00-05:00", 4,
     ["2024-03-10T00:00:00-05:00", "2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00",
      "2024-03-10T04:00:00-04:00"]),
    ("*/15 * * * *", NY, "2024-03-10T01:30:00-05:00", 4,
     ["2024-03-10T01:30:00-05:00", "2024-03-10T01:45:00-05:00", "2024-03-10T03:00:00-04:00",
      "2024-03-10T03:15:00-04:00"]),
    # New York, fall back 2024-11-03 02:00 EDT -> 01:00 EST
    ("0 1 * * *", NY, "2024-11-02T00:00:00-04:00", 3,
     ["2024-11-02T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-04T01:00:00-05:00"]),
    ("30 1 * * *", NY, "2024-11-02T00:00:00-04:00", 3,
     ["2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-05:00", "2024-11-04T01:30:00-05:00"]),
    ("0 2 * * *", NY, "2024-11-02T00:00:00-04:00", 3,
     ["2024-11-02T02:00:00-04:00", "2024-11-03T02:00:00-05:00", "2024-11-04T02:00:00-05:00"]),
    ("0 1,2,3 * * *", NY, "2024-11-03T00:00:00-04:00", 4,
     ["2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00", "2024-11-03T03:00:00-05:00",
      "2024-11-04T01:00:00-05:00"]),
    ("0 * * * *", NY, "2024-11-03T00:00:00-04:00", 4,
     ["2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T02:00:00-05:00"]),
    ("*/30 * * * *", NY, "2024-11-03T01:00:00-04:00", 5,
     ["2024-11-03T01:00:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T01:30:00-05:00", "2024-11-03T02:00:00-05:00"]),
    ("*/15 * * * *", NY, "2024-11-03T01:00:00-04:00", 9,
     ["2024-11-03T01:00:00-04:00", "2024-11-03T01:15:00-04:00", "2024-11-03T01:30:00-04:00",
      "2024-11-03T01:45:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T01:15:00-05:00",
      "2024-11-03T01:30:00-05:00", "2024-11-03T01:45:00-05:00", "2024-11-03T02:00:00-05:00"]),
    # a start inside the first pass of the repeated hour still sees the later daily tick
    ("0 1 * * *", NY, "2024-11-03T01:30:00-04:00", 1, ["2024-11-03T01:00:00-05:00"]),
    # Berlin, spring forward 2024-03-31 02:00 CET -> 03:00 CEST
    ("0 2 * * *", BERLIN, "2024-03-30T00:00:00+01:00", 3,
     ["2024-03-30T02:00:00+01:00", "2024-03-31T03:00:00+02:00", "2024-04-01T02:00:00+02:00"]),
    ("0 * * * *", BERLIN, "2024-03-31T00:00:00+01:00", 4,
     ["2024-03-31T00:00:00+01:00", "2024-03-31T01:00:00+01:00", "2024-03-31T03:00:00+02:00",
      "2024-03-31T04:00:00+02:00"]),
    # Berlin, fall back 2024-10-27 03:00 CEST -> 02:00 CET
    ("0 2 * * *", BERLIN, "2024-10-26T00:00:00+02:00", 3,
     ["2024-10-26T02:00:00+02:00", "2024-10-27T02:00:00+01:00", "2024-10-28T02:00:00+01:00"]),
    ("30 2 * * *", BERLIN, "2024-10-26T00:00:00+02:00", 3,
     ["2024-10-26T02:30:00+02:00", "2024-10-27T02:30:00+01:00", "2024-10-28T02:30:00+01:00"]),
    ("0 * * * *", BERLIN, "2024-10-27T01:00:00+02:00", 4,
     ["2024-10-27T01:00:00+02:00", "2024-10-27T02:00:00+02:00", "2024-10-27T02:00:00+01:00",
      "2024-10-27T03:00:00+01:00"]),
    # Sydney, fall back 2024-04-07 03:00 AEDT -> 02:00 AEST
    ("0 2 * * *", SYDNEY, "2024-04-06T00:00:00+11:00", 3,
     ["2024-04-06T02:00:00+11:00", "2024-04-07T02:00:00+10:00", "2024-04-08T02:00:00+10:00"]),
    ("0 * * * *", SYDNEY, "2024-04-07T01:00:00+11:00", 4,
     ["2024-04-07T01:00:00+11:00", "2024-04-07T02:00:00+11:00", "2024-04-07T02:00:00+10:00",
      "2024-04-07T03:00:00+10:00"]),
    ("*/30 * * * *", SYDNEY, "2024-04-07T02:00:00+11:00", 5,
     ["2024-04-07T02:00:00+11:00", "2024-04-07T02:30:00+11:00", "2024-04-07T02:00:00+10:00",
      "2024-04-07T02:30:00+10:00", "2024-04-07T03:00:00+10:00"]),
    # Sydney, spring forward 2024-10-06 02:00 AEST -> 03:00 AEDT
    ("0 2 * * *", SYDNEY, "2024-10-05T00:00:00+10:00", 3,
     ["2024-10-05T02:00:00+10:00", "2024-10-06T03:00:00+11:00", "2024-10-07T02:00:00+11:00"]),
    ("30 2 * * *", SYDNEY, "2024-10-05T00:00:00+10:00", 3,
     ["2024-10-05T02:30:00+10:00", "2024-10-06T03:00:00+11:00", "2024-10-07T02:30:00+11:00"]),
    ("0 * * * *", SYDNEY, "2024-10-06T00:00:00+10:00", 4,
     ["2024-10-06T00:00:00+10:00", "2024-10-06T01:00:00+10:00", "2024-10-06T03:00:00+11:00",
      "2024-10-06T04:00:00+11:00"]),
    # Kolkata (+05:30, no DST): the local wall clock, whatever UTC says
    ("0 9 * * *", KOLKATA, "2024-01-01T00:00:00+00:00", 2,
     ["2024-01-01T09:00:00+05:30", "2024-01-02T09:00:00+05:30"]),
    ("0 * * * *", KOLKATA, "2024-01-01T00:00:00+00:00", 2,
     ["2024-01-01T06:00:00+05:30", "2024-01-01T07:00:00+05:30"]),
    ("*/45 * * * *", KOLKATA, "2024-01-01T00:00:00+05:30", 4,
     ["2024-01-01T00:00:00+05:30", "2024-01-01T00:45:00+05:30", "2024-01-01T01:00:00+05:30",
      "2024-01-01T01:45:00+05:30"]),
    # UTC, and a start given in another zone
    ("0 0 * * *", "UTC", "2024-03-10T01:00:00-05:00", 2,
     ["2024-03-11T00:00:00+00:00", "2024-03-12T00:00:00+00:00"]),
    ("0 9 * * 1-5", NY, "2024-03-08T15:00:00+00:00", 2,  # Friday 10:00 EST
     ["2024-03-11T09:00:00-04:00", "2024-03-12T09:00:00-04:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("cron", "tz", "start", "n", "expected"), DST_ASC)
def test_ascending_ticks(cron: str, tz: str, start: str, n: int, expected: list[str]) -> None:
    assert first(cron, start, tz, n) == expected


# --------------------------------------------------------------------------- descending

DST_DESC = [
    ("0 * * * *", NY, "2024-11-03T02:00:00-05:00", 4,
     ["2024-11-03T02:00:00-05:00", "2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-04:00",
      "2024-11-03T00:00:00-04:00"]),
    ("*/30 * * * *", NY, "2024-11-03T02:00:00-05:00", 6,
     ["2024-11-03T02:00:00-05:00", "2024-11-03T01:30:00-05:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T00:30:00-04:00"]),
    ("0 1 * * *", NY, "2024-11-04T00:00:00-05:00", 2,
     ["2024-11-03T01:00:00-05:00", "2024-11-02T01:00:00-04:00"]),
    ("0 2 * * *", NY, "2024-03-11T02:00:00-04:00", 3,
     ["2024-03-11T02:00:00-04:00", "2024-03-10T03:00:00-04:00", "2024-03-09T02:00:00-05:00"]),
    ("0 1,2,3 * * *", NY, "2024-03-10T12:00:00-04:00", 3,
     ["2024-03-10T03:00:00-04:00", "2024-03-10T01:00:00-05:00", "2024-03-09T03:00:00-05:00"]),
    ("0 * * * *", NY, "2024-03-10T03:00:00-04:00", 3,
     ["2024-03-10T03:00:00-04:00", "2024-03-10T01:00:00-05:00", "2024-03-10T00:00:00-05:00"]),
    ("0 2 * * *", SYDNEY, "2024-10-07T00:00:00+11:00", 2,
     ["2024-10-06T03:00:00+11:00", "2024-10-05T02:00:00+10:00"]),
    ("0 0 29 2 *", "UTC", "2028-02-28T00:00:00+00:00", 2,
     ["2024-02-29T00:00:00+00:00", "2020-02-29T00:00:00+00:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("cron", "tz", "end", "n", "expected"), DST_DESC)
def test_descending_ticks(cron: str, tz: str, end: str, n: int, expected: list[str]) -> None:
    assert last(cron, end, tz, n) == expected


def test_descending_iteration_stops_at_1970() -> None:
    ticks = CronSchedule.parse("0 0 1 1 *").ticks_until(at("1972-06-01T00:00:00+00:00"), "UTC")
    assert isos(list(ticks)) == [
        "1972-01-01T00:00:00+00:00",
        "1971-01-01T00:00:00+00:00",
        "1970-01-01T00:00:00+00:00",
    ]


# --------------------------------------------------------------------------- inclusive bounds


def test_ascending_from_a_tick_yields_it_and_a_microsecond_later_does_not() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    assert first("0 * * * *", "2024-01-01T05:00:00+00:00", "UTC", 1) == [
        "2024-01-01T05:00:00+00:00"
    ]
    later = next(schedule.ticks_from(at("2024-01-01T05:00:00.000001+00:00"), "UTC"))
    assert later.isoformat() == "2024-01-01T06:00:00+00:00"


def test_descending_from_a_tick_yields_it_and_a_microsecond_earlier_does_not() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    assert last("0 * * * *", "2024-01-01T05:00:00+00:00", "UTC", 1) == ["2024-01-01T05:00:00+00:00"]
    earlier = next(schedule.ticks_until(at("2024-01-01T04:59:59.999999+00:00"), "UTC"))
    assert earlier.isoformat() == "2024-01-01T04:00:00+00:00"


LATEST = [
    ("0 * * * *", "UTC", "2024-01-01T05:00:00+00:00", "2024-01-01T05:00:00+00:00"),
    ("0 * * * *", "UTC", "2024-01-01T05:00:00.000001+00:00", "2024-01-01T05:00:00+00:00"),
    ("0 * * * *", "UTC", "2024-01-01T04:59:59.999999+00:00", "2024-01-01T04:00:00+00:00"),
    ("0 0 * * *", NY, "2024-01-01T05:10:00+00:00", "2024-01-01T00:00:00-05:00"),
    ("0 9 * * 1-5", "UTC", "2024-01-07T12:00:00+00:00", "2024-01-05T09:00:00+00:00"),
    # the repeated hour: the fold the clock is in
    ("0 * * * *", NY, "2024-11-03T01:30:00-04:00", "2024-11-03T01:00:00-04:00"),
    ("0 * * * *", NY, "2024-11-03T01:30:00-05:00", "2024-11-03T01:00:00-05:00"),
    ("0 * * * *", NY, "2024-11-03T01:00:00-05:00", "2024-11-03T01:00:00-05:00"),
    ("*/15 * * * *", NY, "2024-11-03T01:50:00-04:00", "2024-11-03T01:45:00-04:00"),
    ("*/15 * * * *", NY, "2024-11-03T01:10:00-05:00", "2024-11-03T01:00:00-05:00"),
    ("0 1 * * *", NY, "2024-11-03T01:30:00-04:00", "2024-11-02T01:00:00-04:00"),
    ("0 1 * * *", NY, "2024-11-03T01:30:00-05:00", "2024-11-03T01:00:00-05:00"),
    # the gap
    ("0 2 * * *", NY, "2024-03-10T03:00:00-04:00", "2024-03-10T03:00:00-04:00"),
    ("0 2 * * *", NY, "2024-03-10T01:59:59-05:00", "2024-03-09T02:00:00-05:00"),
    ("30 2 * * *", NY, "2024-03-10T03:15:00-04:00", "2024-03-10T03:00:00-04:00"),
]


@pytest.mark.parametrize(("cron", "tz", "now", "expected"), LATEST)
def test_latest_tick_is_inclusive(cron: str, tz: str, now: str, expected: str) -> None:
    tick = CronSchedule.parse(cron).latest_tick(at(now), tz)
    assert tick is not None
    assert tick.isoformat() == expected


def test_latest_tick_before_1970_is_none() -> None:
    assert CronSchedule.parse("0 0 1 1 *").latest_tick(at("1969-06-01T00:00:00+00:00")) is None


NEXT = [
    ("0 * * * *", "UTC", "2024-01-01T05:00:00+00:00", "2024-01-01T06:00:00+00:00"),
    ("0 * * * *", "UTC", "2024-01-01T05:00:00.500000+00:00", "2024-01-01T06:00:00+00:00"),
    ("0 * * * *", "UTC", "2024-01-01T04:59:59+00:00", "2024-01-01T05:00:00+00:00"),
    ("0 2 * * *", NY, "2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00"),
    ("0 2 * * *", NY, "2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00"),
    ("0 * * * *", NY, "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00"),
    ("0 1 * * *", NY, "2024-11-03T00:59:00-04:00", "2024-11-03T01:00:00-05:00"),
    ("0 0 29 2 *", "UTC", "2024-02-29T00:00:00+00:00", "2028-02-29T00:00:00+00:00"),
]


@pytest.mark.parametrize(("cron", "tz", "after", "expected"), NEXT)
def test_next_tick_is_strictly_after(cron: str, tz: str, after: str, expected: str) -> None:
    assert CronSchedule.parse(cron).next_tick(at(after), tz).isoformat() == expected


# --------------------------------------------------------------------------- ticks_between


def test_ticks_between_excludes_after_and_includes_until() -> None:
    ticks = CronSchedule.parse("0 * * * *").ticks_between(
        at("2024-01-01T00:00:00+00:00"), at("2024-01-01T03:00:00+00:00"), "UTC"
    )
    assert isos(ticks) == [
        "2024-01-01T01:00:00+00:00",
        "2024-01-01T02:00:00+00:00",
        "2024-01-01T03:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, ["2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00",
                "2024-01-01T03:00:00+00:00"]),
        (2, ["2024-01-01T01:00:00+00:00", "2024-01-01T02:00:00+00:00"]),
        (1, ["2024-01-01T01:00:00+00:00"]),
        (0, []),
    ],
)  # fmt: skip
def test_ticks_between_limit_keeps_the_oldest(limit: int | None, expected: list[str]) -> None:
    ticks = CronSchedule.parse("0 * * * *").ticks_between(
        at("2024-01-01T00:00:00+00:00"), at("2024-01-01T03:00:00+00:00"), "UTC", limit=limit
    )
    assert isos(ticks) == expected


def test_ticks_between_across_the_repeated_hour() -> None:
    ticks = CronSchedule.parse("0 * * * *").ticks_between(
        at("2024-11-03T00:00:00-04:00"), at("2024-11-03T02:00:00-05:00"), NY
    )
    assert isos(ticks) == [
        "2024-11-03T01:00:00-04:00",
        "2024-11-03T01:00:00-05:00",
        "2024-11-03T02:00:00-05:00",
    ]


def test_ticks_between_an_empty_or_reversed_interval() -> None:
    schedule = CronSchedule.parse("0 * * * *")
    t = at("2024-01-01T01:00:00+00:00")
    assert schedule.ticks_between(t, t, "UTC") == []
    assert schedule.ticks_between(t, t - timedelta(hours=5), "UTC") == []


def test_ticks_between_rejects_a_negative_limit() -> None:
    with pytest.raises(InvalidInput, match="limit"):
        CronSchedule.parse("0 * * * *").ticks_between(
            at("2024-01-01T00:00:00+00:00"), at("2024-01-02T00:00:00+00:00"), "UTC", limit=-1
        )


# --------------------------------------------------------------------------- lists of crons

UNION = [
    (["0 0 * * *", "0 0 * * 1"], "UTC", "2024-01-01T00:00:00+00:00", 3,
     ["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00", "2024-01-03T00:00:00+00:00"]),
    (["0 9 * * *", "30 9 * * *", "@daily"], "UTC", "2024-01-01T00:00:00+00:00", 4,
     ["2024-01-01T00:00:00+00:00", "2024-01-01T09:00:00+00:00", "2024-01-01T09:30:00+00:00",
      "2024-01-02T00:00:00+00:00"]),
    # each expression keeps its own DST rule; the daily 01:00-05:00 collapses into the hourly one
    (["0 * * * *", "0 1 * * *"], NY, "2024-11-03T00:00:00-04:00", 4,
     ["2024-11-03T00:00:00-04:00", "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00",
      "2024-11-03T02:00:00-05:00"]),
    (["0 2 * * *", "0 3 * * *"], NY, "2024-03-10T00:00:00-05:00", 3,
     ["2024-03-10T03:00:00-04:00", "2024-03-11T02:00:00-04:00", "2024-03-11T03:00:00-04:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("crons", "tz", "start", "n", "expected"), UNION)
def test_a_list_of_crons_is_the_union_of_their_ticks(
    crons: list[str], tz: str, start: str, n: int, expected: list[str]
) -> None:
    assert first(crons, start, tz, n) == expected


def test_a_list_of_crons_descending_latest_and_next() -> None:
    crons = ["0 9 * * *", "30 9 * * *", "@daily"]
    assert last(crons, "2024-01-02T09:00:00+00:00", "UTC", 4) == [
        "2024-01-02T09:00:00+00:00",
        "2024-01-02T00:00:00+00:00",
        "2024-01-01T09:30:00+00:00",
        "2024-01-01T09:00:00+00:00",
    ]
    schedule = CronSchedule.parse(crons)
    latest = schedule.latest_tick(at("2024-01-01T09:45:00+00:00"), "UTC")
    assert latest is not None and latest.isoformat() == "2024-01-01T09:30:00+00:00"
    assert schedule.next_tick(at("2024-01-01T09:00:00+00:00"), "UTC").isoformat() == (
        "2024-01-01T09:30:00+00:00"
    )


# --------------------------------------------------------------------------- bad inputs

NAIVE = datetime(2024, 1, 1)
CALLS: list[Callable[[CronSchedule, datetime, str], object]] = [
    lambda s, t, tz: s.ticks_from(t, tz),
    lambda s, t, tz: s.ticks_until(t, tz),
    lambda s, t, tz: s.latest_tick(t, tz),
    lambda s, t, tz: s.next_tick(t, tz),
    lambda s, t, tz: s.ticks_between(t, datetime(2024, 1, 2, tzinfo=UTC), tz),
    lambda s, t, tz: s.ticks_between(datetime(2023, 1, 2, tzinfo=UTC), t, tz),
]


@pytest.mark.parametrize("call", CALLS)
def test_naive_datetimes_are_rejected(
    call: Callable[[CronSchedule, datetime, str], object],
) -> None:
    with pytest.raises(InvalidInput, match="naive datetime"):
        call(CronSchedule.parse("@daily"), NAIVE, "UTC")


class _NoOffset(tzinfo):
    """A tzinfo that answers no offset: Python counts such a datetime as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.mark.parametrize("call", CALLS)
def test_a_datetime_whose_tzinfo_answers_no_offset_is_naive(
    call: Callable[[CronSchedule, datetime, str], object],
) -> None:
    # `tzinfo is not None` alone would take it for aware and fail later with a TypeError.
    with pytest.raises(InvalidInput, match="naive datetime"):
        call(CronSchedule.parse("@daily"), datetime(2024, 1, 1, tzinfo=_NoOffset()), "UTC")


@pytest.mark.parametrize("call", CALLS)
def test_unknown_timezones_are_rejected(
    call: Callable[[CronSchedule, datetime, str], object],
) -> None:
    aware = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match=r"unknown timezone 'Mars/Base'"):
        call(CronSchedule.parse("@daily"), aware, "Mars/Base")


@pytest.mark.parametrize("name", ["Mars/Base", "", "../etc/passwd", "/UTC", " UTC", 5, None])
def test_validate_timezone_rejects(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        validate_timezone(name)
    assert str(info.value) == f"unknown timezone {name!r}"


@pytest.mark.parametrize("name", ["UTC", NY, BERLIN, SYDNEY, KOLKATA])
def test_validate_timezone_accepts(name: str) -> None:
    assert validate_timezone(name) == ZoneInfo(name)


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("tz", ["UTC", NY, BERLIN, SYDNEY, KOLKATA])
@pytest.mark.parametrize("cron", ["0 * * * *", "*/20 * * * *", "30 2 * * *", "0 1,2,3 * * *"])
def test_a_year_of_ticks_is_strictly_increasing_and_reverses_exactly(tz: str, cron: str) -> None:
    schedule = CronSchedule.parse(cron)
    lo, hi = at("2024-01-01T00:00:00+00:00"), at("2025-01-01T00:00:00+00:00")
    up = schedule.ticks_between(lo, hi, tz)
    # (same-zone datetimes compare by wall clock in Python, so compare instants)
    assert all(a.timestamp() < b.timestamp() for a, b in pairwise(up))
    down = list(islice(schedule.ticks_until(hi, tz), len(up) + 1))
    assert isos([t for t in down if t.timestamp() > lo.timestamp()]) == isos(up[::-1])
    zone = ZoneInfo(tz)
    assert all(t.utcoffset() == t.astimezone(UTC).astimezone(zone).utcoffset() for t in up)


# --------------------------------------------------------------------------- brute force
# The rules stated literally, checked minute by minute around real transitions, including
# zones the tables above do not cover (a 30-minute shift, midnight transitions, a skipped day).

Wall = Callable[[datetime], bool]
BRUTE: list[tuple[str, bool, Wall]] = [
    ("0 * * * *", True, lambda w: w.minute == 0),
    ("*/15 * * * *", True, lambda w: w.minute % 15 == 0),
    ("10 * * * 0", True, lambda w: w.minute == 10 and w.weekday() == 6),
    ("0 2 * * *", False, lambda w: (w.hour, w.minute) == (2, 0)),
    ("30 2 * * *", False, lambda w: (w.hour, w.minute) == (2, 30)),
    ("0 0 * * *", False, lambda w: (w.hour, w.minute) == (0, 0)),
    ("45 23 * * *", False, lambda w: (w.hour, w.minute) == (23, 45)),
    ("0 1,2,3 * * *", False, lambda w: w.minute == 0 and w.hour in (1, 2, 3)),
    ("15,45 0-3 * * *", False, lambda w: w.minute in (15, 45) and w.hour <= 3),
    ("0 12 * * *", False, lambda w: (w.hour, w.minute) == (12, 0)),
]
TRANSITIONS = [
    (NY, "2024-03-10T07:00:00+00:00"),
    (NY, "2024-11-03T06:00:00+00:00"),
    (BERLIN, "2024-03-31T01:00:00+00:00"),
    (BERLIN, "2024-10-27T01:00:00+00:00"),
    (SYDNEY, "2024-04-06T16:00:00+00:00"),
    (SYDNEY, "2024-10-05T16:00:00+00:00"),
    ("Australia/Lord_Howe", "2024-04-06T15:00:00+00:00"),
    ("Australia/Lord_Howe", "2024-10-05T16:00:00+00:00"),
    ("America/Santiago", "2024-04-07T03:00:00+00:00"),
    ("America/Santiago", "2024-09-08T04:00:00+00:00"),
    ("America/Havana", "2024-11-03T05:00:00+00:00"),
    ("Pacific/Apia", "2011-12-30T10:00:00+00:00"),
    (KOLKATA, "2024-06-01T00:00:00+00:00"),
]


def _wall(u: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(u, zone).replace(tzinfo=None)


def brute_force(matches: Wall, hourly: bool, zone: ZoneInfo, lo: int, hi: int) -> list[int]:
    """Ticks in [lo, hi] by the rules, scanning every minute."""
    if hourly:
        return [u for u in range(lo - lo % 60, hi + 1, 60) if u >= lo and matches(_wall(u, zone))]
    found: set[int] = set()
    wall = _wall(lo, zone).replace(second=0) - timedelta(days=2)
    end = _wall(hi, zone) + timedelta(days=2)
    while wall <= end:
        if matches(wall):
            instants = [int(wall.replace(tzinfo=zone, fold=f).timestamp()) for f in (0, 1)]
            real = [u for u in instants if _wall(u, zone) == wall]
            if real:
                found.add(max(real))  # a repeated time fires at its later instant
            else:  # in a gap: the first instant whose wall clock is past it
                u = min(instants)
                while _wall(u, zone) < wall:
                    u += 60
                found.add(u)
        wall += timedelta(minutes=1)
    return sorted(u for u in found if lo <= u <= hi)


@pytest.mark.parametrize(("tz", "transition"), TRANSITIONS)
@pytest.mark.parametrize(("cron", "hourly", "matches"), BRUTE)
def test_iteration_matches_a_minute_by_minute_statement_of_the_rules(
    tz: str, transition: str, cron: str, hourly: bool, matches: Wall
) -> None:
    zone = ZoneInfo(tz)
    pivot = int(at(transition).timestamp())
    lo, hi = pivot - 2 * 86_400, pivot + 2 * 86_400
    expected = brute_force(matches, hourly, zone, lo, hi)
    schedule = CronSchedule.parse(cron)
    start = datetime.fromtimestamp(lo, UTC)
    end = datetime.fromtimestamp(hi, UTC)
    up = schedule.ticks_between(start - timedelta(seconds=1), end, tz)
    assert [int(t.timestamp()) for t in up] == expected
    down = [t for t in islice(schedule.ticks_until(end, tz), len(expected) + 1) if t >= start]
    assert [int(t.timestamp()) for t in down] == expected[::-1]
    for u in expected:  # latest/next agree with the list around every tick
        at_u = datetime.fromtimestamp(u, UTC)
        latest = schedule.latest_tick(at_u, tz)
        assert latest is not None and latest.timestamp() == u
        assert schedule.next_tick(at_u - timedelta(seconds=1), tz).timestamp() == u


# Speed is measured in benchmarks/schedules.py (make bench), not asserted here.


MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@pytest.mark.parametrize(("name", "number"), list(zip(MONTHS, range(1, 13), strict=True)))
def test_every_month_name_is_its_number(name: str, number: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    by_name = CronSchedule.parse(f"0 0 1 {name} *").next_tick(start, "UTC")
    assert by_name == CronSchedule.parse(f"0 0 1 {number} *").next_tick(start, "UTC")
    assert by_name.month == number


@pytest.mark.parametrize(
    ("months", "text"),
    [
        ("2", "February"),
        ("4", "April"),
        ("6", "June"),
        ("9", "September"),
        ("11", "November"),
        ("2,4,6,9,11", "February, April, June, September or November"),
    ],
)
def test_a_day_no_month_has_names_every_month(months: str, text: str) -> None:
    with pytest.raises(InvalidInput, match=f"day 31 never occurs in {text}'?$"):
        CronSchedule.parse(f"0 0 31 {months} *")


def test_the_long_months_have_a_31st() -> None:
    CronSchedule.parse("0 0 31 1,3,5,7,8,10,12 *")  # January, March, May, July, August, ...


# --------------------------------------------------------------------------- bulk and step


def _stepped(schedule: CronSchedule, tz: str, low: int, high: int) -> list[int]:
    """Ticks in [low, high] taken one at a time with `next_tick` (the per-tick search)."""
    out: list[int] = []
    moment = datetime.fromtimestamp(low - 1, UTC)
    while True:
        tick = schedule.next_tick(moment, tz)
        if tick.timestamp() > high:
            return out
        out.append(int(tick.timestamp()))
        moment = tick


BULK_CRONS: list[str | list[str]] = [
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "0 0 * * *",
    "0 1,2,3 * * *",
    "0 9 * * 1-5",
    "0 0 1 * *",
    "0 0 L * *",
    "0 0 29 2 *",
    "5 4 * * SUN",
    "0 0 13 * FRI",
    ["0 2 * * *", "30 2 * * *"],
    ["0 * * * *", "30 1 * * *"],
]
BULK_ZONES = ["UTC", NY, BERLIN, SYDNEY, KOLKATA, "Australia/Lord_Howe", "Pacific/Apia"]


@given(
    cron=st.sampled_from(BULK_CRONS),
    tz=st.sampled_from(BULK_ZONES),
    low=st.integers(
        int(at("2011-01-01T00:00:00+00:00").timestamp()),
        int(at("2025-12-31T00:00:00+00:00").timestamp()),
    ),
    span=st.integers(0, 40 * 86_400),
)
def test_bulk_ticks_equal_the_ticks_taken_one_at_a_time(
    cron: str | list[str], tz: str, low: int, span: int
) -> None:
    schedule = CronSchedule.parse(cron)
    expected = _stepped(schedule, tz, low, low + span)
    assert schedule.instants_between(low, low + span, tz) == expected
    until = datetime.fromtimestamp(low + span, UTC)
    after = datetime.fromtimestamp(low - 1, UTC)
    assert [int(t.timestamp()) for t in schedule.ticks_between(after, until, tz)] == expected
    walked = islice(schedule.ticks_from(datetime.fromtimestamp(low, UTC), tz), len(expected))
    assert [int(t.timestamp()) for t in walked] == expected


@pytest.mark.parametrize(("tz", "transition"), TRANSITIONS)
def test_bulk_ticks_cut_anywhere_around_a_transition_join_up(tz: str, transition: str) -> None:
    # A window ending or starting inside a gap or a repeated hour loses and repeats nothing.
    schedule = CronSchedule.parse(["*/30 * * * *", "30 2 * * *", "0 1,2,3 * * *"])
    pivot = int(at(transition).timestamp())
    whole = schedule.instants_between(pivot - 86_400, pivot + 86_400, tz)
    assert whole == _stepped(schedule, tz, pivot - 86_400, pivot + 86_400)
    for cut in range(pivot - 3 * 3600, pivot + 3 * 3600, 900):
        left = schedule.instants_between(pivot - 86_400, cut, tz)
        right = schedule.instants_between(cut + 1, pivot + 86_400, tz)
        assert left + right == whole


def test_ascending_iteration_ends_quietly_at_the_last_supported_year() -> None:
    ticks = list(CronSchedule.parse("0 0 * * *").ticks_from(at("9998-12-01T00:00:00+00:00")))
    assert len(ticks) == 31 and ticks[-1].isoformat() == "9998-12-31T00:00:00+00:00"
    last = CronSchedule.parse("0 0 * * *").instants_between(0, 10**12)
    assert last[-1] == int(at("9998-12-31T00:00:00+00:00").timestamp())


def test_the_first_supported_year_is_year_2() -> None:
    daily = CronSchedule.parse("0 0 * * *")
    tick = daily.next_tick(datetime(2, 3, 1, tzinfo=UTC))
    assert tick.isoformat() == "0002-03-02T00:00:00+00:00"
    with pytest.raises(InvalidInput, match="no tick"):
        daily.next_tick(datetime(1, 6, 1, tzinfo=UTC))  # year 1 has no offset table


DAYS_OF_WEEK = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]


@pytest.mark.parametrize(("name", "number"), [(d, i) for i, d in enumerate(DAYS_OF_WEEK)])
def test_every_weekday_name_is_its_number(name: str, number: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
    by_name = CronSchedule.parse(f"0 0 * * {name}").next_tick(start, "UTC")
    assert by_name == CronSchedule.parse(f"0 0 * * {number}").next_tick(start, "UTC")
    assert (by_name.weekday() + 1) % 7 == number  # cron counts from Sunday


def test_months_restricted_by_name_have_exactly_their_days() -> None:
    # The seven 31-day months, every day: 217 ticks a year, none in another month.
    long_months = CronSchedule.parse("0 0 * JAN,MAR,MAY,JUL,AUG,OCT,DEC *")
    start = datetime(2023, 12, 31, 12, tzinfo=UTC)
    ticks = long_months.ticks_between(start, datetime(2024, 12, 31, 12, tzinfo=UTC))
    assert len(ticks) == 217
    assert {t.month for t in ticks} == {1, 3, 5, 7, 8, 10, 12}
    assert [t.day for t in ticks if t.month == 1][-1] == 31
    assert ticks[31].isoformat() == "2024-03-01T00:00:00+00:00"  # after Jan 31, not Feb 1


@pytest.mark.parametrize("month", [1, 3, 5, 7, 8, 10, 12])
def test_the_last_tick_of_a_long_month_is_its_31st(month: int) -> None:
    # Searching back from the month after: the calendar holds 31 days, not a 32nd.
    after = datetime(2024 + month // 12, month % 12 + 1, 15, tzinfo=UTC)
    latest = CronSchedule.parse(f"0 0 * {month} *").latest_tick(after)
    assert latest is not None and (latest.month, latest.day) == (month, 31)


@pytest.mark.parametrize(
    ("cron", "weekdays"),
    [
        ("0 0 * * 1/2", ["Mon", "Wed", "Fri"]),  # a step from Monday stops at Saturday
        ("0 0 * * 7-2", ["Mon", "Tue", "Sun"]),  # 7 is Sunday, also as a range's start
        ("0 0 * * 5-5", ["Fri"]),  # a one-day range, not the whole week (ADR 0008 §39)
    ],
)
def test_day_of_week_steps_and_ranges(cron: str, weekdays: list[str]) -> None:
    week = CronSchedule.parse(cron).ticks_between(
        at("2024-01-07T00:00:00+00:00"), at("2024-01-14T00:00:00+00:00")
    )  # Monday 8th to Sunday 14th
    assert sorted(t.strftime("%a") for t in week) == sorted(weekdays)


def test_the_last_day_and_another_day_in_one_field() -> None:
    ticks = CronSchedule.parse("0 0 L,15 * *").ticks_between(
        at("2024-01-31T12:00:00+00:00"), at("2024-03-31T12:00:00+00:00")
    )
    assert [t.date().isoformat() for t in ticks] == [
        "2024-02-15",
        "2024-02-29",
        "2024-03-15",
        "2024-03-31",
    ]


def test_the_offset_segments_cover_exactly_the_supported_years() -> None:
    from arco.domain.cron import _END_INSTANT, _FIRST_INSTANT, offset_segment

    zone = ZoneInfo("Europe/Paris")
    first, last = offset_segment(zone, _FIRST_INSTANT), offset_segment(zone, _END_INSTANT - 1)
    assert first is not None and first[0] <= _FIRST_INSTANT < first[1]
    assert last is not None and last[0] <= _END_INSTANT - 1 < last[1]
    assert offset_segment(zone, _FIRST_INSTANT - 1) is None
    assert offset_segment(zone, _END_INSTANT) is None


def test_the_time_zone_is_utc_unless_named() -> None:
    daily = CronSchedule.parse("0 0 * * *")
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert next(daily.ticks_from(start)) == datetime(2024, 1, 2, tzinfo=UTC)
    assert next(daily.ticks_until(start)) == datetime(2024, 1, 1, tzinfo=UTC)
    assert daily.next_tick(start) == datetime(2024, 1, 2, tzinfo=UTC)
    assert daily.latest_tick(start) == datetime(2024, 1, 1, tzinfo=UTC)
    # Berlin's 2024 spring gap ends at 01:00Z: 02:30 was moved there in Berlin, not in UTC.
    gap_end = int(datetime(2024, 3, 31, 1, tzinfo=UTC).timestamp())
    half_past_two = CronSchedule.parse("30 2 * * *")
    assert half_past_two.named_wall(gap_end, "Europe/Berlin") is not None
    assert half_past_two.named_wall(gap_end) is None


@pytest.mark.parametrize("tz", ["America/New_York", "America/St_Johns", "Australia/Lord_Howe"])
def test_offset_segments_start_at_the_transition_second(tz: str) -> None:
    from arco.domain.cron import offset_segment

    zone = ZoneInfo(tz)
    # St John's changed at 00:01 local until 2011: bisection must land on that odd second
    t = int(datetime(2005, 1, 1, tzinfo=UTC).timestamp())
    changes = 0
    while t < int(datetime(2015, 1, 1, tzinfo=UTC).timestamp()):
        segment = offset_segment(zone, t)
        assert segment is not None
        _, end, offset, _, _ = segment
        assert datetime.fromtimestamp(t, zone).utcoffset() == timedelta(seconds=offset)
        # the offset changes exactly at `end` (or `end` is a year's end with no change)
        inside, beyond = datetime.fromtimestamp(end - 1, zone), datetime.fromtimestamp(end, zone)
        if inside.utcoffset() != beyond.utcoffset():
            changes += 1
        else:
            assert datetime.fromtimestamp(end, UTC).strftime("%m-%d %H:%M:%S") == "01-01 00:00:00"
        t = end
    assert changes == 20


def test_the_latest_tick_of_several_expressions_skips_one_with_none_yet() -> None:
    # 1970-01-01 12:00 UTC: "0 0 2 1 *" has no tick yet, the hourly one has.
    union = CronSchedule.parse(["0 0 2 1 *", "0 * * * *"])
    noon = datetime(1970, 1, 1, 12, tzinfo=UTC)
    assert union.latest_tick(noon) == noon


def test_ticks_between_names_the_bound_it_cannot_read() -> None:
    daily = CronSchedule.parse("0 0 * * *")
    aware = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match=r"^until 2024-01-02T00:00:00 is a naive"):
        daily.ticks_between(aware, datetime(2024, 1, 2))
    with pytest.raises(InvalidInput, match=r"^after 2024-01-01T00:00:00 is a naive"):
        daily.ticks_between(datetime(2024, 1, 1), aware)
    with pytest.raises(InvalidInput, match=r"^after 2024-01-01T00:00:00 is a naive"):
        daily.next_tick(datetime(2024, 1, 1))


def test_walking_ticks_asks_for_chunks_no_longer_than_the_longest_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Taking ticks one by one stays cheap however long the walk: the bulk calls grow from an
    # hour up to _MAX_SPAN, never beyond (a minutely cron over a decade is 5 million ticks).
    from arco.domain import cron as cron_module

    asked: list[int] = []
    real = CronSchedule._instants

    def recording(self: CronSchedule, zone: ZoneInfo, low: int, high: int) -> list[int]:
        asked.append(high - low)
        return real(self, zone, low, high)

    monkeypatch.setattr(CronSchedule, "_instants", recording)
    hourly = CronSchedule.parse("0 * * * *").ticks_from(datetime(2024, 1, 1, tzinfo=UTC))
    for _ in range(24 * 400):
        next(hourly)
    assert asked[0] == cron_module._FIRST_SPAN
    assert max(asked) == cron_module._MAX_SPAN


def test_a_cron_with_no_tick_left_has_no_next_tick_across_a_gap() -> None:
    # The last 29 February before year 10000 is in 9996: after it, New York's spring-forward
    # gap is no tick of this cron.
    leap_day = CronSchedule.parse("0 0 29 2 *")
    gap = datetime(9996, 3, 10, 7, tzinfo=UTC)  # 02:00 EST, the gap's start that year
    for after in (datetime(9996, 3, 1, tzinfo=UTC), gap - timedelta(seconds=1)):
        with pytest.raises(InvalidInput, match="no tick of"):
            leap_day.next_tick(after, "America/New_York")
    assert leap_day.next_tick(datetime(9996, 1, 1, tzinfo=UTC), "America/New_York") == datetime(
        9996, 2, 29, tzinfo=ZoneInfo("America/New_York")
    )


def test_ticks_between_stop_a_second_before_the_next_tick() -> None:
    daily = CronSchedule.parse("0 0 * * *")
    until = datetime(2024, 1, 2, 23, 59, 59, tzinfo=UTC)
    assert daily.ticks_between(datetime(2024, 1, 1, tzinfo=UTC), until) == [
        datetime(2024, 1, 2, tzinfo=UTC)
    ]
    paris = CronSchedule.parse("30 * * * *")
    ticks = paris.ticks_between(
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 1, 29, 59, tzinfo=UTC),
        "Europe/Paris",
    )
    assert [t.astimezone(UTC).strftime("%H:%M") for t in ticks] == ["00:30"]


def _days(spec: str, start: datetime, count: int) -> list[str]:
    ticks = CronSchedule.parse(spec).ticks_from(start)
    return [next(ticks).strftime("%Y-%m-%d %a") for _ in range(count)]


def test_leap_days_follow_the_gregorian_century_rule() -> None:
    # 2000 is a leap year (divisible by 400), 2100 is not (by 100 only).
    assert _days("0 0 29 2 *", datetime(1999, 1, 1, tzinfo=UTC), 2) == [
        "2000-02-29 Tue",
        "2004-02-29 Sun",
    ]
    assert _days("0 0 29 2 *", datetime(2097, 1, 1, tzinfo=UTC), 1) == ["2104-02-29 Fri"]
    assert _days("0 0 L 2 *", datetime(2100, 1, 1, tzinfo=UTC), 1) == ["2100-02-28 Sun"]


@pytest.mark.parametrize(
    ("spec", "weekdays"),
    [
        ("0 0 * * 7", ["Sun"]),
        ("0 0 * * 5-7", ["Fri", "Sat", "Sun"]),
        ("0 0 * * 7-1", ["Sun", "Mon"]),
        ("0 0 * * 5-2", ["Fri", "Sat", "Sun", "Mon", "Tue"]),
        ("0 0 * * 1-7/2", ["Mon", "Wed", "Fri", "Sun"]),
        ("0 0 * * */3", ["Sun", "Wed", "Sat"]),
    ],
)
def test_day_of_week_seven_is_sunday_in_lists_ranges_and_wraps(
    spec: str, weekdays: list[str]
) -> None:
    # 2024-01-01 is a Monday; a fortnight shows every weekday the cron picks.
    days = _days(spec, datetime(2024, 1, 1, tzinfo=UTC), len(weekdays) * 2)
    assert sorted({d[-3:] for d in days}, key=weekdays.index) == weekdays


def test_wrapping_ranges_of_hours_and_months() -> None:
    hours = CronSchedule.parse("0 22-1 * * *").ticks_from(datetime(2024, 1, 1, tzinfo=UTC))
    assert [next(hours).strftime("%d %H") for _ in range(6)] == [
        "01 00",
        "01 01",
        "01 22",
        "01 23",
        "02 00",
        "02 01",
    ]
    assert [d[:7] for d in _days("0 0 1 11-2 *", datetime(2024, 3, 1, tzinfo=UTC), 4)] == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]


def test_every_tick_method_names_the_naive_datetime_it_refuses() -> None:
    daily = CronSchedule.parse("0 0 * * *")
    naive = datetime(2024, 1, 1)
    with pytest.raises(InvalidInput, match=r"^now 2024-01-01T00:00:00 is a naive"):
        daily.latest_tick(naive)
    with pytest.raises(InvalidInput, match=r"^start 2024-01-01T00:00:00 is a naive"):
        daily.ticks_from(naive)
    with pytest.raises(InvalidInput, match=r"^end 2024-01-01T00:00:00 is a naive"):
        daily.ticks_until(naive)


def test_ticks_from_a_fraction_of_a_second_before_a_tick_include_it() -> None:
    minutely = CronSchedule.parse("* * * * *")
    start = datetime(2024, 1, 1, 0, 0, 59, 500_000, tzinfo=UTC)
    assert next(minutely.ticks_from(start)) == datetime(2024, 1, 1, 0, 1, tzinfo=UTC)


def test_the_wall_time_a_gap_moved_east_of_utc_and_before_a_years_end() -> None:
    # Berlin springs forward 02:00 -> 03:00 on 2024-03-31; Moscow moved to +04 for good on
    # 2011-03-27 (no other change that year): 02:30 fires at the gap's end in both.
    for tz, gap_end in (
        ("Europe/Berlin", datetime(2024, 3, 31, 1, tzinfo=UTC)),
        ("Europe/Moscow", datetime(2011, 3, 26, 23, tzinfo=UTC)),
    ):
        named = CronSchedule.parse("30 2 * * *").named_wall(int(gap_end.timestamp()), tz)
        assert named is not None, tz
        assert named.replace(tzinfo=None) == gap_end.astimezone(ZoneInfo(tz)).replace(
            hour=2, minute=30, tzinfo=None
        ), tz


def test_a_range_from_seven_is_only_remapped_in_the_day_of_week() -> None:
    hours = CronSchedule.parse("0 7-9 * * *").ticks_from(datetime(2024, 1, 1, tzinfo=UTC))
    assert [next(hours).hour for _ in range(4)] == [7, 8, 9, 7]
    assert [d[8:10] for d in _days("0 0 7-8 * *", datetime(2024, 1, 1, tzinfo=UTC), 3)] == [
        "07",
        "08",
        "07",
    ]


def test_the_last_supported_year_has_its_ticks() -> None:
    july = CronSchedule.parse("0 0 1 7 *")
    assert july.next_tick(datetime(9997, 12, 15, tzinfo=UTC)) == datetime(9998, 7, 1, tzinfo=UTC)


def test_a_schedule_shows_its_expressions_only() -> None:
    assert repr(CronSchedule.parse("@daily")) == "CronSchedule(expressions=('0 0 * * *',))"


def test_a_stepped_range_that_wraps_keeps_its_step_across_the_wrap() -> None:
    # October to March every third month: October and January.
    months = [d[:7] for d in _days("0 0 1 10-3/3 *", datetime(2024, 1, 2, tzinfo=UTC), 3)]
    assert months == ["2024-10", "2025-01", "2025-10"]


@pytest.mark.parametrize(
    ("spec", "ticks"),
    [
        # Dagster 1.13.29's cron_string_iterator from 2026-01-01 UTC: after the wrap, the step
        # resumes one value late when it jumps past the field's end (its croniter's counting).
        ("0 0 28-4/3 * *", ["01-04 00:00", "01-28 00:00", "01-31 00:00", "02-04 00:00"]),
        ("0 0 25-5/4 * *", ["01-03 00:00", "01-25 00:00", "01-29 00:00", "02-03 00:00"]),
        ("0 0 31-3/2 * *", ["01-03 00:00", "01-31 00:00", "02-03 00:00", "03-03 00:00"]),
        ("50-10/7 0 * * *", ["01-01 00:05", "01-01 00:50", "01-01 00:57", "01-02 00:05"]),
        # ... and on time when the step lands exactly on the field's start.
        ("0 0 28-4/2 * *", ["01-01 00:00", "01-03 00:00", "01-28 00:00", "01-30 00:00"]),
        ("0 22-3/2 * * *", ["01-01 00:00", "01-01 02:00", "01-01 22:00", "01-02 00:00"]),
        # The late resumption can leave nothing after the wrap: Saturdays only, not Mondays.
        ("0 0 * * SAT-MON/2", ["01-03 00:00", "01-10 00:00", "01-17 00:00", "01-24 00:00"]),
    ],
)
def test_a_stepped_range_that_wraps_resumes_its_step_as_dagster_counts_it(
    spec: str, ticks: list[str]
) -> None:
    it = CronSchedule.parse(spec).ticks_from(datetime(2026, 1, 1, tzinfo=UTC))
    assert [next(it).strftime("%m-%d %H:%M") for _ in range(4)] == ticks


EVERY_DAY = ["01-01", "01-02", "01-03", "01-04", "01-05", "01-06"]


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        # Dagster 1.13.29's cron_string_iterator from 2024-01-01 (a Monday): a field spelled
        # out in full is "every day" for the either-field rule only as Dagster reads it.
        ("0 0 1-31 * 1", EVERY_DAY),
        ("0 0 1 * 0-6", EVERY_DAY),
        ("0 0 1-31 * 0-6", EVERY_DAY),
        ("0 0 15 * 0-6", EVERY_DAY),
        ("0 0 L * 0-6", EVERY_DAY),
        ("0 0 1-31 1-12 *", EVERY_DAY),
        ("0 0 1-31 * */2", ["01-02", "01-04", "01-06", "01-07", "01-09", "01-11"]),
        ("0 0 */2 * 0-6", ["01-01", "01-03", "01-05", "01-07", "01-09", "01-11"]),
    ],
)
def test_day_fields_spelled_out_in_full_read_as_dagster_reads_them(
    spec: str, days: list[str]
) -> None:
    ticks = CronSchedule.parse(spec).ticks_from(datetime(2024, 1, 1, tzinfo=UTC))
    assert [next(ticks).strftime("%m-%d") for _ in range(6)] == days
