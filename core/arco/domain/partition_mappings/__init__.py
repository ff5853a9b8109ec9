"""Partition mappings: which upstream partitions a downstream partition depends on, and back.

Every mapping answers two questions, with Dagster 1.13's rules:

- `upstream_partitions(downstream_def, downstream_keys, upstream_def, now)`: the upstream keys
  the downstream keys depend on, plus `required_but_nonexistent`, the upstream keys they would
  need that the upstream definition does not have at `now`;
- `downstream_partitions(upstream_def, upstream_keys, downstream_def, now)`: the downstream
  keys that depend on the given upstream keys (only keys present at `now`).

`None` stands for an unpartitioned side. An unpartitioned upstream has no keys to depend on
(the dependency is on the whole asset), so `upstream_partitions` answers nothing for it; an
unpartitioned downstream has no keys either, so `downstream_partitions` answers nothing and the
caller treats the unpartitioned asset as one unit (as Dagster's asset graph does).

Results are tuples without duplicates in the target definition's order (window order for time
windows); `required_but_nonexistent` keys come in the order they were found (chronological for
time windows).

Deliberate differences from Dagster:

- `IdentityPartitionMapping.validate` compares definition kinds (static, time_window, dynamic,
  multi), not Python classes, so daily partitions and a custom daily cron may be mapped;
- a time window that runs past both ends of the upstream range reports only the parts outside
  the range as required-but-nonexistent (Dagster reports the whole window, existing keys too);
- the time-window mapping always takes the general path (no shortcut for equal definitions), so
  a downstream key whose window has not closed upstream yet is reported as nonexistent;
- offsets step over cron ticks; windows removed by `exclusions` still count as a step;
- `SpecificPartitionsPartitionMapping` reports its keys that the upstream does not have at `now`
  as required-but-nonexistent (Dagster returns them as if present) and `validate` checks that
  they can belong to the upstream definition;
- multi mappings report required-but-nonexistent upstream keys as whole multi keys (Dagster
  reports the bare dimension keys);
- `MultiPartitionMapping.validate` also validates each dimension's mapping against the two
  dimension definitions.
"""

from arco.domain.partition_mappings.base import PartitionMapping, UpstreamPartitions
from arco.domain.partition_mappings.defaults import default_partition_mapping
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
from arco.domain.partition_mappings.snapshot import mapping_from_snapshot
from arco.domain.partition_mappings.time_window import TimeWindowPartitionMapping

__all__ = [
    "AllPartitionMapping",
    "DimensionPartitionMapping",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MultiPartitionMapping",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "TimeWindowPartitionMapping",
    "UpstreamPartitions",
    "default_partition_mapping",
    "mapping_from_snapshot",
]
