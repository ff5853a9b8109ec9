"""Timestamps given by people (`--now`, `?now=`): ISO 8601 with an offset, nothing implicit."""

from __future__ import annotations

from datetime import datetime

from arco.domain.errors import InvalidInput


def parse_instant(text: str, what: str) -> datetime:
    """An aware datetime from ISO 8601 text (`Z` allowed); naive or malformed text is refused."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{what} {text!r} is not an ISO 8601 timestamp") from exc
    if moment.tzinfo is None:
        raise InvalidInput(f"{what} {text!r} needs a UTC offset, e.g. {text}Z")
    return moment
