"""Freshness policies as a staleness cause: maximum lag and cron deadlines."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from arco.domain.runs import PARTITION_INPUTS, PARTITION_STATUS
from arco.domain.staleness import FRESHNESS_VIOLATED, freshness_violation
from arco.projections.parquet import arrow_schema
from arco.sdk import DailyPartitionsDefinition, Definitions, FreshnessPolicy, asset
from arco.services.queries.staleness_report import causes_json, compute_report

NOON = datetime(2024, 3, 1, 12, tzinfo=UTC)
NOON_MS = round(NOON.timestamp() * 1000)
MINUTE = 60_000


def test_maximum_lag() -> None:
    policy = FreshnessPolicy(maximum_lag_minutes=60)
    assert freshness_violation(policy, None, NOON) is None  # never materialized: MISSING
    assert freshness_violation(policy, NOON_MS - 59 * MINUTE, NOON) is None
    late = NOON_MS - 61 * MINUTE
    assert freshness_violation(policy, late, NOON) == (late + 60 * MINUTE, late + 60 * MINUTE)


def test_cron_deadline() -> None:
    # By every day's 09:00 tick, data must be at most 30 minutes older than the tick.
    policy = FreshnessPolicy(maximum_lag_minutes=30, cron_schedule="0 9 * * *")
    nine = round(datetime(2024, 3, 1, 9, tzinfo=UTC).timestamp() * 1000)
    assert freshness_violation(policy, nine - 29 * MINUTE, NOON) is None
    assert freshness_violation(policy, nine - 31 * MINUTE, NOON) == (nine, nine - 30 * MINUTE)


def test_the_report_puts_the_violation_on_the_latest_partition() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-02-27", end_date="2024-03-01")

    @asset(partitions_def=daily, freshness_policy=FreshnessPolicy(maximum_lag_minutes=60))
    def sales() -> None: ...

    defs = Definitions(assets=[sales]).snapshot("t")
    rows = [
        {
            "asset": "sales",
            "partition": key,
            "materialized_run_id": "r",
            "materialized_ms": ms,
            "materialized_data_version": "v",
        }
        for key, ms in (
            ("2024-02-27", NOON_MS - 600 * MINUTE),
            ("2024-02-28", NOON_MS - 300 * MINUTE),
        )
    ]
    status = pa.Table.from_pylist(rows, schema=arrow_schema(PARTITION_STATUS))
    inputs = pa.Table.from_pylist([], schema=arrow_schema(PARTITION_INPUTS))
    report = compute_report(defs, status, inputs, {}, NOON)
    causes = causes_json(report.causes)
    assert list(causes) == [("sales", "2024-02-28")]
    [cause] = causes[("sales", "2024-02-28")]
    assert cause["code"] == FRESHNESS_VIOLATED
    assert cause["since_ms"] == NOON_MS - 300 * MINUTE + 60 * MINUTE
    statuses = dict(
        zip(
            report.partitions.column("partition").to_pylist(),
            report.partitions.column("status").to_pylist(),
            strict=True,
        )
    )
    assert statuses == {"2024-02-27": "FRESH", "2024-02-28": "STALE", "2024-02-29": "MISSING"}
