"""@multi_asset through the real worker, and the definitions it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import arco as dg
from arco.domain.errors import InvalidInput
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import multi_location

LOCATION = "tests.fixtures.multi_location:defs"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(LocalObjectStore(tmp_path / "store"), "m")
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    multi_location.CALLS.clear()
    return workspace


def test_each_asset_of_a_multi_asset_is_its_own_node(ws: Workspace) -> None:
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    assert {"raw/users", "raw/orders", "left", "right"} <= set(snapshot.assets)
    assert snapshot.assets["raw/users"].metadata == {"source": "crm"}
    assert snapshot.assets["raw/orders"].group == "sales"
    # compute_kind and description apply to each asset of the multi-asset
    assert snapshot.assets["raw/users"].kinds == ("python",)
    assert snapshot.assets["raw/orders"].description == "Users and orders from the CRM."
    assert snapshot.assets["right"].dep_keys == ("raw/users",)
    assert snapshot.assets["raw/users"].compute == snapshot.assets["raw/orders"].compute


def test_a_tuple_goes_to_the_outputs_by_position_and_reaches_downstream(ws: Workspace) -> None:
    launched = launch_run(ws, LaunchRequest("key:raw/orders or key:order_count"))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    assert drive_run(ws, launched.run_id, executor) == "SUCCESS"
    # the function ran for the one selected asset, and its second value reached order_count
    assert multi_location.CALLS == [["raw/orders"], ("order_count", [3, 4, 5])]


def test_materialize_results_are_matched_by_asset_key(ws: Workspace) -> None:
    launched = launch_run(ws, LaunchRequest("key:left or key:right or key:raw/users"))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    assert drive_run(ws, launched.run_id, executor) == "SUCCESS"
    ws.compactor.compact_until_idle()
    rows = ws.snapshot().rows("partition_status")
    assert json.loads(rows[("left", "")]["materialized_metadata"]) == {"side": "L"}
    assert json.loads(rows[("right", "")]["materialized_metadata"]) == {"side": "R"}


def test_overlapping_keys_are_refused_naming_them() -> None:
    with pytest.raises(InvalidInput, match="outputs 'a' and 'b' both declare asset 'x'"):

        @dg.multi_asset(outs={"a": dg.AssetOut(key="x"), "b": dg.AssetOut(key="x")})
        def twice() -> None: ...

    @dg.multi_asset(outs={"x": dg.AssetOut()})
    def one() -> None: ...

    @dg.asset(name="x")
    def other() -> None: ...

    with pytest.raises(InvalidInput, match="duplicate asset key 'x'"):
        dg.Definitions(assets=[one, other]).snapshot("t")
    with pytest.raises(InvalidInput, match="give outs or specs"):
        dg.multi_asset()(lambda: None)
