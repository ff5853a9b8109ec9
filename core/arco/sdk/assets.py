"""Assets: keys, dependencies, `@asset` and `AssetSpec`.

```python
@asset(partitions_def=daily, code_version="2")
def clean(raw) -> None: ...          # a parameter names an upstream asset
```

Mistakes raise `InvalidInput` naming the culprit where the asset is written; graph mistakes
(a cycle, an unknown dependency) when `Definitions.snapshot` builds the canonical snapshot.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.definitions import (
    AssetDepNode,
    AssetNode,
    FreshnessPolicy,
    RetryPolicy,
    validate_asset_key,
)
from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings import PartitionMapping
from arco.domain.partitions import PartitionsDefinition
from arco.sdk.config import config_parameter, config_schema
from arco.sdk.metadata import normalise_metadata
from arco.sdk.resources import resource_parameters

# The first parameter of an asset function may take the execution context instead of an input.
CONTEXT_PARAMETERS = ("context", "_context")


# --- keys and dependencies ---------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class AssetKey:
    """An asset's key: a path of segments, written "a/b" in the snapshot and the CLI.

    `AssetKey("a")`, `AssetKey(["a", "b"])`, and, since "/" never appears inside a segment,
    `AssetKey("a/b")` == `AssetKey(["a", "b"])`.
    """

    path: tuple[str, ...]

    def __init__(self, path: str | Sequence[str]) -> None:
        parts = tuple(path.split("/")) if isinstance(path, str) else tuple(path)
        if not all(isinstance(part, str) for part in parts):
            raise InvalidInput(f"an asset key is a string or a list of strings, not {path!r}")
        validate_asset_key("/".join(parts))
        object.__setattr__(self, "path", parts)

    @staticmethod
    def from_user_string(value: str) -> AssetKey:
        return AssetKey(value)

    def to_user_string(self) -> str:
        return "/".join(self.path)

    def with_prefix(self, prefix: str | Sequence[str]) -> AssetKey:
        return AssetKey([*_prefix_path(prefix), *self.path])

    def __str__(self) -> str:
        return self.to_user_string()

    def __repr__(self) -> str:
        return f"AssetKey({list(self.path)!r})"


CoercibleToAssetKey = str | Sequence[str] | AssetKey


def _prefix_path(prefix: str | Sequence[str] | None) -> tuple[str, ...]:
    if prefix is None:
        return ()
    return tuple(prefix.split("/")) if isinstance(prefix, str) else tuple(prefix)


def _coerce_key(value: object, what: str) -> AssetKey:
    if isinstance(value, AssetKey):
        return value
    if isinstance(value, AssetsDefinition | AssetSpec):
        return value.key
    if isinstance(value, str) or (
        isinstance(value, Sequence) and all(isinstance(v, str) for v in value)
    ):
        return AssetKey(value)
    raise InvalidInput(
        f"{what}: expected an asset key, an asset or an AssetSpec, not {type(value).__name__}"
    )


@dataclass(frozen=True, init=False)
class AssetDep:
    """A dependency that is not a function input, optionally with a partition mapping."""

    asset: AssetKey
    partition_mapping: PartitionMapping | None

    def __init__(
        self,
        asset: CoercibleToAssetKey | AssetsDefinition | AssetSpec,
        *,
        partition_mapping: PartitionMapping | None = None,
    ) -> None:
        object.__setattr__(self, "asset", _coerce_key(asset, "AssetDep"))
        if partition_mapping is not None and not isinstance(partition_mapping, PartitionMapping):
            raise InvalidInput(
                f"AssetDep({self.asset.to_user_string()!r}): partition_mapping must be a "
                f"PartitionMapping, not {type(partition_mapping).__name__}"
            )
        object.__setattr__(self, "partition_mapping", partition_mapping)

    @property
    def key(self) -> AssetKey:
        return self.asset


@dataclass(frozen=True)
class AssetIn:
    """Where a function parameter's value comes from (default: the asset named like it)."""

    key: CoercibleToAssetKey | None = None
    partition_mapping: PartitionMapping | None = None
    key_prefix: str | Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None  # given to the IO manager's load_input

    def resolve(self, parameter: str) -> AssetKey:
        key = (
            _coerce_key(self.key, f"AssetIn for {parameter!r}")
            if self.key is not None
            else AssetKey([parameter])
        )
        return key.with_prefix(self.key_prefix) if self.key_prefix is not None else key


DepLike = CoercibleToAssetKey | AssetDep
DepsArgument = Iterable["DepLike | AssetsDefinition | AssetSpec"] | None


def _coerce_deps(deps: DepsArgument, owner: str) -> list[AssetDep]:
    if deps is None:
        return []
    if isinstance(deps, str | AssetKey):
        raise InvalidInput(f"{owner}: deps must be a list, not a single {type(deps).__name__}")
    return [d if isinstance(d, AssetDep) else AssetDep(_coerce_key(d, owner)) for d in deps]


def _dep_nodes(deps: Iterable[AssetDep], owner: str) -> tuple[AssetDepNode, ...]:
    """One node per upstream key; the same key twice is fine unless the mappings disagree."""
    merged: dict[str, PartitionMapping | None] = {}
    for dep in deps:
        key = dep.asset.to_user_string()
        if key in merged:
            previous = merged[key]
            mapping = dep.partition_mapping
            if previous is not None and mapping is not None and previous != mapping:
                raise InvalidInput(
                    f"{owner} depends on {key!r} twice with different partition mappings"
                )
            merged[key] = previous if previous is not None else mapping
        else:
            merged[key] = dep.partition_mapping
    return tuple(AssetDepNode(key, mapping) for key, mapping in merged.items())


# --- assets ------------------------------------------------------------------------------------


def _tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    return dict(tags) if tags is not None else {}


def _build_node(
    key: AssetKey,
    *,
    deps: Iterable[AssetDep],
    code_version: str | None,
    group_name: str | None,
    tags: Mapping[str, str] | None,
    owners: Sequence[str] | None,
    kinds: Iterable[str] | None,
    description: str | None,
    partitions_def: PartitionsDefinition | None,
    freshness_policy: FreshnessPolicy | None,
    reconcile: bool,
    compute: str | None,
    retry_policy: RetryPolicy | None = None,
    metadata: Mapping[str, Any] | None = None,
    config_schema: Mapping[str, Any] | None = None,
    automation_condition: AutomationCondition | None = None,
) -> AssetNode:
    owner = f"asset {key.to_user_string()!r}"
    return AssetNode(
        key=key.to_user_string(),
        deps=_dep_nodes(deps, owner),
        code_version=code_version,
        group=group_name if group_name is not None else "default",
        tags=_tags(tags),
        owners=tuple(owners or ()),
        kinds=tuple(kinds or ()),
        description=description,
        partitions=partitions_def,
        freshness=freshness_policy,
        reconcile=reconcile,
        compute=compute,
        retry_policy=retry_policy,
        metadata=dict(metadata or {}),
        config_schema=config_schema,
        automation_condition=automation_condition,
    )


class AssetSpec:
    """An asset without code in this location (materialized elsewhere, or only observed)."""

    def __init__(
        self,
        key: CoercibleToAssetKey,
        *,
        deps: DepsArgument = None,
        description: str | None = None,
        group_name: str | None = None,
        code_version: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        kinds: Iterable[str] | None = None,
        partitions_def: PartitionsDefinition | None = None,
        freshness_policy: FreshnessPolicy | None = None,
        reconcile: bool = False,
        metadata: Mapping[str, Any] | None = None,
        automation_condition: AutomationCondition | None = None,
    ) -> None:
        self.key = _coerce_key(key, "AssetSpec")
        owner = f"asset {self.key.to_user_string()!r}"
        self.deps: tuple[AssetDep, ...] = tuple(_coerce_deps(deps, owner))
        self.partitions_def = partitions_def
        self.node = _build_node(
            self.key,
            deps=self.deps,
            code_version=code_version,
            group_name=group_name,
            tags=tags,
            owners=owners,
            kinds=kinds,
            description=description,
            partitions_def=partitions_def,
            freshness_policy=freshness_policy,
            reconcile=reconcile,
            compute=None,
            metadata=normalise_metadata(metadata, owner),
            automation_condition=automation_condition,
        )

    def __repr__(self) -> str:
        return f"AssetSpec({self.key.to_user_string()!r})"


class AssetsDefinition:
    """An asset with code: what `@asset` returns. Calling it calls the function."""

    def __init__(
        self,
        fn: Callable[..., Any],
        key: AssetKey,
        node: AssetNode,
        deps: tuple[AssetDep, ...],
        partitions_def: PartitionsDefinition | None,
        required_resource_keys: frozenset[str] = frozenset(),
        inputs: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
        io_manager_key: str = "io_manager",
    ) -> None:
        functools.update_wrapper(self, fn)  # name, docstring, module: it reads like fn
        self.fn = fn
        self.key = key
        self.node = node
        self.deps = deps
        self.partitions_def = partitions_def
        # Resource parameters and `required_resource_keys`: Definitions checks they exist.
        self.required_resource_keys = required_resource_keys
        # parameter -> (upstream key, AssetIn metadata): what the worker loads for each input.
        self.inputs: dict[str, tuple[str, Mapping[str, Any]]] = dict(inputs or {})
        self.io_manager_key = io_manager_key
        # An @observable_source_asset: its function returns a data version, not a value.
        self.observable = False
        self.auto_observe_interval_minutes: float | None = None
        # The output of a @multi_asset this asset is (None for a plain @asset).
        self.output_name: str | None = None
        self.output_names: tuple[str, ...] = ()  # all of them, in the order a tuple gives them

    def replace_keys(
        self, key: AssetKey, node: AssetNode, keys: Mapping[str, str]
    ) -> AssetsDefinition:
        """A copy with another key and node; input keys renamed by `keys`."""
        inputs = {p: (keys.get(k, k), meta) for p, (k, meta) in self.inputs.items()}
        deps = tuple(AssetDep(d.key, partition_mapping=d.mapping) for d in node.deps)
        copy = AssetsDefinition(
            self.fn,
            key,
            node,
            deps,
            self.partitions_def,
            self.required_resource_keys,
            inputs,
            self.io_manager_key,
        )
        copy.output_name, copy.output_names = self.output_name, self.output_names
        copy.observable = self.observable
        copy.auto_observe_interval_minutes = self.auto_observe_interval_minutes
        return copy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"AssetsDefinition({self.key.to_user_string()!r}, compute={self.node.compute!r})"


def _input_deps(fn: Callable[..., Any], ins: Mapping[str, AssetIn], owner: str) -> list[AssetDep]:
    """Upstream assets named by the function's parameters (or by `ins`), in signature order."""
    return [dep for _, dep, _ in _inputs(fn, ins, owner)]


def _inputs(
    fn: Callable[..., Any], ins: Mapping[str, AssetIn], owner: str
) -> list[tuple[str, AssetDep, Mapping[str, Any]]]:
    """(parameter, upstream dependency, AssetIn metadata) of every input, in signature order."""
    parameters = list(inspect.signature(fn).parameters.values())
    if parameters and parameters[0].name in CONTEXT_PARAMETERS:
        parameters = parameters[1:]
    resources = set(resource_parameters(fn))
    configured = config_parameter(fn)
    if configured is not None:
        resources.add(configured[0])  # not an input either
    names = [
        p.name
        for p in parameters
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and p.name not in resources
    ]
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    for name in ins:
        if name in resources:
            raise InvalidInput(f"{owner}: ins names {name!r}, which is a resource parameter")
        if name not in names and not takes_kwargs:
            raise InvalidInput(
                f"{owner}: ins names {name!r}, which is not a parameter of the function"
            )
    out: list[tuple[str, AssetDep, Mapping[str, Any]]] = []
    for name in [*names, *(n for n in ins if n not in names)]:
        asset_in = ins.get(name, AssetIn())
        if not isinstance(asset_in, AssetIn):
            raise InvalidInput(f"{owner}: ins[{name!r}] must be an AssetIn")
        dep = AssetDep(asset_in.resolve(name), partition_mapping=asset_in.partition_mapping)
        out.append((name, dep, dict(asset_in.metadata or {})))
    return out


def _config_schema(fn: Callable[..., Any], owner: str) -> dict[str, Any] | None:
    try:
        configured = config_parameter(fn)
    except InvalidInput as exc:
        raise InvalidInput(f"{owner}: {exc}") from None
    if configured is None:
        return None
    try:
        return config_schema(configured[1])
    except Exception as exc:  # a field pydantic cannot describe as JSON schema
        raise InvalidInput(
            f"{owner}: config class {configured[1].__name__} cannot be checked at launch "
            f"(no JSON schema: {exc})"
        ) from None


def _compute_ref(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


@overload
def asset(fn: Callable[..., Any], /) -> AssetsDefinition: ...


@overload
def asset(
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    deps: DepsArgument = None,
    ins: Mapping[str, AssetIn] | None = None,
    code_version: str | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    description: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    freshness_policy: FreshnessPolicy | None = None,
    reconcile: bool = False,
    retry_policy: RetryPolicy | None = None,
    automation_condition: AutomationCondition | None = None,
    metadata: Mapping[str, Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
) -> Callable[[Callable[..., Any]], AssetsDefinition]: ...


def asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    deps: DepsArgument = None,
    ins: Mapping[str, AssetIn] | None = None,
    code_version: str | None = None,
    group_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    kinds: Iterable[str] | None = None,
    compute_kind: str | None = None,
    description: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    freshness_policy: FreshnessPolicy | None = None,
    reconcile: bool = False,
    retry_policy: RetryPolicy | None = None,
    automation_condition: AutomationCondition | None = None,
    metadata: Mapping[str, Any] | None = None,
    required_resource_keys: Iterable[str] | None = None,
    io_manager_key: str | None = None,
) -> AssetsDefinition | Callable[[Callable[..., Any]], AssetsDefinition]:
    """Declare an asset computed by the decorated function.

    The key is `key`, else `key_prefix` + (`name` or the function's name). Each parameter
    (except a leading `context`) is an upstream asset of the same name, unless `ins` maps it
    elsewhere, or its annotation makes it a resource (`ConfigurableResource`, `ResourceParam`);
    `deps` adds upstreams that are not inputs. `AssetDep(..., partition_mapping=)`
    and `AssetIn(partition_mapping=)` choose a non-default partition mapping. `reconcile=True`
    opts the asset in to automatic reconciliation; `automation_condition=` (such as
    `AutomationCondition.eager()`) lets the timer request it when the condition holds.
    """

    def decorate(function: Callable[..., Any]) -> AssetsDefinition:
        if not callable(function):
            raise InvalidInput(f"@asset decorates a function, not {type(function).__name__}")
        if key is not None:
            if name is not None or key_prefix is not None:
                raise InvalidInput("@asset: pass either key, or name/key_prefix, not both")
            asset_key = _coerce_key(key, "@asset key")
        else:
            asset_key = AssetKey([*_prefix_path(key_prefix), name or function.__name__])
        owner = f"asset {asset_key.to_user_string()!r}"
        inputs = _inputs(function, dict(ins or {}), owner)
        all_deps = (*(dep for _, dep, _ in inputs), *_coerce_deps(deps, owner))
        doc = inspect.getdoc(function)
        node = _build_node(
            asset_key,
            deps=all_deps,
            code_version=code_version,
            group_name=group_name,
            tags=tags,
            owners=owners,
            kinds=[*(kinds or ()), *([compute_kind] if compute_kind else [])],
            description=description if description is not None else doc,
            partitions_def=partitions_def,
            freshness_policy=freshness_policy,
            reconcile=reconcile,
            compute=_compute_ref(function),
            retry_policy=retry_policy,
            metadata=normalise_metadata(metadata, owner),
            config_schema=_config_schema(function, owner),
            automation_condition=automation_condition,
        )
        if isinstance(required_resource_keys, str):
            raise InvalidInput(f"{owner}: required_resource_keys is a set of names, not a string")
        needs = frozenset([*resource_parameters(function), *(required_resource_keys or ())])
        if io_manager_key is not None and (
            not isinstance(io_manager_key, str) or not io_manager_key.isidentifier()
        ):
            raise InvalidInput(f"{owner}: io_manager_key must be a resource key")
        manager = io_manager_key or "io_manager"
        return AssetsDefinition(
            function,
            asset_key,
            node,
            tuple(all_deps),
            partitions_def,
            needs | ({manager} if io_manager_key else set()),
            {name: (dep.key.to_user_string(), meta) for name, dep, meta in inputs},
            manager,
        )

    if fn is not None:
        return decorate(fn)
    return decorate


AssetLike = AssetsDefinition | AssetSpec
