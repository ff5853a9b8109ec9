"""`@multi_asset`: several assets computed by one function, as in Dagster.

```python
@multi_asset(outs={"users": AssetOut(), "orders": AssetOut(io_manager_key="warehouse")})
def load(context) -> tuple[list[dict], list[dict]]:
    return fetch_users(), fetch_orders()
```

Arco runs one task per asset partition, so the function runs once for each asset of the
multi-asset that a run materializes, with `context.selected_asset_keys` naming that asset;
the result for that asset is kept (by position for a tuple, by `output_name` for `Output`s,
by `asset_key` for `MaterializeResult`s). A function with `can_subset=True` can compute only
the selected asset; otherwise it computes everything and the other results are dropped
(docs/migrating-from-dagster.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.definitions import RetryPolicy
from arco.domain.errors import InvalidInput
from arco.domain.partitions import PartitionsDefinition
from arco.sdk.assets import (
    AssetIn,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    CoercibleToAssetKey,
    DepsArgument,
    _build_node,
    _coerce_deps,
    _coerce_key,
    _compute_ref,
    _config_schema,
    _inputs,
    _prefix_path,
)
from arco.sdk.metadata import normalise_metadata
from arco.sdk.resources import resource_parameters

__all__ = ["AssetOut", "MultiAssetsDefinition", "multi_asset"]


@dataclass(frozen=True)
class AssetOut:
    """One asset of a `@multi_asset`, named by its key in `outs` (or `key`)."""

    key: CoercibleToAssetKey | None = None
    key_prefix: str | Sequence[str] | None = None
    group_name: str | None = None
    code_version: str | None = None
    description: str | None = None
    metadata: Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = None
    owners: Sequence[str] | None = None
    kinds: Iterable[str] | None = None
    io_manager_key: str | None = None
    is_required: bool = True
    automation_condition: AutomationCondition | None = None


class MultiAssetsDefinition:
    """What `@multi_asset` returns: its assets, one `AssetsDefinition` each."""

    def __init__(self, fn: Callable[..., Any], members: Sequence[AssetsDefinition]) -> None:
        self.fn = fn
        self.assets = tuple(members)
        self.keys = tuple(member.key for member in members)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        keys = ", ".join(k.to_user_string() for k in self.keys)
        return f"MultiAssetsDefinition({keys})"


def multi_asset(
    *,
    outs: Mapping[str, AssetOut] | None = None,
    specs: Sequence[AssetSpec] | None = None,
    name: str | None = None,
    ins: Mapping[str, AssetIn] | None = None,
    deps: DepsArgument = None,
    partitions_def: PartitionsDefinition | None = None,
    group_name: str | None = None,
    can_subset: bool = False,
    required_resource_keys: Iterable[str] | None = None,
    compute_kind: str | None = None,
    retry_policy: RetryPolicy | None = None,
    description: str | None = None,
) -> Callable[[Callable[..., Any]], MultiAssetsDefinition]:
    """Declare the assets one function computes, with `outs` (name -> `AssetOut`) or
    `specs` (`AssetSpec`s); both name their keys and settings."""

    def decorate(function: Callable[..., Any]) -> MultiAssetsDefinition:
        op = name or function.__name__
        owner = f"multi_asset {op!r}"
        if bool(outs) == bool(specs):
            raise InvalidInput(f"{owner}: give outs or specs (one of them, not empty)")
        if not op.isidentifier():
            raise InvalidInput(f"{owner}: its name must be a Python identifier")
        inputs = _inputs(function, dict(ins or {}), owner)
        shared = [*(dep for _, dep, _ in inputs), *_coerce_deps(deps, owner)]
        needs = frozenset([*resource_parameters(function), *(required_resource_keys or ())])
        members: list[AssetsDefinition] = []
        seen: dict[str, str] = {}
        for output_name, declared in _declared(outs, specs, owner):
            key, node_args, manager = declared
            text = key.to_user_string()
            if text in seen:
                raise InvalidInput(
                    f"{owner}: outputs {seen[text]!r} and {output_name!r} both declare asset "
                    f"{text!r}"
                )
            seen[text] = output_name
            own_deps = node_args.pop("deps")
            own_group = node_args.pop("group_name")
            node_args["kinds"] = [*(node_args["kinds"] or ()), *filter(None, [compute_kind])]
            node_args["description"] = node_args["description"] or description
            node = _build_node(
                key,
                deps=[*shared, *own_deps],
                group_name=own_group or group_name,
                partitions_def=partitions_def,
                freshness_policy=None,
                reconcile=False,
                compute=_compute_ref(function),
                retry_policy=retry_policy,
                config_schema=_config_schema(function, owner),
                **node_args,
            )
            node = replace(node, op=op)  # one op, named after the function, as in Dagster
            member = AssetsDefinition(
                function,
                key,
                node,
                tuple(shared),
                partitions_def,
                needs | ({manager} if manager else set()),
                {n: (dep.key.to_user_string(), meta) for n, dep, meta in inputs},
                manager or "io_manager",
            )
            member.output_name = output_name
            members.append(member)
        names = tuple(m.output_name or "" for m in members)
        for member in members:
            member.output_names = names
        return MultiAssetsDefinition(function, members)

    _ = can_subset  # every function runs per selected asset (module docstring)
    return decorate


def _declared(
    outs: Mapping[str, AssetOut] | None, specs: Sequence[AssetSpec] | None, owner: str
) -> list[tuple[str, tuple[AssetKey, dict[str, Any], str | None]]]:
    """(output name, (key, node settings, io manager key)) of each declared asset."""
    out: list[tuple[str, tuple[AssetKey, dict[str, Any], str | None]]] = []
    for output_name, spec in (outs or {}).items():
        if not isinstance(spec, AssetOut):
            raise InvalidInput(f"{owner}: outs[{output_name!r}] must be an AssetOut")
        key = (
            _coerce_key(spec.key, f"{owner} out {output_name!r}")
            if spec.key is not None
            else AssetKey([*_prefix_path(spec.key_prefix), output_name])
        )
        settings: dict[str, Any] = {
            "deps": [],
            "code_version": spec.code_version,
            "group_name": spec.group_name,
            "tags": spec.tags,
            "owners": spec.owners,
            "kinds": spec.kinds,
            "description": spec.description,
            "metadata": normalise_metadata(spec.metadata, f"{owner} out {output_name!r}"),
            "automation_condition": spec.automation_condition,
        }
        out.append((output_name, (key, settings, spec.io_manager_key)))
    for asset_spec in specs or ():
        if not isinstance(asset_spec, AssetSpec):
            raise InvalidInput(
                f"{owner}: specs must be AssetSpecs, not {type(asset_spec).__name__}"
            )
        node = asset_spec.node
        settings = {
            "deps": list(asset_spec.deps),
            "code_version": node.code_version,
            "group_name": node.group if node.group != "default" else None,
            "tags": node.tags,
            "owners": node.owners,
            "kinds": node.kinds,
            "description": node.description,
            "metadata": dict(node.metadata),
            "automation_condition": node.automation_condition,
        }
        key = asset_spec.key
        out.append((key.to_user_string().replace("/", "__"), (key, settings, None)))
    return out
