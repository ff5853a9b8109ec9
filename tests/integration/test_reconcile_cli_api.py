"""Reconciliation through the CLI (`arco reconcile plan|execute|log`) and HTTP
(`/v1/workspaces/{ws}/reconciliation/plan|execute|log`): the plan as a table and as the
service's JSON; execution refused while disabled (409 / exit 2, nothing written); dry runs by
flag and by the workspace setting; launches once enabled, and the log; bad input as 400 /
exit 2 naming it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from arco.api.app import openapi_document
from arco.domain.reconciliation import RECONCILIATION_SCOPE
from arco.domain.run_identity import keyed_run_id
from arco.services.queries.reconciliation import PlanQuery, reconciliation_log, reconciliation_plan
from tests.fixtures.versions_graph import build
from tests.integration.helpers import body_of, refused_status
from tests.integration.test_reconciliation import DAYS, reconciliation_runs, setting
from tests.integration.test_staleness_cli_api import (
    Run,
    client_of,
    runner_for,
    table_rows,
)
from tests.integration.test_staleness_rules import World
from tests.workspaces import create_workspaces

URL = "/v1/workspaces/s/reconciliation"
CODE = "STALE: CODE_VERSION_CHANGED 1→2"
# The plan for the world below: (partition, assets, opted in, one line per target). Days 2 and
# 3 need the same assets: one range run, as a backfill's chunk.
PLAN = [
    ("2024-01-01", "source", "yes", [f"source {CODE}"]),
    (
        "2024-01-02 .. 2024-01-03",
        "source, rolling, digest, untracked",
        "no (untracked)",
        [
            f"source {CODE}",
            "rolling FRESH: UPSTREAM_PLANNED source[2024-01-01]",
            "digest FRESH: UPSTREAM_PLANNED rolling[2024-01-02]",
            "untracked FRESH: UPSTREAM_PLANNED source[2024-01-02]",
            f"source {CODE}",
            "rolling FRESH: UPSTREAM_PLANNED source[2024-01-02]",
            "digest FRESH: UPSTREAM_PLANNED rolling[2024-01-03]",
            "untracked FRESH: UPSTREAM_PLANNED source[2024-01-03]",
        ],
    ),
]
# What execution launches (untracked did not opt in).
LAUNCHED = [
    ("2024-01-01", 'key:"source"'),
    ("2024-01-02 .. 2024-01-03", 'key:"source" or key:"rolling" or key:"digest"'),
]


def shown(planned: dict[str, Any]) -> str:
    """A run's partition as the CLI shows it: the key, or 'first .. last' for a range."""
    rng = planned["partition_range"]
    if isinstance(rng, str):  # a runs row keeps the range as JSON
        rng = json.loads(rng)
    return " .. ".join(rng) if rng else planned["partition"]


@pytest.fixture
def world(tmp_path: Path) -> World:
    """source, rolling, digest and untracked materialized, then source's code version 2:
    source is STALE on every day, and a plan re-runs what is downstream of it too."""
    made = World(tmp_path / "store")
    create_workspaces(made.ws.store, "s")  # as `arco workspace create` does
    for day in DAYS:
        made.run("source", day)
    for day in DAYS[1:]:
        made.run("rolling", day)
        made.run("digest", day)
        made.run("untracked", day)
    made.deploy(build(source_code="2"))
    return made


@pytest.fixture
def run(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    return runner_for(world, tmp_path / "store", monkeypatch)


@pytest.fixture
def http(world: World) -> FlaskClient:
    return client_of(world)


def ledger_objects(world: World) -> int:
    return len(list(world.ws.store.list(world.ws.layout.ledger_prefix)))


def settled_log(world: World) -> list[dict[str, Any]]:
    """The log once everything written is folded (the CLI's clock ran a little ahead)."""
    world.tick()
    world.ws.compactor.compact_until_idle()
    return reconciliation_log(world.ws)


def plan_of(world: World, **query: Any) -> dict[str, Any]:
    return reconciliation_plan(world.ws, PlanQuery(**query)).as_dict()


def test_the_plan_as_a_table(run: Run, world: World) -> None:
    plan = plan_of(world)
    code, out = run("reconcile", "plan")
    assert code == 0, out
    assert f"as of manifest {world.ws.manifest().manifest_id} at 2024-02-01 " in out
    assert f"plan {plan['plan_hash']}" in out
    assert "2 run(s) for 9 target(s): 3 STALE, 6 FRESH downstream of them" in out
    assert "truncated" not in out and "left out" not in out
    rows = table_rows(out)
    assert [r[:4] for r in rows] == [
        [str(i), partition, assets, opted_in]
        for i, (partition, assets, opted_in, _) in enumerate(PLAN, 1)
    ]
    # Piped, a cell's lines are joined by an escaped line break (one record per line).
    assert [r[4] for r in rows] == ["\\n".join(targets) for *_, targets in PLAN]
    # Run keys whole when piped, in the plan's order (a terminal shortens them).
    assert [r[5] for r in rows] == [planned["run_key"] for planned in plan["runs"]]
    # Limits: a truncated plan says so.
    code, out = run("reconcile", "plan", "--max-runs", "1", "--include-missing")
    assert code == 0 and "truncated" in out and len(table_rows(out)) == 1, out
    # Nothing stale in the selection (digest's MISSING days are not asked for).
    code, out = run("reconcile", "plan", "key:digest")
    assert code == 0 and "nothing to reconcile: the selection is FRESH" in out, out
    assert not table_rows(out)


def test_the_plan_as_json_and_over_http_is_the_services(
    run: Run, world: World, http: FlaskClient
) -> None:
    manifest = str(world.ws.manifest().manifest_id)
    code, out = run("reconcile", "plan", "--json", "--as-of", manifest)
    assert code == 0, out
    printed = json.loads(out)
    assert printed == plan_of(world, as_of=manifest)
    assert printed == body_of(http.get(f"{URL}/plan?as_of={manifest}"))
    assert [(shown(r), r["assets"]) for r in printed["runs"]] == [
        (partition, assets.split(", ")) for partition, assets, *_ in PLAN
    ]
    # Every parameter, the same through all three.
    args = ("key:source+", "--include-missing", "--max-runs", "2", "--max-partitions", "20")
    args += ("--max-partitions-per-run", "1")
    code, out = run("reconcile", "plan", "--json", *args)
    assert code == 0, out
    printed = json.loads(out)
    query = {
        "selection": "key:source+",
        "include_missing": True,
        "max_runs": 2,
        "max_partitions_per_run": 1,
    }
    direct = plan_of(world, max_partitions=20, **query)
    served = body_of(
        http.get(
            f"{URL}/plan", query_string={**query, "include_missing": "true", "max_partitions": 20}
        )
    )
    # The CLI's simulated clock flows: everything but the evaluation time is the same.
    for answer in (printed, served):
        assert answer["as_of"]["manifest_id"] == direct["as_of"]["manifest_id"]
        assert {k: v for k, v in answer.items() if k != "as_of"} == {
            k: v for k, v in direct.items() if k != "as_of"
        }
    assert direct["summary"]["truncated"] is True and len(direct["runs"]) == 2
    assert body_of(http.get(f"{URL}/plan?include_missing=false")) == {
        **plan_of(world),
        "as_of": body_of(http.get(f"{URL}/plan"))["as_of"],
    }


def test_execution_is_refused_while_disabled(run: Run, world: World, http: FlaskClient) -> None:
    before = ledger_objects(world)
    code, out = run("reconcile", "execute")
    assert code == 2, out
    assert "reconciliation is disabled in this workspace" in out
    code, out = run("reconcile", "execute", "--json", "key:source")
    assert code == 2 and json.loads(out)["error"]["type"] == "Refused", out
    response = http.post(f"{URL}/execute", json={"selection": "key:source"})
    assert response.status_code == 409, response.json
    error = body_of(response)["error"]
    assert error["code"] == "conflict" and error["setting"] == "reconciliation.enabled"
    assert "disabled" in error["message"]
    assert http.post(f"{URL}/execute").status_code == 409  # no body at all
    assert ledger_objects(world) == before  # nothing launched, nothing recorded
    assert settled_log(world) == [] and reconciliation_runs(world) == []


def test_dry_runs_by_flag_and_by_setting_launch_nothing(
    run: Run, world: World, http: FlaskClient
) -> None:
    code, out = run("reconcile", "execute", "--dry-run")
    assert code == 0, out
    assert "mode dry run (--dry-run): nothing launched" in out
    assert "reconciliation is disabled in this workspace" in out  # a dry run works anyway
    assert "2 would_launch" in out
    assert [r[1:] for r in table_rows(out)] == [[p, s, "would_launch", ""] for p, s in LAUNCHED]
    response = http.post(f"{URL}/execute", json={"dry_run": True})
    assert response.status_code == 200, response.json
    result = body_of(response)
    assert result["mode"] == "dry_run" and result["enabled"] is False
    assert result["counts"] == {"would_launch": 2}
    assert result["plan"] == plan_of(world) | {"as_of": result["plan"]["as_of"]}
    # Enabled, but the workspace's dry_run setting (on by default) still holds launches back.
    setting(world, "reconciliation.enabled", True)
    code, out = run("reconcile", "execute")
    assert code == 0, out
    assert "mode dry run (the workspace setting reconciliation.dry_run is on" in out
    assert "disabled" not in out
    code, out = run("reconcile", "execute", "--json")
    printed = json.loads(out)
    assert code == 0 and printed["mode"] == "dry_run" and printed["enabled"] is True
    assert [(shown(o), o["selection"], o["outcome"]) for o in printed["outcomes"]] == [
        (p, s, "would_launch") for p, s in LAUNCHED
    ]
    result = body_of(http.post(f"{URL}/execute", json={}))
    assert result["mode"] == "dry_run" and result["counts"] == {"would_launch": 2}
    assert reconciliation_runs(world) == []
    # The same plan dry-run again is recorded once.
    log = settled_log(world)
    assert [(e["trigger"], e["mode"], e["would_launch"], e["launched"]) for e in log] == [
        ("manual", "dry_run", 2, 0)
    ]
    assert reconciliation_runs(world) == []


def test_enabled_execution_launches_and_the_log_shows_it(
    run: Run, world: World, http: FlaskClient
) -> None:
    setting(world, "reconciliation.enabled", True)
    setting(world, "reconciliation.dry_run", False)
    plan = reconciliation_plan(world.ws, PlanQuery())
    parts = [part for r in plan.runs if (part := r.opted_in_part()) is not None]
    expected_ids = [keyed_run_id("s", RECONCILIATION_SCOPE, part.run_key) for part in parts]
    code, out = run("reconcile", "execute")
    assert code == 0, out
    assert "mode execute: runs launched, within reconciliation.max_runs_per_hour" in out
    assert "2 launched" in out
    assert [r[1:] for r in table_rows(out)] == [
        [p, s, "launched", run_id] for (p, s), run_id in zip(LAUNCHED, expected_ids, strict=True)
    ]
    world.tick()
    world.ws.compactor.compact_until_idle()
    launched = reconciliation_runs(world)
    assert sorted(r["run_id"] for r in launched) == sorted(expected_ids)
    assert sorted((shown(r), r["selection"]) for r in launched) == LAUNCHED
    # Again over HTTP: the runs are in flight, so the plan leaves their partitions out.
    response = http.post(f"{URL}/execute", json={"selection": "key:source+"})
    assert response.status_code == 200, response.json
    again = body_of(response)
    assert again["mode"] == "execute" and again["outcomes"] == [] and again["counts"] == {}
    assert again["plan"]["summary"]["left_out_in_flight"] == 3
    code, out = run("reconcile", "plan")
    assert code == 0 and "nothing to reconcile now: runs in flight cover" in out, out
    assert "left out: 3 partition(s) a run in flight covers" in out
    # The log, newest first: the same through the service, HTTP and the CLI.
    log = settled_log(world)
    assert [(e["trigger"], e["mode"], e["launched"]) for e in log] == [
        ("manual", "execute", 0),
        ("manual", "execute", 2),
    ]
    assert body_of(http.get(f"{URL}/log")) == {"log": log}
    assert body_of(http.get(f"{URL}/log?limit=1")) == {"log": log[:1]}
    code, out = run("reconcile", "log", "--json")
    assert code == 0 and json.loads(out) == log, out
    code, out = run("reconcile", "log")
    assert code == 0, out
    assert table_rows(out) == [
        [
            _utc(e["evaluated_ms"]),
            "manual",
            "execute",
            str(e["launched"]),
            "0",
            "0",
            "0",
            e["plan_hash"],
        ]
        for e in log
    ]
    assert log[1]["plan_hash"] == plan.hash


def test_an_empty_log(run: Run, http: FlaskClient) -> None:
    code, out = run("reconcile", "log")
    assert code == 0 and "no reconciliation yet" in out, out
    assert body_of(http.get(f"{URL}/log")) == {"log": []}


@pytest.mark.parametrize(
    "query, needle",
    [
        ("max_runs=0", "query.max_runs: Input should be greater than or equal to 1"),
        ("max_runs=1001", "query.max_runs: Input should be less than or equal to 1000"),
        ("max_runs=x", "query.max_runs: must be an integer"),
        ("max_partitions=0", "query.max_partitions: Input should be greater than or equal to 1"),
        (
            "max_partitions_per_run=0",
            "query.max_partitions_per_run: Input should be greater than or equal to 1",
        ),
        (
            "max_partitions_per_run=10001",
            "query.max_partitions_per_run: Input should be less than or equal to 10000",
        ),
        ("include_missing=maybe", "query.include_missing: must be true or false"),
        ("selection=key:nothing", "unknown asset 'nothing'"),
        ("as_of=yesterday", "as_of 'yesterday' is not an ISO 8601 timestamp"),
    ],
)
def test_bad_plan_parameters_are_a_400(http: FlaskClient, query: str, needle: str) -> None:
    response = http.get(f"{URL}/plan?{query}")
    refused_status(response)
    assert needle in body_of(response)["error"]["message"]


@pytest.mark.parametrize(
    "body, needle",
    [
        ({"max_runs": 0}, "body.max_runs: Input should be greater than or equal to 1"),
        (
            {"max_partitions": 100_001},
            "body.max_partitions: Input should be less than or equal to 100000",
        ),
        ({"max_runs": "5"}, "body.max_runs: Input should be a valid integer"),
        (
            {"max_partitions_per_run": 0},
            "body.max_partitions_per_run: Input should be greater than or equal to 1",
        ),
        ({"include_missing": "maybe"}, "body.include_missing: Input should be a valid boolean"),
        ({"dry_run": "yes"}, "body.dry_run: Input should be a valid boolean"),
        ({"selection": 3}, "body.selection: Input should be a valid string"),
        ({"selection": "key:nothing", "dry_run": True}, "unknown asset 'nothing'"),
        ({"limit": 5}, "body.limit: unknown field"),
        ([1], "body: Input should be an object"),
        (b"{nope", "body: Invalid JSON"),
    ],
)
def test_bad_execute_bodies_are_a_400_and_write_nothing(
    http: FlaskClient, world: World, body: Any, needle: str
) -> None:
    before = ledger_objects(world)
    if isinstance(body, bytes):
        response = http.post(f"{URL}/execute", data=body, content_type="application/json")
    else:
        response = http.post(f"{URL}/execute", json=body)
    refused_status(response)
    error = body_of(response)["error"]
    assert needle in error["message"]
    assert ledger_objects(world) == before


def test_bad_log_limit_is_a_400(http: FlaskClient) -> None:
    response = http.get(f"{URL}/log?limit=0")
    assert response.status_code == 400
    assert "query.limit: Input should be" in body_of(response)["error"]["message"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (("plan", "--max-runs", "0"), "0 is not in the range x>=1"),
        (("plan", "--max-runs", "1001"), "max_runs must be between 1 and 1000"),
        (("plan", "--max-partitions", "0"), "0 is not in the range x>=1"),
        (("plan", "--max-partitions-per-run", "0"), "0 is not in the range 1<=x<=10000"),
        (("plan", "key:nothing"), "unknown asset 'nothing'"),
        (("plan", "--as-of", "yesterday"), "not an ISO 8601 timestamp"),
        (("execute", "--max-runs", "0"), "0 is not in the range x>=1"),
        (("execute", "--max-runs", "1001"), "max_runs must be between 1 and 1000"),
        (("execute", "--dry-run", "key:nothing"), "unknown asset 'nothing'"),
        (("log", "--limit", "0"), "0 is not in the range 1<=x<=1000"),
    ],
)
def test_bad_input_in_the_cli_exits_2(
    run: Run, world: World, args: tuple[str, ...], needle: str
) -> None:
    before = ledger_objects(world)
    code, out = run("reconcile", *args)
    assert code == 2 and needle in " ".join(out.split()), out
    if "0" not in args:  # click's own range check prints usage, not JSON
        code, out = run("reconcile", *args, "--json")
        assert code == 2 and needle in json.loads(out)["error"]["message"], out
    assert ledger_objects(world) == before


def test_the_routes_are_documented() -> None:
    paths = openapi_document()["paths"]
    prefix = "/v1/workspaces/{name}/reconciliation"
    assert {p: set(ops) for p, ops in paths.items() if p.startswith(prefix)} == {
        f"{prefix}/plan": {"get"},
        f"{prefix}/execute": {"post"},
        f"{prefix}/log": {"get"},
    }
    assert "409" in paths[f"{prefix}/execute"]["post"]["responses"]


# --- helpers -------------------------------------------------------------------------------


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
