"""Reads for declarative automation: the evaluator's inputs from the projections, its status,
its ticks, and why an asset is (or is not) requested."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from arco.domain.automation import (
    AUTOMATION_EVALUATIONS,
    AUTOMATION_MEMORY,
    AUTOMATION_STATE,
    AUTOMATION_TICKS,
    SENSOR_NAME,
)
from arco.domain.automation_controller import (
    AutomationInputs,
    asset_facts,
    decode_memory,
    previous_updates,
    watched_assets,
)
from arco.domain.automation_evaluation import AssetFacts, evaluate_automation
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.runs import ASSET_CHECK_RESULTS, PARTITION_STATUS, RUNS, TASKS, TERMINAL_RUN
from arco.domain.sensors import is_running
from arco.domain.tables import ROW_VERSION, Row
from arco.projections.cache import Snapshot
from arco.services.queries.definitions import dynamic_partition_keys
from arco.services.queries.runs import rows_where
from arco.services.queries.schedules import iso_time
from arco.services.queries.settings import setting_value

HOUR_MS = 3_600_000


def _automated(defs: DefinitionsSnapshot) -> list[str]:
    return [k for k, node in defs.assets.items() if node.automation_condition is not None]


def _state(snapshot: Snapshot) -> Row | None:
    row = snapshot.rows(AUTOMATION_STATE.name).get((SENSOR_NAME,))
    return None if row is None else {k: v for k, v in row.items() if k != ROW_VERSION}


def _facts(
    snapshot: Snapshot, defs: DefinitionsSnapshot, assets: list[str]
) -> tuple[dict[str, AssetFacts], set[str]]:
    running, backfilling = _in_flight(snapshot, set(assets))
    rows = rows_where(snapshot, PARTITION_STATUS.name, "asset", assets)
    # check results are read only when a condition looks at checks
    checks = (
        rows_where(snapshot, ASSET_CHECK_RESULTS.name, "asset", assets)
        if _reads_checks(defs)
        else []
    )
    return asset_facts(assets, rows, running, backfilling, checks)


def _reads_checks(defs: DefinitionsSnapshot) -> bool:
    # assets sharing a condition share one object: each distinct tree is walked once
    distinct = {
        id(node.automation_condition): node.automation_condition
        for node in defs.assets.values()
        if node.automation_condition is not None
    }
    return any(c.uses("any_checks") or c.uses("all_checks") for c in distinct.values())


def _in_flight(
    snapshot: Snapshot, assets: set[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(asset -> partitions of unfinished runs, asset -> those of unfinished backfill runs)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    runs = snapshot.table(RUNS.name)
    if runs.num_rows == 0:
        return {}, {}
    live = runs.filter(
        pc.invert(pc.is_in(runs.column("status"), value_set=pa.array(sorted(TERMINAL_RUN))))
    ).select(["run_id", "source"])
    if live.num_rows == 0:
        return {}, {}
    source = dict(
        zip(live.column("run_id").to_pylist(), live.column("source").to_pylist(), strict=True)
    )
    running: dict[str, set[str]] = {}
    backfilling: dict[str, set[str]] = {}
    for task in rows_where(snapshot, TASKS.name, "run_id", list(source)):
        if task["asset"] not in assets:
            continue
        partition = task["partition"] or ""
        running.setdefault(task["asset"], set()).add(partition)
        if source[task["run_id"]] == "backfill":
            backfilling.setdefault(task["asset"], set()).add(partition)
    return running, backfilling


def _runs_of(
    snapshot: Snapshot, run_ids: set[str]
) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]:
    """The targets and the tags of the runs that made the latest materializations."""
    if not run_ids:
        return {}, {}
    rows = rows_where(snapshot, RUNS.name, "run_id", sorted(run_ids))
    targets = {row["run_id"]: frozenset(json.loads(row["assets"] or "[]")) for row in rows}
    tags = {row["run_id"]: dict(json.loads(row["tags"] or "{}")) for row in rows}
    return targets, tags


def _runs_last_hour(snapshot: Snapshot, now_ms: int) -> int:
    import pyarrow.compute as pc

    runs = snapshot.table(RUNS.name)
    if runs.num_rows == 0:
        return 0
    mask = pc.and_(
        pc.equal(runs.column("source"), "automation"),
        pc.greater_equal(runs.column("created_ms"), now_ms - HOUR_MS),
    )
    return int(pc.sum(mask.cast("int64")).as_py() or 0)


def _recent_materializations(snapshot: Snapshot, lookback_ms: int) -> tuple[str, ...]:
    """Every materialization id within `lookback_ms` of the newest one (all assets)."""
    import pyarrow.compute as pc

    from arco.domain.ulid import ulid_floor, ulid_time_ms

    versions = snapshot.table(PARTITION_STATUS.name).column("materialized_version")
    newest = pc.max(versions).as_py() if len(versions) else None
    if not newest:
        return ()
    floor = ulid_floor(ulid_time_ms(newest) - lookback_ms)
    recent = pc.filter(versions, pc.greater_equal(versions, floor))
    return tuple(v for v in recent.to_pylist() if v)


def automation_inputs(
    snapshot: Snapshot, defs: DefinitionsSnapshot, now_ms: int, lookback_ms: int = 120_000
) -> AutomationInputs | None:
    """What the evaluator needs, read from `snapshot`; None when there is nothing to evaluate
    (no condition, no memory) or automation is stopped (reading nothing more)."""
    automated = _automated(defs)
    memory_table = snapshot.table(AUTOMATION_MEMORY.name)
    if not automated and memory_table.num_rows == 0:
        return None
    state = _state(snapshot)
    if not is_running(state, defs.automation_default_running):
        return None
    memory: dict[str, str] = {}
    if memory_table.num_rows:
        assets, texts = memory_table.column("asset"), memory_table.column("memory")
        memory = dict(zip(assets.to_pylist(), texts.to_pylist(), strict=True))
    facts, run_ids = _facts(snapshot, defs, watched_assets(defs))
    run_targets, run_tags = _runs_of(snapshot, run_ids)
    return AutomationInputs(
        seen=_recent_materializations(snapshot, int(lookback_ms)),
        state=state,
        memory=memory,
        facts=facts,
        run_targets=run_targets,
        run_tags=run_tags,
        runs_last_hour=_runs_last_hour(snapshot, now_ms),
        dry_run=bool(setting_value(snapshot, "automation.dry_run")),
        max_runs_per_hour=int(setting_value(snapshot, "automation.max_runs_per_hour")),
        dynamic=dynamic_partition_keys(snapshot),
    )


# --------------------------------------------------------------------------- status and ticks


def automation_status(snapshot: Snapshot, defs: DefinitionsSnapshot | None) -> dict[str, Any]:
    state = _state(snapshot) or {}
    automated = _automated(defs) if defs is not None else []
    default_running = defs is not None and defs.automation_default_running
    return {
        "name": SENSOR_NAME,
        "status": "RUNNING" if is_running(state, default_running) else "STOPPED",
        "default_status": "RUNNING" if default_running else "STOPPED",
        "status_changed_by": state.get("status_changed_by"),
        "assets_with_conditions": len(automated),
        "last_evaluation": iso_time(state.get("last_evaluation_ms")),
        "last_tick_id": state.get("last_tick_id"),
        "last_tick_status": state.get("last_tick_status"),
        "dry_run": bool(setting_value(snapshot, "automation.dry_run")),
        "max_runs_per_hour": int(setting_value(snapshot, "automation.max_runs_per_hour")),
    }


def _tick(row: Row) -> dict[str, Any]:
    return {
        "tick_id": row["tick_id"],
        "status": row["status"],
        "evaluated_at": iso_time(row["evaluated_ms"]),
        "skip_reason": row.get("skip_reason"),
        "error": row.get("error"),
        "assets_evaluated": row.get("assets_evaluated") or 0,
        "requested": json.loads(row.get("requested") or "{}"),
        "request_ids": json.loads(row.get("request_ids") or "[]"),
        "run_ids": json.loads(row.get("run_ids") or "[]"),
        "held": json.loads(row.get("held") or "[]"),
        "dry_run": bool(row.get("dry_run")),
    }


def automation_ticks(
    snapshot: Snapshot, status: str | None = None, limit: int = 25, before: str | None = None
) -> list[dict[str, Any]]:
    """Recorded evaluations, newest first (`before`: a tick id, for the next page); filtered
    and cut in Arrow, so a page costs the page, not the history."""
    import pyarrow.compute as pc

    table = snapshot.table(AUTOMATION_TICKS.name)
    if table.num_rows == 0:
        return []
    mask = pc.is_valid(table.column("tick_id"))
    if status is not None:
        mask = pc.and_(mask, pc.equal(table.column("status"), status))
    if before is not None:
        mask = pc.and_(mask, pc.less(table.column("tick_id"), before))
    page = table.filter(mask).sort_by([("tick_id", "descending")]).slice(0, limit)
    return [_tick(r) for r in page.to_pylist()]


# --------------------------------------------------------------------------- why


def why(
    snapshot: Snapshot,
    defs: DefinitionsSnapshot,
    asset: str,
    now_ms: int,
    partition: str | None = None,
) -> dict[str, Any]:
    """The asset's condition evaluated now against the current memory (nothing is recorded),
    node by node, and its last recorded evaluation."""
    node = defs.assets.get(asset)
    if node is None:
        raise NotFound(f"no asset {asset!r} in the deployed definitions")
    if node.automation_condition is None:
        raise InvalidInput(f"asset {asset!r} has no automation_condition")
    dynamic = dynamic_partition_keys(snapshot)
    if partition is not None:
        if node.partitions is None:
            raise InvalidInput(f"asset {asset!r} is not partitioned")
        node.partitions.validate_key(partition, datetime.fromtimestamp(now_ms / 1000, UTC), dynamic)
    state = _state(snapshot)
    last_ms = int((state or {}).get("last_evaluation_ms") or 0)
    memory_rows = {
        r["asset"]: r["memory"]
        for r in rows_where(snapshot, AUTOMATION_MEMORY.name, "asset", _automated(defs))
    }
    memory = {
        a: decode_memory(defs, a, json.loads(text), last_ms, dynamic)
        for a, text in memory_rows.items()
        if a in defs.assets
    }
    facts, run_ids = _facts(snapshot, defs, watched_assets(defs))
    run_targets, run_tags = _runs_of(snapshot, run_ids)
    upstream = set(defs.topological_order()[: defs.topological_order().index(asset) + 1])
    evaluations = evaluate_automation(
        defs,
        facts,
        memory,
        previous_updates(state),
        now_ms,
        run_targets=run_targets,
        run_tags=run_tags,
        dynamic=dynamic,
        assets=[a for a in _automated(defs) if a in upstream],
        focus=partition,
    )
    mine = next(e for e in evaluations if e.asset == asset)
    recorded = sorted(
        rows_where(snapshot, AUTOMATION_EVALUATIONS.name, "asset", [asset]),
        key=lambda r: r["tick_id"],
    )
    last = recorded[-1] if recorded else None
    return {
        "asset": asset,
        "partition": partition,
        "condition": node.automation_condition.describe(),
        "automation_running": is_running(state, defs.automation_default_running),
        "evaluated_at": iso_time(now_ms),
        "first_evaluation": asset not in memory,
        "would_request": sorted(mine.requested)[:100],
        "would_request_count": len(mine.requested),
        "tree": mine.result.to_json(),
        "last_recorded": None
        if last is None
        else {
            "tick_id": last["tick_id"],
            "evaluated_at": iso_time(last["evaluated_ms"]),
            "requested": json.loads(last["requested"]),
            "tree": json.loads(last["result"]),
        },
    }
