"""Asset jobs: `define_asset_job`, and what schedules and sensors target once resolved.

```python
sales_job = define_asset_job("sales", AssetSelection.groups("sales"), tags={"team": "sales"})
defs = Definitions(assets=[...], jobs=[sales_job],
                   schedules=[ScheduleDefinition(job=sales_job, cron_schedule="0 6 * * *")])
```

A job is a named selection; `Definitions.snapshot` resolves it against the location's assets
into a `JobNode` (Dagster's `UnresolvedAssetJobDefinition.resolve`). As in Dagster, a job
materializes assets with code: `AssetSpec`s its selection matches are left out (naming one
explicitly is an error), and its partitioned assets share one partitions definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from arco.domain.definitions import (
    AssetNode,
    DefinitionsSnapshot,
    JobNode,
    validate_schedule_name,
    validate_tags,
)
from arco.domain.errors import InvalidInput
from arco.domain.partitions import PartitionsDefinition
from arco.domain.run_identity import json_tag_values
from arco.domain.selection import (
    And,
    KeyMatch,
    Or,
    Roots,
    Selection,
    Sinks,
    Traversal,
    select_assets,
)
from arco.sdk.assets import AssetKey, AssetsDefinition, AssetSpec, _coerce_key
from arco.sdk.selections import AssetSelection, CoercibleToAssetSelection

__all__ = ["UnresolvedAssetJobDefinition", "define_asset_job"]


@dataclass(frozen=True)
class UnresolvedAssetJobDefinition:
    """A job as `define_asset_job` returns it: a name and a selection, resolved to assets when
    its `Definitions` is compiled. `run_tags` are the tags meant for its runs (the snapshot's
    `job_run_tags`)."""

    name: str
    selection: AssetSelection
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    run_tags: Mapping[str, str] = field(default_factory=dict)
    partitions_def: PartitionsDefinition | None = None

    def __hash__(self) -> int:  # equal jobs have equal names
        return hash(self.name)

    def resolve(self, assets: DefinitionsSnapshot) -> JobNode:
        """The job's snapshot node against `assets`; InvalidInput names the job at fault."""
        owner = f"job {self.name!r}"
        keys = _select_executable(self.selection, assets, owner)
        partitions = {k: assets.assets[k].partitions for k in keys}
        partitioned = sorted(k for k, p in partitions.items() if p is not None)
        for key in partitioned:
            if self.partitions_def is not None and partitions[key] != self.partitions_def:
                raise InvalidInput(
                    f"{owner}: asset {key!r} is partitioned differently from the job's "
                    "partitions_def"
                )
            if partitions[key] != partitions[partitioned[0]]:
                raise InvalidInput(
                    f"{owner}: its partitioned assets do not share one partitions definition "
                    f"({partitioned[0]!r} and {key!r} differ)"
                )
        return JobNode(
            name=self.name,
            selection=str(self.selection),
            assets=keys,
            tags=self.tags,
            run_tags=self.run_tags,
            description=self.description,
        )

    def __repr__(self) -> str:
        return f"define_asset_job({self.name!r}, {str(self.selection)!r})"


def define_asset_job(
    name: str,
    selection: CoercibleToAssetSelection | None = None,
    *,
    description: str | None = None,
    tags: Mapping[str, object] | None = None,
    run_tags: Mapping[str, object] | None = None,
    partitions_def: PartitionsDefinition | None = None,
) -> UnresolvedAssetJobDefinition:
    """A job that materializes `selection` (default: every asset with code).

    `tags` describe the job and, unless `run_tags` is given, are also its run tags (Dagster's
    rule). `partitions_def` (optional, as in Dagster) must match the assets' own.
    """
    validate_schedule_name(name, "job")
    owner = f"job {name!r}"
    chosen = AssetSelection.all() if selection is None else AssetSelection.from_coercible(selection)
    if partitions_def is not None and not isinstance(partitions_def, PartitionsDefinition):
        raise InvalidInput(f"{owner}: partitions_def must be a PartitionsDefinition")
    if description is not None and not isinstance(description, str):
        raise InvalidInput(f"{owner}: description must be a string")
    definition_tags = validate_tags(json_tag_values(tags, owner), owner)
    explicit_run_tags = validate_tags(json_tag_values(run_tags, owner), f"{owner} run tags")
    return UnresolvedAssetJobDefinition(
        name=name,
        selection=chosen,
        description=description,
        tags=definition_tags,
        run_tags=explicit_run_tags or definition_tags,
        partitions_def=partitions_def,
    )


# --- resolution ------------------------------------------------------------------------------


def _named_keys(selection: Selection) -> set[str]:
    """Exact keys the selection names positively (not under a `not`)."""
    if isinstance(selection, KeyMatch):
        return set() if "*" in selection.pattern else {selection.pattern}
    if isinstance(selection, And | Or):
        return _named_keys(selection.left) | _named_keys(selection.right)
    if isinstance(selection, Traversal):
        return _named_keys(selection.selection)
    if isinstance(selection, Roots | Sinks) and selection.selection is not None:
        return _named_keys(selection.selection)
    return set()


def _select_executable(
    selection: AssetSelection, assets: DefinitionsSnapshot, owner: str
) -> tuple[str, ...]:
    """The assets with code that `selection` matches, sorted; an AssetSpec it names is an
    error, one it only matches is left out (Dagster: jobs materialize executable assets)."""
    try:
        found = select_assets(selection.selection, assets)
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from exc
    named = _named_keys(selection.selection)
    for key in found:
        if assets.assets[key].compute is None and key in named:
            raise InvalidInput(
                f"{owner} selects asset {key!r}, which has no code to run (an AssetSpec): "
                "a job materializes assets with code"
            )
    keys = tuple(sorted(k for k in found if assets.assets[k].compute is not None))
    if not keys:
        raise InvalidInput(f"{owner}: selection {str(selection)!r} matches no asset with code")
    return keys


JobLike = UnresolvedAssetJobDefinition | str  # a job, or a job's name


class JobResolver:
    """Resolves the jobs and selections of one code location against its assets (for
    `Definitions.snapshot`): every job once, and each job name to one job."""

    def __init__(
        self,
        code_location: str,
        assets: Mapping[str, AssetNode],
        jobs: Iterable[UnresolvedAssetJobDefinition] = (),
    ) -> None:
        self._code_location = code_location
        self._assets = dict(assets)
        self._jobs: dict[str, UnresolvedAssetJobDefinition] = {}
        self._nodes: dict[str, JobNode] = {}
        for job in jobs:
            self._add(job)

    def _add(self, job: UnresolvedAssetJobDefinition) -> None:
        if not isinstance(job, UnresolvedAssetJobDefinition):
            raise InvalidInput(
                f"Definitions(jobs=...) takes jobs made by define_asset_job, "
                f"not {type(job).__name__}"
            )
        known = self._jobs.setdefault(job.name, job)
        if known != job:
            raise InvalidInput(f"duplicate job name {job.name!r}: two different jobs use it")

    @cached_property
    def graph(self) -> DefinitionsSnapshot:
        """The location's assets alone, as a snapshot to select from."""
        return DefinitionsSnapshot(code_location=self._code_location, assets=self._assets)

    def job(self, job: JobLike, owner: str) -> JobNode:
        """The resolved node of `job` (or of the job named so) that `owner` refers to."""
        if isinstance(job, str):
            if job not in self._jobs:
                known = ", ".join(sorted(self._jobs)) or "none"
                raise InvalidInput(
                    f"{owner} targets job {job!r}, which these definitions do not have "
                    f"(jobs: {known}); pass it in Definitions(jobs=[...])"
                )
            name = job
        else:
            self._add(job)
            name = job.name
        if name not in self._nodes:
            self._nodes[name] = self._jobs[name].resolve(self.graph)
        return self._nodes[name]

    def job_nodes(self) -> dict[str, JobNode]:
        """Every job, resolved (jobs only schedules or sensors name included)."""
        return {name: self.job(name, f"job {name!r}") for name in sorted(self._jobs)}

    def select(self, selection: AssetSelection, owner: str) -> tuple[str, ...]:
        """The assets with code `selection` matches (a target given as an AssetSelection is
        an implicit asset job, as in Dagster)."""
        return _select_executable(selection, self.graph, owner)


def collect_jobs(*groups: Iterable[object]) -> list[UnresolvedAssetJobDefinition]:
    """The jobs in `groups`: jobs themselves, and the `job` of schedules and sensors."""
    found = []
    for group in groups:
        for item in group:
            job = (
                item
                if isinstance(item, UnresolvedAssetJobDefinition)
                else getattr(item, "job", None)
            )
            if isinstance(job, UnresolvedAssetJobDefinition):
                found.append(job)
    return found


def target_items(target: Any) -> list[Any]:
    """What a `target=` argument holds, as a list (one key, asset, selection or job alone is a
    list of one)."""
    single = (
        str,
        AssetKey,
        AssetsDefinition,
        AssetSpec,
        AssetSelection,
        UnresolvedAssetJobDefinition,
    )
    if isinstance(target, single):
        return [target]
    if not isinstance(target, Iterable):
        raise InvalidInput(
            f"a target is assets, keys, an AssetSelection or a job, not {type(target).__name__}"
        )
    return list(target)


def needs_resolution(target: Any) -> bool:
    """Whether `target` is only known against the location's assets (a selection or a job)."""
    return any(
        isinstance(item, AssetSelection | UnresolvedAssetJobDefinition)
        for item in target_items(target)
    )


def resolve_target(
    target: Any, job: JobLike | None, owner: str, resolver: JobResolver
) -> tuple[tuple[str, ...], str | None]:
    """(asset keys, job name) of what a schedule or sensor targets: `job`, or `target` (assets,
    keys, AssetSelections, or one job)."""
    items = [] if job is not None else target_items(target)
    jobs = [item for item in items if isinstance(item, UnresolvedAssetJobDefinition)]
    if jobs and len(items) > 1:
        raise InvalidInput(f"{owner}: a job target must be the whole target")
    job = jobs[0] if jobs else job
    if job is not None:
        node = resolver.job(job, owner)
        return node.assets, node.name
    keys: set[str] = set()
    for item in items:
        if isinstance(item, AssetSelection):
            keys.update(resolver.select(item, owner))
        else:
            keys.add(_coerce_key(item, f"{owner} target").to_user_string())
    if not keys:
        raise InvalidInput(f"{owner} targets no assets")
    return tuple(sorted(keys)), None
