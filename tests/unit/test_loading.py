"""load_assets_from_modules / _package_module, and bare dependency names under a prefix."""

from __future__ import annotations

import pytest

import arco as dg
from arco.domain.errors import InvalidInput
from tests.fixtures.hn_port import core, recommender
from tests.fixtures.hn_port.core import items as items_module


def test_a_package_is_loaded_with_its_group_and_key_prefix() -> None:
    loaded = dg.load_assets_from_package_module(core, group_name="core", key_prefix=["s3", "core"])
    snapshot = dg.Definitions(assets=loaded).snapshot("t")
    assert sorted(snapshot.assets) == ["s3/core/comments", "s3/core/items", "s3/core/stories"]
    # dependencies on assets loaded together are prefixed too
    assert snapshot.assets["s3/core/comments"].dep_keys == ("s3/core/items",)
    assert {node.group for node in snapshot.assets.values()} == {"core"}


def test_modules_are_loaded_once_whatever_the_path() -> None:
    twice = dg.load_assets_from_modules([items_module, items_module])
    assert sorted(a.key.to_user_string() for a in twice) == ["comments", "items", "stories"]


def test_bare_input_names_resolve_to_the_one_asset_of_that_name_in_the_group() -> None:
    # As Dagster: @asset(key_prefix=...) with a bare input resolves within its group.
    @dg.asset(key_prefix=["s3", "core"], group_name="core")
    def items() -> None: ...

    @dg.asset(key_prefix=["s3", "core"], group_name="core")
    def comments(items: object) -> None: ...

    @dg.asset(group_name="other")
    def elsewhere(items: object) -> None: ...

    defs = dg.Definitions(assets=[items, comments, elsewhere])
    with pytest.raises(InvalidInput, match="'elsewhere' depends on unknown asset 'items'"):
        defs.snapshot("t")  # another group: not resolved, so it stays unknown
    snapshot = dg.Definitions(assets=[items, comments]).snapshot("t")
    assert snapshot.assets["s3/core/comments"].dep_keys == ("s3/core/items",)


def test_two_groups_from_two_packages_like_dagsters_example() -> None:
    assets = [
        *dg.load_assets_from_package_module(core, group_name="core", key_prefix=["s3", "core"]),
        *dg.load_assets_from_package_module(recommender, group_name="recommender"),
    ]
    with pytest.raises(InvalidInput, match="depends on unknown asset 'stories'"):
        dg.Definitions(assets=assets).snapshot("t")


def test_a_group_conflict_is_refused() -> None:
    @dg.asset(group_name="mine")
    def grouped() -> None: ...

    import types

    module = types.ModuleType("m")
    module.grouped = grouped  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="asset 'grouped' is in group 'mine', which conflicts"):
        dg.load_assets_from_modules([module], group_name="other")
