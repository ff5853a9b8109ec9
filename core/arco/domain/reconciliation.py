"""Reconciliation: the runs that would bring a selection back to FRESH, and the record of each
evaluation. Pure.

- `plan_runs` groups target partitions (STALE, and MISSING when asked) into runs: one per
  partitions definition and key (every targeted asset of that key in one run, which plans them in
  dependency order), one for the unpartitioned targets; then consecutive keys of a time-window
  or static definition that need the same assets are one range run (at most
  `max_partitions_per_run` keys, as a backfill's chunks: 252 stale hours are 11 runs, not 252).
  Runs are ordered by the dependency order of their first asset, then by partition order.
  Each run's key is a hash of what it fixes (targets and the evidence of their causes), so the
  same staleness always gives the same run keys and executing a plan twice launches nothing
  new.
- `reconciliation.evaluated` records each execution (or dry run): its runs, which were launched,
  which the rate limit held back. Keyed by the plan's hash, mode, trigger and outcomes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.canonical import fingerprint
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import Column, TableSpec

RECONCILIATION_EVALUATED = "reconciliation.evaluated"
RECONCILIATION_SCOPE = "reconciliation"
Mode = Literal["dry_run", "execute"]
Trigger = Literal["manual", "timer"]


@dataclass(frozen=True)
class Target:
    asset: str
    partition: str | None
    status: str
    causes: tuple[Mapping[str, Any], ...] = ()
    opted_in: bool = False


@dataclass(frozen=True)
class PlannedRun:
    run_key: str
    assets: tuple[str, ...]
    partition: str | None
    targets: tuple[Target, ...]
    order: tuple[int, int]
    opted_in: bool = field(default=False)
    # (first, last) keys of a range run; `partition` is then None
    partition_range: tuple[str, str] | None = None

    def opted_in_part(self) -> PlannedRun | None:
        """The run restricted to targets whose assets opted in (None if none did); its key is
        derived from what it fixes, like any run's."""
        kept = tuple(t for t in self.targets if t.opted_in)
        if not kept:
            return None
        if len(kept) == len(self.targets):
            return self
        return PlannedRun(
            run_key=run_key_of(kept),
            assets=tuple(dict.fromkeys(t.asset for t in kept)),
            partition=self.partition,
            targets=kept,
            order=self.order,
            opted_in=True,
            partition_range=self.partition_range,
        )

    @property
    def selection(self) -> str:
        return " or ".join(f'key:"{asset}"' for asset in self.assets)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_key": self.run_key,
            "selection": self.selection,
            "assets": list(self.assets),
            "partition": self.partition,
            "partition_range": list(self.partition_range) if self.partition_range else None,
            "opted_in": self.opted_in,
            "targets": [
                {
                    "asset": t.asset,
                    "partition": t.partition,
                    "status": t.status,
                    "opted_in": t.opted_in,
                    "causes": [dict(c) for c in t.causes],
                }
                for t in self.targets
            ],
        }


def _evidence(target: Target) -> dict[str, Any]:
    return {
        "asset": target.asset,
        "partition": target.partition,
        "status": target.status,
        "causes": [
            {k: v for k, v in cause.items() if k not in ("since", "since_ms")}
            for cause in target.causes
        ],
    }


def run_key_of(targets: Sequence[Target]) -> str:
    """A hash of what a run fixes: the same staleness, the same key."""
    return "reconcile-" + fingerprint([_evidence(t) for t in targets], 24)


def plan_runs(
    targets: Sequence[Target],
    asset_order: Mapping[str, int],
    group_of: Mapping[str, int],
    partition_order: Mapping[tuple[str, str | None], int],
    max_partitions_per_run: int = 1,
    ranged_groups: frozenset[int] = frozenset(),
) -> list[PlannedRun]:
    """Targets grouped into runs. `group_of`: asset -> the index of its partitions definition
    (assets sharing a definition share runs; -1 for unpartitioned); `partition_order`: the
    position of each target's partition in its definition; `ranged_groups`: the definitions
    whose consecutive keys may share a range run (up to `max_partitions_per_run` keys)."""
    groups: dict[tuple[int, str | None], list[Target]] = {}
    for target in targets:
        groups.setdefault((group_of[target.asset], target.partition), []).append(target)
    # (group, position, assets) -> members, per partition; then runs of consecutive positions
    spans: list[tuple[int, int, tuple[str, ...], list[list[Target]]]] = []
    for (group, partition), members in sorted(
        groups.items(),
        key=lambda item: (item[0][0], _position(item[1], item[0][1], partition_order)),
    ):
        members.sort(key=lambda t: asset_order[t.asset])
        assets = tuple(dict.fromkeys(t.asset for t in members))
        position = _position(members, partition, partition_order)
        if spans and group in ranged_groups:
            last_group, last_position, last_assets, parts = spans[-1]
            if (
                last_group == group
                and last_assets == assets
                and position == last_position + 1
                and len(parts) < max_partitions_per_run
            ):
                parts.append(members)
                spans[-1] = (group, position, assets, parts)
                continue
        spans.append((group, position, assets, [members]))
    runs = [_run(parts, asset_order, partition_order) for _, _, _, parts in spans]
    runs.sort(key=lambda r: (r.order, r.run_key))
    return runs


def _position(
    members: Sequence[Target],
    partition: str | None,
    partition_order: Mapping[tuple[str, str | None], int],
) -> int:
    return partition_order.get((members[0].asset, partition), 0)


def _run(
    parts: list[list[Target]],
    asset_order: Mapping[str, int],
    partition_order: Mapping[tuple[str, str | None], int],
) -> PlannedRun:
    """One run over consecutive partitions' targets (one partition: no range)."""
    members = [t for part in parts for t in part]
    first, last = parts[0][0], parts[-1][0]
    ranged = len(parts) > 1
    partition_range = None
    if ranged:
        assert first.partition is not None and last.partition is not None
        partition_range = (first.partition, last.partition)
    return PlannedRun(
        run_key=run_key_of(members),
        assets=tuple(dict.fromkeys(t.asset for t in parts[0])),
        partition=None if ranged else first.partition,
        targets=tuple(members),
        order=(asset_order[first.asset], _position(parts[0], first.partition, partition_order)),
        opted_in=all(t.opted_in for t in members),
        partition_range=partition_range,
    )


def plan_hash(runs: Sequence[PlannedRun]) -> str:
    return fingerprint([r.run_key for r in runs], 24)


RECONCILIATION_LOG = TableSpec(
    name="reconciliation_log",
    key=("evaluation_id",),
    columns=(
        Column("evaluation_id", "string"),
        Column("trigger", "string"),
        Column("mode", "string"),
        Column("plan_hash", "string"),
        Column("runs", "json"),
        Column("launched", "int64"),
        Column("would_launch", "int64"),
        Column("held_by_rate_limit", "int64"),
        Column("not_opted_in", "int64"),
        Column("evaluated_ms", "int64"),
    ),
    description="Every reconciliation execution or dry run: what it would run and what it ran.",
)


class RunOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_key: str
    selection: str
    partition: str | None = None
    partition_range: tuple[str, str] | None = None
    outcome: Literal["launched", "existing", "would_launch", "held_by_rate_limit", "not_opted_in"]
    run_id: str | None = None


class ReconciliationEvaluated(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    trigger: Trigger
    mode: Mode
    plan_hash: str = Field(min_length=1, max_length=64)
    runs: list[RunOutcome] = Field(default_factory=list)


def evaluated_key(plan: str, mode: str, trigger: str, outcomes: str) -> str:
    return f"reconcile:{plan}:{mode}:{trigger}:{outcomes}"


def fold_evaluated(ctx: FoldContext, event: ReconciliationEvaluated) -> Outcome:
    def count(outcome: str) -> int:
        return sum(1 for r in event.runs if r.outcome == outcome)

    ctx.put(
        RECONCILIATION_LOG.name,
        {
            "evaluation_id": ctx.event_id,
            "trigger": event.trigger,
            "mode": event.mode,
            "plan_hash": event.plan_hash,
            "runs": json.dumps([r.model_dump() for r in event.runs]),
            "launched": count("launched"),
            "would_launch": count("would_launch"),
            "held_by_rate_limit": count("held_by_rate_limit"),
            "not_opted_in": count("not_opted_in"),
            "evaluated_ms": ctx.time_ms,
        },
    )
    return Outcome.APPLIED


def install(registry: Registry) -> None:
    registry.add_table(RECONCILIATION_LOG)
    registry.add_event(
        EventType(
            name=RECONCILIATION_EVALUATED,
            version=1,
            payload=ReconciliationEvaluated,
            rule=fold_evaluated,
            description="Reconciliation executed (or dry-ran) a plan: its runs and outcomes.",
        )
    )
