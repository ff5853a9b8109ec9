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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from arco.domain.cron import CronSchedule
from arco.domain.data_versions import INITIAL_VERSION
from arco.domain.definitions import DefinitionsSnapshot, FreshnessPolicy
from arco.domain.runs import split_input_name
from arco.domain.tables import Row

Status = Literal["FRESH", "STALE", "MISSING"]
Key = tuple[str, str | None]

CODE_VERSION_CHANGED = "CODE_VERSION_CHANGED"
DEPENDENCY_ADDED = "DEPENDENCY_ADDED"
DEPENDENCY_REMOVED = "DEPENDENCY_REMOVED"
UPSTREAM_MISSING = "UPSTREAM_MISSING"
UPSTREAM_DATA_CHANGED = "UPSTREAM_DATA_CHANGED"
FRESHNESS_VIOLATED = "FRESHNESS_VIOLATED"
REASONS = (
    CODE_VERSION_CHANGED,
    DEPENDENCY_ADDED,
    DEPENDENCY_REMOVED,
    FRESHNESS_VIOLATED,
    UPSTREAM_DATA_CHANGED,
    UPSTREAM_MISSING,
)


@dataclass(frozen=True)
class Cause:
    code: str
    since_ms: int
    upstream: Key | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def sort_key(self, asset: str) -> str:
        return asset if self.upstream is None else f"{asset}/{self.upstream[0]}"

    def as_dict(self) -> dict[str, Any]:
        evidence = {k: v for k, v in self.evidence.items() if v is not None}
        out: dict[str, Any] = {"code": self.code, "since_ms": self.since_ms, **evidence}
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


def assess(
    defs: DefinitionsSnapshot,
    asset: str,
    partition: str | None,
    statuses: Mapping[Key, Row],
    versions: Mapping[str, Row],
    inputs_of: Mapping[Key, Mapping[Key, str]] | None = None,
) -> Assessment:
    """One asset partition. `statuses`: partition_status rows by (asset, partition or "");
    `versions`: asset_versions rows by asset; `inputs_of`: the recorded inputs of a partition,
    (input asset, input partition or "") -> data version (default: from the status row)."""
    row = statuses.get((asset, partition or ""))
    node = defs.assets[asset]
    if row is None or not row.get("materialized_run_id"):
        # An external asset (declared without code, like Dagster's AssetSpec) is FRESH.
        return Assessment(asset, partition, "FRESH" if node.compute is None else "MISSING")
    history = versions.get(asset) or {}
    materialized_ms = int(row["materialized_ms"])
    if inputs_of is not None:
        inputs = dict(inputs_of.get((asset, partition or ""), {}))
    else:
        recorded_inputs = json.loads(row.get("materialized_input_versions") or "{}")
        inputs = {split_input_name(name): v for name, v in recorded_inputs.items()}
    causes: list[Cause] = []
    recorded = row.get("materialized_code_version")
    if node.code_version is not None and node.code_version != recorded:
        since = max(materialized_ms, int(history.get("code_version_since_ms") or 0))
        evidence = {"recorded": recorded, "current": node.code_version}
        causes.append(Cause(CODE_VERSION_CHANGED, since, None, evidence))
    deps_since = int(history.get("deps_since_ms") or 0)
    current_deps = set(node.dep_keys)
    read = {input_asset for input_asset, _ in inputs}
    for removed in sorted(read - current_deps):
        causes.append(Cause(DEPENDENCY_REMOVED, max(materialized_ms, deps_since), (removed, None)))
    if deps_since > materialized_ms:  # the dependencies changed after this materialization
        for added in sorted(current_deps - read):
            causes.append(Cause(DEPENDENCY_ADDED, deps_since, (added, None)))
    for (up_asset, up_partition), recorded_version in sorted(inputs.items()):
        if up_asset not in current_deps:
            continue  # reported as removed
        upstream_key = (up_asset, up_partition or None)
        upstream = statuses.get((up_asset, up_partition))
        materialized = upstream is not None and bool(upstream.get("materialized_run_id"))
        current = upstream.get("materialized_data_version") if upstream and materialized else None
        if current is None and defs.assets[up_asset].compute is None:
            current = INITIAL_VERSION  # an external upstream never reported: its initial version
        if current is None:
            evidence = {"recorded": recorded_version}
            causes.append(Cause(UPSTREAM_MISSING, materialized_ms, upstream_key, evidence))
        elif current != recorded_version:
            since = materialized_ms
            if materialized:
                assert upstream is not None
                appeared = upstream.get("materialized_data_version_since_ms")
                since = int(appeared if appeared is not None else upstream["materialized_ms"])
            evidence = {
                "recorded": recorded_version,
                "current": current,
                "materialization": upstream.get("materialized_run_id") if upstream else None,
            }
            causes.append(
                Cause(UPSTREAM_DATA_CHANGED, max(materialized_ms, since), upstream_key, evidence)
            )
    causes.sort(key=cause_order(asset))
    return Assessment(asset, partition, "STALE" if causes else "FRESH", tuple(causes))


def cause_order(asset: str) -> Any:
    """Dagster's order: the partition's own causes first, then by `<asset>/<upstream>`; then
    by upstream partition and code, so the order is total."""

    def key(cause: Cause) -> tuple[bool, str, str, str]:
        upstream_partition = cause.upstream[1] if cause.upstream else None
        return (
            cause.upstream is not None,
            cause.sort_key(asset),
            upstream_partition or "",
            cause.code,
        )

    return key


def freshness_violation(
    policy: FreshnessPolicy, latest_ms: int | None, now: datetime
) -> tuple[int, int] | None:
    """(since, deadline) in ms when the asset's freshness policy fails at `now`, else None.

    Lag only: the latest materialization must be at most `maximum_lag_minutes` old (stale since
    it became too old). With a cron: by the latest tick T, data must be no older than T - lag
    (stale since T). Never materialized: not applicable (the partitions are MISSING)."""
    if latest_ms is None:
        return None
    lag_ms = round((policy.maximum_lag_minutes or 0.0) * 60_000)
    now_ms = round(now.timestamp() * 1000)
    if policy.cron_schedule is None:
        deadline = latest_ms + lag_ms
        return (deadline, deadline) if now_ms > deadline else None
    tick = CronSchedule.parse(policy.cron_schedule).latest_tick(now, policy.cron_timezone)
    if tick is None:
        return None
    tick_ms = round(tick.timestamp() * 1000)
    return (tick_ms, tick_ms - lag_ms) if latest_ms < tick_ms - lag_ms else None


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
