"""Paginated listings over HTTP: limits, name-ordered pages; the cursor codec is in
arco.domain.cursors (services page too)."""

from __future__ import annotations

from typing import Any

from arco.domain.cursors import decode_cursor, encode_cursor
from arco.domain.errors import InvalidInput

MAX_LIMIT = 1000


def parse_limit(text: str | None, default: int = 50) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer between 1 and {MAX_LIMIT}, got {text!r}")
    return int(text)


def page_by_name(
    rows: list[dict[str, Any]], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `rows` (sorted by their unique "name") after `cursor`, and the next cursor."""
    position = decode_cursor(cursor, ("after",))
    if position:
        rows = [r for r in rows if r["name"] > position["after"]]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor({"after": page[-1]["name"]}) if more else None


__all__ = ["MAX_LIMIT", "decode_cursor", "encode_cursor", "page_by_name", "parse_limit"]
