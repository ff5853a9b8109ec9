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


def test_the_derived_data_version_is_dagsters_exact_hash() -> None:
    # Dagster's compute_logical_data_version: sha256 over the code version followed by the
    # input data versions sorted by input, as UTF-8 hex. The first value is the one
    # docs (dagster-semantics section 9) quote from Dagster itself: sha256("1" + "INITIAL").
    assert derive_data_version("1", {"source": "INITIAL"}, "run") == (
        "c3a4f532fd12563187419fe0c92ac1117d74e86853a05572f1d626141fa3896e"
    )
    # sorted by input name: "a" (v2) before "x[1]" (v1): sha256("1v2v1")
    assert derive_data_version("1", {"x[1]": "v1", "a": "v2"}, "run") == (
        "3e6c630b53bc3953ede73aa39a03e9eb035b9ebb661aaa041c9039cb4c809bae"
    )
    # no code version: the run id takes its place: sha256("run_1"), sha256("run_7v9")
    assert derive_data_version(None, {}, "run_1") == (
        "37ddff8ee13f1e57937fd048fa323f5ea5258c106dfc7be9d5343dd264fadf35"
    )
    assert derive_data_version(None, {"a": "v9"}, "run_7") == (
        "739c22a64fd2a5d3f333b06bf9d035c6355f081f73e0e002b002f5255aa194b9"
    )


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


def test_input_order_is_dagsters_asset_key_order() -> None:
    # By the key's path: "a/b" (["a", "b"]) sorts before "a" (["a"]) in str(list) order, so
    # the hash is sha256("1" + v(a/b) + v(a)) = sha256("1v2v1").
    assert derive_data_version("1", {"a": "v1", "a/b": "v2"}, "run") == (
        "3e6c630b53bc3953ede73aa39a03e9eb035b9ebb661aaa041c9039cb4c809bae"
    )


def test_a_skipped_edge_does_not_hide_the_next_dependency() -> None:
    from arco.definitions import DailyPartitionsDefinition

    exactly_100 = DailyPartitionsDefinition(start_date="2024-08-23")  # to 2024-11-30: 100 days
    only_99 = DailyPartitionsDefinition(start_date="2024-08-24")
    everything = AllPartitionMapping()
    defs = Definitions(
        assets=[
            AssetSpec("a_daily", partitions_def=daily),
            AssetSpec("a_100", partitions_def=exactly_100),
            AssetSpec("a_99", partitions_def=only_99),
            AssetSpec("z_flat"),
            AssetSpec("rollup", deps=["a_daily", "z_flat"]),
            AssetSpec(
                "wide",
                partitions_def=daily,
                deps=[AssetDep("a_100", partition_mapping=everything), "z_flat"],
            ),
            AssetSpec(
                "narrower",
                partitions_def=daily,
                deps=[AssetDep("a_99", partition_mapping=everything), "z_flat"],
            ),
        ]
    ).snapshot("t")
    assert upstream_inputs(defs, "rollup", None, NOW) == [("z_flat", None)]
    assert upstream_inputs(defs, "wide", "2024-11-01", NOW) == [("z_flat", None)]
    narrower = upstream_inputs(defs, "narrower", "2024-11-01", NOW)
    assert len(narrower) == 100 and narrower[-1] == ("z_flat", None)
    assert narrower[0] == ("a_99", "2024-08-24") and narrower[98] == ("a_99", "2024-11-30")


def test_dagsters_special_data_versions() -> None:
    from arco.domain.data_versions import INITIAL_VERSION, NULL_VERSION, SKIP_THRESHOLD

    assert (NULL_VERSION, INITIAL_VERSION, SKIP_THRESHOLD) == ("NULL", "INITIAL", 100)
