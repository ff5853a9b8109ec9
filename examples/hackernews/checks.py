"""Asset checks: an hour without items blocks everything computed from it."""

from typing import Any

import arco as dg

Rows = list[dict[str, Any]]


@dg.asset_check(asset=dg.AssetKey(["hn", "core", "items"]), blocking=True)
def items_not_empty(items: Rows) -> dg.AssetCheckResult:
    """No item in an hour means the API failed us: nothing downstream may read that hour."""
    return dg.AssetCheckResult(passed=bool(items), metadata={"items": len(items)})


@dg.asset_check(asset=dg.AssetKey(["hn", "core", "stories"]))
def stories_have_titles(stories: Rows) -> dg.AssetCheckResult:
    """Every story has a title (a warning otherwise)."""
    untitled = [row["id"] for row in stories if not row.get("title")]
    return dg.AssetCheckResult(
        passed=not untitled,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"stories": len(stories), "untitled": len(untitled)},
    )
