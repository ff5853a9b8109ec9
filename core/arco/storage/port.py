"""The object-store contract every backend implements, and what Arco relies on it for.

Guarantees a backend MUST give (the contract suite in tests/contract checks each one):
- `create` is exclusive: of any number of concurrent creates of one key, exactly one returns
  CREATED and the stored bytes are that writer's; the others return PRECONDITION_FAILED.
- `replace` is a compare-and-swap on the version token returned by `get`, `create` or an earlier
  `replace`: it succeeds only when the stored version is still that token.
- A successful write is immediately visible to `get` on the same key (read-after-write), and an
  object is never visible half-written.
- `list` returns keys under a prefix in ascending byte order, starting strictly after
  `start_after` when given.
- A failed precondition is an ordinary return value, never an exception. Exceptions mean the
  store could not be reached (StorageUnavailable) or a programming error.

Keys are '/'-separated strings built by `arco.layout` from validated components.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable


class WriteOutcome(Enum):
    CREATED = "created"
    REPLACED = "replaced"
    PRECONDITION_FAILED = "precondition_failed"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of a conditional write; `version` is the new token when it succeeded."""

    outcome: WriteOutcome
    version: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not WriteOutcome.PRECONDITION_FAILED


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object's bytes and the version token they were read at."""

    data: bytes
    version: str


@dataclass(frozen=True, slots=True)
class ListedObject:
    """A key returned by `list`, with its size in bytes."""

    key: str
    size: int


@runtime_checkable
class ObjectStore(Protocol):
    """A bucket (or a prefix of one) holding Arco's objects."""

    @property
    def url(self) -> str:
        """The store URL this object was opened from, e.g. `gs://bucket/prefix`."""
        ...

    def create(self, key: str, data: bytes) -> WriteResult:
        """Write `data` at `key` only if no object exists there."""
        ...

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        """Overwrite `key` only if its current version is `expected_version`."""
        ...

    def get(self, key: str) -> StoredObject | None:
        """Read `key` with its version, or None when it does not exist."""
        ...

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        """Keys beginning with `prefix`, ascending, strictly after `start_after` if given."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing key is not an error."""
        ...
