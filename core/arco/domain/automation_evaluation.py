"""Evaluating automation conditions: which partitions of which assets to request now.

Pure: the facts (materializations, runs in progress, failures), the memory of the previous
evaluation and the time come in; the requested partitions, each node's result (for `arco
automation why`) and the new memory go out. The semantics are Dagster 1.13's, operator by
operator:

- a condition is evaluated per asset over a *candidate* set of partitions (every partition that
  exists now); `&` narrows the candidate operand by operand, `|` gives each operand the same
  one, `~` is the candidate minus its operand;
- `since` and `newly_true` look at the whole asset whatever the candidate, and remember their
  result (or their operand's) from one evaluation to the next;
- dependency operators evaluate their operand on each dependency (the candidate mapped up
  through the edge's partition mapping) and map the result back down;
- assets are evaluated in dependency order, so `will_be_requested` sees what this evaluation
  requested upstream (when the child could run in the same run: same partitions, an identity
  or time-window mapping).

`newly_updated` compares materializations with what the previous evaluation saw: every
materialization id newer than its watermark, and the ids within the ledger's lookback window
below it that it had not seen (a materialization folded late, ADR 0007, still counts once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from arco.domain.automation_conditions import (
    OPERANDS,
    STATEFUL,
    AutomationCondition,
    Path,
    deps_depth,
    memory_ids,
    strip_downstream,
    structure,
)
from arco.domain.canonical import fingerprint
from arco.domain.cron import CronSchedule
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.partition_mappings import IdentityPartitionMapping, TimeWindowPartitionMapping
from arco.domain.partitions import (
    NO_DYNAMIC,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.ulid import ulid_time_ms

__all__ = [
    "AssetEvaluation",
    "AssetFacts",
    "AssetMemory",
    "Materialization",
    "NodeResult",
    "Updates",
    "evaluate_automation",
    "next_updates",
]

UNPARTITIONED = ""
# Partition keys kept per node result for `why` (the count is always whole).
SAMPLE = 20
# More partitions than this updated at once: their timestamps are the evaluation time (Dagster
# does the same above 100).
_TIMED_LIMIT = 100

Subset = frozenset[str]
Dynamic = Mapping[str, Sequence[str]]
Timing = dict[str, int]
EMPTY: Subset = frozenset()
ONLY: Subset = frozenset({UNPARTITIONED})  # the one "partition" of an unpartitioned asset


@dataclass(frozen=True)
class Materialization:
    """The latest materialization of one asset partition."""

    version: str  # the id of the event that recorded it
    ms: int
    run_id: str | None = None


@dataclass(frozen=True)
class AssetFacts:
    """What the projections say about one asset at the evaluation time."""

    materialized: Mapping[str, Materialization] = field(default_factory=dict)
    run_in_progress: Subset = EMPTY
    backfill_in_progress: Subset = EMPTY
    failed: Subset = EMPTY
    # Per check name: the partitions whose latest materialization it ran against and passed,
    # or failed (a check not run since the latest materialization is in neither).
    checks_passed: Mapping[str, Subset] = field(default_factory=dict)
    checks_failed: Mapping[str, Subset] = field(default_factory=dict)


NO_FACTS = AssetFacts()


@dataclass(frozen=True)
class AssetMemory:
    """What an asset's previous evaluation left for the next one."""

    evaluated_ms: int
    requested: Subset = EMPTY
    nodes: Mapping[str, Subset] = field(default_factory=dict)
    code_versions: Mapping[str, str] = field(default_factory=dict)
    partitions: str = ""  # fingerprint of the partitions definition evaluated
    # What the evaluation read (`_Evaluation.inputs_of`), when nothing in it was new (no
    # update, request, cron tick or first evaluation): the same inputs again give the same
    # result and memory, so the next evaluation can reuse them.
    quiet_inputs: str = ""


@dataclass(frozen=True)
class Updates:
    """The materializations an evaluation saw: ids up to `watermark`, and `recent` ones (those
    within the lookback below it), so the next evaluation can tell a late one from an old one."""

    watermark: str = ""
    recent: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NodeResult:
    """One node of an evaluated condition: how many partitions it held for, and which."""

    label: str | None
    name: str
    true_count: int
    candidate_count: int
    sample: tuple[str, ...]
    children: tuple[NodeResult, ...] = ()
    key: str | None = None  # the dependency evaluated, inside a dependency operator
    holds: bool | None = None  # whether it held for the partition asked about (`why`)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "true": self.true_count,
            "candidates": self.candidate_count,
            "sample": list(self.sample),
        }
        if self.label:
            out["label"] = self.label
        if self.key is not None:
            out["key"] = self.key
        if self.holds is not None:
            out["holds"] = self.holds
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


@dataclass(slots=True)
class _Result:
    """A node's result while evaluating; `to_node` renders it (and its children) for `why`
    and the recorded evaluations, only for the assets that need it."""

    true: Subset
    timing: Timing | None
    condition: AutomationCondition
    candidate_count: int
    children: list[_Result]
    holds: bool | None = None
    key: str | None = None

    def to_node(self) -> NodeResult:
        return NodeResult(
            label=self.condition.label,
            name=self.condition.name,
            true_count=len(self.true),
            candidate_count=self.candidate_count,
            sample=tuple(sorted(self.true)[:SAMPLE]),
            children=tuple(child.to_node() for child in self.children),
            key=self.key,
            holds=self.holds,
        )


@dataclass(frozen=True)
class AssetEvaluation:
    asset: str
    requested: Subset
    tree: _Result
    memory: AssetMemory
    error: str | None = None  # the condition raised: nothing requested, memory kept
    cron_fired: bool = False  # a cron tick counted (the evaluation must be recorded)

    @property
    def result(self) -> NodeResult:
        """The evaluated condition, node by node."""
        return self.tree.to_node()


def next_updates(
    facts: Mapping[str, AssetFacts],
    previous: Updates | None,
    lookback_ms: int,
    seen: Sequence[str] | None = None,
) -> Updates:
    """What this evaluation saw, for the next one's `newly_updated`: the materialization ids of
    `facts`, or `seen` (every asset's, when the caller read them)."""
    versions = (
        [m.version for f in facts.values() for m in f.materialized.values()]
        if seen is None
        else list(seen)
    )
    watermark = max([*versions, previous.watermark if previous else ""])
    if not watermark:
        return Updates()
    floor = ulid_time_ms(watermark) - lookback_ms
    return Updates(
        watermark=watermark,
        recent=frozenset(v for v in versions if ulid_time_ms(v) >= floor),
    )


def _is_new(version: str, previous: Updates, lookback_ms: int) -> bool:
    if version > previous.watermark:
        return True
    if not previous.watermark:
        return True
    floor = ulid_time_ms(previous.watermark) - lookback_ms
    return ulid_time_ms(version) >= floor and version not in previous.recent


class _Evaluation:
    """One evaluation of every asset that has a condition (the state of one call)."""

    def __init__(
        self,
        defs: DefinitionsSnapshot,
        facts: Mapping[str, AssetFacts],
        memory: Mapping[str, AssetMemory],
        updates: Updates | None,
        run_targets: Mapping[str, frozenset[str]],
        now_ms: int,
        lookback_ms: int,
        dynamic: Dynamic,
        focus: str | None = None,
        run_tags: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.defs = defs
        self.focus = focus
        self.facts = facts
        self.memory = memory
        self.updates = updates
        self.run_targets = run_targets
        self.run_tags = run_tags or {}
        self.now_ms = now_ms
        self.now = datetime.fromtimestamp(now_ms / 1000, UTC)
        self.lookback_ms = lookback_ms
        self.dynamic = dynamic
        self.requested: dict[str, Subset] = {}  # this evaluation's, for will_be_requested
        self._full: dict[str, Subset] = {}
        self._newly: dict[str, tuple[Subset, Timing]] = {}
        self._descendants: dict[str, set[str]] = {}
        self._ids: dict[int, Mapping[Path, str]] = {}
        self._keep: list[AutomationCondition] = []
        self._stack: list[AutomationCondition] = []
        self._shapes: dict[int, str] = {}
        self._inputs: dict[str, str] = {}  # `_asset_inputs`, per asset
        self.noticed = False  # this asset's evaluation read something new
        self.cron_fired = False  # a cron tick counted: the evaluation must be recorded
        self._check: str | None = None  # the check evaluated, inside a checks operator
        self._dep_keys: dict[tuple[str, str | None, str | None], list[str]] = {}
        self._defs_of: dict[str, PartitionsDefinition | None] = {
            k: node.partitions for k, node in defs.assets.items()
        }

    # -- facts ---------------------------------------------------------------------------------

    def partitions(self, asset: str) -> PartitionsDefinition | None:
        return self._defs_of[asset]

    def full(self, asset: str) -> Subset:
        """Every partition of `asset` that exists now."""
        if asset not in self._full:
            definition = self.partitions(asset)
            self._full[asset] = (
                ONLY if definition is None else frozenset(definition.keys(self.now, self.dynamic))
            )
        return self._full[asset]

    def facts_of(self, asset: str) -> AssetFacts:
        return self.facts.get(asset, NO_FACTS)

    def newly_updated(self, asset: str) -> tuple[Subset, Timing]:
        if asset not in self._newly:
            previous = self.updates
            if previous is None:
                self._newly[asset] = (EMPTY, {})
            else:
                new = {
                    key: m
                    for key, m in self.facts_of(asset).materialized.items()
                    if _is_new(m.version, previous, self.lookback_ms)
                }
                many = len(new) > _TIMED_LIMIT
                self._newly[asset] = (
                    frozenset(new),
                    {key: self.now_ms if many else m.ms for key, m in new.items()},
                )
        return self._newly[asset]

    # -- partition mappings --------------------------------------------------------------------

    def map_up(self, child: str, parent: str, keys: Subset) -> Subset:
        """The partitions of `parent` that `keys` of `child` depend on."""
        if not keys:
            return EMPTY
        child_def, parent_def = self._defs_of[child], self._defs_of[parent]
        if parent_def is None:
            return ONLY
        if child_def is None:
            return self.full(parent)
        mapping = self.defs.mapping_for(child, parent)
        found = mapping.upstream_partitions(
            child_def, sorted(keys), parent_def, self.now, self.dynamic
        )
        return frozenset(found.keys)

    def map_down(self, parent: str, child: str, keys: Subset) -> Subset:
        """The partitions of `child` that depend on `keys` of `parent`."""
        if not keys:
            return EMPTY
        child_def, parent_def = self._defs_of[child], self._defs_of[parent]
        if child_def is None:
            return ONLY
        if parent_def is None:
            return self.full(child)
        mapping = self.defs.mapping_for(child, parent)
        return frozenset(
            mapping.downstream_partitions(
                parent_def, sorted(keys), child_def, self.now, self.dynamic
            )
        )

    def same_run(self, child: str, parent: str) -> bool:
        """Dagster's `executable_in_same_run`: a request of `parent` this evaluation can carry
        `child` in the same run (same partitions; an identity or time-window mapping), and the
        parent is materializable."""
        parent_node = self.defs.assets[parent]
        if parent_node.compute is None:
            return False
        child_def, parent_def = self.partitions(child), parent_node.partitions
        if child_def != parent_def:
            return False
        if child_def is None:
            return True
        mapping = self.defs.mapping_for(child, parent)
        return isinstance(mapping, IdentityPartitionMapping | TimeWindowPartitionMapping)

    def latest_window(self, asset: str, lookback_seconds: float | None) -> Subset:
        """`in_latest_time_window`: the partitions of the last complete time window (with a
        lookback, of the windows ending within it); every partition without a time dimension."""
        definition = self.partitions(asset)
        time_def = _time_dimension(definition)
        if definition is None or time_def is None:
            return self.full(asset)
        last = time_def.last_key(self.now)
        if last is None:
            return EMPTY
        time_keys = {last}
        if lookback_seconds is not None:
            index = time_def.key_index(last)
            since = time_def.window_at(index).end.timestamp() - lookback_seconds
            first = time_def.first_key(self.now)
            lowest = time_def.key_index(first) if first is not None else index
            while index > lowest and time_def.window_at(index - 1).end.timestamp() > since:
                index -= 1
                time_keys.add(time_def.key_at(index))
        if isinstance(definition, MultiPartitionsDefinition):
            return frozenset(
                k for k in self.full(asset) if any(p in time_keys for p in k.split("|"))
            )
        return frozenset(time_keys)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, root: str, condition: AutomationCondition) -> AssetEvaluation:
        previous = self.memory.get(root)
        definition = self.partitions(root)
        shape = self._shape(root, definition)
        initial = previous is None or previous.partitions != shape
        inputs = "" if initial or self.focus is not None else self.inputs_of(root, condition)
        if inputs and previous is not None and previous.quiet_inputs == inputs:
            # A fixed point: the last evaluation read exactly this and found nothing new.
            self._requested(root, previous.requested)
            tree = _Result(previous.requested, None, condition, len(self.full(root)), [])
            return AssetEvaluation(root, previous.requested, tree, previous)
        state = _AssetState(
            root=root,
            previous=previous,
            initial=initial,
            ids=self.memory_ids(condition),
        )
        self._stack = [condition]
        self.cron_fired = False
        self.noticed = initial
        result = self.node(state, condition, (), root, self.full(root))
        requested = frozenset(result.true & self.full(root))
        self._requested(root, requested)
        memory = AssetMemory(
            evaluated_ms=self.now_ms,
            requested=requested,
            nodes={k: v for k, v in state.nodes.items() if v},
            code_versions=state.code_versions,
            partitions=shape,
            quiet_inputs="" if self.noticed or self.cron_fired or not inputs else inputs,
        )
        return AssetEvaluation(root, requested, result, memory, cron_fired=self.cron_fired)

    def _shape(self, root: str, definition: PartitionsDefinition | None) -> str:
        if definition is None:
            return ""
        found = self._shapes.get(id(definition))
        if found is None:
            found = self._shapes[id(definition)] = fingerprint(definition.to_snapshot())
        return found

    def inputs_of(self, root: str, condition: AutomationCondition) -> str:
        """A digest of everything `condition` can read for `root` now: the facts of the asset
        and of the dependencies it looks at, their previous and current requests, the
        partitions that exist, the code version, and the latest tick of each cron it names.
        "" when it cannot be summed up so (it looks downstream)."""
        if condition.uses("any_downstream_conditions"):
            return ""
        assets = [root]
        level = [root]
        for _ in range(deps_depth(condition)):
            level = sorted({up for a in level for up in self.defs.upstream(a)})
            assets += level
        # the definitions: a deploy can change the condition, or the checks it reads
        parts: list[object] = [self.defs.content_hash, self.defs.assets[root].code_version]
        parts += [self._asset_inputs(asset) for asset in assets]
        for node in condition.clocked():
            if node.kind == "cron_tick_passed":
                assert node.cron is not None
                tick = CronSchedule.parse(node.cron).latest_tick(self.now, node.timezone or "UTC")
                parts.append(None if tick is None else tick.timestamp())
            elif node.kind == "in_latest_time_window":
                parts.append(sorted(self.latest_window(root, node.lookback_seconds)))
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def _asset_inputs(self, asset: str) -> str:
        """What `inputs_of` reads of one asset. An asset is read by every child that looks at
        it: summed up once, again only after its own requests of this evaluation are known."""
        found = self._inputs.get(asset)
        if found is None:
            facts = self.facts_of(asset)
            last = self.memory.get(asset)
            found = self._inputs[asset] = repr(
                (
                    asset,
                    sorted((k, m.version) for k, m in facts.materialized.items()),
                    sorted(facts.run_in_progress),
                    sorted(facts.backfill_in_progress),
                    sorted(facts.failed),
                    sorted((n, sorted(p)) for n, p in facts.checks_passed.items()),
                    sorted((n, sorted(p)) for n, p in facts.checks_failed.items()),
                    sorted(last.requested) if last is not None else None,
                    sorted(self.requested.get(asset, EMPTY)),
                    self._existing(asset),
                )
            )
        return found

    def _requested(self, asset: str, subset: Subset) -> None:
        """Record what `asset` requests in this evaluation (its children read it)."""
        self.requested[asset] = subset
        self._inputs.pop(asset, None)

    def _existing(self, asset: str) -> object:
        """What says which partitions exist: their count when partitions are only ever
        appended (time windows, static keys), the keys themselves when some can be deleted
        (dynamic keys: one deleted and one added keep the count)."""
        definition = self._defs_of[asset]
        if definition is not None and _has_dynamic(definition):
            return sorted(self.full(asset))
        return len(self.full(asset))

    def failed(self, root: str, condition: AutomationCondition, error: str) -> AssetEvaluation:
        """An asset whose condition raised: nothing requested, its memory left as it was (the
        next evaluation tries again), the error kept."""
        self._requested(root, EMPTY)
        previous = self.memory.get(root)
        memory = previous or AssetMemory(evaluated_ms=self.now_ms)
        tree = _Result(EMPTY, None, condition, 0, [])
        return AssetEvaluation(root, EMPTY, tree, memory, error=error[:2000])

    def node(
        self,
        state: _AssetState,
        c: AutomationCondition,
        path: Path,
        key: str,
        candidate: Subset,
    ) -> _Result:
        if not candidate and not self.stateful(c):
            # nothing to decide and nothing to remember: every enclosing operator clips this
            # result to an empty candidate
            return _Result(EMPTY, None, c, 0, [])
        kind = c.kind
        timing: Timing | None = None
        children: list[_Result] = []
        if kind == "and":
            true = candidate
            for i, operand in enumerate(c.operands):
                r = self.node(state, operand, (*path, i), key, true)
                children.append(r)
                true = true & r.true
        elif kind == "or":
            true = EMPTY
            for i, operand in enumerate(c.operands):
                r = self.node(state, operand, (*path, i), key, candidate)
                children.append(r)
                true = true | r.true
        elif kind == "not":
            r = self.node(state, c.operands[0], (*path, 0), key, candidate)
            children.append(r)
            true = candidate - r.true
        elif kind == "since":
            true, timing = self.since(state, c, path, key, children)
        elif kind == "newly_true":
            r = self.node(state, c.operands[0], (*path, 0), key, self.full(key))
            children.append(r)
            memory_id = state.memory_id(path, key)
            before = state.remembered(memory_id)
            state.nodes[memory_id] = r.true
            newly = r.true - before
            if newly:
                self.noticed = True  # the same inputs again would not make it newly true
            true = candidate & newly
        elif kind in ("any_deps", "all_deps"):
            true, timing = self.deps(state, c, path, key, candidate, children)
        elif kind in ("any_checks", "all_checks"):
            true = self.checks(state, c, path, key, candidate, children)
        elif kind == "any_downstream_conditions":
            true = self.downstream(state, path, key, candidate, children)
        else:
            true, timing = self.operand(state, c, path, key, candidate)
        holds = None
        if self.focus is not None and key == state.root:
            holds = self.focus in true
        return _Result(true, timing, c, len(candidate), children, holds)

    def memory_ids(self, c: AutomationCondition) -> Mapping[Path, str]:
        found = self._ids.get(id(c))
        if found is None:
            found = self._ids[id(c)] = memory_ids(c)
            self._keep.append(c)
        return found

    def stateful(self, c: AutomationCondition) -> bool:
        """Whether `c` or a node below it remembers something (it must be evaluated even when
        its result cannot matter)."""
        return any(c.uses(kind) for kind in _REMEMBERING)

    def since(
        self,
        state: _AssetState,
        c: AutomationCondition,
        path: Path,
        key: str,
        children: list[_Result],
    ) -> tuple[Subset, Timing | None]:
        full = self.full(key)
        trigger = self.node(state, c.operands[0], (*path, 0), key, full)
        reset = self.node(state, c.operands[1], (*path, 1), key, full)
        children += [trigger, reset]
        memory_id = state.memory_id(path, key)
        true = (state.remembered(memory_id) | trigger.true) - reset.true
        both = trigger.true & reset.true
        if both and trigger.timing and reset.timing:
            # the same evaluation saw both: the trigger wins where it came strictly later
            later, earlier = trigger.timing, reset.timing
            true |= {p for p in both if p in later and (p not in earlier or earlier[p] < later[p])}
        state.nodes[memory_id] = true
        return true, trigger.timing

    def deps(
        self,
        state: _AssetState,
        c: AutomationCondition,
        path: Path,
        key: str,
        candidate: Subset,
        children: list[_Result],
    ) -> tuple[Subset, Timing | None]:
        deps = self.dep_keys(key, c)
        any_ = c.kind == "any_deps"
        true = EMPTY if any_ else candidate
        merged: Timing = {}
        for dep in deps:
            up = self.map_up(key, dep, candidate)
            r = self.node(state, c.operands[0], (*path, 0), dep, up)
            mapped = self.map_down(dep, key, r.true)
            r.key, r.candidate_count = dep, len(up)
            children.append(r)
            if any_:
                true = true | mapped
                if r.timing:
                    merged.update(self.map_timing(dep, key, r.timing, merged))
            else:
                true = true & mapped
        if any_:
            true = candidate & true
            return true, (merged or None)
        return true, None

    def checks(
        self,
        state: _AssetState,
        c: AutomationCondition,
        path: Path,
        key: str,
        candidate: Subset,
        children: list[_Result],
    ) -> Subset:
        """`any_checks_match`/`all_checks_match`: the operand evaluated for each check of
        `key` (its blocking ones, with `blocking_only`), in name order, on the same partitions
        (a check's result is recorded per partition of its asset)."""
        names = sorted(
            check.name
            for check in self.defs.assets[key].checks
            if check.blocking or not c.blocking_only
        )
        any_ = c.kind == "any_checks"
        true = EMPTY if any_ else candidate
        for name in names:
            self._check = name
            try:
                r = self.node(state, c.operands[0], (*path, 0), key, candidate)
            finally:
                self._check = None
            r.key = f"{key}:{name}"  # Dagster's check key
            children.append(r)
            true = (true | r.true) if any_ else (true & r.true)
        return candidate & true

    def downstream(
        self,
        state: _AssetState,
        path: Path,
        key: str,
        candidate: Subset,
        children: list[_Result],
    ) -> Subset:
        """`any_downstream_conditions()`: every distinct condition of the assets downstream of
        `key`, evaluated on `key` itself, or'ed (each remembers under its own ids)."""
        found: dict[AutomationCondition, set[str]] = {}
        for asset in self.defs.topological_order():
            if asset == key or not self.is_descendant(key, asset):
                continue
            condition = self.defs.assets[asset].automation_condition
            simplified = None if condition is None else strip_downstream(condition)
            if simplified is not None:
                found.setdefault(simplified, set()).add(asset)
        true = EMPTY
        for condition, assets in sorted(found.items(), key=lambda x: sorted(x[1])):
            if condition in self._stack:
                continue  # already being evaluated above: Dagster skips it too
            # named by the condition's structure, not its place among the others, so a
            # descendant added or removed leaves the others' memory alone
            prefix = state.memory_id_or_path(path, key) + f"/{structure_id(condition)}:"
            scoped = _AssetState(
                root=state.root,
                previous=state.previous,
                initial=state.initial,
                ids={p: prefix + mid for p, mid in memory_ids(condition).items()},
                nodes=state.nodes,
                code_versions=state.code_versions,
            )
            self._stack.append(condition)
            try:
                r = self.node(scoped, condition, (), key, candidate)
            finally:
                self._stack.pop()
            r.key = ",".join(sorted(assets))
            children.append(r)
            true = true | r.true
        return true

    def is_descendant(self, ancestor: str, asset: str) -> bool:
        if ancestor not in self._descendants:
            seen: set[str] = set()
            stack = [ancestor]
            while stack:
                for child in self.defs.downstream(stack.pop()):
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
            self._descendants[ancestor] = seen
        return asset in self._descendants[ancestor]

    def map_timing(self, parent: str, child: str, timing: Timing, merged: Timing) -> Timing:
        out: Timing = {}
        if len(timing) > _TIMED_LIMIT:
            return {k: self.now_ms for k in self.map_down(parent, child, frozenset(timing))}
        for up_key, ms in timing.items():
            for down_key in self.map_down(parent, child, frozenset({up_key})):
                out[down_key] = max(ms, out.get(down_key, merged.get(down_key, ms)))
        return out

    def dep_keys(self, key: str, c: AutomationCondition) -> list[str]:
        cache_key = (key, c.allow_selection, c.ignore_selection)
        found = self._dep_keys.get(cache_key)
        if found is None:
            found = self._dep_keys[cache_key] = self._select_deps(key, c)
        return found

    def _select_deps(self, key: str, c: AutomationCondition) -> list[str]:
        deps = set(self.defs.upstream(key))
        if c.allow_selection is not None or c.ignore_selection is not None:
            # a selection naming an asset no longer deployed selects nothing of it (Dagster's
            # allow_missing), rather than failing every evaluation
            if c.allow_selection is not None:
                deps &= _selected(c.allow_selection, self.defs)
            if c.ignore_selection is not None:
                deps -= _selected(c.ignore_selection, self.defs)
        return sorted(deps)

    def operand(
        self,
        state: _AssetState,
        c: AutomationCondition,
        path: Path,
        key: str,
        candidate: Subset,
    ) -> tuple[Subset, Timing | None]:
        return _OPERANDS[c.kind](self, state, c, path, key, candidate)

    def _missing(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return candidate - self.facts_of(key).materialized.keys(), None

    def _run_in_progress(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return self.facts_of(key).run_in_progress, None

    def _backfill_in_progress(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return self.facts_of(key).backfill_in_progress, None

    def _execution_failed(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return self.facts_of(key).failed, None

    def _newly_updated(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        new, timing = self.newly_updated(key)
        if new:
            self.noticed = True
        return new, (dict(timing) if timing else None)

    def _newly_requested(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        last = self.memory.get(key)
        if last is None or state.previous is None or not last.requested:
            return EMPTY, None
        self.noticed = True
        return last.requested, {p: last.evaluated_ms for p in last.requested}

    def _will_be_requested(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        if self._check is not None:
            # A check is requested only through a condition of its own, which Arco's checks
            # do not have (they run with their asset): as in Dagster for such a check, never.
            return EMPTY, None
        # requests of this evaluation upstream, when the root could run in the same run
        requested = self.requested.get(key, EMPTY)
        if not requested or key == state.root or not self.same_run(state.root, key):
            return EMPTY, None
        self.noticed = True
        return requested, None

    def _check_passed(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        assert self._check is not None  # definitions keep check operands inside checks operators
        return candidate & self.facts_of(key).checks_passed.get(self._check, EMPTY), None

    def _check_failed(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        assert self._check is not None
        return candidate & self.facts_of(key).checks_failed.get(self._check, EMPTY), None

    def _initial_evaluation(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return (candidate if state.initial else EMPTY), None

    def _in_latest_time_window(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        return self.latest_window(key, c.lookback_seconds), None

    def _cron_tick_passed(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        if state.previous is None:
            return EMPTY, None
        assert c.cron is not None
        tick = CronSchedule.parse(c.cron).latest_tick(self.now, c.timezone or "UTC")
        if tick is None:
            return EMPTY, None
        tick_ms = int(tick.timestamp() * 1000)
        if tick_ms < state.previous.evaluated_ms:
            return EMPTY, None
        if candidate:
            self.cron_fired = True
        return candidate, dict.fromkeys(candidate, tick_ms)

    def _code_version_changed(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        memory_id = state.memory_id(path, key)
        current = self.defs.assets[key].code_version or ""
        stored = state.previous.code_versions.get(memory_id) if state.previous else None
        state.code_versions[memory_id] = current
        if stored is not None and stored != current:
            self.noticed = True
            return candidate, None
        return EMPTY, None

    def _executed_with_root_target(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        if key == state.root:
            return EMPTY, None
        materialized = self.facts_of(key).materialized
        return frozenset(
            p
            for p, m in materialized.items()
            if m.run_id is not None and state.root in self.run_targets.get(m.run_id, ())
        ), None

    def _executed_with_tags(
        self, state: _AssetState, c: AutomationCondition, path: Path, key: str, candidate: Subset
    ) -> tuple[Subset, Timing | None]:
        # Dagster reads the asset's latest materialization only: of a partitioned asset, the
        # partition materialized last can hold, no other
        materialized = self.facts_of(key).materialized
        if not materialized:
            return EMPTY, None
        partition, latest = max(materialized.items(), key=lambda item: item[1].version)
        tags = self.run_tags.get(latest.run_id) if latest.run_id is not None else None
        if partition not in candidate or tags is None:
            return EMPTY, None
        if c.tag_keys and not all(k in tags for k in c.tag_keys):
            return EMPTY, None
        if c.tag_values and not all(tags.get(k) == v for k, v in c.tag_values):
            return EMPTY, None
        return frozenset({partition}), None


# Kinds whose node remembers something (`any_downstream_conditions()`: its descendants'
# conditions, evaluated on the asset, may).
_REMEMBERING = (*sorted(STATEFUL), "any_downstream_conditions")

# Every operand but `any_downstream_conditions()` (evaluated by `downstream`) has its method.
_OPERANDS: dict[str, Callable[..., tuple[Subset, Timing | None]]] = {
    kind: getattr(_Evaluation, f"_{kind}")
    for kind in sorted(OPERANDS - {"any_downstream_conditions"})
}


@dataclass
class _AssetState:
    root: str
    previous: AssetMemory | None
    initial: bool
    ids: Mapping[Path, str]
    nodes: dict[str, Subset] = field(default_factory=dict)
    code_versions: dict[str, str] = field(default_factory=dict)

    def memory_id(self, path: Path, key: str) -> str:
        base = self.ids[path]
        return base if key == self.root else f"{base}@{key}"

    def memory_id_or_path(self, path: Path, key: str) -> str:
        """A stable name for a stateless node (`any_downstream_conditions()`): its path."""
        base = self.ids.get(path, "adc" + "".join(f".{i}" for i in path))
        return base if key == self.root else f"{base}~{key}"

    def remembered(self, memory_id: str) -> Subset:
        if self.previous is None:
            return EMPTY
        return self.previous.nodes.get(memory_id, EMPTY)


def _selected(text: str, defs: DefinitionsSnapshot) -> set[str]:
    from arco.domain.errors import InvalidInput
    from arco.domain.selection import select_assets  # it imports definitions

    try:
        return set(select_assets(text, defs))
    except InvalidInput:
        return set()


def structure_id(condition: AutomationCondition) -> str:
    """A short stable name of a condition's structure (labels left out)."""
    return fingerprint(structure(condition), 8)


def _has_dynamic(definition: PartitionsDefinition) -> bool:
    if isinstance(definition, DynamicPartitionsDefinition):
        return True
    if isinstance(definition, MultiPartitionsDefinition):
        return any(
            isinstance(d, DynamicPartitionsDefinition) for d in definition.dimensions.values()
        )
    return False


def _time_dimension(
    definition: PartitionsDefinition | None,
) -> TimeWindowPartitionsDefinition | None:
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition
    if isinstance(definition, MultiPartitionsDefinition):
        for dimension in definition.dimensions.values():
            if isinstance(dimension, TimeWindowPartitionsDefinition):
                return dimension
    return None


def evaluate_automation(
    defs: DefinitionsSnapshot,
    facts: Mapping[str, AssetFacts],
    memory: Mapping[str, AssetMemory],
    updates: Updates | None,
    now_ms: int,
    *,
    run_targets: Mapping[str, frozenset[str]] | None = None,
    run_tags: Mapping[str, Mapping[str, str]] | None = None,
    lookback_ms: int = 120_000,
    dynamic: Dynamic = NO_DYNAMIC,
    assets: Iterable[str] | None = None,
    focus: str | None = None,
) -> list[AssetEvaluation]:
    """Evaluate the condition of every asset that has one (or of `assets`), upstream first.

    `updates` is what the previous evaluation saw (None before the first one); `run_targets`
    maps a run id to the assets it targeted (for `executed_with_root_target`); `focus`, a
    partition key, marks in each node's result whether it held for that partition.
    """
    evaluation = _Evaluation(
        defs,
        facts,
        memory,
        updates,
        run_targets or {},
        now_ms,
        lookback_ms,
        dynamic,
        focus,
        run_tags,
    )
    wanted = None if assets is None else set(assets)
    out: list[AssetEvaluation] = []
    for asset in defs.topological_order():
        condition = defs.assets[asset].automation_condition
        if condition is None or (wanted is not None and asset not in wanted):
            continue
        try:
            out.append(evaluation.evaluate(asset, condition))
        except Exception as exc:  # one asset's failure stays its own
            out.append(evaluation.failed(asset, condition, f"{type(exc).__name__}: {exc}"))
    return out
