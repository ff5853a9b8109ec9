"""The timer's automation step, pure: evaluate the conditions, group the requested partitions
into runs, apply the operator's gates, and say it as one `automation.evaluated` event.

Runs are grouped as Dagster's automation sensor groups them: one run per partition key (of one
partitions definition) across every requested asset, every unpartitioned request in one run.
Where Dagster turns an asset with several requested partitions into a backfill, Arco requests
one run per contiguous range of them (ADR 0008 §37).

Gates: a dry run records what would be requested and requests nothing; `max_runs_per_hour`
holds the runs over the limit. Held partitions stay unrequested in memory, so the conditions
that asked for them (latched by `since_last_handled`) ask again at a later evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from arco.domain.automation import (
    AUTOMATION_EVALUATED,
    SENSOR_NAME,
    AssetEvaluated,
    AutomationEvaluated,
    AutomationRunRequest,
    evaluation_key,
)
from arco.domain.automation_conditions import deps_depth
from arco.domain.automation_evaluation import (
    UNPARTITIONED,
    AssetEvaluation,
    AssetFacts,
    AssetMemory,
    Materialization,
    Subset,
    Updates,
    evaluate_automation,
    next_updates,
)
from arco.domain.canonical import fingerprint
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.envelope import NewEvent
from arco.domain.partitions import (
    NO_DYNAMIC,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.sensors import is_running
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid

__all__ = [
    "AutomationInputs",
    "asset_facts",
    "decode_memory",
    "encode_memory",
    "evaluate_conditions",
    "group_runs",
    "previous_updates",
    "watched_assets",
]

# Dagster's minimum interval of the automation condition sensor.
MINIMUM_INTERVAL_S = 30
# Subsets longer than this are stored as key ranges.
_LISTED = 16
# Condition trees recorded per evaluation (`automation_evaluations`); `why` evaluates live.
RECORDED_TREES = 100

Dynamic = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class AutomationInputs:
    """What the timer read for the evaluation (services build it from the projections)."""

    state: Row | None
    memory: Mapping[str, str]  # asset -> its `automation_memory.memory` JSON
    facts: Mapping[str, AssetFacts]
    run_targets: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # run id -> its tags, for the runs of the latest materializations (`executed_with_tags`)
    run_tags: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    runs_last_hour: int = 0
    dry_run: bool = False
    max_runs_per_hour: int = 0  # 0: no limit
    dynamic: Dynamic = field(default_factory=lambda: NO_DYNAMIC)
    # Every asset's latest materialization ids within the lookback of the newest (None: take
    # them from `facts`): what the next evaluation compares `newly_updated` with, so an asset
    # that becomes watched later (a new dependency) does not count its old updates as new.
    seen: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- facts


def asset_facts(
    assets: Sequence[str],
    partition_rows: Iterable[Row],
    running: Mapping[str, set[str]],
    backfilling: Mapping[str, set[str]],
    check_rows: Iterable[Row] = (),
) -> tuple[dict[str, AssetFacts], set[str]]:
    """Per asset its materializations, runs in progress, failures and check results, from
    `partition_status` and `asset_check_results` rows and the (asset -> partitions) of
    unfinished runs; and the run ids of the materializations (whose targets
    `executed_with_root_target` looks at)."""
    materialized: dict[str, dict[str, Materialization]] = {a: {} for a in assets}
    failed: dict[str, set[str]] = {a: set() for a in assets}
    run_ids: set[str] = set()
    for row in partition_rows:
        asset, partition = row["asset"], row["partition"] or ""
        if asset not in materialized:
            continue
        version = row.get("materialized_version")
        if version and row.get("materialized_ms") is not None:
            run_id = row.get("materialized_run_id") or None
            materialized[asset][partition] = Materialization(
                version, int(row["materialized_ms"]), run_id
            )
            if run_id:
                run_ids.add(run_id)
        # the latest attempt failed after the latest materialization (partition_state FAILED)
        if row.get("attempt_status") == "FAILURE" and (row.get("attempt_version") or "") > (
            version or ""
        ):
            failed[asset].add(partition)
    passed: dict[str, dict[str, set[str]]] = {a: {} for a in assets}
    check_failed: dict[str, dict[str, set[str]]] = {a: {} for a in assets}
    for row in check_rows:
        asset, partition = row["asset"], row["partition"] or ""
        latest = materialized.get(asset, {}).get(partition)
        # only a result for the latest materialization says anything about it
        if latest is None or row.get("materialized_version") != latest.version:
            continue
        by_check = passed[asset] if row.get("passed") else check_failed[asset]
        by_check.setdefault(row["check_name"], set()).add(partition)
    facts = {}
    for a in assets:
        # A check runs in its asset's task: while a run of the partition goes on, or after its
        # attempt failed, the check's latest execution is not the recorded result (Dagster:
        # in progress, or skipped), so it has neither passed nor failed.
        pending = frozenset(running.get(a, ())) | failed[a]
        facts[a] = AssetFacts(
            materialized=materialized[a],
            run_in_progress=frozenset(running.get(a, ())),
            backfill_in_progress=frozenset(backfilling.get(a, ())),
            failed=frozenset(failed[a]),
            checks_passed=_checks(passed[a], pending),
            checks_failed=_checks(check_failed[a], pending),
        )
    return facts, run_ids


def _checks(by_check: Mapping[str, set[str]], pending: frozenset[str]) -> dict[str, Subset]:
    out = {name: frozenset(p - pending) for name, p in by_check.items()}
    return {name: p for name, p in out.items() if p}


def watched_assets(defs: DefinitionsSnapshot) -> list[str]:
    """What conditions read facts about: the assets with a condition and their dependencies,
    as many levels up as their dependency operators nest (as deep as any condition's, for
    `any_downstream_conditions()`, which evaluates its descendants' conditions on the asset)."""
    out: set[str] = set()
    conditions = [n.automation_condition for n in defs.assets.values() if n.automation_condition]
    deepest = max((deps_depth(c) for c in conditions), default=0)
    for key, node in defs.assets.items():
        condition = node.automation_condition
        if condition is None:
            continue
        out.add(key)
        level = {key}
        depth = deps_depth(condition)
        if condition.uses("any_downstream_conditions"):
            depth = max(depth, deepest)
        for _ in range(depth):
            level = {up for asset in level for up in defs.upstream(asset)}
            out |= level
    return sorted(out)


# --------------------------------------------------------------------------- memory encoding


def _definition(defs: DefinitionsSnapshot, asset: str) -> PartitionsDefinition | None:
    node = defs.assets.get(asset)
    return None if node is None else node.partitions


def encode_subset(definition: PartitionsDefinition | None, keys: Subset, dynamic: Dynamic) -> Any:
    """Keys as a sorted list, or, for long subsets of time windows, as inclusive key ranges
    (`{"ranges": [[a, b]]}`). Static and dynamic keys stay listed: a key added or deleted in
    the middle would change what a range holds."""
    if not isinstance(definition, TimeWindowPartitionsDefinition) or len(keys) <= _LISTED:
        return sorted(keys)
    space = definition.key_space(dynamic)
    indexes = sorted(i for i in (space.index_of(k) for k in keys) if i is not None)
    ranges: list[list[int]] = []
    for index in indexes:
        if ranges and index == ranges[-1][1] + 1:
            ranges[-1][1] = index
        else:
            ranges.append([index, index])
    return {"ranges": [[space.key_at(lo), space.key_at(hi)] for lo, hi in ranges]}


def decode_subset(definition: PartitionsDefinition | None, data: Any, dynamic: Dynamic) -> Subset:
    if isinstance(data, list):
        return frozenset(str(k) for k in data)
    if definition is None or not isinstance(data, dict):
        return frozenset()
    space = definition.key_space(dynamic)
    keys: set[str] = set()
    for first, last in data.get("ranges", []):
        lo, hi = space.index_of(first), space.index_of(last)
        if lo is not None and hi is not None and lo <= hi:
            keys.update(space.keys_between(lo, hi + 1))
    return frozenset(keys)


def _subset_owner(asset: str, memory_id: str) -> str:
    # nodes evaluated on a dependency remember that dependency's partitions (`id@dep`)
    return memory_id.split("@", 1)[1] if "@" in memory_id else asset


def encode_memory(
    defs: DefinitionsSnapshot, asset: str, memory: AssetMemory, dynamic: Dynamic = NO_DYNAMIC
) -> dict[str, Any]:
    return {
        "requested": encode_subset(_definition(defs, asset), memory.requested, dynamic),
        "nodes": {
            k: encode_subset(_definition(defs, _subset_owner(asset, k)), v, dynamic)
            for k, v in sorted(memory.nodes.items())
        },
        "code_versions": dict(sorted(memory.code_versions.items())),
        "partitions": memory.partitions,
        **({"quiet_inputs": memory.quiet_inputs} if memory.quiet_inputs else {}),
    }


def decode_memory(
    defs: DefinitionsSnapshot,
    asset: str,
    data: Mapping[str, Any],
    evaluated_ms: int,
    dynamic: Dynamic = NO_DYNAMIC,
) -> AssetMemory:
    return AssetMemory(
        evaluated_ms=evaluated_ms,
        requested=decode_subset(_definition(defs, asset), data.get("requested", []), dynamic),
        nodes={
            k: decode_subset(_definition(defs, _subset_owner(asset, k)), v, dynamic)
            for k, v in dict(data.get("nodes", {})).items()
        },
        code_versions={str(k): str(v) for k, v in dict(data.get("code_versions", {})).items()},
        partitions=str(data.get("partitions", "")),
        quiet_inputs=str(data.get("quiet_inputs", "")),
    )


# --------------------------------------------------------------------------- runs


def group_runs(
    defs: DefinitionsSnapshot,
    requested: Mapping[str, Subset],
    dynamic: Dynamic = NO_DYNAMIC,
) -> list[AutomationRunRequest]:
    """Runs for the requested partitions, as Dagster groups them: one run per (partitions
    definition, key) across the assets that requested it, every unpartitioned request in one
    run. Where Dagster makes a backfill of several partitions, consecutive keys requested by
    the same assets share one range run (so a child requested for one key with its parent
    stays in its parent's run)."""
    order = {asset: i for i, asset in enumerate(defs.topological_order())}
    unpartitioned: list[str] = []
    by_key: dict[str, dict[str, set[str]]] = {}  # definition shape -> key -> assets
    shapes: dict[str, PartitionsDefinition] = {}
    for asset, keys in requested.items():
        if not keys:
            continue
        definition = _definition(defs, asset)
        if definition is None:
            unpartitioned.append(asset)
            continue
        shape = fingerprint(definition.to_snapshot())
        shapes[shape] = definition
        for key in keys:
            by_key.setdefault(shape, {}).setdefault(key, set()).add(asset)
    runs: list[AutomationRunRequest] = []
    if unpartitioned:
        runs.append(AutomationRunRequest(assets=sorted(unpartitioned, key=order.__getitem__)))
    for shape, assets_of in by_key.items():
        space = shapes[shape].key_space(dynamic)
        positions = {k: space.index_of(k) for k in assets_of}
        indexed = sorted((i, k) for k, i in positions.items() if i is not None)
        current: list[tuple[int, str]] = []
        for index, key in indexed:
            same = bool(current) and assets_of[current[-1][1]] == assets_of[key]
            if (
                same
                and index == current[-1][0] + 1
                and isinstance(shapes[shape], TimeWindowPartitionsDefinition)
            ):
                current.append((index, key))
                continue
            if current:
                runs.append(_run(current, assets_of, order))
            current = [(index, key)]
        if current:
            runs.append(_run(current, assets_of, order))
    runs.sort(key=lambda r: (order[r.assets[0]], r.partition_key or "", r.partition_range or ()))
    return runs


def _run(
    span: list[tuple[int, str]], keys: Mapping[str, set[str]], order: Mapping[str, int]
) -> AutomationRunRequest:
    assets = sorted(keys[span[0][1]], key=order.__getitem__)
    if len(span) == 1:
        return AutomationRunRequest(assets=assets, partition_key=span[0][1])
    return AutomationRunRequest(assets=assets, partition_range=(span[0][1], span[-1][1]))


def _run_partitions(
    defs: DefinitionsSnapshot, run: AutomationRunRequest, dynamic: Dynamic
) -> dict[str, Subset]:
    """The (asset, partitions) a run request covers."""
    if run.partition_range is None:
        keys = frozenset({run.partition_key or UNPARTITIONED})
        return {asset: keys for asset in run.assets}
    definition = _definition(defs, run.assets[0])
    assert definition is not None
    space = definition.key_space(dynamic)
    lo, hi = space.index_of(run.partition_range[0]), space.index_of(run.partition_range[1])
    assert lo is not None and hi is not None
    span = frozenset(space.keys_between(lo, hi + 1))
    return {asset: span for asset in run.assets}


# --------------------------------------------------------------------------- the step


def _due(state: Row | None, now_ms: int) -> bool:
    last = None if state is None else state.get("last_evaluation_ms")
    return last is None or now_ms - int(last) >= MINIMUM_INTERVAL_S * 1000


def evaluate_conditions(
    defs: DefinitionsSnapshot,
    inputs: AutomationInputs,
    now_ms: int,
    *,
    lookback_ms: int = 120_000,
) -> list[NewEvent]:
    """The automation evaluation due now, as at most one `automation.evaluated` event: none when
    automation is stopped, not due, or nothing changed since the last evaluation."""
    has_conditions = any(node.automation_condition for node in defs.assets.values())
    if not has_conditions and not inputs.memory:
        return []
    state = inputs.state
    if not is_running(state, defs.automation_default_running) or not _due(state, now_ms):
        return []
    read_version = str((state or {}).get("cursor_version") or "")
    try:
        payload = _evaluation(defs, inputs, now_ms, read_version, lookback_ms)
    except Exception as exc:
        # One broken evaluation is a FAILURE tick with its reason; the next timer retries.
        payload = AutomationEvaluated(
            cursor_read_version=read_version,
            definitions_hash=defs.content_hash,
            default_running=defs.automation_default_running,
            outcome="FAILED",
            error=f"{type(exc).__name__}: {exc}"[:20_000],
        )
    if payload is None:
        return []
    seed = f"automation:{read_version}:{fingerprint(payload.model_dump(mode='json'))}"
    event_id = deterministic_ulid(now_ms, seed)
    key = evaluation_key(SENSOR_NAME, read_version, event_id)
    return [NewEvent(AUTOMATION_EVALUATED, payload, key, event_id=event_id)]


def previous_updates(state: Row | None) -> Updates | None:
    """What the last recorded evaluation saw (None before the first)."""
    if state is None or state.get("last_evaluation_ms") is None:
        return None
    return Updates(
        watermark=str(state.get("watermark") or ""),
        recent=frozenset(json.loads(state.get("recent") or "[]")),
    )


def _evaluation(
    defs: DefinitionsSnapshot,
    inputs: AutomationInputs,
    now_ms: int,
    read_version: str,
    lookback_ms: int,
) -> AutomationEvaluated | None:
    state = inputs.state
    last_ms = int((state or {}).get("last_evaluation_ms") or 0)
    memory = {
        asset: decode_memory(defs, asset, json.loads(text), last_ms, inputs.dynamic)
        for asset, text in inputs.memory.items()
        if asset in defs.assets
    }
    updates = previous_updates(state)
    evaluations = evaluate_automation(
        defs,
        inputs.facts,
        memory,
        updates,
        now_ms,
        run_targets=inputs.run_targets,
        run_tags=inputs.run_tags,
        lookback_ms=lookback_ms,
        dynamic=inputs.dynamic,
    )
    requested = {e.asset: e.requested for e in evaluations if e.requested}
    runs = group_runs(defs, requested, inputs.dynamic)
    held: list[AutomationRunRequest] = []
    held_reason = None
    if inputs.dry_run and runs:
        held, runs = runs, []
        held_reason = f"dry run: {len(held)} run(s) would be requested"
    elif inputs.max_runs_per_hour > 0:
        allowed = max(0, inputs.max_runs_per_hour - inputs.runs_last_hour)
        if len(runs) > allowed:
            runs, held = runs[:allowed], runs[allowed:]
            held_reason = (
                f"{len(held)} run(s) held: automation.max_runs_per_hour is "
                f"{inputs.max_runs_per_hour}"
            )
    evaluations = _without_held(defs, evaluations, held, inputs.dynamic)
    changed: list[AssetEvaluated] = []
    trees = 0
    for evaluation in evaluations:
        encoded = encode_memory(defs, evaluation.asset, evaluation.memory, inputs.dynamic)
        before = inputs.memory.get(evaluation.asset)
        # the fold stores memory as key-sorted JSON: unchanged memory is the same text
        if before == json.dumps(encoded, sort_keys=True) and not evaluation.requested:
            continue
        # the condition tree of what it requested (and of a first evaluation), for `why`'s
        # history; a tick requesting thousands of assets records the first ones only
        show = (bool(evaluation.requested) or before is None) and trees < RECORDED_TREES
        trees += show
        changed.append(
            AssetEvaluated(
                asset=evaluation.asset,
                requested=sorted(evaluation.requested)[:20],
                requested_count=len(evaluation.requested),
                memory=encoded,
                result=evaluation.result.to_json() if show else None,
            )
        )
    forget = sorted(
        asset
        for asset in inputs.memory
        if asset not in defs.assets or defs.assets[asset].automation_condition is None
    )
    errors = {e.asset: e.error for e in evaluations if e.error is not None}
    new_updates = next_updates(inputs.facts, updates, lookback_ms, inputs.seen)
    if (
        not changed
        and not runs
        and not held
        and not forget
        and not errors
        # a cron tick that counted moves "the previous evaluation" past it, as in Dagster
        and not any(e.cron_fired for e in evaluations)
        and updates is not None
        and new_updates == updates
    ):
        return None  # nothing new: an idle evaluation writes nothing
    return AutomationEvaluated(
        cursor_read_version=read_version,
        definitions_hash=defs.content_hash,
        default_running=defs.automation_default_running,
        assets_evaluated=len(evaluations),
        assets=changed,
        forget=forget,
        runs=runs,
        held=held,
        held_reason=held_reason,
        asset_errors=errors,
        dry_run=inputs.dry_run,
        watermark=new_updates.watermark,
        recent=sorted(new_updates.recent),
    )


def _without_held(
    defs: DefinitionsSnapshot,
    evaluations: list[AssetEvaluation],
    held: list[AutomationRunRequest],
    dynamic: Dynamic,
) -> list[AssetEvaluation]:
    """Evaluations whose requested partitions leave out the held runs' (not requested, so the
    conditions ask again)."""
    if not held:
        return evaluations
    kept: dict[str, set[str]] = {}
    for run in held:
        for asset, keys in _run_partitions(defs, run, dynamic).items():
            kept.setdefault(asset, set()).update(keys)
    out = []
    for e in evaluations:
        if e.asset not in kept:
            out.append(e)
            continue
        requested = e.requested - kept[e.asset]
        out.append(replace(e, requested=requested, memory=replace(e.memory, requested=requested)))
    return out
