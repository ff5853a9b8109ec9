"""Timestamps given by people (`--now`, `?now=`) and the names that become object-key
segments: what is accepted, and what each refusal says."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.instants import YEAR_PATTERN, parse_instant
from arco.domain.names import validate_key_component, validate_prefix


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2024-03-10T12:00:00Z", datetime(2024, 3, 10, 12, tzinfo=UTC)),
        ("2024-03-10T12:00:00+00:00", datetime(2024, 3, 10, 12, tzinfo=UTC)),
        ("2024-03-10T13:30:00+01:30", datetime(2024, 3, 10, 12, tzinfo=UTC)),
        ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        ("2199-12-31T23:59:59Z", datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_an_iso_timestamp_with_an_offset_is_read(text: str, moment: datetime) -> None:
    parsed = parse_instant(text, "--now")
    assert parsed == moment and parsed.utcoffset() is not None


def test_the_offset_given_is_kept() -> None:
    parsed = parse_instant("2024-03-10T13:30:00+01:30", "--now")
    assert parsed.utcoffset() == timedelta(hours=1, minutes=30)
    assert parsed.tzinfo == timezone(timedelta(hours=1, minutes=30))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2024-03-10T12:00:00",
            "--now '2024-03-10T12:00:00' needs a UTC offset, e.g. 2024-03-10T12:00:00Z",
        ),
        ("yesterday", "--now 'yesterday' is not an ISO 8601 timestamp"),
        ("1969-12-31T23:59:59Z", "is out of range: Arco takes times in the years 1970 to 2199"),
        ("2200-01-01T00:00:00Z", "is out of range: Arco takes times in the years 1970 to 2199"),
    ],
)
def test_other_text_is_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        parse_instant(text, "--now")


def test_the_api_schemas_year_pattern_is_the_same_range() -> None:
    years = [y for y in range(1000, 3000) if re.fullmatch(YEAR_PATTERN, str(y))]
    assert (years[0], years[-1], len(years)) == (1970, 2199, 230)


def test_key_components_refuse_dot_dot_and_say_what_they_are() -> None:
    assert validate_key_component("a.b") == "a.b"
    with pytest.raises(InvalidInput, match=r"^invalid key component 'a\.\.b': use 1-200"):
        validate_key_component("a..b")
    with pytest.raises(InvalidInput, match=r"^invalid store prefix segment 'a\.\.b'"):
        validate_prefix("x/a..b")
    assert validate_prefix("/a//b/") == "a/b"
    assert validate_prefix("Xa/bX/") == "Xa/bX"
