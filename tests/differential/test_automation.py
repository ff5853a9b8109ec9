"""Declarative automation against Dagster's own evaluator: the same graphs, conditions and
histories (hand-written scenarios of Dagster's documented behaviour, then random ones), tick by
tick. Dagster runs `evaluate_automation_conditions` with its cursor; Arco runs the timer's
controller and folds its `automation.evaluated` events. Per tick, the asset partitions each
requests must agree, and so must the runs they are grouped into (except where Dagster makes a
backfill: Arco makes range runs, ADR 0008 §37)."""

from __future__ import annotations

from typing import Any

from tests.differential.compare import TALLIES
from tests.differential.helpers import compare_family


def test_automation_requests_agree_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("automation", "automation", dagster)
    assert tally.cases >= 100
    assert tally.facets >= 800
    assert TALLIES["automation_runs"].facets == tally.facets
