"""Data versions: Arco's `derive_data_version` against Dagster's `compute_logical_data_version`
for code versions (or run ids) and input data versions, value for value (the hash is
pinned by Dagster itself)."""

from __future__ import annotations

from typing import Any

from tests.differential.helpers import compare_family


def test_logical_data_versions_agree_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("data_version", "data_versions", dagster)
    assert tally.cases >= 100


def test_the_reference_hash_is_dagsters() -> None:
    """`sha256("1" + "INITIAL")`, as Dagster computed it: a root with code version "1" over an
    unobserved source (needs no Dagster at test time)."""
    from arco.domain.data_versions import derive_data_version

    expected = "c3a4f532fd12563187419fe0c92ac1117d74e86853a05572f1d626141fa3896e"
    assert derive_data_version("1", {"source": "INITIAL"}, "run") == expected
