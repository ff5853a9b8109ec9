"""Collecting assets from modules and packages, and resolving bare dependency names.

```python
core_assets = load_assets_from_package_module(core, group_name="core", key_prefix=["s3", "core"])
```

As in Dagster: `key_prefix` prefixes the keys of the loaded `@asset`s and their dependencies on
each other (not `AssetSpec`s); `group_name` sets the group of everything loaded (an asset
already in another non-default group is an error). When `Definitions` is built, a dependency
named by one bare name that is no asset (`items` under a prefix) is resolved to the only asset
of that name in the same group (`s3/core/items`).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import replace
from types import ModuleType

from arco.domain.definitions import DEFAULT_GROUP, AssetDepNode, AssetNode
from arco.domain.errors import InvalidInput
from arco.domain.run_config import op_name
from arco.sdk.assets import AssetDep, AssetKey, AssetLike, AssetsDefinition, AssetSpec
from arco.sdk.multi_assets import MultiAssetsDefinition

__all__ = [
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
]


def load_assets_from_modules(
    modules: Iterable[ModuleType],
    group_name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
) -> list[AssetLike]:
    """Every `@asset` and `AssetSpec` defined at the top level of `modules`, once each."""
    found: dict[int, AssetLike] = {}
    for module in modules:
        if not isinstance(module, ModuleType):
            raise InvalidInput(
                f"load_assets_from_modules takes modules, not {type(module).__name__}"
            )
        for value in vars(module).values():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                members = item.assets if isinstance(item, MultiAssetsDefinition) else [item]
                for member in members:
                    if isinstance(member, AssetsDefinition | AssetSpec):
                        found.setdefault(id(member), member)
    return _with_attributes(list(found.values()), group_name, key_prefix)


def load_assets_from_package_module(
    package_module: ModuleType,
    group_name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
) -> list[AssetLike]:
    """The assets of a package and of all its submodules, imported recursively."""
    return load_assets_from_modules(_walk(package_module), group_name, key_prefix)


def load_assets_from_package_name(
    package_name: str,
    group_name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
) -> list[AssetLike]:
    return load_assets_from_package_module(
        importlib.import_module(package_name), group_name, key_prefix
    )


def load_assets_from_current_module(
    group_name: str | None = None,
    key_prefix: str | Sequence[str] | None = None,
) -> list[AssetLike]:
    """The assets of the module that calls this."""
    frame = inspect.stack()[1]
    module = inspect.getmodule(frame[0])
    if module is None:
        raise InvalidInput("load_assets_from_current_module: cannot tell the calling module")
    return load_assets_from_modules([module], group_name, key_prefix)


def _walk(package: ModuleType) -> list[ModuleType]:
    modules = [package]
    path = getattr(package, "__path__", None)
    if path is None:
        return modules
    for info in pkgutil.walk_packages(path, prefix=f"{package.__name__}."):
        modules.append(importlib.import_module(info.name))
    return modules


def _with_attributes(
    items: list[AssetLike], group_name: str | None, key_prefix: str | Sequence[str] | None
) -> list[AssetLike]:
    replacements: dict[str, str] = {}
    if key_prefix is not None:
        replacements = {
            item.key.to_user_string(): item.key.with_prefix(key_prefix).to_user_string()
            for item in items
            if isinstance(item, AssetsDefinition)
        }
    return [_rebuild(item, replacements, group_name) for item in items]


def _rebuild(item: AssetLike, keys: dict[str, str], group_name: str | None) -> AssetLike:
    node = item.node
    if group_name is not None and node.group not in (DEFAULT_GROUP, group_name):
        raise InvalidInput(
            f"asset {node.key!r} is in group {node.group!r}, which conflicts with the group "
            f"name {group_name!r} given to load_assets_from_modules"
        )
    if not keys and group_name is None:
        return item
    deps = tuple(AssetDepNode(keys.get(d.key, d.key), d.mapping) for d in node.deps)
    new_key = keys.get(node.key, node.key)
    # Dagster keeps the op's name when loading prefixes a key (run config names the op).
    op = node.op or (op_name(node.key) if new_key != node.key else None)
    new_node = replace(
        node,
        key=new_key,
        deps=deps,
        group=group_name if group_name is not None else node.group,
        op=op,
    )
    return _with_node(item, new_node, keys)


def _with_node(item: AssetLike, node: AssetNode, keys: dict[str, str]) -> AssetLike:
    """A copy of `item` describing `node`; its inputs follow the renamed `keys`."""
    if isinstance(item, AssetSpec):
        copy = object.__new__(AssetSpec)
        copy.__dict__.update(item.__dict__)
        copy.key, copy.node = AssetKey(node.key), node
        copy.deps = tuple(AssetDep(d.key, partition_mapping=d.mapping) for d in node.deps)
        return copy
    return item.replace_keys(AssetKey(node.key), node, keys)


def resolve_bare_dependencies(items: Sequence[AssetLike]) -> list[AssetLike]:
    """Dagster's rule for dependencies named by one bare name that is no asset: the only asset
    with that last name in the same group, if there is exactly one (and it is not itself)."""
    keys = {item.key.to_user_string() for item in items}
    by_group_and_name: dict[tuple[str, str], list[str]] = {}
    for item in items:
        key = item.key.to_user_string()
        by_group_and_name.setdefault((item.node.group, key.rsplit("/", 1)[-1]), []).append(key)
    out: list[AssetLike] = []
    for item in items:
        node = item.node
        replacements: dict[str, str] = {}
        for dep in node.deps:
            if dep.key in keys or "/" in dep.key:
                continue
            matches = by_group_and_name.get((node.group, dep.key), [])
            if len(matches) == 1 and matches[0] != node.key:
                replacements[dep.key] = matches[0]
        if not replacements:
            out.append(item)
            continue
        deps = tuple(AssetDepNode(replacements.get(d.key, d.key), d.mapping) for d in node.deps)
        out.append(_with_node(item, replace(node, deps=deps), replacements))
    return out
