"""Staleness on the same history: each scenario is run by Dagster (`materialize_to_memory`
on an ephemeral instance, `CachingStaleStatusResolver`) and by Arco (deploy, launch, drive
with the in-process executor, compact, then the reference rules `assess`); after every step
each asset's status and causes must agree, and so must the data versions materializations
recorded where they are reproducible."""

from __future__ import annotations

from typing import Any

from tests.differential.compare import TALLIES
from tests.differential.helpers import compare_family


def test_staleness_agrees_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("staleness", "staleness", dagster)
    assert tally.cases >= 10
    assert TALLIES["data_versions_e2e"].facets > 0
