"""Appending to the ledger: one create-if-absent object per call, with honest retries.

Retry rules (see docs/protocol.md, "Append"):
- A write whose outcome is unknown (the store did not answer) is retried under the same name.
  If it finds an object with identical bytes, the earlier attempt succeeded; different bytes is
  an IdempotencyConflict (it cannot happen with fresh ULID names unless something is broken).
- Once half the compactor's lookback has passed without success, the writer switches to a fresh
  object name (a new ULID) so the object cannot land behind the compactor's listing window.
  The events inside keep their ids and idempotency keys, so if both attempts land the fold keeps
  each event once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from arco.clock import Clock
from arco.domain.envelope import (
    LEDGER_FORMAT,
    EventEnvelope,
    LedgerBatch,
    NewEvent,
    format_time_ms,
)

__all__ = ["AppendResult", "LedgerWriter", "NewEvent"]
from arco.domain.errors import IdempotencyConflict, InvalidInput, StorageUnavailable
from arco.domain.registry import Registry, UnsupportedEvent
from arco.domain.ulid import is_ulid
from arco.ids import UlidGenerator
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

DEFAULT_LOOKBACK_MS = 120_000
_IDEMPOTENCY_KEY = re.compile(r"^[^\x00-\x1f]{1,1024}\Z")


@dataclass(frozen=True, slots=True)
class AppendResult:
    object_name: str
    event_ids: tuple[str, ...]
    attempts: int
    data: bytes = field(repr=False)  # the object's bytes, for a caller folding what it wrote


@dataclass
class LedgerWriter:
    """Appends batches of events for one workspace. Never reads the ledger otherwise."""

    store: ObjectStore
    workspace: str
    registry: Registry
    clock: Clock
    source: str
    lookback_ms: int = DEFAULT_LOOKBACK_MS
    ids: UlidGenerator = field(init=False)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.layout = WorkspaceLayout(self.workspace)
        if not 1 <= len(self.source) <= 200:
            raise InvalidInput(f"writer source {self.source!r} must be 1-200 characters")
        self.ids = UlidGenerator(self.clock)

    def build_batch(self, events: Sequence[NewEvent]) -> LedgerBatch:
        """Validate `events` against the registry and wrap them in a batch."""
        if not events:
            raise InvalidInput("an append needs at least one event")
        written_at = format_time_ms(self.clock.now_ms())
        envelopes = []
        for event in events:
            registered = self.registry.events.get(event.type)
            if (
                isinstance(event.payload, BaseModel)
                and registered is not None
                and type(event.payload) is registered.payload
                and event.version == registered.version
            ):
                payload = event.payload.model_dump(mode="json")  # validated on construction
            else:
                payload = (
                    event.payload.model_dump(mode="json")
                    if isinstance(event.payload, BaseModel)
                    else event.payload
                )
                try:
                    self.registry.decode_payload(event.type, event.version, payload)
                except UnsupportedEvent as exc:
                    raise InvalidInput(str(exc)) from exc
            event_id = event.event_id or self.ids.new()
            if not _IDEMPOTENCY_KEY.match(event.idempotency_key) or not is_ulid(event_id):
                raise InvalidInput(
                    f"event {event.type}: invalid idempotency key {event.idempotency_key!r} "
                    f"or event id {event_id!r}"
                )
            # Every field is produced or checked here, so skip pydantic's second pass: the
            # timer appends thousands of events per call.
            envelopes.append(
                EventEnvelope.model_construct(
                    event_id=event_id,
                    type=event.type,
                    version=event.version,
                    workspace=self.workspace,
                    idempotency_key=event.idempotency_key,
                    time=written_at,
                    source=self.source,
                    payload=payload,
                )
            )
        return LedgerBatch.model_construct(
            format=LEDGER_FORMAT, workspace=self.workspace, events=envelopes
        )

    def append(self, events: Sequence[NewEvent], max_attempts: int = 8) -> AppendResult:
        """Write `events` as one ledger object. Exactly one store write when all goes well."""
        batch = self.build_batch(events)
        data = batch.to_bytes()
        event_ids = tuple(e.event_id for e in batch.events)
        started = self.clock.now_ms()
        name = self.ids.new()
        delay = 0.05
        last_error: Exception | None = None
        for attempt in range(1, max_attempts + 1):
            if self.clock.now_ms() - started > self.lookback_ms // 2:
                name = self.ids.new()
                started = self.clock.now_ms()
            key = self.layout.ledger_key(name)
            try:
                result = self.store.create(key, data)
                if result.ok:
                    return AppendResult(name, event_ids, attempt, data)
                existing = self.store.get(key)
                if existing is not None and existing.data == data:
                    return AppendResult(name, event_ids, attempt, data)
                raise IdempotencyConflict(f"ledger object {key} exists with different bytes")
            except StorageUnavailable as exc:
                last_error = exc
                self.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise StorageUnavailable(f"append failed after {max_attempts} attempts: {last_error}")
