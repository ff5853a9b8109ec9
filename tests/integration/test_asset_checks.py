"""Asset checks through the real worker: results recorded per materialization, a failed
blocking check stops the downstream, shown by `arco checks` and the API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import arco as dg
from arco.cli.main import cli
from arco.domain.errors import InvalidInput
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.queries.checks import list_checks
from arco.services.queries.runs import run_status
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.checks_location:defs"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    create_workspaces(LocalObjectStore(tmp_path / "s"), "chk")
    workspace = Workspace(LocalObjectStore(tmp_path / "s"), "chk")
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def run(ws: Workspace, partition: str) -> str:
    launched = launch_run(ws, LaunchRequest("key:orders or key:revenue", partition=partition))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    status = drive_run(ws, launched.run_id, executor)
    ws.compactor.compact_until_idle()
    return status


def by_name(ws: Workspace) -> dict[tuple[str, str], list[dict[str, object]]]:
    return {(c["asset"], c["name"]): c["results"] for c in list_checks(ws)}


def test_passing_and_warning_checks_keep_the_run_going(ws: Workspace) -> None:
    # failed non-blocking checks (a WARN, one that raised) are recorded; the run succeeds
    assert run(ws, "2024-01-01") == "SUCCESS"
    checks = by_name(ws)
    [blocking] = checks[("orders", "orders_not_empty")]
    assert (blocking["passed"], blocking["metadata"]) == (True, {"rows": 3})
    [warn] = checks[("orders", "orders_small")]
    assert (warn["passed"], warn["severity"]) == (False, "WARN")
    [raised] = checks[("revenue", "revenue_check_that_raises")]
    assert raised["passed"] is False and "the check itself is broken" in str(raised["error"])
    # a non-blocking failed check does not fail its asset: revenue was materialized
    rows = ws.snapshot().rows("partition_status")
    assert rows[("revenue", "2024-01-01")]["materialized_run_id"]


def test_a_failed_blocking_check_keeps_the_materialization_and_skips_downstream(
    ws: Workspace,
) -> None:
    assert run(ws, "2024-01-02") == "FAILURE"
    rows = ws.snapshot().rows("partition_status")
    assert rows[("orders", "2024-01-02")]["materialized_run_id"]  # the data stands
    assert ("revenue", "2024-01-02") not in rows or not rows[("revenue", "2024-01-02")].get(
        "materialized_run_id"
    )
    [result] = by_name(ws)[("orders", "orders_not_empty")]
    assert (result["partition"], result["passed"]) == ("2024-01-02", False)
    runs = ws.snapshot().rows("runs").values()
    view = run_status(ws, next(iter(runs))["run_id"])
    statuses = {t["asset"]: (t["status"], t["error"]) for t in view["task_list"]}
    assert statuses["orders"] == ("FAILURE", "blocking asset check 'orders_not_empty' failed")
    assert statuses["revenue"][0] == "SKIPPED"


def test_the_cli_and_the_api_show_checks(ws: Workspace, tmp_path: Path) -> None:
    run(ws, "2024-01-02")
    result = CliRunner().invoke(
        cli, ["--store", f"file://{tmp_path / 's'}", "--workspace", "chk", "checks", "--json"]
    )
    assert result.exit_code == 0, result.output
    shown = {(c["asset"], c["name"]): c for c in json.loads(result.output)["checks"]}
    assert shown[("orders", "orders_not_empty")]["blocking"] is True
    assert shown[("orders", "orders_not_empty")]["results"][0]["passed"] is False
    client = api_client(ws, "chk")
    answer = client.get("/v1/workspaces/chk/checks?asset=revenue")
    assert answer.status_code == 200
    assert [c["name"] for c in answer.json["checks"]] == ["revenue_check_that_raises"]
    assert client.get("/v1/workspaces/chk/checks?asset=nope").status_code == 404


def test_bad_checks_are_refused_at_deploy_naming_them() -> None:
    @dg.asset
    def a() -> None: ...

    @dg.asset_check(asset="missing")
    def lost() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(InvalidInput, match="asset check 'lost' checks asset 'missing', which"):
        dg.Definitions(assets=[a], asset_checks=[lost]).snapshot("t")

    @dg.asset_check(asset=a, name="same")
    def first() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    @dg.asset_check(asset=a, name="same")
    def second() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(InvalidInput, match="asset 'a' has two asset checks named 'same'"):
        dg.Definitions(assets=[a], asset_checks=[first, second]).snapshot("t")

    external = dg.AssetSpec("ext")

    @dg.asset_check(asset=external)
    def on_spec() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    with pytest.raises(InvalidInput, match="checks 'ext', an AssetSpec"):
        dg.Definitions(assets=[a, external], asset_checks=[on_spec]).snapshot("t")
