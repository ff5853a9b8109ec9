"""A report over a selection reads the same facts as the whole report (issue 17's scenario: an
unpartitioned asset reading static partitions the selection leaves out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from arco.domain.runs import PARTITION_INPUTS, PARTITION_STATUS
from arco.projections.parquet import arrow_schema
from arco.sdk import Definitions, StaticPartitionsDefinition, asset
from arco.services.queries.staleness_report import causes_json, compute_report

NOW = datetime(2024, 2, 1, tzinfo=UTC)
parts = StaticPartitionsDefinition(["a", "b", "c"])


@asset(partitions_def=parts, code_version="1")
def up() -> None: ...


@asset(code_version="1", deps=[up])
def down() -> None: ...


DEFS = Definitions(assets=[up, down]).snapshot("t")
VERSIONS = {n: {"code_version_since_ms": 0, "deps_since_ms": 0} for n in ("up", "down")}


def status(asset: str, partition: str, version: str, ms: int) -> dict[str, Any]:
    return {
        "asset": asset,
        "partition": partition,
        "materialized_run_id": f"run_{asset}{partition}{ms}",
        "materialized_ms": ms,
        "materialized_code_version": "1",
        "materialized_data_version": version,
        "materialized_data_version_since_ms": ms,
        "materialized_version": f"v{ms}",
    }


def report(up_a: str, assets: list[str] | None) -> tuple[list[tuple[str, str]], dict[Any, Any]]:
    rows = [
        status("up", "a", up_a, 1_000),
        status("up", "b", "up-b-1", 1_000),
        status("up", "c", "up-c-1", 1_000),
        status("down", "", "down-1", 2_000),
    ]
    inputs = [
        {"asset": "down", "partition": "", "input_asset": "up", "input_partition": k,
         "data_version": f"up-{k}-1"}
        for k in "abc"
    ]  # fmt: skip
    result = compute_report(
        DEFS,
        pa.Table.from_pylist(rows, schema=arrow_schema(PARTITION_STATUS)),
        pa.Table.from_pylist(inputs, schema=arrow_schema(PARTITION_INPUTS)),
        VERSIONS,
        NOW,
        assets,
    )
    statuses = [(r["asset"], r["status"]) for r in result.partitions.to_pylist()]
    return [s for s in statuses if s[0] == "down"], causes_json(result.causes)


def test_unchanged_static_upstreams_leave_the_unpartitioned_downstream_fresh() -> None:
    assert report("up-a-1", None)[0] == [("down", "FRESH")]
    assert report("up-a-1", ["down"]) == ([("down", "FRESH")], {})  # was STALE, up-a-1→...


def test_one_changed_upstream_partition_makes_it_stale_naming_that_partition() -> None:
    for assets in (None, ["down"]):
        statuses, causes = report("up-a-2", assets)
        assert statuses == [("down", "STALE")]
        assert causes[("down", "")] == [
            {
                "code": "UPSTREAM_DATA_CHANGED",
                "since_ms": 2_000,
                "upstream_asset": "up",
                "upstream_partition": "a",
                "recorded": "up-a-1",
                "current": "up-a-2",
                "materialization": "run_upa1000",
            }
        ]
