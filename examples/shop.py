"""An example code location: a small shop's daily pipeline, used by `make demo`.

`build(revenue_code_version)` makes it; `defs` is version "1", `examples.shop_v2:defs` the same
shop after a change to revenue's code (what makes the staleness report light up in the demo).
"""

from __future__ import annotations

from datetime import timedelta

from arco.sdk import (
    AssetDep,
    AssetExecutionContext,
    CatchUp,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    HourlyPartitionsDefinition,
    MaterializeResult,
    PushSensorContext,
    RetryPolicy,
    RunRequest,
    ScheduleDefinition,
    SkipReason,
    TimeWindowPartitionMapping,
    asset,
    build_schedule_from_partitioned_assets,
    push_sensor,
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
    reconcile=True,
)
def orders(context: AssetExecutionContext) -> MaterializeResult:
    """Orders exported nightly from the shop database."""
    window = context.partition_time_window
    context.log.info("exporting orders placed %s .. %s", window.start, window.end)
    return MaterializeResult(
        metadata={"rows": 1200}, data_version=f"orders-{context.partition_key}"
    )


@push_sensor(
    "projects/shop-demo/subscriptions/orders-landed",
    target=[orders],
    default_status=DefaultSensorStatus.RUNNING,
)
def orders_landed(context: PushSensorContext) -> RunRequest | SkipReason:
    """The shop database announces a day's export: materialize that day's orders."""
    day = context.message.attributes.get("day")
    if day is None:
        return SkipReason("the message names no day")
    return RunRequest(run_key=f"orders-landed-{day}", partition_key=day)


def build(revenue_code_version: str = "1") -> Definitions:
    @asset(
        partitions_def=daily,
        code_version=revenue_code_version,
        group_name="marts",
        deps=[AssetDep("orders", partition_mapping=TimeWindowPartitionMapping(start_offset=-1))],
        reconcile=True,
    )
    def revenue(context: AssetExecutionContext) -> None:
        """Daily revenue, with yesterday's orders for late corrections."""
        context.log.info("revenue for %s", context.partition_key)

    @asset(code_version="1", group_name="marts", deps=["revenue"], reconcile=True)
    def dashboard() -> None:
        """The unpartitioned dashboard table."""

    return Definitions(
        assets=[clicks, orders, revenue, dashboard],
        sensors=[orders_landed],
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


defs = build()
