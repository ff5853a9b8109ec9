"""Static partitions: a fixed list of keys, in the order given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import (
    NO_DYNAMIC,
    KeySpace,
    PartitionsDefinition,
    check_partition_key,
)


class ListKeySpace(KeySpace):
    """Keys numbered by their position in a list (static keys, or dynamic keys read from state)."""

    def __init__(self, keys: Sequence[str], identity: Any) -> None:
        self._keys = tuple(keys)
        self._positions = {key: i for i, key in enumerate(self._keys)}
        self._identity = identity

    def index_of(self, key: str) -> int | None:
        return self._positions.get(key) if isinstance(key, str) else None

    def key_at(self, index: int) -> str:
        if not 0 <= index < len(self._keys):
            raise InvalidInput(
                f"no partition key at position {index} (there are {len(self._keys)})"
            )
        return self._keys[index]

    def keys_between(self, lo: int, hi: int) -> list[str]:
        if lo < hi:
            self.key_at(lo)
            self.key_at(hi - 1)
        return list(self._keys[lo:hi])

    def all_ranges(self, now: datetime) -> list[tuple[int, int]]:
        return [(0, len(self._keys))] if self._keys else []

    @property
    def identity(self) -> Any:
        return self._identity


class StaticPartitionsDefinition(PartitionsDefinition):
    """A fixed, ordered list of keys (Dagster's order is kept; duplicates are rejected)."""

    kind: ClassVar[str] = "static"

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise InvalidInput(f"static partition keys must be a list of strings, got {keys!r}")
        seen: set[str] = set()
        for key in keys:
            check_partition_key(key, "static partitions")
            if key in seen:
                raise InvalidInput(f"static partitions: duplicate partition key {key!r}")
            seen.add(key)
        self._keys: tuple[str, ...] = tuple(keys)
        self._space = ListKeySpace(self._keys, ("static", self._keys))

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return self._keys

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return list(self._keys)

    def has_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> bool:
        return self._space.index_of(key) is not None

    def describe(self) -> str:
        shown = ", ".join(repr(k) for k in self._keys[:5])
        more = f", ... ({len(self._keys)} keys)" if len(self._keys) > 5 else ""
        return f"static partitions [{shown}{more}]"

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "keys": list(self._keys)}

    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        return self._space
