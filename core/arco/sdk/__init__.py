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

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.definitions import FreshnessPolicy, RetryPolicy
from arco.domain.partitions.time_window import TimeWindow
from arco.sdk.assets import (
    AssetDep,
    AssetIn,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    asset,
)
from arco.sdk.automation import AutomationConditionSensorDefinition
from arco.sdk.checks import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    asset_check,
)
from arco.sdk.config import Config, RunConfig
from arco.sdk.context import (
    AssetExecutionContext,
    DataVersion,
    MaterializeResult,
    PartitionKeyRange,
    build_asset_context,
)
from arco.sdk.definitions import (
    Definitions,
)
from arco.sdk.io_managers import (
    ConfigurableIOManager,
    InputContext,
    IOManager,
    IOManagerDefinition,
    ObjectStoreIOManager,
    OutputContext,
    ParquetIOManager,
    io_manager,
)
from arco.sdk.jobs import UnresolvedAssetJobDefinition, define_asset_job
from arco.sdk.loading import (
    load_assets_from_current_module,
    load_assets_from_modules,
    load_assets_from_package_module,
    load_assets_from_package_name,
)
from arco.sdk.metadata import MetadataValue, Output
from arco.sdk.multi_assets import AssetOut, MultiAssetsDefinition, multi_asset
from arco.sdk.observations import ObserveResult, observable_source_asset
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
from arco.sdk.resources import (
    ConfigurableResource,
    EnvVar,
    InitResourceContext,
    ResourceDefinition,
    ResourceParam,
    resource,
)
from arco.sdk.schedules import (
    CatchUp,
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_assets,
    build_schedule_from_partitioned_job,
)
from arco.sdk.selections import AssetSelection
from arco.sdk.sensor_state import (
    AddDynamicPartitionsRequest,
    AssetObservation,
    DagsterRun,
    DeleteDynamicPartitionsRequest,
    EventLogEntry,
    EventLogRecord,
)
from arco.sdk.sensors import (
    DefaultSensorStatus,
    MultiAssetSensorEvaluationContext,
    PubSubMessage,
    PushSensorContext,
    RunFailureSensorContext,
    RunRequest,
    RunStatus,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset_sensor,
    multi_asset_sensor,
    push_sensor,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

DagsterRunStatus = RunStatus  # Dagster's name for the statuses a run-status sensor watches

__all__ = [
    "AddDynamicPartitionsRequest",
    "AllPartitionMapping",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetIn",
    "AssetKey",
    "AssetObservation",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "AutomationConditionSensorDefinition",
    "CatchUp",
    "Config",
    "ConfigurableIOManager",
    "ConfigurableResource",
    "DagsterRun",
    "DagsterRunStatus",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "Definitions",
    "DeleteDynamicPartitionsRequest",
    "DimensionPartitionMapping",
    "DynamicPartitionsDefinition",
    "EnvVar",
    "EventLogEntry",
    "EventLogRecord",
    "FreshnessPolicy",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IOManagerDefinition",
    "IdentityPartitionMapping",
    "InitResourceContext",
    "InputContext",
    "LastPartitionMapping",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiAssetSensorEvaluationContext",
    "MultiAssetsDefinition",
    "MultiPartitionMapping",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "ObjectStoreIOManager",
    "ObserveResult",
    "Output",
    "OutputContext",
    "ParquetIOManager",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionsDefinition",
    "PubSubMessage",
    "PushSensorContext",
    "ResourceDefinition",
    "ResourceParam",
    "RetryPolicy",
    "RunConfig",
    "RunFailureSensorContext",
    "RunRequest",
    "RunStatus",
    "RunStatusSensorContext",
    "ScheduleDefinition",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SkipReason",
    "SpecificPartitionsPartitionMapping",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "UnresolvedAssetJobDefinition",
    "WeeklyPartitionsDefinition",
    "asset",
    "asset_check",
    "asset_sensor",
    "build_asset_context",
    "build_schedule_from_partitioned_assets",
    "build_schedule_from_partitioned_job",
    "define_asset_job",
    "io_manager",
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
    "multi_asset",
    "multi_asset_sensor",
    "observable_source_asset",
    "push_sensor",
    "resource",
    "run_failure_sensor",
    "run_status_sensor",
    "sensor",
]
