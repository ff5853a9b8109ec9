"""Run plans: the tasks (asset x partition) of one run and the order they may run in.

```python
assets = select_assets("+key:report", defs)
partitions = resolve_partitions(defs, assets, None, ("2024-01-01", "2024-01-07"), now)
plan = plan_run(defs, assets, partitions, now)
plan.ready(done=set())              # the tasks that can start now
retry = from_failure(plan, succeeded={...})   # Dagster's re-execute FROM_FAILURE
```

A run materializes each selected asset for its partitions (unpartitioned assets once). A task
depends on the tasks of the same run that its partition mappings name upstream: identity for
equal definitions, the overlapping windows between time-window definitions (hourly -> daily:
24 tasks), every partition for an unpartitioned downstream, the single task of an unpartitioned
upstream. Upstream partitions outside the run (not selected, not in the range, or nonexistent)
give no edge: selecting an asset never pulls in others, as in Dagster.

Pure: `now` (aware) and the dynamic partition keys are arguments. Every error is an
`InvalidInput` naming the asset, partition or task at fault.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings import AllPartitionMapping
from arco.domain.partitions import (
    NO_DYNAMIC,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now

__all__ = [
    "PLAN_FORMAT",
    "PlannedTask",
    "RunPlan",
    "TaskKey",
    "from_failure",
    "plan_run",
    "resolve_partitions",
]

PLAN_FORMAT = 1
"""The version of `RunPlan.to_json`'s form."""

Dynamic = Mapping[str, Sequence[str]]


# --- tasks and plans ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class TaskKey:
    """One asset, for one partition (None: the asset is unpartitioned)."""

    asset: str
    partition: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.asset, str) or not self.asset:
            raise InvalidInput(f"task asset must be a non-empty string, got {self.asset!r}")
        if self.partition is not None and (
            not isinstance(self.partition, str) or not self.partition
        ):
            raise InvalidInput(
                f"task {self.asset!r}: partition must be a non-empty string or None, "
                f"got {self.partition!r}"
            )

    def __str__(self) -> str:
        return self.asset if self.partition is None else f"{self.asset}[{self.partition}]"


@dataclass(frozen=True)
class PlannedTask:
    """A task and the tasks of the same plan it waits for."""

    key: TaskKey
    depends_on: tuple[TaskKey, ...] = ()


@dataclass(frozen=True)
class RunPlan:
    """The tasks of one run, in topological order (assets in the definitions' topological
    order, each asset's partitions in definition order); every edge points to an earlier task.
    """

    tasks: tuple[PlannedTask, ...]

    def __post_init__(self) -> None:
        tasks = tuple(self.tasks)
        object.__setattr__(self, "tasks", tasks)
        seen: set[TaskKey] = set()
        for task in tasks:
            if not isinstance(task, PlannedTask) or not isinstance(task.key, TaskKey):
                raise InvalidInput("run plan: tasks must be PlannedTask values with a TaskKey")
            if task.key in seen:
                raise InvalidInput(f"run plan: task {str(task.key)!r} appears more than once")
            for dep in task.depends_on:
                if dep not in seen:
                    raise InvalidInput(
                        f"run plan: task {str(task.key)!r} depends on {str(dep)!r}, which is "
                        "not an earlier task of the plan"
                    )
            seen.add(task.key)

    # -- lookups --

    @cached_property
    def _position(self) -> Mapping[TaskKey, int]:
        return {task.key: i for i, task in enumerate(self.tasks)}

    @cached_property
    def _children(self) -> Mapping[TaskKey, tuple[TaskKey, ...]]:
        children: dict[TaskKey, list[TaskKey]] = {task.key: [] for task in self.tasks}
        for task in self.tasks:
            for dep in task.depends_on:
                children[dep].append(task.key)
        return {key: tuple(keys) for key, keys in children.items()}

    @property
    def keys(self) -> tuple[TaskKey, ...]:
        """Every task key, in plan order."""
        return tuple(task.key for task in self.tasks)

    def __len__(self) -> int:
        return len(self.tasks)

    def __contains__(self, key: object) -> bool:
        return key in self._position

    def task(self, key: TaskKey) -> PlannedTask:
        """The planned task `key` (InvalidInput if it is not in the plan)."""
        self._check_keys((key,))
        return self.tasks[self._position[key]]

    def _check_keys(self, keys: Iterable[TaskKey]) -> None:
        for key in keys:
            if key not in self._position:
                raise InvalidInput(f"task {str(key)!r} is not in this run plan")

    # -- questions a run asks --

    def ready(self, done: Collection[TaskKey]) -> tuple[TaskKey, ...]:
        """Tasks not in `done` whose dependencies all are, in plan order (keys of `done` that
        are not in the plan are ignored)."""
        finished = done if isinstance(done, set | frozenset) else set(done)
        return tuple(
            task.key
            for task in self.tasks
            if task.key not in finished and all(dep in finished for dep in task.depends_on)
        )

    def downstream_of(self, keys: Collection[TaskKey]) -> frozenset[TaskKey]:
        """Every task that depends, directly or not, on one of `keys` (the keys themselves
        only if they depend on another of them)."""
        self._check_keys(keys)
        found: set[TaskKey] = set()
        stack = list(keys)
        while stack:
            for child in self._children[stack.pop()]:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return frozenset(found)

    def subset(self, keys: Collection[TaskKey]) -> RunPlan:
        """Only the tasks `keys`, in plan order, with the edges among them.

        Edges through tasks left out are not bridged: a subset closed downstream (as
        `from_failure` builds) loses none.
        """
        self._check_keys(keys)
        kept = keys if isinstance(keys, set | frozenset) else set(keys)
        return RunPlan(
            tuple(
                PlannedTask(task.key, tuple(dep for dep in task.depends_on if dep in kept))
                for task in self.tasks
                if task.key in kept
            )
        )

    # -- serialisation --

    def to_json(self) -> dict[str, Any]:
        """A compact form for a ledger event.

        `{"format": 1, "assets": [names], "tasks": [[asset index, partition or null, deps]]}`,
        where deps lists the positions of earlier tasks: single positions, and runs of three
        or more as inclusive `[first, last]` pairs (24 hourly tasks are one pair).
        """
        assets: dict[str, int] = {}
        rows: list[list[Any]] = []
        for task in self.tasks:
            number = assets.setdefault(task.key.asset, len(assets))
            deps = sorted(self._position[dep] for dep in task.depends_on)
            rows.append([number, task.key.partition, _compress(deps)])
        return {"format": PLAN_FORMAT, "assets": list(assets), "tasks": rows}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunPlan:
        """Parse (and validate) what `to_json` wrote; InvalidInput if it is malformed."""
        if not isinstance(data, Mapping):
            raise InvalidInput("run plan must be a JSON object")
        if data.get("format") != PLAN_FORMAT:
            raise InvalidInput(
                f"run plan format {data.get('format')!r} is not supported "
                f"(this version of arco reads format {PLAN_FORMAT})"
            )
        assets = data.get("assets")
        rows = data.get("tasks")
        if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
            raise InvalidInput("run plan: 'assets' must be a list of asset keys")
        if not isinstance(rows, list):
            raise InvalidInput("run plan: 'tasks' must be a list")
        keys: list[TaskKey] = []
        tasks: list[PlannedTask] = []
        for position, row in enumerate(rows):
            if (
                not isinstance(row, list)
                or len(row) != 3
                or not _is_index(row[0], len(assets))
                or not isinstance(row[2], list)
            ):
                raise InvalidInput(
                    f"run plan: task {position} must be [asset index, partition, dependencies]"
                )
            key = TaskKey(assets[row[0]], row[1])
            deps = [keys[i] for i in _expand(row[2], position)]
            keys.append(key)
            tasks.append(PlannedTask(key, tuple(deps)))
        return cls(tuple(tasks))


def _compress(positions: Sequence[int]) -> list[int | list[int]]:
    out: list[int | list[int]] = []
    i = 0
    while i < len(positions):
        j = i
        while j + 1 < len(positions) and positions[j + 1] == positions[j] + 1:
            j += 1
        if j - i >= 2:
            out.append([positions[i], positions[j]])
        else:
            out.extend(positions[i : j + 1])
        i = j + 1
    return out


def _is_index(value: object, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit


def _expand(items: list[Any], position: int) -> list[int]:
    out: list[int] = []
    for item in items:
        if _is_index(item, position):
            out.append(item)
        elif (
            isinstance(item, list)
            and len(item) == 2
            and _is_index(item[0], position)
            and _is_index(item[1], position)
            and item[0] <= item[1]
        ):
            out.extend(range(item[0], item[1] + 1))
        else:
            raise InvalidInput(
                f"run plan: task {position} has a bad dependency {item!r} (dependencies are "
                "positions of earlier tasks, or inclusive [first, last] runs of them)"
            )
    return out


# --- which partitions a run covers ---------------------------------------------------------------


def _selected(defs: DefinitionsSnapshot, assets: Sequence[str]) -> tuple[str, ...]:
    """`assets` without duplicates, in topological order (InvalidInput for unknown keys)."""
    if isinstance(assets, str) or not isinstance(assets, Iterable):
        raise InvalidInput(f"assets must be a list of asset keys, not {assets!r}")
    chosen = set()
    for key in assets:
        if not isinstance(key, str) or key not in defs.assets:
            raise InvalidInput(f"unknown asset {key!r} in code location {defs.code_location!r}")
        chosen.add(key)
    if not chosen:
        raise InvalidInput("no assets selected: a run needs at least one asset")
    return tuple(key for key in defs.topological_order() if key in chosen)


def _definition_order(
    pdef: PartitionsDefinition, keys: Iterable[str], dynamic: Dynamic
) -> tuple[str, ...]:
    """`keys` (all of the definition) without duplicates, in the definition's order."""
    unique = list(dict.fromkeys(keys))
    if len(unique) < 2:
        return tuple(unique)
    space = pdef.key_space(dynamic)
    return tuple(sorted(unique, key=lambda k: space.index_of(k) or 0))


def _present_keys(
    asset: str,
    pdef: PartitionsDefinition,
    keys: Iterable[str],
    now: datetime,
    dynamic: Dynamic,
) -> tuple[str, ...]:
    """`keys` in definition order, each checked present at `now` (InvalidInput naming it)."""
    unique = list(dict.fromkeys(keys))
    known: Collection[str] | None = None
    if not isinstance(pdef, TimeWindowPartitionsDefinition) and len(unique) > 1:
        known = set(pdef.keys(now, dynamic))
    for key in unique:
        if not isinstance(key, str):
            raise InvalidInput(f"asset {asset!r}: partition {key!r} must be a string")
        present = key in known if known is not None else pdef.has_key(key, now, dynamic)
        if not present:
            raise InvalidInput(
                f"asset {asset!r}: partition key {key!r} is not in {pdef.describe()}"
            )
    return _definition_order(pdef, unique, dynamic)


def _keys_in_range(
    anchor: str,
    pdef: PartitionsDefinition,
    start: str,
    end: str,
    now: datetime,
    dynamic: Dynamic,
) -> tuple[str, ...]:
    try:
        if isinstance(pdef, TimeWindowPartitionsDefinition):
            return tuple(pdef.keys_in_range(start, end, now))
        keys = pdef.keys(now, dynamic)
        positions = {key: i for i, key in enumerate(keys)}
        for key in (start, end):
            if key not in positions:
                raise InvalidInput(f"partition key {key!r} is not in {pdef.describe()}")
        lo, hi = positions[start], positions[end]
        if lo > hi:
            raise InvalidInput(
                f"partition range {start!r}..{end!r} is reversed: {start!r} comes after {end!r}"
            )
        return tuple(keys[lo : hi + 1])
    except InvalidInput as exc:
        raise InvalidInput(f"asset {anchor!r}: {exc}") from exc


def resolve_partitions(
    defs: DefinitionsSnapshot,
    assets: Sequence[str],
    partition: str | None,
    partition_range: tuple[str, str] | None,
    now: datetime,
    dynamic: Dynamic = NO_DYNAMIC,
) -> dict[str, tuple[str | None, ...]]:
    """The partitions each selected asset runs for, keyed by asset in topological order.

    Unpartitioned assets run once: `(None,)`. The request's `partition` (or inclusive
    `partition_range`) names keys of the *anchor*, the first partitioned selected asset in
    topological order; every selected asset with the anchor's partitions definition gets those
    keys. Each other partitioned asset gets the keys that its partition mappings map from a
    resolved selected neighbour (downstream from an upstream, upstream from a downstream, the
    union if several), repeated until nothing changes; an asset no mapping reaches (or that
    gets no key) is an InvalidInput naming it.
    """
    check_now(now)
    order = _selected(defs, assets)
    if partition is not None and partition_range is not None:
        raise InvalidInput("give either a partition or a partition range, not both")
    if partition is not None and not isinstance(partition, str):
        raise InvalidInput(f"partition must be a string, not {partition!r}")
    if partition_range is not None and (
        not isinstance(partition_range, tuple | list)
        or len(partition_range) != 2
        or not all(isinstance(k, str) for k in partition_range)
    ):
        raise InvalidInput(
            f"partition range must be a (first key, last key) pair, not {partition_range!r}"
        )
    pdefs = {key: defs.assets[key].partitions for key in order}
    partitioned = [key for key in order if pdefs[key] is not None]
    requested = partition is not None or partition_range is not None
    if not partitioned:
        if requested:
            shown = repr(partition) if partition is not None else repr(tuple(partition_range or ()))
            raise InvalidInput(
                f"partition {shown} was given but no selected asset is partitioned "
                f"({', '.join(order)})"
            )
        return {key: (None,) for key in order}
    anchor = partitioned[0]
    anchor_def = pdefs[anchor]
    assert anchor_def is not None
    if not requested:
        raise InvalidInput(f"asset {anchor!r} is partitioned: give --partition or --from/--to")
    if partition is not None:
        try:
            anchor_def.validate_key(partition, now, dynamic)
        except InvalidInput as exc:
            raise InvalidInput(f"asset {anchor!r}: {exc}") from exc
        anchor_keys: tuple[str, ...] = (partition,)
    else:
        assert partition_range is not None
        start, end = partition_range
        anchor_keys = _keys_in_range(anchor, anchor_def, start, end, now, dynamic)

    resolved: dict[str, tuple[str, ...]] = {
        key: anchor_keys for key in partitioned if pdefs[key] == anchor_def
    }
    pending = [key for key in partitioned if key not in resolved]
    progress = True
    while pending and progress:
        progress = False
        for key in list(pending):
            mapped = _map_from_neighbours(defs, key, pdefs, resolved, now, dynamic)
            if mapped is None:
                continue
            target = pdefs[key]
            assert target is not None
            keys = _definition_order(target, mapped, dynamic)
            if not keys:
                raise InvalidInput(
                    f"asset {key!r}: none of its partitions map from the requested partitions "
                    f"of {anchor!r}; choose other partitions or run {key!r} separately"
                )
            resolved[key] = keys
            pending.remove(key)
            progress = True
    if pending:
        key = pending[0]
        target = pdefs[key]
        assert target is not None
        raise InvalidInput(
            f"asset {key!r} has other partitions ({target.describe()}) than {anchor!r} "
            f"({anchor_def.describe()}) and no dependency among the selected partitioned "
            f"assets maps {anchor!r}'s partitions to it; run {key!r} separately"
        )
    return {key: resolved.get(key, (None,)) for key in order}


def _map_from_neighbours(
    defs: DefinitionsSnapshot,
    key: str,
    pdefs: Mapping[str, PartitionsDefinition | None],
    resolved: Mapping[str, tuple[str, ...]],
    now: datetime,
    dynamic: Dynamic,
) -> list[str] | None:
    """The keys of `key` mapped from its resolved neighbours (None if it has none)."""
    found: list[str] | None = None
    for upstream in defs.upstream(key):
        if upstream in resolved:
            mapping = defs.mapping_for(key, upstream)
            found = (found or []) + list(
                mapping.downstream_partitions(
                    pdefs[upstream], resolved[upstream], pdefs[key], now, dynamic
                )
            )
    for downstream in defs.downstream(key):
        if downstream in resolved:
            mapping = defs.mapping_for(downstream, key)
            result = mapping.upstream_partitions(
                pdefs[downstream], resolved[downstream], pdefs[key], now, dynamic
            )
            found = (found or []) + list(result.keys)
    return found


# --- planning ----------------------------------------------------------------------------------


def plan_run(
    defs: DefinitionsSnapshot,
    assets: Sequence[str],
    partitions: Mapping[str, Sequence[str | None]],
    now: datetime,
    dynamic: Dynamic = NO_DYNAMIC,
) -> RunPlan:
    """A task per selected asset and partition, with edges to the upstream tasks of the plan.

    `partitions` gives every selected asset its partitions (`(None,)` when unpartitioned), as
    `resolve_partitions` does; partitions are put in definition order. A task depends on the
    tasks of its selected upstream assets that the edge's partition mapping names
    (`upstream_partitions(...).keys`; an unpartitioned upstream: its single task). Upstream
    assets outside the selection are not added.
    """
    check_now(now)
    order = _selected(defs, assets)
    if not isinstance(partitions, Mapping):
        raise InvalidInput("partitions must map each selected asset to its partition keys")
    extra = sorted(set(partitions) - set(order), key=str)
    if extra:
        raise InvalidInput(f"partitions given for asset {extra[0]!r}, which is not selected")

    per_asset: dict[str, tuple[str | None, ...]] = {}
    for key in order:
        if key not in partitions:
            raise InvalidInput(f"no partitions given for selected asset {key!r}")
        given = partitions[key]
        if isinstance(given, str) or not isinstance(given, Sequence):
            raise InvalidInput(
                f"asset {key!r}: partitions must be a list of partition keys, not {given!r}"
            )
        pdef = defs.assets[key].partitions
        if pdef is None:
            if any(p is not None for p in given) or not given:
                raise InvalidInput(
                    f"asset {key!r} is unpartitioned: its partitions must be [None], "
                    f"not {list(given)!r}"
                )
            per_asset[key] = (None,)
            continue
        if not given:
            raise InvalidInput(f"asset {key!r}: no partitions to run")
        if any(p is None for p in given):
            raise InvalidInput(f"asset {key!r} is partitioned: every task needs a partition key")
        per_asset[key] = _present_keys(key, pdef, [p for p in given if p is not None], now, dynamic)

    task_keys: dict[str, dict[str | None, TaskKey]] = {
        key: {p: TaskKey(key, p) for p in per_asset[key]} for key in order
    }
    rank = {task: i for i, task in enumerate(t for key in order for t in task_keys[key].values())}
    tasks: list[PlannedTask] = []
    for key in order:
        node = defs.assets[key]
        edges: dict[str | None, list[TaskKey]] = {p: [] for p in per_asset[key]}
        for upstream in defs.upstream(key):
            if upstream not in task_keys:
                continue
            for part, deps in edges.items():
                deps.extend(
                    _upstream_tasks(
                        defs, key, node.partitions, part, upstream, task_keys, now, dynamic
                    )
                )
        for part in per_asset[key]:
            deps = sorted(edges[part], key=rank.__getitem__)
            tasks.append(PlannedTask(task_keys[key][part], tuple(deps)))
    return RunPlan(tuple(tasks))


def _upstream_tasks(
    defs: DefinitionsSnapshot,
    key: str,
    pdef: PartitionsDefinition | None,
    part: str | None,
    upstream: str,
    task_keys: Mapping[str, Mapping[str | None, TaskKey]],
    now: datetime,
    dynamic: Dynamic,
) -> list[TaskKey]:
    """The tasks of `upstream` in the plan that task (`key`, `part`) depends on."""
    tasks = task_keys[upstream]
    upstream_def = defs.assets[upstream].partitions
    if upstream_def is None:
        return [tasks[None]]
    mapping = defs.mapping_for(key, upstream)
    if isinstance(mapping, AllPartitionMapping):
        return list(tasks.values())
    wanted = mapping.upstream_partitions(
        pdef, [] if part is None else [part], upstream_def, now, dynamic
    ).keys
    return [tasks[p] for p in wanted if p in tasks]


# --- re-execution ------------------------------------------------------------------------------


def from_failure(plan: RunPlan, succeeded: Collection[TaskKey]) -> RunPlan:
    """The plan of Dagster's re-execution FROM_FAILURE: every task that did not succeed
    (failed, interrupted, never started) and every task downstream of one, with the edges
    among them. Keys of `succeeded` outside the plan are ignored; InvalidInput if every task
    succeeded (nothing to re-execute)."""
    done = succeeded if isinstance(succeeded, set | frozenset) else set(succeeded)
    retry = [key for key in plan.keys if key not in done]
    if not retry:
        raise InvalidInput("nothing to re-execute: every task of the run succeeded")
    return plan.subset(set(retry) | plan.downstream_of(retry))
