"""Run configuration: Config classes, checked at launch (service, API, CLI), given to the
asset by the worker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures import config_location
from tests.integration.helpers import api_client
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.config_location:defs"
GOOD = {"ops": {"s3__core__items": {"config": {"base_item_id": 7, "limit": 5}}}}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(LocalObjectStore(tmp_path / "store"), "c")
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def ledger_count(ws: Workspace) -> int:
    return len(list(ws.store.list(ws.layout.ledger_prefix)))


def test_the_asset_gets_its_config_object_with_defaults(ws: Workspace) -> None:
    config_location.SEEN.clear()
    launched = launch_run(ws, LaunchRequest("key:s3/core/items", run_config=GOOD))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    assert drive_run(ws, launched.run_id, executor) == "SUCCESS"
    expected = {"base_item_id": 7, "limit": 5, "label": "hn"}
    assert [{"config": expected, "op_config": expected}] == config_location.SEEN


def test_the_config_schema_is_deployed_and_only_with_a_config_class(ws: Workspace) -> None:
    snapshot = load_definitions(LOCATION).snapshot(LOCATION)
    schema = snapshot.assets["s3/core/items"].config_schema
    assert schema is not None and schema["required"] == ["base_item_id"]
    assert snapshot.assets["s3/core/items"].dep_keys == ()  # `config` is no upstream asset
    assert snapshot.assets["plain"].config_schema is None


@pytest.mark.parametrize(
    ("run_config", "message"),
    [
        ({}, "run config for asset 's3/core/items': 'base_item_id' is a"),
        (
            {"ops": {"s3__core__items": {"config": {"base_item_id": "x"}}}},
            "at 'base_item_id': 'x' is not of type 'integer'",
        ),
        (
            {"ops": {"s3__core__items": {"config": {"base_item_id": 1, "colour": "red"}}}},
            "Additional properties are not allowed ('colour' was unexpected)",
        ),
        ({"ops": {"nope": {"config": {}}}}, "op 'nope' is not an asset of this run"),
        ({"ops": {"plain": {"config": {}}}}, "op 'plain' is not an asset of this run"),
        ({"resources": {}}, "'resources' is not supported"),
        ({"solids": {}}, "unknown top-level key 'solids'"),
    ],
)
def test_bad_config_is_refused_at_launch_and_writes_nothing(
    ws: Workspace, run_config: dict[str, Any], message: str
) -> None:
    before = ledger_count(ws)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        launch_run(ws, LaunchRequest("key:s3/core/items", run_config=run_config))
    assert ledger_count(ws) == before


def test_config_for_an_asset_without_a_config_class_is_refused(ws: Workspace) -> None:
    request = LaunchRequest(
        "key:s3/core/items or key:plain",
        run_config={**GOOD, "ops": {**GOOD["ops"], "plain": {"config": {}}}},
    )
    with pytest.raises(InvalidInput, match="asset 'plain' takes no config"):
        launch_run(ws, request)


def test_the_config_is_part_of_the_run_key_fingerprint(ws: Workspace) -> None:
    first = launch_run(ws, LaunchRequest("key:s3/core/items", run_key="k", run_config=GOOD))
    ws.compactor.compact_until_idle()
    again = launch_run(ws, LaunchRequest("key:s3/core/items", run_key="k", run_config=GOOD))
    assert again.run_id == first.run_id and not again.created
    other = {"ops": {"s3__core__items": {"config": {"base_item_id": 8}}}}
    with pytest.raises(Exception, match="run_key 'k' is already used"):
        launch_run(ws, LaunchRequest("key:s3/core/items", run_key="k", run_config=other))


def test_the_api_takes_run_config_and_answers_422_naming_the_problem(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "api")
    client = api_client(store, "api")
    ws = Workspace(store, "api")
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    ok = client.post(
        "/v1/workspaces/api/runs", json={"selection": "key:s3/core/items", "run_config": GOOD}
    )
    assert ok.status_code == 201, ok.json
    bad = client.post(
        "/v1/workspaces/api/runs",
        json={"selection": "key:s3/core/items", "run_config": {"ops": {"x": {"config": {}}}}},
    )
    assert bad.status_code == 422  # well-formed, but not applicable to this deployment
    assert "op 'x' is not an asset of this run" in json.dumps(bad.json)


def test_the_cli_reads_a_yaml_or_json_config_file(tmp_path: Path) -> None:
    runner = CliRunner()
    create_workspaces(LocalObjectStore(tmp_path / "s"), "cli")

    def arco(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            cli, ["--store", f"file://{tmp_path / 's'}", "--workspace", "cli", *args]
        )
        return result.exit_code, result.output

    assert arco("deploy", "--definitions", LOCATION)[0] == 0
    good = tmp_path / "run_config.yaml"
    good.write_text("ops:\n  s3__core__items:\n    config:\n      base_item_id: 3\n")
    config_location.SEEN.clear()
    code, out = arco(
        "run", "key:s3/core/items", "--config", str(good), "--wait", "--definitions", LOCATION
    )
    assert code == 0, out
    assert config_location.SEEN[0]["config"] == {"base_item_id": 3, "limit": 100, "label": "hn"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ops": {"s3__core__items": {"config": {"limit": 1}}}}))
    code, out = arco("run", "key:s3/core/items", "--config", str(bad))
    assert code != 0 and "'base_item_id' is a required property" in " ".join(out.split())


def test_a_sensor_run_request_carries_run_config_and_a_bad_one_fails_alone(
    tmp_path: Path,
) -> None:
    from arco.clock import OffsetClock
    from arco.services.engines.timer import run_timer
    from tests.integration.helpers import now_of

    location = "tests.fixtures.config_location:sensor_defs"
    clock = OffsetClock()
    clock.set_now(1_706_745_600_000)  # 2024-02-01
    ws = Workspace(LocalObjectStore(tmp_path / "s"), "c", clock=clock, lookback_ms=3_600_000)
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    config_location.SEEN.clear()
    config_location.REQUESTS[:] = [
        dg.RunRequest(
            run_key="good",
            run_config=dg.RunConfig(
                ops={"s3__core__items": config_location.ItemsConfig(base_item_id=11)}
            ),
        ),
        dg.RunRequest(run_key="bad", run_config={"ops": {"s3__core__items": {"config": {}}}}),
    ]
    executor = InProcessExecutor(ws, load_definitions(location))
    run_timer(ws, now_of(ws), dispatcher=executor)
    clock.offset_ms += 60_000
    run_timer(ws, now_of(ws), dispatcher=executor)
    ws.compactor.compact_until_idle()
    assert config_location.SEEN[0]["config"] == {"base_item_id": 11, "limit": 100, "label": "hn"}
    requests = ws.snapshot().rows("run_requests").values()
    failed = [r for r in requests if r["status"] == "FAILED"]
    assert [r["run_key"] for r in failed] == ["bad"]
    assert "'base_item_id' is a required property" in failed[0]["error"]


def test_a_schedule_carries_run_config_checked_at_deploy(tmp_path: Path) -> None:
    from arco.clock import FixedClock
    from arco.services.engines.timer import run_timer
    from tests.integration.helpers import now_of

    good = dg.ScheduleDefinition(
        name="hourly_items",
        cron_schedule="0 * * * *",
        target=[config_location.items],
        default_status=dg.DefaultScheduleStatus.RUNNING,
        run_config={"ops": {"s3__core__items": {"config": {"base_item_id": 5, "limit": 1}}}},
    )
    bad = dg.ScheduleDefinition(
        name="broken_items",
        cron_schedule="0 * * * *",
        target=[config_location.items],
        run_config={"ops": {"s3__core__items": {"config": {"limit": 1}}}},
    )
    assets = [config_location.items, config_location.plain]
    with pytest.raises(InvalidInput, match="schedule 'broken_items': run config for asset"):
        dg.Definitions(assets=assets, schedules=[bad]).snapshot("t")

    definitions = dg.Definitions(assets=assets, schedules=[good])
    clock = FixedClock(1_706_745_600_000 - 1_000)  # a second before 2024-02-01T00:00Z
    ws = Workspace(LocalObjectStore(tmp_path / "s"), "c", clock=clock, lookback_ms=3_600_000)
    deploy(ws, definitions.snapshot("t"), "test")
    ws.compactor.compact_until_idle()
    config_location.SEEN.clear()
    executor = InProcessExecutor(ws, definitions)
    run_timer(ws, now_of(ws), dispatcher=executor)
    clock.advance(2_000)
    run_timer(ws, now_of(ws), dispatcher=executor)
    run_timer(ws, now_of(ws), dispatcher=executor)
    assert config_location.SEEN[0]["config"] == {"base_item_id": 5, "limit": 1, "label": "hn"}
