"""Gated execution of the reconciliation plan (phase C), by an operator or by the timer.

It launches the plan's runs only when allowed: the workspace setting `reconciliation.enabled`
(off by default), the asset's own opt-in (`@asset(reconcile=True)`), not in dry-run
(`reconciliation.dry_run`, on by default, or `--dry-run`), and within
`reconciliation.max_runs_per_hour`. Every execution and dry run is recorded.
"""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from arco.domain.canonical import fingerprint
from arco.domain.errors import Refused
from arco.domain.reconciliation import (
    RECONCILIATION_EVALUATED,
    RECONCILIATION_SCOPE,
    ReconciliationEvaluated,
    RunOutcome,
    Trigger,
    evaluated_key,
)
from arco.domain.run_identity import keyed_run_id
from arco.domain.runs import RUNS
from arco.ledger.writer import NewEvent
from arco.projections.cache import Snapshot
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.queries.reconciliation import HOUR_MS, PlanQuery, reconciliation_plan
from arco.services.queries.runs import find_run
from arco.services.queries.settings import setting_value
from arco.services.workspace import Workspace


def _launched_last_hour(snapshot: Any, now_ms: int) -> int:
    runs = snapshot.table(RUNS.name)
    if runs.num_rows == 0:
        return 0
    mine = runs.filter(
        pc.and_(
            pc.equal(runs.column("source"), "reconciliation"),
            pc.greater_equal(runs.column("created_ms"), now_ms - HOUR_MS),
        )
    )
    return int(mine.num_rows)


def execute_plan(
    ws: Workspace,
    query: PlanQuery,
    *,
    dry_run: bool = False,
    trigger: Trigger = "manual",
    requested_by: str = "unknown",
    snapshot: Snapshot | None = None,
) -> dict[str, Any]:
    """Execute (or dry-run) the plan under the workspace's gates, and record it.

    Folds what is pending first (unless given the `snapshot` a timer call staged): the rate
    limit counts the runs reconciliation launched in the last hour, including those of an
    execution a moment ago."""
    query.validate()
    if snapshot is None:
        ws.compactor.compact_until_idle()
        snapshot = ws.snapshot()
    enabled = bool(setting_value(snapshot, "reconciliation.enabled"))
    dry = dry_run or bool(setting_value(snapshot, "reconciliation.dry_run"))
    if not enabled and not dry_run:
        raise Refused(
            "reconciliation is disabled in this workspace: set the workspace setting "
            "reconciliation.enabled to true (a dry run works without it)",
            {"setting": "reconciliation.enabled"},
        )
    plan = reconciliation_plan(ws, query, snapshot)
    limit = int(setting_value(snapshot, "reconciliation.max_runs_per_hour"))
    now_ms = ws.clock.now_ms()
    budget = max(0, limit - _launched_last_hour(snapshot, now_ms))
    outcomes: list[RunOutcome] = []
    for planned in plan.runs:
        run = planned.opted_in_part()
        if run is None:
            base = {
                "run_key": planned.run_key,
                "selection": planned.selection,
                "partition": planned.partition,
                "partition_range": planned.partition_range,
            }
            outcomes.append(RunOutcome(**base, outcome="not_opted_in"))
            continue
        base = {
            "run_key": run.run_key,
            "selection": run.selection,
            "partition": run.partition,
            "partition_range": run.partition_range,
        }
        run_id = keyed_run_id(ws.name, RECONCILIATION_SCOPE, run.run_key)
        if find_run(snapshot, run_id) is not None:  # executed before: the same fix, no new run
            outcomes.append(RunOutcome(**base, outcome="existing", run_id=run_id))
        elif dry:
            outcomes.append(RunOutcome(**base, outcome="would_launch"))
        elif budget <= 0:
            outcomes.append(RunOutcome(**base, outcome="held_by_rate_limit"))
        else:
            result = launch_run(
                ws,
                LaunchRequest(
                    run.selection,
                    partition=run.partition,
                    partition_range=run.partition_range,
                    run_key=run.run_key,
                ),
                requested_by,
                scope=RECONCILIATION_SCOPE,
                source="reconciliation",
                snapshot=snapshot,
            )
            outcomes.append(
                RunOutcome(
                    **base,
                    outcome="launched" if result.created else "existing",
                    run_id=result.run_id,
                )
            )
            budget -= 1 if result.created else 0
    mode = "dry_run" if dry else "execute"
    payload = ReconciliationEvaluated(
        trigger=trigger, mode=mode, plan_hash=plan.hash, runs=outcomes
    )
    # One record per plan, mode, trigger and outcome: the same evaluation repeated (an idle
    # timer) is recorded once, a different outcome (the rate limit lifted) is recorded again.
    key = evaluated_key(plan.hash, mode, trigger, fingerprint([o.model_dump() for o in outcomes]))
    appended = ws.writer.append([NewEvent(RECONCILIATION_EVALUATED, payload, key)])
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return {
        "mode": mode,
        "enabled": enabled,
        "plan": plan.as_dict(),
        "outcomes": [o.model_dump() for o in outcomes],
        "counts": counts,
        "ledger_object": appended.object_name,
    }


def timer_reconcile(ws: Workspace, snapshot: Snapshot) -> dict[str, Any] | None:
    """The timer's turn, on its staged state: execute when the workspace enabled
    reconciliation, else nothing."""
    if not setting_value(snapshot, "reconciliation.enabled"):
        return None
    return execute_plan(ws, PlanQuery(), trigger="timer", requested_by="timer", snapshot=snapshot)
