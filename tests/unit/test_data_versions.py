"""Data version derivation and the inputs a partition's provenance records. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from arco.definitions import (
    AllPartitionMapping,
    AssetDep,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
)
from arco.domain.data_versions import derive_data_version, input_name, upstream_inputs

NOW = datetime(2024, 12, 1, tzinfo=UTC)
daily = DailyPartitionsDefinition(start_date="2024-01-01")


def test_derivation_is_dagsters_hash_of_code_version_and_sorted_inputs() -> None:
    a = derive_data_version("1", {"x[1]": "v1", "a": "v2"}, "run_1")
    b = derive_data_version("1", {"a": "v2", "x[1]": "v1"}, "run_2")
    assert a == b  # order of inputs and the run do not matter with a code version
    assert derive_data_version("2", {"a": "v2", "x[1]": "v1"}, "run_1") != a
    assert derive_data_version("1", {"a": "v3", "x[1]": "v1"}, "run_1") != a
    assert derive_data_version(None, {}, "run_1") != derive_data_version(None, {}, "run_2")
    assert input_name("a", None) == "a" and input_name("a", "2024-01-01") == "a[2024-01-01]"


def test_inputs_follow_mappings_and_skip_what_dagster_skips() -> None:
    defs = Definitions(
        assets=[
            AssetSpec("parent", partitions_def=daily),
            AssetSpec("flat"),
            AssetSpec("child", partitions_def=daily, deps=["parent", "flat"]),
            AssetSpec("rollup", deps=["parent"]),  # unpartitioned child of a daily parent
            AssetSpec(
                "everything",
                partitions_def=daily,
                deps=[AssetDep("parent", partition_mapping=AllPartitionMapping())],
            ),
        ]
    ).snapshot("t")
    # Dependencies in key order (the snapshot sorts them).
    assert upstream_inputs(defs, "child", "2024-03-05", NOW) == [
        ("flat", None),
        ("parent", "2024-03-05"),
    ]
    assert upstream_inputs(defs, "rollup", None, NOW) == []
    # 300+ upstream days through AllPartitionMapping: over the threshold, left out.
    assert upstream_inputs(defs, "everything", "2024-03-05", NOW) == []
