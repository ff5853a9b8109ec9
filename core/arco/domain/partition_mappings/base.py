"""The mapping contract (`PartitionMapping`, `UpstreamPartitions`) and helpers every mapping
shares: argument checks, side descriptions for errors, ordering keys by their definition."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from arco.domain.canonical import canonical_json
from arco.domain.errors import InvalidInput
from arco.domain.partitions import NO_DYNAMIC, PartitionsDefinition

Dynamic = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class UpstreamPartitions:
    """Upstream keys a set of downstream keys depends on.

    `keys` exist upstream at `now`; `required_but_nonexistent` are upstream keys the mapping
    asks for that the upstream definition does not have (yet, or ever).
    """

    keys: tuple[str, ...]
    required_but_nonexistent: tuple[str, ...] = ()


def _describe(definition: PartitionsDefinition | None) -> str:
    return "unpartitioned" if definition is None else definition.describe()


def _sides(upstream: PartitionsDefinition | None, downstream: PartitionsDefinition | None) -> str:
    return f"upstream {_describe(upstream)}, downstream {_describe(downstream)}"


def _ordered(
    definition: PartitionsDefinition, keys: Iterable[str], dynamic: Dynamic
) -> tuple[str, ...]:
    """`keys` without duplicates, in the definition's order (unknown keys last, as given)."""
    unique = list(dict.fromkeys(keys))
    if len(unique) < 2:
        return tuple(unique)
    space = definition.key_space(dynamic)
    ranked: list[tuple[bool, int, int, str]] = []
    for position, key in enumerate(unique):
        index = space.index_of(key)
        ranked.append((index is None, 0 if index is None else index, position, key))
    ranked.sort()
    return tuple(item[3] for item in ranked)


def _keys_arg(keys: Sequence[str], what: str) -> list[str]:
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise InvalidInput(f"{what} must be a list of partition keys, got {keys!r}")
    for key in keys:
        if not isinstance(key, str):
            raise InvalidInput(f"{what}: partition key {key!r} must be a string")
    return list(dict.fromkeys(keys))


class PartitionMapping(ABC):
    """How the partitions of a downstream asset depend on those of an upstream asset.

    Mappings are immutable values: two mappings are equal when their snapshots are equal.
    """

    kind: ClassVar[str]

    @abstractmethod
    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        """The upstream keys `downstream_keys` depend on at `now`."""

    @abstractmethod
    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        """The downstream keys present at `now` that depend on any of `upstream_keys`."""

    @abstractmethod
    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        """Raise InvalidInput (naming both sides) if the mapping cannot join these definitions."""

    @abstractmethod
    def to_snapshot(self) -> dict[str, Any]:
        """Canonical JSON-able form, including "kind"; `mapping_from_snapshot` inverts it."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionMapping):
            return NotImplemented
        return canonical_json(self.to_snapshot()) == canonical_json(other.to_snapshot())

    def __hash__(self) -> int:
        return hash(canonical_json(self.to_snapshot()))

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.to_snapshot().items() if k != "kind"}
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        return f"{type(self).__name__}({shown})"


def _require(
    mapping: PartitionMapping,
    upstream: PartitionsDefinition | None,
    downstream: PartitionsDefinition | None,
    *,
    upstream_needed: bool = True,
    downstream_needed: bool = True,
) -> None:
    name = type(mapping).__name__
    if upstream_needed and upstream is None:
        raise InvalidInput(f"{name} needs a partitioned upstream ({_sides(upstream, downstream)})")
    if downstream_needed and downstream is None:
        raise InvalidInput(
            f"{name} needs a partitioned downstream ({_sides(upstream, downstream)})"
        )
