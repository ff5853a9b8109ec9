"""The reconciliation plan (phase B), and the log of executions.

The plan: what would bring a selection back to FRESH — its STALE partitions (and MISSING ones
when asked), minus those a run in flight already covers, grouped into runs with run keys
derived from what they fix, within limits. Deterministic: the same state gives the same plan.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arco.clock import clock_now
from arco.domain.errors import InvalidInput
from arco.domain.reconciliation import (
    RECONCILIATION_LOG,
    PlannedRun,
    Target,
    plan_hash,
    plan_runs,
)
from arco.domain.runs import NO_PARTITION, RUNS, TASKS, TERMINAL_RUN
from arco.domain.staleness import UPSTREAM_MISSING
from arco.projections.cache import Snapshot
from arco.services.queries.definitions import dynamic_partition_keys
from arco.services.queries.runs import rows_where
from arco.services.queries.staleness import StalenessQuery, report_for, report_on, state_at
from arco.services.queries.staleness_report import causes_json
from arco.services.workspace import Workspace

HOUR_MS = 3_600_000


# A plan target that is FRESH now but downstream of one the plan runs (Arco's addition).
UPSTREAM_PLANNED = "UPSTREAM_PLANNED"


# A MISSING upstream partition a STALE target needs (its cause is UPSTREAM_MISSING).
REQUIRED_UPSTREAM = "REQUIRED_UPSTREAM"


MAX_RUNS = 1000


MAX_PARTITIONS = 100_000


DEFAULT_PARTITIONS_PER_RUN = 25
MAX_PARTITIONS_PER_RUN = 10_000
# Definitions whose consecutive keys a range run may take: their key order never changes
# between planning and launch (dynamic keys, and so multi-partitions, can).
RANGED_KINDS = frozenset({"time_window", "static"})


@dataclass(frozen=True)
class PlanQuery:
    selection: str | None = None
    include_missing: bool = False
    max_runs: int = 50
    max_partitions: int = 10_000
    as_of: str | None = None
    # consecutive keys per range run, as a backfill's chunk (Dagster's run chunk size)
    max_partitions_per_run: int = DEFAULT_PARTITIONS_PER_RUN

    def validate(self) -> None:
        if not 1 <= self.max_runs <= MAX_RUNS:
            raise InvalidInput(f"max_runs must be between 1 and {MAX_RUNS}")
        if not 1 <= self.max_partitions_per_run <= MAX_PARTITIONS_PER_RUN:
            raise InvalidInput(
                f"max_partitions_per_run must be between 1 and {MAX_PARTITIONS_PER_RUN}"
            )
        if not 1 <= self.max_partitions <= MAX_PARTITIONS:
            raise InvalidInput(f"max_partitions must be between 1 and {MAX_PARTITIONS}")


@dataclass(frozen=True)
class Plan:
    runs: list[PlannedRun]
    as_of: dict[str, Any]
    targets_total: int
    in_flight: int
    truncated: bool

    @property
    def hash(self) -> str:
        return plan_hash(self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "plan_hash": self.hash,
            "runs": [r.as_dict() for r in self.runs],
            "summary": {
                "runs": len(self.runs),
                "targets": sum(len(r.targets) for r in self.runs),
                "targets_total": self.targets_total,
                "left_out_in_flight": self.in_flight,
                "truncated": self.truncated,
            },
        }


def _in_flight(snapshot: Any) -> set[tuple[str, str]]:
    """(asset, partition) of every task of a run that has not ended."""
    runs = snapshot.table(RUNS.name)
    if runs.num_rows == 0:
        return set()
    active = runs.filter(
        pc.invert(pc.is_in(runs.column("status"), value_set=pa.array(sorted(TERMINAL_RUN))))
    ).column("run_id")
    tasks = rows_where(snapshot, TASKS.name, "run_id", active.to_pylist())
    return {(t["asset"], t["partition"] or "") for t in tasks}


def reconciliation_plan(ws: Workspace, query: PlanQuery, snapshot: Snapshot | None = None) -> Plan:
    """The runs that would bring the selection back to FRESH, in dependency order.

    On the published state, or on `snapshot` (a timer call's staged state, as of now)."""
    query.validate()
    statuses = ("STALE", "MISSING") if query.include_missing else ("STALE",)
    staleness = StalenessQuery(selection=query.selection, statuses=statuses, as_of=query.as_of)
    if snapshot is None:
        report, defs, manifest, now = report_for(ws, staleness)
        state = state_at(ws, manifest)  # in-flight runs and dynamic keys as of the same state
        manifest_id = manifest.manifest_id
    else:
        now, state = clock_now(ws.clock), snapshot
        report, defs = report_on(snapshot, staleness, now, ws.name)
        manifest_id = snapshot.manifest.manifest_id
    plan = plan_from_report(
        defs, report, _in_flight(state), now, dynamic_partition_keys(state), query
    )
    return Plan(
        runs=plan.runs,
        as_of={"manifest_id": manifest_id, "time": now.isoformat()},
        targets_total=plan.targets_total,
        in_flight=plan.in_flight,
        truncated=plan.truncated,
    )


def plan_from_report(
    defs: Any,
    report: Any,
    busy: set[tuple[str, str]],
    now: datetime,
    dynamic: Any,
    query: PlanQuery,
) -> Plan:
    """The plan for a computed report (`busy`: partitions a run in flight covers)."""
    statuses = ("STALE", "MISSING") if query.include_missing else ("STALE",)
    rows = report.partitions.filter(
        pc.is_in(report.partitions.column("status"), value_set=pa.array(list(statuses)))
    )
    wanted = [r for r in rows.to_pylist() if (r["asset"], r["partition"]) not in busy]
    in_flight = rows.num_rows - len(wanted)
    wanted = _missing_upstreams(report, wanted, busy) + wanted
    limit = query.max_partitions
    if len(wanted) <= limit:  # past the limit the plan is truncated anyway
        wanted += _downstream_of(defs, report, wanted, busy, now, dynamic, limit - len(wanted))
    truncated = len(wanted) > limit
    wanted = wanted[:limit]
    keys = pa.table(
        {
            "asset": pa.array([r["asset"] for r in wanted], pa.string()),
            "partition": pa.array([r["partition"] for r in wanted], pa.string()),
        }
    )
    causes = causes_json(report.causes.join(keys, ["asset", "partition"], join_type="left semi"))
    for r in wanted:
        if r.get("required_by") is not None:  # MISSING, and a stale target needs it
            down_asset, down_partition = r["required_by"]
            causes[(r["asset"], r["partition"])] = [
                {
                    "code": REQUIRED_UPSTREAM,
                    "downstream_asset": down_asset,
                    "downstream_partition": down_partition or None,
                }
            ]
        if r.get("upstream") is not None:  # FRESH now, stale once its upstream runs
            up_asset, up_partition = r["upstream"]
            causes[(r["asset"], r["partition"])] = [
                {
                    "code": UPSTREAM_PLANNED,
                    "upstream_asset": up_asset,
                    "upstream_partition": up_partition or None,
                }
            ]
    targets = [
        Target(
            asset=r["asset"],
            partition=r["partition"] or None,
            status=r["status"],
            causes=tuple(causes.get((r["asset"], r["partition"]), [])),
            opted_in=defs.assets[r["asset"]].reconcile,
        )
        for r in wanted
    ]
    order = {asset: i for i, asset in enumerate(defs.topological_order())}
    pdefs: list[Any] = []
    group_of: dict[str, int] = {}
    for asset in defs.assets:
        pdef = defs.assets[asset].partitions
        if pdef is None:
            group_of[asset] = -1
            continue
        if pdef not in pdefs:
            pdefs.append(pdef)
        group_of[asset] = pdefs.index(pdef)
    partition_order = {
        (r["asset"], r["partition"] or None): int(r["partition_order"]) for r in wanted
    }
    ranged = frozenset(i for i, pdef in enumerate(pdefs) if pdef.kind in RANGED_KINDS)
    runs = plan_runs(
        targets, order, group_of, partition_order, query.max_partitions_per_run, ranged
    )
    if len(runs) > query.max_runs:
        runs, truncated = runs[: query.max_runs], True
    return Plan(
        runs=runs, as_of={}, targets_total=rows.num_rows, in_flight=in_flight, truncated=truncated
    )


def _missing_upstreams(
    report: Any, targets: list[dict[str, Any]], busy: set[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The MISSING upstream partitions (within the report's assets) that STALE targets need:
    a partition stale because an upstream was never materialized is fixed by materializing
    that upstream, not by running it again."""
    keys = {(t["asset"], t["partition"]) for t in targets}
    wanted = pa.table(
        {
            "asset": pa.array([t["asset"] for t in targets], pa.string()),
            "partition": pa.array([t["partition"] for t in targets], pa.string()),
        }
    )
    causes = report.causes.join(wanted, ["asset", "partition"], join_type="left semi")
    missing = causes.filter(pc.equal(causes.column("code"), UPSTREAM_MISSING)).to_pylist()
    status = {
        (r["asset"], r["partition"]): r
        for r in report.partitions.filter(
            pc.equal(report.partitions.column("status"), "MISSING")
        ).to_pylist()
    }
    added: list[dict[str, Any]] = []
    for cause in sorted(missing, key=lambda c: (c["upstream_asset"], c["upstream_partition"])):
        key = (cause["upstream_asset"], cause["upstream_partition"] or "")
        row = status.get(key)
        if row is None or key in keys or key in busy:
            continue
        keys.add(key)
        added.append({**row, "required_by": (cause["asset"], cause["partition"])})
    return added


def _downstream_of(
    defs: Any,
    report: Any,
    targets: list[dict[str, Any]],
    busy: set[tuple[str, str]],
    now: datetime,
    dynamic: Any,
    limit: int,
) -> list[dict[str, Any]]:
    """The FRESH partitions downstream (through the mappings, within the report's assets) of
    the targets: re-running a target gives it a new data version, which makes them stale, so
    the plan runs them too, after it (Dagster's staleness does not propagate; a plan must).
    Stops one past `limit` (the plan is truncated then)."""
    below: set[str] = set()
    frontier = [t["asset"] for t in targets]
    while frontier:
        for child in defs.downstream(frontier.pop()):
            if child not in below:
                below.add(child)
                frontier.append(child)
    fresh = report.partitions.filter(
        pc.and_(
            pc.equal(report.partitions.column("status"), "FRESH"),
            pc.is_in(
                report.partitions.column("asset"), value_set=pa.array(sorted(below), pa.string())
            ),
        )
    )
    columns = fresh.to_pydict()
    rows = {
        (a, p): {
            "asset": a,
            "partition": p,
            "status": "FRESH",
            "stale_since_ms": None,
            "asset_order": ao,
            "partition_order": po,
        }
        for a, p, ao, po in zip(
            columns["asset"],
            columns["partition"],
            columns["asset_order"],
            columns["partition_order"],
            strict=True,
        )
    }
    planned = {(t["asset"], t["partition"]) for t in targets}
    queue = deque((t["asset"], t["partition"]) for t in targets)
    added: list[dict[str, Any]] = []
    while queue:
        asset, partition = queue.popleft()
        up_def = defs.assets[asset].partitions
        for child in defs.downstream(asset):
            down_def = defs.assets[child].partitions
            mapping = defs.mapping_for(child, asset)
            try:
                keys = (
                    [NO_PARTITION]
                    if down_def is None
                    else mapping.downstream_partitions(
                        up_def, [partition] if partition else [], down_def, now, dynamic
                    )
                )
            except InvalidInput:
                continue
            for key in keys:
                found = rows.get((child, key))
                if found is None or found["status"] != "FRESH" or (child, key) in planned:
                    continue
                if (child, key) in busy:
                    continue
                planned.add((child, key))
                added.append({**found, "upstream": (asset, partition)})
                queue.append((child, key))
                if len(added) > limit:
                    return added
    return added


def reconciliation_log(ws: Workspace, limit: int = 20) -> list[dict[str, Any]]:
    """The latest executions and dry runs, newest first."""
    table = ws.snapshot().table(RECONCILIATION_LOG.name)
    rows = table.sort_by([("evaluation_id", "descending")]).slice(0, limit).to_pylist()
    return [{**r, "runs": json.loads(r["runs"] or "[]")} for r in rows]
