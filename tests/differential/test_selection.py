"""Asset selection strings against Dagster's `AssetSelection.from_string(...).resolve()` on
random graphs (keys with prefixes, groups, tags, owners, kinds): traversals, booleans,
roots/sinks, wildcards, unknown keys."""

from __future__ import annotations

from typing import Any

from tests.differential.helpers import compare_family


def test_selections_agree_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("selection", "selection", dagster)
    assert tally.cases >= 250
