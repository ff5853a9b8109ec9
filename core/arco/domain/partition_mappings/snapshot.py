"""Mappings from their snapshots (the inverse of `PartitionMapping.to_snapshot`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings.base import PartitionMapping
from arco.domain.partition_mappings.multi import (
    DimensionPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
)
from arco.domain.partition_mappings.simple import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
)
from arco.domain.partition_mappings.time_window import TimeWindowPartitionMapping

_KINDS = (
    "identity, time_window, all, last, static, specific_partitions, "
    "multi_to_single_dimension or multi"
)


def mapping_from_snapshot(data: Mapping[str, Any]) -> PartitionMapping:
    """Rebuild a mapping from `to_snapshot()` output; InvalidInput if it is malformed."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"partition mapping snapshot must be an object, got {data!r}")
    kind = data.get("kind")
    try:
        if kind == IdentityPartitionMapping.kind:
            return IdentityPartitionMapping()
        if kind == AllPartitionMapping.kind:
            return AllPartitionMapping()
        if kind == LastPartitionMapping.kind:
            return LastPartitionMapping()
        if kind == TimeWindowPartitionMapping.kind:
            return TimeWindowPartitionMapping(
                start_offset=data.get("start_offset", 0),
                end_offset=data.get("end_offset", 0),
                allow_nonexistent_upstream_partitions=data.get(
                    "allow_nonexistent_upstream_partitions", False
                ),
            )
        if kind == StaticPartitionMapping.kind:
            return StaticPartitionMapping(data["mapping"])
        if kind == SpecificPartitionsPartitionMapping.kind:
            return SpecificPartitionsPartitionMapping(data["keys"])
        if kind == MultiToSingleDimensionPartitionMapping.kind:
            return MultiToSingleDimensionPartitionMapping(data.get("partition_dimension_name"))
        if kind == MultiPartitionMapping.kind:
            mappings = data["mappings"]
            if not isinstance(mappings, Mapping):
                raise InvalidInput(f"multi partition mapping snapshot: bad mappings {mappings!r}")
            return MultiPartitionMapping(
                {dim: DimensionPartitionMapping.from_snapshot(m) for dim, m in mappings.items()}
            )
    except KeyError as exc:
        raise InvalidInput(
            f"{kind} partition mapping snapshot is missing {exc.args[0]!r}"
        ) from None
    raise InvalidInput(f"unknown partition mapping kind {kind!r} (expected {_KINDS})")
