"""Builders for events and ledger objects used across the tests."""

from __future__ import annotations

import itertools
from typing import Any

from pydantic import BaseModel

from arco.domain.envelope import LEDGER_FORMAT, EventEnvelope, LedgerBatch, format_time_ms
from arco.domain.fold import FoldReport, LedgerObject, fold_objects
from arco.domain.registry import Registry
from arco.domain.settings import SETTING_CHANGED, setting_idempotency_key
from arco.domain.state import FoldState, StagedState
from arco.domain.ulid import encode_ulid

BASE_MS = 1_790_000_000_000
_counter = itertools.count(1)


def ulid_at(ms: int, n: int | None = None) -> str:
    return encode_ulid(ms, next(_counter) if n is None else n)


def setting_event(
    name: str = "runs.max_in_flight",
    value: Any = 5,
    *,
    request_id: str | None = None,
    event_id: str | None = None,
    ms: int = BASE_MS,
    workspace: str = "default",
    event_type: str = SETTING_CHANGED,
) -> EventEnvelope:
    request_id = request_id or f"r{next(_counter)}"
    return EventEnvelope(
        event_id=event_id or ulid_at(ms),
        type=event_type,
        version=1,
        workspace=workspace,
        idempotency_key=setting_idempotency_key(name, request_id),
        time=format_time_ms(ms),
        source="test",
        payload={"name": name, "value": value, "changed_by": "test", "request_id": request_id},
    )


def envelope(
    type_: str, payload: BaseModel, key: str, ms: int, event_id: str | None = None
) -> EventEnvelope:
    """One event of `payload` (version 1, workspace "default") at `ms`."""
    return EventEnvelope(
        event_id=event_id or ulid_at(ms),
        type=type_,
        version=1,
        workspace="default",
        idempotency_key=key,
        time=format_time_ms(ms),
        source="test",
        payload=payload.model_dump(mode="json"),
    )


def batch_bytes(events: list[EventEnvelope], workspace: str = "default") -> bytes:
    return LedgerBatch(format=LEDGER_FORMAT, workspace=workspace, events=events).to_bytes()


def ledger_object(
    events: list[EventEnvelope], name: str | None = None, workspace: str = "default"
) -> LedgerObject:
    return LedgerObject(name or ulid_at(BASE_MS), batch_bytes(events, workspace))


def dynamic_partitions_event(
    action: str,
    keys: list[str],
    *,
    event_id: str,
    ms: int = BASE_MS,
    definition: str = "dyn",
    request_id: str | None = None,
) -> EventEnvelope:
    from arco.domain.dynamic_partitions import change_idempotency_key

    request_id = request_id or f"r{next(_counter)}"
    return EventEnvelope(
        event_id=event_id,
        type=f"partitions.dynamic_{'added' if action == 'add' else 'removed'}",
        version=1,
        workspace="default",
        idempotency_key=change_idempotency_key(definition, action, request_id),
        time=format_time_ms(ms),
        source="test",
        payload={
            "definition": definition,
            "keys": keys,
            "changed_by": "test",
            "request_id": request_id,
        },
    )


def _current_version(type_: str) -> int:
    """The version this build writes for `type_` (1 for a type it does not know)."""
    from arco.domain.catalog import default_registry

    known = default_registry().events.get(type_)
    return known.version if known is not None else 1


class EnvelopeWriter:
    """Writes envelopes the way production does: one clock tick per event, increasing ids.
    Capability tests subclass it with builders for their own events."""

    STEP_MS = 1_000

    def __init__(self, start_ms: int = BASE_MS) -> None:
        self.ms = start_ms
        self.n = 0

    def envelope(
        self, type_: str, payload: BaseModel, key: str, ms: int | None = None
    ) -> EventEnvelope:
        if ms is None:
            self.ms += self.STEP_MS
            ms = self.ms
        self.n += 1
        return EventEnvelope(
            event_id=ulid_at(ms, self.n),
            type=type_,
            version=_current_version(type_),
            workspace="default",
            idempotency_key=key,
            time=format_time_ms(ms),
            source="test",
            payload=payload.model_dump(mode="json"),
        )


def _outcome(report: FoldReport) -> str:
    for name in ("applied", "superseded", "duplicate", "rejected", "unsupported"):
        if getattr(report, f"events_{name}"):
            return name
    raise AssertionError(f"no event counted: {report}")


class FoldProjection:
    """A FoldState fed one event per ledger object and per fold call, as the compactor would
    see events written one append at a time. Capability tests subclass it with accessors."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.state = FoldState()

    def deliver(self, *events: EventEnvelope) -> list[str]:
        """Fold each event alone; each one's outcome (applied, superseded, ...)."""
        outcomes = []
        for event in events:
            staged = StagedState(self.state)
            report = fold_objects(staged, [ledger_object([event])], self.registry, "default")
            self.state = staged.commit()
            outcomes.append(_outcome(report))
        return outcomes
