"""Run config, Dagster's shape (`{"ops": {"<op>": {"config": {...}}}}`), checked against each
asset's config schema (mutation survivors of `domain/run_config.py`, issue 15)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from arco.domain.definitions import AssetNode, DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.run_config import resolve_run_config

SCHEMA = {
    "type": "object",
    "properties": {
        "rows": {"type": "integer"},
        "name": {"type": "string"},
        "limits": {"type": "object", "properties": {"max": {"type": "integer"}}},
    },
}
DEFS = DefinitionsSnapshot(
    "loc",
    {
        "plain": AssetNode("plain", compute="m:plain"),
        "tuned": AssetNode("tuned", compute="m:tuned", config_schema=SCHEMA),
        "zeta": AssetNode("zeta", compute="m:zeta", config_schema=SCHEMA),
    },
)


def _refused(message: str) -> Any:
    return pytest.raises(InvalidInput, match=re.escape(message))


@pytest.mark.parametrize("key", ["resources", "execution", "loggers", "inputs"])
def test_what_arco_does_not_read_is_refused_by_name(key: str) -> None:
    with _refused(f"run config: {key!r} is not supported"):
        resolve_run_config(DEFS, ["tuned"], {key: {}})


def test_no_run_config_gives_each_configurable_asset_its_defaults() -> None:
    assert resolve_run_config(DEFS, ["plain", "tuned"], None) == {"tuned": {}}


def test_every_configurable_asset_of_the_run_gets_its_values_whatever_comes_before() -> None:
    ops = {"tuned": {"config": {"rows": 3}}, "zeta": {"config": {"name": "z"}}}
    given = resolve_run_config(DEFS, ["plain", "tuned", "zeta"], {"ops": ops})
    assert given == {"tuned": {"rows": 3}, "zeta": {"name": "z"}}


def test_an_op_of_another_run_names_the_runs_ops() -> None:
    with _refused("run config: op 'other' is not an asset of this run (its ops: plain, tuned)"):
        resolve_run_config(DEFS, ["tuned", "plain"], {"ops": {"other": {"config": {}}}})


@pytest.mark.parametrize("entry", [{"config": {}, "extra": 1}, ["config"], {"extra": {}}])
def test_an_op_entry_holds_config_and_nothing_else(entry: Any) -> None:
    with _refused('run config: ops.tuned must be {"config": {...}}'):
        resolve_run_config(DEFS, ["tuned"], {"ops": {"tuned": entry}})


def test_the_first_error_in_path_order_is_named_with_its_path() -> None:
    bad = {"rows": "many", "name": 5, "limits": {"max": "x"}}
    with _refused("run config for asset 'tuned' at 'limits.max': 'x' is not of type 'integer'"):
        resolve_run_config(DEFS, ["tuned"], {"ops": {"tuned": {"config": bad}}})
    with _refused("run config for asset 'tuned' at 'name': 5 is not of type 'string'"):
        resolve_run_config(
            DEFS, ["tuned"], {"ops": {"tuned": {"config": {"rows": "x", "name": 5}}}}
        )
