"""The mapping a dependency gets when it names none (Dagster's inference)."""

from __future__ import annotations

from arco.domain.partition_mappings.base import PartitionMapping
from arco.domain.partition_mappings.multi import (
    MultiToSingleDimensionPartitionMapping,
    _infer_single_to_multi,
)
from arco.domain.partition_mappings.simple import AllPartitionMapping, IdentityPartitionMapping
from arco.domain.partition_mappings.time_window import TimeWindowPartitionMapping
from arco.domain.partitions import PartitionsDefinition, TimeWindowPartitionsDefinition


def default_partition_mapping(
    upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
) -> PartitionMapping:
    """Dagster's inference when a dependency names no mapping: an unpartitioned side gives
    All; multi and single-dimension with a matching dimension give MultiToSingleDimension;
    two time-window definitions give TimeWindow; anything else gives Identity."""
    if upstream_def is None or downstream_def is None:
        return AllPartitionMapping()
    if not isinstance(_infer_single_to_multi(upstream_def, downstream_def, None), str):
        return MultiToSingleDimensionPartitionMapping()
    if isinstance(upstream_def, TimeWindowPartitionsDefinition) and isinstance(
        downstream_def, TimeWindowPartitionsDefinition
    ):
        return TimeWindowPartitionMapping()
    return IdentityPartitionMapping()
