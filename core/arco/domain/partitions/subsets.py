"""Compact sets of partition keys: sorted, disjoint index ranges over a definition's key space.

A subset never holds one entry per key: a 100,000-key time range is one range, its length is
arithmetic, and membership is a key parse plus a binary search. Indices come from the
definition's `KeySpace` (window numbers for time windows, positions for static and dynamic
keys, `outer * STRIDE + inner` for multi), so they do not move as time passes.

Snapshots are JSON with inclusive key ranges (`{"ranges": [["k1", "k9"], ...]}`), readable and
independent of how indices are numbered.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import NO_DYNAMIC, KeySpace, PartitionsDefinition, check_now

Ranges = tuple[tuple[int, int], ...]
"""Half-open [lo, hi) index ranges, sorted and disjoint, never adjacent."""


@dataclass(frozen=True)
class PartitionRange:
    """An inclusive range of keys, in the definition's order."""

    start_key: str
    end_key: str

    def to_snapshot(self) -> list[str]:
        return [self.start_key, self.end_key]


def normalize(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sort half-open ranges and merge those that overlap or touch; drop empty ones."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(r for r in ranges if r[0] < r[1]):
        if out and lo <= out[-1][1]:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def _intersect(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _subtract(a: Ranges, b: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in a:
        cur = lo
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < hi:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            if b[k][1] > hi:
                break
            k += 1
        if cur < hi:
            out.append((cur, hi))
    return tuple(out)


class PartitionsSubset:
    """An immutable set of keys of one definition, kept as index ranges."""

    __slots__ = ("_definition", "_len", "_los", "_ranges", "_space")

    def __init__(
        self,
        definition: PartitionsDefinition,
        space: KeySpace,
        ranges: Iterable[tuple[int, int]] = (),
    ) -> None:
        self._definition = definition
        self._space = space
        self._ranges: Ranges = normalize(ranges)
        self._los = [lo for lo, _ in self._ranges]
        self._len = sum(hi - lo for lo, hi in self._ranges)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def empty(
        cls, definition: PartitionsDefinition, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> PartitionsSubset:
        return cls(definition, definition.key_space(dynamic))

    @classmethod
    def all(
        cls,
        definition: PartitionsDefinition,
        now: datetime,
        dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    ) -> PartitionsSubset:
        """Every key present at `now`."""
        space = definition.key_space(dynamic)
        return cls(definition, space, space.all_ranges(check_now(now)))

    @classmethod
    def from_keys(
        cls,
        definition: PartitionsDefinition,
        keys: Iterable[str],
        now: datetime,
        dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    ) -> PartitionsSubset:
        """The subset of `keys`; InvalidInput names the first key not present at `now`."""
        space = definition.key_space(dynamic)
        present = cls(definition, space, space.all_ranges(check_now(now)))
        indices: list[int] = []
        for key in keys:
            index = space.index_of(key) if isinstance(key, str) else None
            if index is None or not present._has_index(index):
                raise InvalidInput(f"partition key {key!r} is not in {definition.describe()}")
            indices.append(index)
        indices.sort()
        runs: list[tuple[int, int]] = []
        for index in indices:
            if runs and index <= runs[-1][1]:
                runs[-1] = (runs[-1][0], max(runs[-1][1], index + 1))
            else:
                runs.append((index, index + 1))
        return cls(definition, space, runs)

    @classmethod
    def from_range(
        cls,
        definition: PartitionsDefinition,
        key_range: PartitionRange,
        now: datetime,
        dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    ) -> PartitionsSubset:
        """Every present key from `start_key` to `end_key` inclusive, in definition order."""
        space = definition.key_space(dynamic)
        present = space.all_ranges(check_now(now))
        probe = cls(definition, space, present)
        lo = space.index_of(key_range.start_key)
        hi = space.index_of(key_range.end_key)
        for key, index in ((key_range.start_key, lo), (key_range.end_key, hi)):
            if index is None or not probe._has_index(index):
                raise InvalidInput(f"partition key {key!r} is not in {definition.describe()}")
        assert lo is not None and hi is not None
        if lo > hi:
            raise InvalidInput(
                f"partition range {key_range.start_key!r}..{key_range.end_key!r} is reversed: "
                f"{key_range.start_key!r} comes after {key_range.end_key!r}"
            )
        return cls(definition, space, _intersect(((lo, hi + 1),), probe._ranges))

    @classmethod
    def from_snapshot(
        cls,
        definition: PartitionsDefinition,
        data: Mapping[str, Any],
        dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC,
    ) -> PartitionsSubset:
        """Inverse of `to_snapshot` (InvalidInput names an endpoint the definition lacks)."""
        raw = data.get("ranges") if isinstance(data, Mapping) else None
        if not isinstance(raw, list):
            raise InvalidInput(f"partitions subset snapshot needs a 'ranges' list, got {data!r}")
        space = definition.key_space(dynamic)
        ranges: list[tuple[int, int]] = []
        for item in raw:
            if (
                not isinstance(item, list)
                or len(item) != 2
                or not all(isinstance(k, str) for k in item)
            ):
                raise InvalidInput(f"partitions subset range {item!r} must be [start, end] keys")
            lo, hi = space.index_of(item[0]), space.index_of(item[1])
            for key, index in ((item[0], lo), (item[1], hi)):
                if index is None:
                    raise InvalidInput(f"partition key {key!r} is not in {definition.describe()}")
            assert lo is not None and hi is not None
            if lo > hi:
                raise InvalidInput(f"partitions subset range {item!r} is reversed")
            ranges.append((lo, hi + 1))
        return cls(definition, space, ranges)

    # -- queries ------------------------------------------------------------------------------

    @property
    def definition(self) -> PartitionsDefinition:
        return self._definition

    @property
    def index_ranges(self) -> Ranges:
        """Half-open [lo, hi) index ranges, sorted and disjoint."""
        return self._ranges

    def _has_index(self, index: int) -> bool:
        pos = bisect_right(self._los, index) - 1
        return pos >= 0 and index < self._ranges[pos][1]

    def contains(self, key: str) -> bool:
        index = self._space.index_of(key) if isinstance(key, str) else None
        return index is not None and self._has_index(index)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.contains(key)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0

    def __iter__(self) -> Iterator[str]:
        for lo, hi in self._ranges:
            for start in range(lo, hi, 4096):
                yield from self._space.keys_between(start, min(hi, start + 4096))

    def keys(self) -> list[str]:
        return list(self)

    def ranges(self) -> list[PartitionRange]:
        """Inclusive key ranges, in order."""
        key_at = self._space.key_at
        return [PartitionRange(key_at(lo), key_at(hi - 1)) for lo, hi in self._ranges]

    def to_snapshot(self) -> dict[str, Any]:
        return {"ranges": [r.to_snapshot() for r in self.ranges()]}

    # -- algebra ------------------------------------------------------------------------------

    def _check_same_space(self, other: PartitionsSubset) -> None:
        if not isinstance(other, PartitionsSubset):
            raise InvalidInput(f"expected a PartitionsSubset, got {type(other).__name__}")
        if self._space != other._space:
            raise InvalidInput(
                f"cannot combine subsets of different partitions: {self._definition.describe()} "
                f"and {other._definition.describe()}"
            )

    def union(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same_space(other)
        return PartitionsSubset(self._definition, self._space, self._ranges + other._ranges)

    def intersection(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same_space(other)
        return PartitionsSubset(
            self._definition, self._space, _intersect(self._ranges, other._ranges)
        )

    def difference(self, other: PartitionsSubset) -> PartitionsSubset:
        self._check_same_space(other)
        return PartitionsSubset(
            self._definition, self._space, _subtract(self._ranges, other._ranges)
        )

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsSubset):
            return NotImplemented
        return self._space == other._space and self._ranges == other._ranges

    def __hash__(self) -> int:
        return hash((self._space, self._ranges))

    def __repr__(self) -> str:
        shown = ", ".join(f"{r.start_key}..{r.end_key}" for r in self.ranges()[:3])
        more = ", ..." if len(self._ranges) > 3 else ""
        return f"PartitionsSubset({len(self)} keys: [{shown}{more}])"
