"""Multi partitions: the cartesian product of exactly two named dimensions.

Dimensions are ordered by name (not by declaration); a key is the per-dimension keys joined by
'|' in that order, and keys are listed as the product in that order (first dimension outer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import NO_DYNAMIC, KeySpace, PartitionsDefinition
from arco.domain.partitions.static import StaticPartitionsDefinition

SEPARATOR = "|"
FORBIDDEN_IN_STATIC_KEYS = "|,[]"
STRIDE = 1 << 32
"""Index stride of the outer dimension: a multi key numbers `outer * STRIDE + inner`, so the
numbering does not move when a time dimension grows."""

_DIMENSION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}\Z")


class MultiKeySpace(KeySpace):
    def __init__(self, outer: KeySpace, inner: KeySpace) -> None:
        self._outer = outer
        self._inner = inner

    def index_of(self, key: str) -> int | None:
        parts = key.split(SEPARATOR)
        if len(parts) != 2:
            return None
        o = self._outer.index_of(parts[0])
        i = self._inner.index_of(parts[1])
        if o is None or i is None or not 0 <= i < STRIDE:
            return None
        return o * STRIDE + i

    def key_at(self, index: int) -> str:
        o, i = divmod(index, STRIDE)
        return f"{self._outer.key_at(o)}{SEPARATOR}{self._inner.key_at(i)}"

    def all_ranges(self, now: datetime) -> list[tuple[int, int]]:
        inner = self._inner.all_ranges(now)
        out: list[tuple[int, int]] = []
        for lo, hi in self._outer.all_ranges(now):
            for o in range(lo, hi):
                base = o * STRIDE
                out.extend((base + a, base + b) for a, b in inner)
        return out

    @property
    def identity(self) -> Any:
        return ("multi", self._outer.identity, self._inner.identity)


class MultiPartitionsDefinition(PartitionsDefinition):
    """Two named dimensions; keys render as `<first>|<second>` in dimension-name order."""

    kind: ClassVar[str] = "multi"

    def __init__(self, dimensions: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(dimensions, Mapping):
            raise InvalidInput("multi partitions: dimensions must be a mapping {name: definition}")
        if len(dimensions) != 2:
            raise InvalidInput(
                f"multi partitions need exactly two dimensions, got {len(dimensions)}: "
                f"{sorted(map(str, dimensions))}"
            )
        for name, definition in dimensions.items():
            if not isinstance(name, str) or not _DIMENSION.match(name):
                raise InvalidInput(
                    f"invalid multi partitions dimension name {name!r}: use a letter or '_' "
                    "then letters, digits or '_' (at most 100)"
                )
            if not isinstance(definition, PartitionsDefinition):
                raise InvalidInput(
                    f"multi partitions dimension {name!r} must be a partitions definition"
                )
            if isinstance(definition, MultiPartitionsDefinition):
                raise InvalidInput(f"multi partitions dimension {name!r} cannot itself be multi")
            if isinstance(definition, StaticPartitionsDefinition):
                for key in definition.partition_keys:
                    bad = sorted({c for c in key if c in FORBIDDEN_IN_STATIC_KEYS})
                    if bad:
                        raise InvalidInput(
                            f"multi partitions dimension {name!r}: static partition key {key!r} "
                            f"must not contain {' '.join(repr(c) for c in bad)}"
                        )
        self._dimensions: tuple[tuple[str, PartitionsDefinition], ...] = tuple(
            sorted(dimensions.items())
        )

    @property
    def dimension_names(self) -> list[str]:
        return [name for name, _ in self._dimensions]

    @property
    def dimensions(self) -> dict[str, PartitionsDefinition]:
        return dict(self._dimensions)

    def dimension(self, name: str) -> PartitionsDefinition:
        for dim, definition in self._dimensions:
            if dim == name:
                return definition
        raise InvalidInput(
            f"multi partitions have no dimension {name!r} (dimensions: {self.dimension_names})"
        )

    def dimension_keys(self, key: str) -> dict[str, str]:
        """{dimension name: key} for a multi key (InvalidInput if it does not have two parts)."""
        parts = key.split(SEPARATOR) if isinstance(key, str) else []
        if len(parts) != 2:
            raise InvalidInput(
                f"multi partition key {key!r} must be two keys joined by '|' "
                f"(dimensions {self.dimension_names})"
            )
        return {name: part for (name, _), part in zip(self._dimensions, parts, strict=True)}

    def key_from(self, keys: Mapping[str, str]) -> str:
        """The multi key for {dimension name: key}, in dimension-name order."""
        names = self.dimension_names
        if set(keys) != set(names):
            raise InvalidInput(
                f"multi partition key needs exactly the dimensions {names}, got {sorted(keys)}"
            )
        for name in names:
            if not isinstance(keys[name], str) or SEPARATOR in keys[name]:
                raise InvalidInput(
                    f"multi partition key: dimension {name!r} key {keys[name]!r} must be a "
                    "string without '|'"
                )
        return SEPARATOR.join(keys[name] for name in names)

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        (_, first), (_, second) = self._dimensions
        inner = second.keys(now, dynamic)
        return [f"{a}{SEPARATOR}{b}" for a in first.keys(now, dynamic) for b in inner]

    def has_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> bool:
        parts = key.split(SEPARATOR) if isinstance(key, str) else []
        if len(parts) != 2:
            return False
        if not all(
            definition.has_key(part, now, dynamic)
            for (_, definition), part in zip(self._dimensions, parts, strict=True)
        ):
            return False
        # The key space numbers an inner key under STRIDE only (a minutely dimension some
        # 8,000 years after its start): a key it cannot number is not a key here either.
        inner = self._dimensions[1][1].key_space(dynamic).index_of(parts[1])
        return inner is not None and inner < STRIDE

    def describe(self) -> str:
        dims = ", ".join(f"{name}: {d.describe()}" for name, d in self._dimensions)
        return f"multi partitions ({dims})"

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dimensions": {name: d.to_snapshot() for name, d in self._dimensions},
        }

    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        (_, first), (_, second) = self._dimensions
        return MultiKeySpace(first.key_space(dynamic), second.key_space(dynamic))
