"""Reconciliation plan and gated execution: off by default, dry run, per-asset opt-in, rate
limit, idempotent run keys; the report and the plan reproducible across reloads, rebuilds and
duplicate delivery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.domain.errors import Refused
from arco.services.commands.reconcile import execute_plan
from arco.services.commands.settings import change_setting
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.operations.rebuild import publish, verify
from arco.services.queries.reconciliation import PlanQuery, reconciliation_log, reconciliation_plan
from arco.services.queries.staleness import StalenessQuery, staleness
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures.versions_graph import build
from tests.integration.test_staleness_rules import World

DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")


@pytest.fixture
def world(tmp_path: Path) -> World:
    made = World(tmp_path / "store")
    for day in DAYS:
        made.run("source", day)
    for day in DAYS[1:]:
        made.run("rolling", day)
        made.run("digest", day)
        made.run("untracked", day)
    made.deploy(build(source_code="2"))  # source is stale; everything below it will be
    return made


def setting(world: World, name: str, value: Any) -> None:
    change_setting(world.ws, name, value, f"{name}-{value}", "test")
    world.tick()
    world.ws.compactor.compact_until_idle()


def timer(world: World, calls: int = 1) -> None:
    executor = InProcessExecutor(world.ws, world.definitions)
    for _ in range(calls):
        world.tick()
        now = datetime.fromtimestamp(world.ws.clock.now_ms() / 1000, tz=UTC)
        run_timer(world.ws, now, dispatcher=executor)


def stale(world: World) -> int:
    return int(staleness(world.ws, StalenessQuery(statuses=("STALE",)))["summary"]["STALE"])


def reconciliation_runs(world: World) -> list[dict[str, Any]]:
    rows = world.ws.snapshot().rows("runs").values()
    return [r for r in rows if r["source"] == "reconciliation"]


def test_the_plan_fixes_targets_and_their_downstream_in_dependency_order(world: World) -> None:
    plan = reconciliation_plan(world.ws, PlanQuery()).as_dict()
    # Days 2 and 3 need the same assets: one range run (as a backfill chunk); day 1 only source.
    assert [(r["partition"], r["partition_range"], r["assets"]) for r in plan["runs"]] == [
        ("2024-01-01", None, ["source"]),
        (None, ["2024-01-02", "2024-01-03"], ["source", "rolling", "digest", "untracked"]),
    ]
    per_key = reconciliation_plan(world.ws, PlanQuery(max_partitions_per_run=1)).as_dict()
    assert [(r["partition"], r["partition_range"], r["assets"]) for r in per_key["runs"]] == [
        ("2024-01-01", None, ["source"]),
        ("2024-01-02", None, ["source", "rolling", "digest", "untracked"]),
        ("2024-01-03", None, ["source", "rolling", "digest", "untracked"]),
    ]
    assert [t for r in per_key["runs"] for t in r["targets"]] == [
        t for r in plan["runs"] for t in r["targets"]
    ]  # the same targets, fewer runs
    second = per_key["runs"][1]
    causes = {t["asset"]: [c["code"] for c in t["causes"]] for t in second["targets"]}
    assert causes == {
        "source": ["CODE_VERSION_CHANGED"],
        "rolling": ["UPSTREAM_PLANNED"],
        "digest": ["UPSTREAM_PLANNED"],
        "untracked": ["UPSTREAM_PLANNED"],
    }
    assert second["opted_in"] is False  # untracked did not opt in
    # Deterministic: the same state, the same plan and run keys.
    again = reconciliation_plan(world.ws, PlanQuery()).as_dict()
    assert again == plan
    limited = reconciliation_plan(world.ws, PlanQuery(max_runs=1)).as_dict()
    assert limited["summary"]["truncated"] is True and len(limited["runs"]) == 1


def test_nothing_runs_while_reconciliation_is_disabled(world: World) -> None:
    with pytest.raises(Refused, match="disabled"):
        execute_plan(world.ws, PlanQuery())
    timer(world, 3)
    assert reconciliation_runs(world) == [] and reconciliation_log(world.ws) == []


def test_a_dry_run_launches_nothing_and_records_the_would_be_runs(world: World) -> None:
    manual = execute_plan(world.ws, PlanQuery(), dry_run=True)
    # untracked did not opt in: the runs go without it.
    assert manual["mode"] == "dry_run" and manual["counts"] == {"would_launch": 2}
    assert all("untracked" not in o["selection"] for o in manual["outcomes"])
    setting(world, "reconciliation.enabled", True)  # dry_run is still on (the default)
    timer(world, 2)
    assert reconciliation_runs(world) == []
    log = reconciliation_log(world.ws)
    assert {(e["trigger"], e["mode"]) for e in log} == {("manual", "dry_run"), ("timer", "dry_run")}
    assert len(log) == 2  # the same plan twice by the timer is recorded once
    keys = {r["run_key"] for e in log for r in e["runs"]}
    plan = reconciliation_plan(world.ws, PlanQuery()).runs
    assert keys == {part.run_key for r in plan if (part := r.opted_in_part()) is not None}


def test_execution_respects_opt_in_and_the_rate_limit_and_launches_once(world: World) -> None:
    setting(world, "reconciliation.enabled", True)
    setting(world, "reconciliation.dry_run", False)
    setting(world, "reconciliation.max_runs_per_hour", 1)
    first = execute_plan(world.ws, PlanQuery())
    assert first["counts"] == {"launched": 1, "held_by_rate_limit": 1}
    again = execute_plan(world.ws, PlanQuery())
    # The launched run is in flight: left out of the plan; the hour's budget is spent.
    assert again["counts"] == {"held_by_rate_limit": 1}
    assert again["plan"]["summary"]["left_out_in_flight"] == 1
    world.ws.compactor.compact_until_idle()
    assert len(reconciliation_runs(world)) == 1
    # The limit lifted: the same plan, a different outcome, recorded as its own entry.
    setting(world, "reconciliation.max_runs_per_hour", 10)
    third = execute_plan(world.ws, PlanQuery())
    assert third["counts"] == {"launched": 1}  # days 2 and 3: one range run
    world.ws.compactor.compact_until_idle()
    assert [e["launched"] for e in reconciliation_log(world.ws)] == [1, 0, 1]
    ranged = [r for r in reconciliation_runs(world) if r["partition"] is None]
    assert len(ranged) == 1


def test_opted_in_assets_are_brought_back_to_fresh_by_the_timer(tmp_path: Path) -> None:
    made = World(tmp_path / "store")
    for day in DAYS:
        made.run("source", day)
    for day in DAYS[1:]:
        made.run("rolling", day)
        made.run("digest", day)
    made.deploy(build(source_code="2"))
    assert stale(made) == 3
    setting(made, "reconciliation.enabled", True)
    setting(made, "reconciliation.dry_run", False)
    timer(made, 8)
    assert stale(made) == 0
    assert reconciliation_plan(made.ws, PlanQuery()).runs == []


def test_the_report_and_the_plan_are_reproducible(world: World, tmp_path: Path) -> None:
    query = StalenessQuery(limit=1000)
    report = staleness(world.ws, query)
    plan = reconciliation_plan(world.ws, PlanQuery()).as_dict()
    as_of = str(report["as_of"]["manifest_id"])

    # A cold reload: another process on the same store.
    cold = Workspace(LocalObjectStore(tmp_path / "store"), "s", clock=world.ws.clock)
    assert staleness(cold, query)["items"] == report["items"]

    # Every ledger object delivered again: nothing moves (stale_since included).
    for listed in list(world.ws.store.list(world.ws.layout.ledger_prefix)):
        stored = world.ws.store.get(listed.key)
        assert stored is not None
        world.tick()
        copy = f"{listed.key[: -len('.json')]}X.json"
        world.ws.store.create(copy, stored.data)
    world.ws.compactor.compact_until_idle()
    assert staleness(world.ws, query)["items"] == report["items"]
    assert reconciliation_plan(world.ws, PlanQuery()).as_dict()["runs"] == plan["runs"]

    # A rebuild republishes every table from the ledger: the same answers.
    assert verify(world.ws).identical
    publish(world.ws)
    assert staleness(world.ws, query)["items"] == report["items"]
    # And the old answer stays reproducible by its manifest.
    assert staleness(world.ws, StalenessQuery(limit=1000, as_of=as_of))["items"] == report["items"]


def test_the_pages_of_one_listing_compute_the_report_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco.services.queries import staleness as staleness_views

    calls = []
    real = staleness_views.compute_report

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(staleness_views, "compute_report", counting)
    monkeypatch.setattr(staleness_views, "_REPORTS", type(staleness_views._REPORTS)())
    first = staleness(world.ws, StalenessQuery(limit=5))
    second = staleness(world.ws, StalenessQuery(limit=5, cursor=first["next_cursor"]))
    third = staleness(world.ws, StalenessQuery(limit=5, cursor=second["next_cursor"]))
    assert len(calls) == 1
    seen = [(i["asset"], i["partition"]) for p in (first, second, third) for i in p["items"]]
    assert len(seen) == len(set(seen)) == 15
    world.run("source", "2024-01-04")  # a new state: a new computation
    staleness(world.ws, StalenessQuery(limit=5))
    assert len(calls) == 2
