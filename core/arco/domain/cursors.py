"""Opaque cursors for paginated listings: base64 of a small JSON position, validated on read."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from arco.domain.errors import InvalidInput


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
