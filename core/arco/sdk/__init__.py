"""Arco's user API: what a code location imports, by concept, re-exported in one place.

```python
import arco as dg          # or: from arco import asset, Definitions, ...

@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2024-01-01"))
def orders(context: dg.AssetExecutionContext) -> None: ...
```

Names and behaviour follow Dagster's; docs/migrating-from-dagster.md lists every difference.
This package is import-light on purpose: user code imports it, and so does the worker.
"""

from __future__ import annotations

from arco.domain.definitions import FreshnessPolicy, RetryPolicy
from arco.sdk.assets import (
    AssetDep,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    asset,
)
from arco.sdk.context import (
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
)
from arco.sdk.definitions import (
    Definitions,
)
from arco.sdk.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DimensionPartitionMapping,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MonthlyPartitionsDefinition,
    MultiPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    PartitionsDefinition,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from arco.sdk.schedules import (
    CatchUp,
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_assets,
)
from arco.sdk.sensors import (
    DefaultSensorStatus,
    PubSubMessage,
    PushSensorContext,
    RunRequest,
    RunStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    push_sensor,
    run_status_sensor,
    sensor,
)

__all__ = [
    "AllPartitionMapping",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetSpec",
    "AssetsDefinition",
    "CatchUp",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "FreshnessPolicy",
    "HourlyPartitionsDefinition",
    "IdentityPartitionMapping",
    "LastPartitionMapping",
    "MaterializeResult",
    "MonthlyPartitionsDefinition",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "PartitionMapping",
    "PartitionsDefinition",
    "PubSubMessage",
    "PushSensorContext",
    "RetryPolicy",
    "RunRequest",
    "RunStatus",
    "ScheduleDefinition",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_sensor",
    "build_schedule_from_partitioned_assets",
    "push_sensor",
    "run_status_sensor",
    "sensor",
]
