"""Create-once reservation objects: the first writer of a name wins, later ones read it back.

Used where a user-chosen key must map to one thing for good (a manual run_key, a backfill's
Idempotency-Key) without a database: the object store's create-if-absent is the arbiter.
"""

from __future__ import annotations

import json
from typing import Any

from arco.domain.canonical import canonical_json
from arco.domain.errors import CorruptState
from arco.storage.port import ObjectStore


def reserve(store: ObjectStore, key: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """Create `key` holding `body`; None if this call created it, else what is stored there."""
    if store.create(key, canonical_json(body)).ok:
        return None
    stored = store.get(key)
    if stored is None:  # deleted under us: an operator's doing; never guess
        raise CorruptState(f"reservation {key} vanished while being read")
    try:
        existing = json.loads(stored.data)
    except ValueError as exc:
        raise CorruptState(f"reservation {key} is not JSON: {exc}") from exc
    if not isinstance(existing, dict) or "fingerprint" not in existing:
        raise CorruptState(f"reservation {key} is malformed")
    return existing
