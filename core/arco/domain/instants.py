"""Timestamps given by people (`--now`, `?now=`): ISO 8601 with an offset, nothing implicit,
within the range Arco computes with (the stores' time is epoch milliseconds; a far-future
"now" would make a partitions definition enumerate millions of keys)."""

from __future__ import annotations

from datetime import datetime

from arco.domain.errors import InvalidInput

# Years as written (with their offset), so the API schema's pattern can state the same range.
FIRST_YEAR, LAST_YEAR = 1970, 2199
RANGE_TEXT = "times in the years 1970 to 2199"
# The same range as a pattern on the year, for API schemas.
YEAR_PATTERN = r"(19[7-9][0-9]|2[01][0-9]{2})"


def parse_instant(text: str, what: str) -> datetime:
    """An aware datetime from ISO 8601 text (`Z` allowed); naive or malformed text is refused."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{what} {text!r} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        raise InvalidInput(f"{what} {text!r} needs a UTC offset, e.g. {text}Z")
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidInput(f"{what} {text!r} is out of range: Arco takes {RANGE_TEXT}")
    return moment
