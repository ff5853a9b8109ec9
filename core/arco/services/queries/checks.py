"""Asset checks and their latest results, as `arco checks` and `GET .../checks` show them."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.errors import NotFound
from arco.domain.runs import ASSET_CHECK_RESULTS, NO_PARTITION
from arco.services.queries.definitions import require_definitions
from arco.services.workspace import Workspace


def list_checks(ws: Workspace, asset: str | None = None) -> list[dict[str, Any]]:
    """Every deployed check (of `asset`, if given) with the result of each partition's latest
    materialization; a check never evaluated has no results."""
    snapshot = ws.snapshot()
    defs = require_definitions(ws, snapshot)
    if asset is not None and asset not in defs.assets:
        raise NotFound(f"no asset {asset!r} in the deployed definitions")
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in snapshot.rows(ASSET_CHECK_RESULTS.name).values():
        results.setdefault((row["asset"], row["check_name"]), []).append(
            {
                "partition": None if row["partition"] == NO_PARTITION else row["partition"],
                "passed": row["passed"],
                "severity": row["severity"],
                "metadata": json.loads(row["metadata"] or "{}"),
                "description": row["description"],
                "error": row["error"],
                "run_id": row["run_id"],
                "evaluated_ms": row["evaluated_ms"],
            }
        )
    out = []
    for key in sorted(defs.assets):
        if asset is not None and key != asset:
            continue
        for check in defs.assets[key].checks:
            found = sorted(results.get((key, check.name), []), key=lambda r: r["partition"] or "")
            out.append(
                {
                    "asset": key,
                    "name": check.name,
                    "blocking": check.blocking,
                    "description": check.description,
                    "results": found,
                }
            )
    return out
