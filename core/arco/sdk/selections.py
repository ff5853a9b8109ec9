"""`AssetSelection`: Dagster's Python selection API, compiled to Arco's selection syntax.

```python
marketing = AssetSelection.groups("marketing") - AssetSelection.assets("draft")
str(marketing)                                  # 'group:marketing and not key:draft'
AssetSelection.from_string(str(marketing)) == marketing   # True: one canonical form
define_asset_job("marketing_job", selection=marketing)
```

Every constructor and operator builds the selection AST of `arco.domain.selection`, so a
Python selection and a selection string mean the same thing, and `str()` is the canonical
string. Constructors match exactly (`*` is refused in their arguments: patterns are for
`from_string`); `key_prefixes("a")` selects the keys under `a/`, not an asset keyed `a`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from arco.domain.definitions import DefinitionsSnapshot, validate_asset_key
from arco.domain.errors import InvalidInput
from arco.domain.selection import (
    AllAssets,
    And,
    GroupMatch,
    KeyMatch,
    KindMatch,
    Not,
    Or,
    OwnerMatch,
    Roots,
    Selection,
    Sinks,
    TagMatch,
    Traversal,
    parse_selection,
    select_assets,
)
from arco.sdk.assets import AssetKey, AssetsDefinition, AssetSpec, CoercibleToAssetKey, _coerce_key

__all__ = ["AssetSelection", "CoercibleToAssetSelection"]


class _HasSnapshot(Protocol):
    def snapshot(self, code_location: str) -> DefinitionsSnapshot: ...


AssetsOrKeys = AssetsDefinition | AssetSpec | CoercibleToAssetKey
AssetSource = DefinitionsSnapshot | _HasSnapshot | Iterable[AssetsDefinition | AssetSpec]


def _exact(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"AssetSelection.{what} takes a non-empty string, not {value!r}")
    if "*" in value:
        raise InvalidInput(
            f"AssetSelection.{what} matches exactly, and {value!r} has a '*': for a pattern, "
            f"use AssetSelection.from_string (e.g. 'group:ing*')"
        )
    return value


def _union(parts: Sequence[Selection]) -> Selection:
    """`a or b or ...`; no parts selects nothing (`not *`)."""
    if not parts:
        return Not(AllAssets())
    return functools.reduce(Or, parts)


def _depth(depth: object) -> int | None:
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise InvalidInput(f"depth must be a non-negative integer or None, not {depth!r}")
    return depth


@dataclass(frozen=True)
class AssetSelection:
    """A query over the assets of a code location; `|`, `&` and `-` combine selections."""

    selection: Selection

    def __post_init__(self) -> None:
        if not isinstance(self.selection, Selection):
            raise InvalidInput(
                f"AssetSelection wraps a selection, not {type(self.selection).__name__}; "
                "use AssetSelection.from_string or a constructor such as AssetSelection.assets"
            )

    # -- constructors --

    @staticmethod
    def all() -> AssetSelection:
        """Every asset (`*`)."""
        return AssetSelection(AllAssets())

    @staticmethod
    def assets(*assets_defs: AssetsOrKeys) -> AssetSelection:
        """These assets: `@asset`s, `AssetSpec`s, `AssetKey`s, "a/b" strings or ["a", "b"]."""
        keys = [_coerce_key(item, "AssetSelection.assets").to_user_string() for item in assets_defs]
        return AssetSelection(_union([KeyMatch(key) for key in dict.fromkeys(keys)]))

    @staticmethod
    def keys(*asset_keys: CoercibleToAssetKey) -> AssetSelection:
        """The assets with these keys (Dagster's older name for `assets`)."""
        return AssetSelection.assets(*asset_keys)

    @staticmethod
    def key_prefixes(*key_prefixes: str | Sequence[str]) -> AssetSelection:
        """The assets whose keys start with one of these prefixes ("a" or ["a", "b"])."""
        patterns = []
        for prefix in key_prefixes:
            parts = [prefix] if isinstance(prefix, str) else list(prefix)
            if not all(isinstance(part, str) for part in parts):
                raise InvalidInput(f"AssetSelection.key_prefixes: bad prefix {prefix!r}")
            patterns.append(KeyMatch(validate_asset_key("/".join(parts)) + "/*"))
        return AssetSelection(_union(patterns))

    @staticmethod
    def key_substring(key_substring: str) -> AssetSelection:
        """The assets whose "a/b" key contains `key_substring`."""
        return AssetSelection(KeyMatch(f"*{_exact(key_substring, 'key_substring')}*"))

    @staticmethod
    def groups(*group_strs: str) -> AssetSelection:
        """The assets in any of these groups."""
        names = [_exact(name, "groups") for name in group_strs]
        return AssetSelection(_union([GroupMatch(name) for name in dict.fromkeys(names)]))

    @staticmethod
    def tag(key: str, value: str) -> AssetSelection:
        """The assets with tag `key` set to `value` ("" for a tag without a value)."""
        if not isinstance(value, str) or "*" in value:
            raise InvalidInput(
                f"AssetSelection.tag matches exactly: value {value!r} must be a string without "
                "'*' (for a pattern, use AssetSelection.from_string('tag:k=v*'))"
            )
        return AssetSelection(TagMatch(_exact(key, "tag"), value))

    @staticmethod
    def tag_string(string: str) -> AssetSelection:
        """`"k=v"` is `tag("k", "v")`; `"k"` is `tag("k", "")`."""
        if not isinstance(string, str) or string.count("=") > 1:
            raise InvalidInput(f"bad tag selection {string!r}: write 'key' or 'key=value'")
        key, _, value = string.partition("=")
        return AssetSelection.tag(key, value)

    @staticmethod
    def owner(owner: str) -> AssetSelection:
        """The assets with this owner ("team:data", "user@example.com")."""
        return AssetSelection(OwnerMatch(_exact(owner, "owner")))

    @staticmethod
    def kind(kind: str) -> AssetSelection:
        """The assets of this kind ("python", "dbt", ...)."""
        return AssetSelection(KindMatch(_exact(kind, "kind")))

    @staticmethod
    def from_string(string: str) -> AssetSelection:
        """Parse a selection string (`arco.domain.selection` documents the syntax)."""
        return AssetSelection(parse_selection(string))

    @staticmethod
    def from_coercible(selection: CoercibleToAssetSelection) -> AssetSelection:
        """A selection from what Dagster accepts as one: an `AssetSelection`, a selection
        string, a list of selection strings (their union), or a list of assets or keys."""
        if isinstance(selection, AssetSelection):
            return selection
        if isinstance(selection, str):
            return AssetSelection.from_string(selection)
        if isinstance(selection, Iterable):
            items = list(selection)
            if items and all(isinstance(item, str) for item in items):
                strings = [AssetSelection.from_string(str(item)).selection for item in items]
                return AssetSelection(_union(strings))
            return AssetSelection.assets(*items)
        raise InvalidInput(
            "a selection is an AssetSelection, a selection string, or a list of strings, "
            f"keys or assets, not {type(selection).__name__}"
        )

    # -- combinators --

    def __or__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(Or(self.selection, _operand(other, "|")))

    def __and__(self, other: AssetSelection) -> AssetSelection:
        return AssetSelection(And(self.selection, _operand(other, "&")))

    def __sub__(self, other: AssetSelection) -> AssetSelection:
        right = Not(_operand(other, "-"))
        return AssetSelection(
            right if isinstance(self.selection, AllAssets) else And(self.selection, right)
        )

    def upstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """These assets and their ancestors (up to `depth` levels); `include_self=False`
        leaves out the assets of this selection."""
        return self._traverse(_depth(depth), 0, depth, include_self)

    def downstream(self, depth: int | None = None, include_self: bool = True) -> AssetSelection:
        """These assets and their descendants (up to `depth` levels); `include_self=False`
        leaves out the assets of this selection."""
        return self._traverse(0, _depth(depth), depth, include_self)

    def _traverse(
        self, up: int | None, down: int | None, depth: int | None, include_self: bool
    ) -> AssetSelection:
        if not isinstance(include_self, bool):
            raise InvalidInput("include_self must be True or False")
        reached = self.selection if depth == 0 else Traversal(self.selection, up=up, down=down)
        if include_self:
            return AssetSelection(reached)
        return AssetSelection(And(reached, Not(self.selection)))

    def roots(self) -> AssetSelection:
        """The assets of this selection with no ancestor inside it."""
        return AssetSelection(Roots(self.selection))

    def sinks(self) -> AssetSelection:
        """The assets of this selection with no descendant inside it."""
        return AssetSelection(Sinks(self.selection))

    # -- evaluation --

    def resolve(self, all_assets: AssetSource) -> frozenset[AssetKey]:
        """The keys this selection matches in a snapshot, a `Definitions` or a list of assets
        (an exact key naming no asset is an `InvalidInput`, as Dagster's `resolve`)."""
        return frozenset(AssetKey(key) for key in self.resolve_keys(all_assets))

    def resolve_keys(self, all_assets: AssetSource) -> tuple[str, ...]:
        """Like `resolve`, as "a/b" strings in topological order."""
        return select_assets(self.selection, _snapshot_of(all_assets))

    def __str__(self) -> str:
        return str(self.selection)

    def __repr__(self) -> str:
        return f"AssetSelection.from_string({str(self)!r})"


CoercibleToAssetSelection = (
    AssetSelection | str | Sequence[str] | Sequence[AssetsDefinition | AssetSpec | AssetKey]
)


def _operand(other: object, operator: str) -> Selection:
    if not isinstance(other, AssetSelection):
        raise InvalidInput(
            f"AssetSelection {operator} takes another AssetSelection, not {type(other).__name__}"
        )
    return other.selection


def _snapshot_of(value: AssetSource) -> DefinitionsSnapshot:
    if isinstance(value, DefinitionsSnapshot):
        return value
    snapshot = getattr(value, "snapshot", None)
    if callable(snapshot):
        result = snapshot("selection")
        if isinstance(result, DefinitionsSnapshot):
            return result
    if isinstance(value, Iterable):
        nodes = {}
        for item in value:
            if not isinstance(item, AssetsDefinition | AssetSpec):
                raise InvalidInput(
                    f"resolve takes a DefinitionsSnapshot, Definitions or a list of assets, "
                    f"not a list holding {type(item).__name__}"
                )
            nodes[item.key.to_user_string()] = item.node
        return DefinitionsSnapshot(code_location="selection", assets=nodes)
    raise InvalidInput(
        "resolve takes a DefinitionsSnapshot, Definitions or a list of assets, "
        f"not {type(value).__name__}"
    )
