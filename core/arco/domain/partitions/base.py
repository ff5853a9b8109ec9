"""The contract every partitions definition meets, and the index space subsets are built on.

A definition lists its keys in order for a given `now` (time windows grow as time passes) and
a given `dynamic` mapping ({dynamic definition name: keys in insertion order}, read from
state). Nothing here reads a clock: `now` is always passed in, and must be timezone-aware.

Every definition also exposes a `KeySpace`: a stable numbering of its keys (window numbers
for time windows, positions for static and dynamic keys, a strided product for multi) on
which `PartitionsSubset` keeps compact index ranges.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

from arco.domain.canonical import canonical_json
from arco.domain.errors import InvalidInput

NO_DYNAMIC: Mapping[str, Sequence[str]] = MappingProxyType({})
"""The default `dynamic` argument: no dynamic partitions known."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_now(now: datetime) -> datetime:
    """Return `now` if it is an aware datetime (the domain never guesses a timezone)."""
    if not isinstance(now, datetime):
        raise InvalidInput(f"now must be a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidInput(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now


def check_partition_key(key: object, where: str, extra_forbidden: str = "") -> str:
    """Validate a declared partition key: a non-empty string without '...' or control chars.

    `extra_forbidden` lists further characters the caller forbids (multi: `|,[]`).
    """
    if not isinstance(key, str):
        raise InvalidInput(f"{where}: partition key {key!r} must be a string")
    if not key:
        raise InvalidInput(f"{where}: partition keys must not be empty")
    if "..." in key:
        raise InvalidInput(f"{where}: partition key {key!r} must not contain '...'")
    if _CONTROL.search(key):
        raise InvalidInput(f"{where}: partition key {key!r} must not contain control characters")
    bad = sorted({c for c in key if c in extra_forbidden})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise InvalidInput(f"{where}: partition key {key!r} must not contain {shown}")
    return key


class KeySpace(ABC):
    """A numbering of a definition's keys that does not change as time passes.

    `index_of` answers for any well-formed key of the definition (a time window that has not
    closed yet still has its number); `all_ranges(now)` says which numbers exist at `now`.
    """

    @abstractmethod
    def index_of(self, key: str) -> int | None:
        """The key's number, or None if the key can never belong to the definition."""

    @abstractmethod
    def key_at(self, index: int) -> str:
        """The key numbered `index` (InvalidInput if there is none)."""

    def keys_between(self, lo: int, hi: int) -> list[str]:
        """Keys numbered `lo` to `hi - 1` (spaces may override this with a faster bulk path)."""
        return [self.key_at(i) for i in range(lo, hi)]

    @abstractmethod
    def all_ranges(self, now: datetime) -> list[tuple[int, int]]:
        """The numbers of every key present at `now`: sorted, disjoint, half-open ranges."""

    @property
    @abstractmethod
    def identity(self) -> Any:
        """Two spaces with equal identities number keys the same way."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeySpace) and self.identity == other.identity

    def __hash__(self) -> int:
        return hash(self.identity)


class PartitionsDefinition(ABC):
    """A set of partition keys, in order. Immutable; equal when their snapshots are equal."""

    kind: ClassVar[str]

    @abstractmethod
    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        """Every key present at `now`, in the definition's order."""

    def has_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> bool:
        """Whether `key` is present at `now`."""
        return key in self.keys(now, dynamic)

    def validate_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> None:
        """Raise InvalidInput naming `key` and this definition unless `key` is present."""
        if not isinstance(key, str) or not self.has_key(key, now, dynamic):
            raise InvalidInput(f"partition key {key!r} is not in {self.describe()}")

    @abstractmethod
    def describe(self) -> str:
        """A short human description, used in error messages."""

    @abstractmethod
    def to_snapshot(self) -> dict[str, Any]:
        """Canonical JSON-able form, including "kind"; `partitions_from_snapshot` inverts it."""

    @abstractmethod
    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        """The stable numbering of this definition's keys (bound to `dynamic` keys)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsDefinition):
            return NotImplemented
        return self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(self._canonical())

    def _canonical(self) -> bytes:
        cached: bytes | None = self.__dict__.get("_canonical_bytes")
        if cached is None:
            cached = canonical_json(self.to_snapshot())
            object.__setattr__(self, "_canonical_bytes", cached)
        return cached

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"
