"""Data version derivation and the inputs a partition's provenance records. Pure."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from arco.domain.data_versions import derive_data_version, input_name, upstream_inputs
from arco.domain.definitions import DefinitionsSnapshot
from arco.sdk import (
    AllPartitionMapping,
    AssetDep,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
)

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
    from arco.sdk import DailyPartitionsDefinition

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


def _reads_defs() -> DefinitionsSnapshot:
    from arco.sdk import LastPartitionMapping, TimeWindowPartitionMapping

    return Definitions(
        assets=[
            AssetSpec("p0", partitions_def=daily),
            AssetSpec("flat"),
            AssetSpec("p1", partitions_def=daily, deps=["p0", "flat"]),
            AssetSpec(
                "window",
                partitions_def=daily,
                deps=[
                    AssetDep("p0", partition_mapping=TimeWindowPartitionMapping(start_offset=-2))
                ],
            ),
            AssetSpec(
                "before",
                partitions_def=daily,
                deps=[
                    AssetDep(
                        "p0",
                        partition_mapping=TimeWindowPartitionMapping(
                            start_offset=-1, end_offset=-1
                        ),
                    )
                ],
            ),
            AssetSpec("rollup", deps=["p0"]),  # every window: 300+ partitions, over the threshold
            AssetSpec("last", deps=[AssetDep("p0", partition_mapping=LastPartitionMapping())]),
        ]
    ).snapshot("t")


def test_dependency_reads_name_every_dependency_once() -> None:
    from arco.domain.data_versions import DependencyRead, dependency_reads

    defs = _reads_defs()
    assert dependency_reads(defs, "p1", "2024-03-05", NOW) == [
        DependencyRead("flat", None),
        DependencyRead("p0", ("2024-03-05",)),
    ]
    assert dependency_reads(defs, "window", "2024-03-05", NOW) == [
        DependencyRead("p0", ("2024-03-03", "2024-03-04", "2024-03-05"))
    ]
    # the day before the first partition: no partition read, still a dependency
    assert dependency_reads(defs, "before", "2024-01-01", NOW) == [DependencyRead("p0", ())]
    # an edge of SKIP_THRESHOLD partitions or more counts as the latest materialization
    # (provenance leaves it out: upstream_inputs is [] there)
    assert dependency_reads(defs, "rollup", None, NOW) == [DependencyRead("p0", None)]
    assert dependency_reads(defs, "last", None, NOW) == [DependencyRead("p0", ("2024-11-30",))]


def test_a_partitioned_dependency_is_one_input_hashed_as_dagster_does() -> None:
    from arco.domain.data_versions import DependencyRead, dependency_version

    # Dagster 1.13.29, daily p0 and p1 (code version "1", identity mapping), 2024-01-01 of
    # both materialized: p0's version is sha256("1") = 6b86b273..., p1's input version for
    # p0 is sha256(that) and p1's data version sha256("1" + sha256(sha256("1"))) = c68668cc...
    # (the reproduction in docs/parity/differential.md, from Dagster's own answer).
    p0 = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
    read = DependencyRead("p0", ("2024-01-01",))
    input_version = dependency_version(read, p0, {"2024-01-01": p0})
    assert input_version is not None
    assert derive_data_version("1", {"p0": input_version}, "run").startswith("c68668cc")
    # partitions in key order, never-materialized ones skipped: sha256("va" + "vb")
    two = DependencyRead("p0", ("2024-01-01", "2024-01-02", "2024-01-03"))
    versions = {"2024-01-03": "vb", "2024-01-01": "va"}
    assert dependency_version(two, "vb", versions) == hashlib.sha256(b"vavb").hexdigest()
    # nothing read (a window before the first partition): the hash of nothing, as Dagster
    # records once the dependency has any materialization (Dagster 1.13.29's p1 version in
    # staleness-0014: sha256("1" + sha256("")) = 187363c1...)
    empty = dependency_version(DependencyRead("p0", ()), None, {})
    assert empty == hashlib.sha256(b"").hexdigest()
    assert derive_data_version("1", {"p0": empty}, "run").startswith("187363c1")
    # unpartitioned, or a wide edge: the latest materialization; never materialized: None
    assert dependency_version(DependencyRead("flat", None), "v9", {}) == "v9"
    assert dependency_version(DependencyRead("flat", None), None, {}) is None


def test_an_edge_the_mapping_cannot_resolve_does_not_hide_the_next_dependency() -> None:
    from arco.sdk import TimeWindowPartitionMapping

    defs = Definitions(
        assets=[
            AssetSpec("a_up", partitions_def=daily),
            AssetSpec("z_flat"),
            AssetSpec(
                "down",
                partitions_def=daily,
                deps=[
                    AssetDep("a_up", partition_mapping=TimeWindowPartitionMapping(start_offset=-1)),
                    "z_flat",
                ],
            ),
        ]
    ).snapshot("t")
    # a key the window mapping cannot read: that edge carries no provenance, the next one does
    assert upstream_inputs(defs, "down", "2025-13-45", NOW) == [("z_flat", None)]


def test_an_edge_of_exactly_the_threshold_counts_as_the_latest_materialization() -> None:
    from arco.domain.data_versions import SKIP_THRESHOLD, DependencyRead, dependency_reads

    exactly = DailyPartitionsDefinition(start_date="2024-08-23")  # to 2024-11-30: 100 days
    one_less = DailyPartitionsDefinition(start_date="2024-08-24")
    defs = Definitions(
        assets=[
            AssetSpec("a_100", partitions_def=exactly),
            AssetSpec("a_99", partitions_def=one_less),
            AssetSpec("reads_100", deps=["a_100"]),
            AssetSpec("reads_99", deps=["a_99"]),
        ]
    ).snapshot("t")
    assert SKIP_THRESHOLD == 100
    assert dependency_reads(defs, "reads_100", None, NOW) == [DependencyRead("a_100", None)]
    [read] = dependency_reads(defs, "reads_99", None, NOW)
    assert read.partitions is not None and len(read.partitions) == 99
