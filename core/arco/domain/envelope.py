"""The event envelope and the ledger batch, as they are written to and read from the ledger.

A ledger object holds one `LedgerBatch`: events that belong together and commit together (a
tick and its run request). Every event carries a deterministic idempotency key derived from what
it means, so two writers that decide the same thing produce events the fold keeps once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.canonical import canonical_json

LEDGER_FORMAT: Final = "arco.ledger/1"
# Constraints are patterns so pydantic-core checks them in Rust: the ledger is read in bulk.
_ULID_PATTERN = r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$"
_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
_TYPE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
_KEY_PATTERN = r"^[^\x00-\x1f]+$"
_WORKSPACE_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"


def format_time_ms(epoch_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, the only time format in the ledger."""
    moment = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch of a ledger time string."""
    if not re.match(_TIME_PATTERN, text):
        raise ValueError(f"time {text!r} is not RFC 3339 UTC with milliseconds")
    moment = datetime.fromisoformat(text)
    return int(moment.timestamp()) * 1000 + moment.microsecond // 1000


Ulid = Annotated[str, Field(pattern=_ULID_PATTERN)]
Workspace = Annotated[str, Field(pattern=_WORKSPACE_PATTERN)]
EventTypeName = Annotated[str, Field(pattern=_TYPE_PATTERN, max_length=200)]
LedgerTime = Annotated[str, Field(pattern=_TIME_PATTERN)]
IdempotencyKey = Annotated[str, Field(pattern=_KEY_PATTERN, max_length=1024)]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event a writer or controller wants appended; the writer fills in time and workspace.

    Controllers pass a deterministic `event_id` (see `deterministic_event_id`) so that two
    timers deciding the same thing write identical events.
    """

    type: str
    payload: BaseModel | dict[str, Any]
    idempotency_key: str
    version: int = 1
    event_id: str | None = None


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
