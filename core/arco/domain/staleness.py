"""Staleness of asset partitions: FRESH, STALE with causes, or MISSING. Pure.

The reference rules (row by row), from what materializations recorded (data version, code
version, provenance: the data versions of the upstream partitions they read) and what is
deployed now. The report service will vectorise the per-partition work; this module is the
oracle its results are checked against.

Causes, with stable codes (Dagster's categories in brackets):

- `CODE_VERSION_CHANGED` [CODE]: the deployed code version differs from the materialization's
  (never for an asset without a code version);
- `DEPENDENCY_REMOVED` / `DEPENDENCY_ADDED` [DEPENDENCIES]: provenance names an upstream asset the
  definition no longer has, or the reverse;
- `UPSTREAM_MISSING` [DATA]: a required upstream partition was never materialized;
- `UPSTREAM_DATA_CHANGED` [DATA]: an upstream partition's current data version differs from the
  one this partition read (the same version re-materialized is no change).

Dagster sorts causes by key: the partition's own (CODE) first, then by `<asset>/<upstream>`.
`stale_since` is the time of the event that made the earliest cause true, so the same ledger
always gives the same report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from arco.domain.data_versions import input_name, upstream_inputs
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.partitions import NO_DYNAMIC
from arco.domain.tables import Row

Status = Literal["FRESH", "STALE", "MISSING"]
Dynamic = Mapping[str, Sequence[str]]
Key = tuple[str, str | None]

CODE_VERSION_CHANGED = "CODE_VERSION_CHANGED"
DEPENDENCY_ADDED = "DEPENDENCY_ADDED"
DEPENDENCY_REMOVED = "DEPENDENCY_REMOVED"
UPSTREAM_MISSING = "UPSTREAM_MISSING"
UPSTREAM_DATA_CHANGED = "UPSTREAM_DATA_CHANGED"


@dataclass(frozen=True)
class Cause:
    code: str
    since_ms: int
    upstream: Key | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self, asset: str) -> str:
        return asset if self.upstream is None else f"{asset}/{self.upstream[0]}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "since_ms": self.since_ms, **self.evidence}
        if self.upstream is not None:
            out["upstream_asset"], out["upstream_partition"] = self.upstream
        return out


@dataclass(frozen=True)
class Assessment:
    asset: str
    partition: str | None
    status: Status
    causes: tuple[Cause, ...] = ()

    @property
    def stale_since_ms(self) -> int | None:
        return min((c.since_ms for c in self.causes), default=None)


def _provenance_assets(inputs: Mapping[str, str]) -> set[str]:
    return {name.split("[", 1)[0] for name in inputs}


def assess(
    defs: DefinitionsSnapshot,
    asset: str,
    partition: str | None,
    statuses: Mapping[Key, Row],
    versions: Mapping[str, Row],
    now: datetime,
    dynamic: Dynamic = NO_DYNAMIC,
) -> Assessment:
    """One asset partition. `statuses`: partition_status rows by (asset, partition or "")
    ; `versions`: asset_versions rows by asset."""
    row = statuses.get((asset, partition or ""))
    if row is None or not row.get("materialized_run_id"):
        return Assessment(asset, partition, "MISSING")
    node = defs.assets[asset]
    history = versions.get(asset) or {}
    materialized_ms = int(row["materialized_ms"])
    inputs: dict[str, str] = json.loads(row.get("materialized_input_versions") or "{}")
    causes: list[Cause] = []
    recorded = row.get("materialized_code_version")
    if node.code_version is not None and node.code_version != recorded:
        since = max(materialized_ms, int(history.get("code_version_since_ms") or materialized_ms))
        causes.append(
            Cause(
                CODE_VERSION_CHANGED,
                since,
                None,
                {"recorded": recorded, "current": node.code_version},
            )
        )
    deps_since = max(materialized_ms, int(history.get("deps_since_ms") or materialized_ms))
    current_deps = set(node.dep_keys)
    read = _provenance_assets(inputs)
    for removed in sorted(read - current_deps):
        causes.append(Cause(DEPENDENCY_REMOVED, deps_since, (removed, None)))
    expected = upstream_inputs(defs, asset, partition, now, dynamic)
    expected_assets = {a for a, _ in expected}
    # Only when the materialization recorded provenance at all (older ones did not).
    if row.get("materialized_input_versions") is not None:
        for added in sorted(expected_assets - read):
            causes.append(Cause(DEPENDENCY_ADDED, deps_since, (added, None)))
    for up_asset, up_partition in expected:
        name = input_name(up_asset, up_partition)
        if name not in inputs:
            continue  # a new dependency: reported above
        upstream = statuses.get((up_asset, up_partition or ""))
        current = (
            upstream.get("materialized_data_version")
            if upstream is not None and upstream.get("materialized_run_id")
            else None
        )
        if current is None:
            causes.append(Cause(UPSTREAM_MISSING, materialized_ms, (up_asset, up_partition)))
        elif current != inputs[name]:
            assert upstream is not None
            since = int(
                upstream.get("materialized_data_version_since_ms") or upstream["materialized_ms"]
            )
            causes.append(
                Cause(
                    UPSTREAM_DATA_CHANGED,
                    max(materialized_ms, since),
                    (up_asset, up_partition),
                    {
                        "recorded": inputs[name],
                        "current": current,
                        "materialization": upstream.get("materialized_run_id"),
                    },
                )
            )
    causes.sort(
        key=lambda c: (
            c.upstream is not None,
            c.sort_key(asset),
            str(c.upstream[1] if c.upstream else ""),
        )
    )
    return Assessment(asset, partition, "STALE" if causes else "FRESH", tuple(causes))


def root_causes(
    assessment: Assessment, lookup: Mapping[Key, Assessment], _seen: frozenset[Key] = frozenset()
) -> list[tuple[Key, Cause]]:
    """Follow UPSTREAM_DATA_CHANGED causes to STALE upstreams until a change that began there
    (a code change, a dependency change, a missing upstream, or data changed by an upstream
    that is itself FRESH). Deduplicated, in order. Dagster stops at direct causes."""
    out: list[tuple[Key, Cause]] = []
    key = (assessment.asset, assessment.partition)
    for cause in assessment.causes:
        upstream = lookup.get(cause.upstream) if cause.upstream else None
        if (
            cause.code == UPSTREAM_DATA_CHANGED
            and upstream is not None
            and upstream.status == "STALE"
            and cause.upstream not in _seen
        ):
            found = root_causes(upstream, lookup, _seen | {key})
        else:
            found = [(key, cause)]
        for item in found:
            if item not in out:
                out.append(item)
    return out
