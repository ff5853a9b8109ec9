"""Partition mappings against Dagster's: upstream keys (and required-but-nonexistent ones)
of downstream keys and downstream keys of upstream keys, for time-window mappings with
offsets across hourly/daily/weekly/monthly definitions, identity, all, last, static,
specific, multi-to-single and multi mappings; and the inferred default mapping."""

from __future__ import annotations

from typing import Any

from tests.differential.arco_side import mapping_answer
from tests.differential.helpers import compare_family


def test_partition_mappings_agree_with_dagster(dagster: dict[str, Any]) -> None:
    def arco(case: dict[str, Any]) -> Any:
        # The keys Dagster picked, so the mapping is asked about the same keys on both sides.
        return mapping_answer(case, dagster[case["id"]].get("ok"))

    tally = compare_family("mapping", "mappings", dagster, arco)
    assert tally.cases >= 200
