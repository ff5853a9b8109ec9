"""What every family's test does: Arco's answers, facets, classification, verdict."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tests.differential.arco_side import ANSWERS
from tests.differential.cases import all_cases
from tests.differential.compare import Tally, check, classify
from tests.differential.facets import FACETS
from tests.differential.known import KNOWN


def cases_of(family: str) -> list[dict[str, Any]]:
    return [c for c in all_cases() if c["family"] == family]


def compare_family(
    case_family: str,
    report_family: str,
    dagster: Mapping[str, Any],
    arco: Callable[[dict[str, Any]], Any] | None = None,
) -> Tally:
    """Answer every case of `case_family` with Arco, compare with Dagster's answers, and fail
    on disagreements that are not listed in known.py. Returns the family's figures."""
    answer = arco or ANSWERS[case_family]
    facets = []
    for case in cases_of(case_family):
        facets.extend(FACETS[case_family](case, dagster[case["id"]], answer(case)))
    families = sorted({f.family for f in facets}) or [report_family]
    tallies = {}
    for family in families:
        tallies[family] = classify([f for f in facets if f.family == family], KNOWN, family)
    for family in families:
        check(tallies[family], KNOWN, family)
    return tallies[report_family]
