"""An example code location: a small shop's daily pipeline, used by `make demo`."""

from __future__ import annotations

from datetime import timedelta

from arco.definitions import (
    AssetDep,
    AssetExecutionContext,
    CatchUp,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    HourlyPartitionsDefinition,
    MaterializeResult,
    RetryPolicy,
    ScheduleDefinition,
    TimeWindowPartitionMapping,
    asset,
    build_schedule_from_partitioned_assets,
)

daily = DailyPartitionsDefinition(start_date="2024-01-01")
hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")


@asset(
    partitions_def=hourly,
    code_version="1",
    group_name="ingest",
    owners=["team:data"],
    kinds=["python"],
)
def clicks() -> None:
    """Raw click events, one partition per hour."""


@asset(
    partitions_def=daily,
    code_version="1",
    group_name="ingest",
    owners=["team:data"],
    retry_policy=RetryPolicy(max_retries=2, delay=1, backoff="exponential"),
)
def orders(context: AssetExecutionContext) -> MaterializeResult:
    """Orders exported nightly from the shop database."""
    window = context.partition_time_window
    context.log.info("exporting orders placed %s .. %s", window.start, window.end)
    return MaterializeResult(
        metadata={"rows": 1200}, data_version=f"orders-{context.partition_key}"
    )


@asset(
    partitions_def=daily,
    code_version="1",
    group_name="marts",
    deps=[
        AssetDep("orders", partition_mapping=TimeWindowPartitionMapping(start_offset=-1)),
        "clicks",
    ],
)
def revenue(context: AssetExecutionContext) -> None:
    """Daily revenue, with yesterday's orders for late corrections; clicks for attribution."""
    context.log.info("revenue for %s", context.partition_key)


@asset(code_version="1", group_name="marts", deps=["revenue"])
def dashboard() -> None:
    """The unpartitioned dashboard table."""


defs = Definitions(
    assets=[clicks, orders, revenue, dashboard],
    schedules=[
        build_schedule_from_partitioned_assets(
            "nightly", [orders, revenue], default_status=DefaultScheduleStatus.RUNNING
        ),
        ScheduleDefinition(
            name="dashboard_refresh",
            cron_schedule="0 */6 * * *",
            target=[dashboard],
            default_status=DefaultScheduleStatus.RUNNING,
            catch_up=CatchUp.all(window=timedelta(hours=12), max_per_call=2),
        ),
        ScheduleDefinition(
            name="weekly_audit",
            cron_schedule="0 6 * * MON",
            target=[dashboard],
            execution_timezone="Europe/Berlin",
        ),
    ],
)
