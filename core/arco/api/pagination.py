"""Opaque cursors for paginated listings: base64 of a small JSON position, validated on read."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from arco.domain.errors import InvalidInput

MAX_LIMIT = 1000


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, required: tuple[str, ...]) -> dict[str, Any] | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"invalid cursor {cursor!r}") from exc
    if not isinstance(position, dict) or any(k not in position for k in required):
        raise InvalidInput(f"invalid cursor {cursor!r}")
    return position


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
