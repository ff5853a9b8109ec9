"""Canonical JSON: the one byte form of everything Arco hashes or writes to the ledger.

Sorted keys, no insignificant whitespace, UTF-8. Two equal values always give equal bytes,
so a retried write can be recognised by comparing bytes and hashes are stable.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode `value` as canonical JSON bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def fingerprint(value: Any, length: int = 16) -> str:
    """A short, stable hash of a JSON-able value (for idempotency keys and fingerprints)."""
    return sha256_hex(canonical_json(value))[:length]
