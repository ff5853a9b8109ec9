"""The event envelope and the ledger batch, as they are written to and read from the ledger.

A ledger object holds one `LedgerBatch`: events that belong together and commit together (a
tick and its run request). Every event carries a deterministic idempotency key derived from what
it means, so two writers that decide the same thing produce events the fold keeps once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from arco.domain.canonical import canonical_json
from arco.domain.names import validate_workspace
from arco.domain.ulid import validate_ulid

LEDGER_FORMAT = "arco.ledger/1"
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def _check_time(value: str) -> str:
    if not _TIME.match(value):
        raise ValueError(f"time {value!r} is not RFC 3339 UTC with milliseconds")
    return value


def _check_type(value: str) -> str:
    if not _EVENT_TYPE.match(value):
        raise ValueError(f"event type {value!r} is not a dotted lowercase name")
    return value


def _check_key(value: str) -> str:
    if not value or len(value) > 1024 or any(ord(c) < 32 for c in value):
        raise ValueError("idempotency key must be 1-1024 printable characters")
    return value


def format_time_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, the only time format in the ledger."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch of a ledger time string."""
    moment = datetime.strptime(_check_time(text), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


Ulid = Annotated[str, AfterValidator(lambda v: validate_ulid(v, "event id"))]
Workspace = Annotated[str, AfterValidator(validate_workspace)]
EventTypeName = Annotated[str, AfterValidator(_check_type)]
LedgerTime = Annotated[str, AfterValidator(_check_time)]
IdempotencyKey = Annotated[str, AfterValidator(_check_key)]


class EventEnvelope(BaseModel):
    """One event: who, what, when, and its payload (validated per type by the registry)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: Ulid
    type: EventTypeName
    version: int = Field(ge=1)
    workspace: Workspace
    idempotency_key: IdempotencyKey
    time: LedgerTime
    source: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any]


class LedgerBatch(BaseModel):
    """The content of one ledger object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["arco.ledger/1"]
    workspace: Workspace
    events: list[EventEnvelope] = Field(min_length=1, max_length=100_000)

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes: the exact form written to the store."""
        return canonical_json(self.model_dump(mode="json"))
