"""Partitions definitions (static, time-window, dynamic, multi) and compact key subsets.

Pure: no clock (`now` is always an argument), no I/O. Semantics follow Dagster 1.13 (see
`docs` and the reference notes); deliberate differences are listed in `time_window`.
"""

from arco.domain.partitions.base import NO_DYNAMIC, KeySpace, PartitionsDefinition
from arco.domain.partitions.dynamic import DynamicPartitionsDefinition
from arco.domain.partitions.multi import MultiPartitionsDefinition
from arco.domain.partitions.snapshot import partitions_from_snapshot
from arco.domain.partitions.static import StaticPartitionsDefinition
from arco.domain.partitions.subsets import PartitionRange, PartitionsSubset
from arco.domain.partitions.time_window import (
    DEFAULT_DATE_FORMAT,
    DEFAULT_HOURLY_FORMAT,
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

__all__ = [
    "DEFAULT_DATE_FORMAT",
    "DEFAULT_HOURLY_FORMAT",
    "NO_DYNAMIC",
    "DailyPartitionsDefinition",
    "DynamicPartitionsDefinition",
    "HourlyPartitionsDefinition",
    "KeySpace",
    "MonthlyPartitionsDefinition",
    "MultiPartitionsDefinition",
    "PartitionRange",
    "PartitionsDefinition",
    "PartitionsSubset",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "partitions_from_snapshot",
]
