"""Per asset, since when its current code version and its current dependencies are deployed.

Maintained by each deployment that becomes current (called from the deployments fold), so the
staleness report can say since when a partition is stale because its code version or its
dependencies changed, from the ledger alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from arco.domain.fold import FoldContext
from arco.domain.registry import Registry
from arco.domain.tables import ROW_VERSION, Column, TableSpec

ASSET_VERSIONS = TableSpec(
    name="asset_versions",
    key=("asset",),
    columns=(
        Column("asset", "string"),
        Column("code_version", "string"),
        Column("code_version_since_ms", "int64"),
        Column("deps", "json"),
        Column("deps_since_ms", "int64"),
        Column("declared_since_ms", "int64"),
    ),
    description="Per asset: its deployed code version and dependencies, and since when.",
)


def on_deployed(ctx: FoldContext, snapshot: Mapping[str, Any]) -> None:
    """Record, for every asset of a deployment that became current, what changed."""
    for asset in sorted(snapshot.get("assets") or [], key=lambda a: str(a["key"])):
        key = str(asset["key"])
        code_version = asset.get("code_version")
        deps = json.dumps(sorted(str(d["key"]) for d in asset.get("deps") or []))
        current = ctx.get(ASSET_VERSIONS.name, key)
        row = {k: v for k, v in (current or {}).items() if k != ROW_VERSION} or {
            "asset": key,
            "declared_since_ms": ctx.time_ms,
        }
        new_code = current is None or current.get("code_version") != code_version
        new_deps = current is None or current.get("deps") != deps
        if new_code:
            row.update(code_version=code_version, code_version_since_ms=ctx.time_ms)
        if new_deps:
            row.update(deps=deps, deps_since_ms=ctx.time_ms)
        if new_code or new_deps:
            ctx.put(ASSET_VERSIONS.name, row)


def install(registry: Registry) -> None:
    registry.add_table(ASSET_VERSIONS)
