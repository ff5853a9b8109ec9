"""Paginated listings over HTTP: name-ordered pages; the cursor codec is in
arco.domain.cursors (services page too)."""

from __future__ import annotations

from typing import Any

from arco.domain.cursors import decode_cursor, encode_cursor
from arco.domain.errors import InvalidInput


def page_by_name(
    rows: list[dict[str, Any]], cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `rows` (sorted by their unique "name") after `cursor`, and the next cursor."""
    position = decode_cursor(cursor, ("after",))
    if position:
        after = position["after"]
        if not isinstance(after, str):
            raise InvalidInput(f"invalid cursor {cursor!r}")
        rows = [r for r in rows if r["name"] > after]
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor({"after": page[-1]["name"]}) if more else None


__all__ = ["decode_cursor", "encode_cursor", "page_by_name"]
