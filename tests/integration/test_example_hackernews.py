"""The Hacker News example: examples/hackernews is a port of the Dagster code location in
examples/hackernews_dagster that changes only its imports and the edits its README lists.

- The diff test compares both packages line by line and fails on any other difference.
- The end-to-end test deploys the port on the local store, backfills five hours of the core
  group (one of them the fake API's maintenance hour, which the blocking check stops), runs
  the analytics and recommender groups, and checks what the IO managers stored and passed.
- With .venv-dagster present, the Dagster original runs the same partitions in a subprocess
  and its results are compared with Arco's (skipped, with the reason, without it).
"""

from __future__ import annotations

import difflib
import importlib
import json
import os
import pickle
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.clock import FixedClock
from arco.domain.backfills import PartitionSelection
from arco.sdk import Definitions
from arco.services.code_location import load_definitions
from arco.services.commands.backfills import BackfillRequest, create_backfill
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.commands.schedules import set_schedule_status
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.engines.timer import run_timer
from arco.services.queries.backfills import backfill_runs, show_backfill
from arco.services.queries.checks import list_checks
from arco.services.queries.definitions import require_definitions
from arco.services.queries.runs import run_status
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from arco.storage.memory import MemoryObjectStore
from tests.differential.oracle import DAGSTER_PYTHON, missing_message
from tests.integration.helpers import now_of
from tests.workspaces import create_workspaces

REPO = Path(__file__).resolve().parents[2]
ORIGINAL = REPO / "examples" / "hackernews_dagster"
PORT = REPO / "examples" / "hackernews"
README = PORT / "README.md"
LOCATION = "examples.hackernews.definitions:defs"
WS = "hn"

T0 = datetime(2024, 6, 2, tzinfo=UTC)  # a day after the partitions start: 24 hours exist
FIRST, LAST = "2024-06-01-00:00", "2024-06-01-04:00"
HOURS = [f"2024-06-01-0{hour}:00" for hour in range(5)]
BLOCKED = "2024-06-01-03:00"  # the fake API's maintenance hour: no items, the check fails
GOOD = [hour for hour in HOURS if hour != BLOCKED]
CONFIGURED = "2024-06-01-05:00"  # run alone, with run config
ANALYZED = "2024-06-01-02:00"
TERMINAL_BACKFILL = ("COMPLETED_SUCCESS", "COMPLETED_FAILED", "CANCELED", "FAILED")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the diff test ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One line of the Dagster original that the port changes beyond its imports."""

    file: str
    dagster: str
    arco: str
    why: str


EDIT_FIELDS = ("file", "dagster", "arco", "why")


def listed_edits(readme: str) -> list[Edit]:
    """The edits in the `<!-- port edits ... -->` block at the top of the port's README: records
    of `file:`, `dagster:`, `arco:` and `why:` lines (an indented line continues `why`)."""
    block = re.search(r"<!-- port edits(.*?)-->", readme, re.DOTALL)
    assert block is not None, f"{README} has no <!-- port edits ... --> block"
    records: list[dict[str, str]] = []
    last = ""
    for line in block.group(1).splitlines():
        field = re.fullmatch(r"(\w+): (.*)", line)
        if field is not None and field.group(1) in EDIT_FIELDS:
            last = field.group(1)
            if last == "file":
                records.append({})
            assert records, f"{last}: before any file: in {README}"
            records[-1][last] = field.group(2).strip()
        elif line.startswith((" ", "\t")) and line.strip() and last == "why":
            records[-1]["why"] += " " + line.strip()
        else:
            last = ""  # prose around the records
    for record in records:
        missing = [name for name in EDIT_FIELDS if not record.get(name)]
        assert not missing, f"edit {record} in {README} lacks {', '.join(missing)}"
    return [Edit(**record) for record in records]


def ported_import(line: str) -> str | None:
    """The line an import of `dagster` becomes in the port (`import dagster as dg` ->
    `import arco as dg`, `from dagster import x` -> `from arco import x`), or None if the line is
    no import of Dagster's public module."""
    found = re.fullmatch(r"(\s*)(import|from) dagster(\s.*)?", line)
    if found is None:
        return None
    return f"{found.group(1)}{found.group(2)} arco{found.group(3) or ''}"


def python_files(root: Path) -> dict[str, list[str]]:
    return {
        path.relative_to(root).as_posix(): path.read_text().splitlines()
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def unexplained(
    name: str, original: list[str], port: list[str], edits: list[Edit], used: set[Edit]
) -> list[str]:
    """Every differing line that is neither an import made Arco's nor a listed edit (the edits
    that explain a difference are added to `used`)."""

    def explained(old: str, new: str) -> bool:
        if ported_import(old) == new:
            return True
        for edit in edits:
            if (edit.file, edit.dagster, edit.arco) == (name, old.strip(), new.strip()):
                used.add(edit)
                return True
        return False

    problems = []
    matcher = difflib.SequenceMatcher(None, original, port, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        added = list(port[j1:j2])
        for number, old in enumerate(original[i1:i2], start=i1 + 1):
            match = next((k for k, new in enumerate(added) if explained(old, new)), None)
            if match is None:
                problems.append(f"{name}:{number}: only in the original: {old!r}")
            else:
                added.pop(match)
        problems += [f"{name}: only in the port: {new!r}" for new in added]
    return problems


def port_problems(original: dict[str, list[str]], port: dict[str, list[str]]) -> list[str]:
    """Everything that makes the port more than the original with Arco's imports and the
    listed edits (empty when the port is right)."""
    edits = listed_edits(README.read_text())
    problems = [
        f"{name}: only in {'the original' if name in original else 'the port'}"
        for name in sorted(set(original) ^ set(port))
    ]
    used: set[Edit] = set()
    for name in sorted(set(original) & set(port)):
        problems += unexplained(name, original[name], port[name], edits, used)
        problems += [
            f"{name}: the port still imports Dagster: {line!r}"
            for line in port[name]
            if ported_import(line) is not None
        ]
    problems += [f"listed in the README but not made: {edit}" for edit in edits if edit not in used]
    return problems


def test_the_port_differs_from_the_original_only_in_imports_and_listed_edits() -> None:
    original, port = python_files(ORIGINAL), python_files(PORT)
    assert "definitions.py" in original and len(original) >= 8
    assert port_problems(original, port) == []
    # The original does import Dagster, and the README's list is read (not silently empty).
    imports = [line for lines in original.values() for line in lines if ported_import(line)]
    assert len(imports) >= len(original) - 5
    assert [edit.file for edit in listed_edits(README.read_text())] == ["resources.py"]


def test_the_diff_test_fails_on_any_other_change() -> None:
    original, port = python_files(ORIGINAL), python_files(PORT)
    changed = {**port, "resources.py": list(port["resources.py"])}
    line = changed["resources.py"].index("    items_per_hour: int = 6")
    changed["resources.py"][line] = "    items_per_hour: int = 7"
    assert port_problems(original, changed) == [
        "resources.py:24: only in the original: '    items_per_hour: int = 6'",
        "resources.py: only in the port: '    items_per_hour: int = 7'",
    ]
    reverted = {**port, "resources.py": list(original["resources.py"])}
    reverted["resources.py"] = [ported_import(x) or x for x in reverted["resources.py"]]
    [stale] = port_problems(original, reverted)  # the README lists an edit not made
    assert stale.startswith("listed in the README but not made: Edit(file='resources.py'")
    still_dagster = {**port, "checks.py": list(original["checks.py"])}
    assert port_problems(original, still_dagster) == [
        "checks.py: the port still imports Dagster: 'import dagster as dg'"
    ]
    assert ported_import("from dagster import asset, Definitions") == (
        "from arco import asset, Definitions"
    )
    assert ported_import("from dagster._core.definitions import x") is None


# --- end to end on the local store --------------------------------------------------------------


@dataclass
class World:
    """The port deployed and run once for the module's tests."""

    ws: Workspace
    root: Path  # the working directory the local IO manager wrote hn_data/ in
    backfill: dict[str, Any]
    runs: dict[str, str]  # what -> run status

    def stored(self, asset: str, partition: str) -> Any:
        """A value the local JSON IO manager stored (hn_data/<key>/<partition>.json)."""
        return json.loads((self.root / "hn_data" / asset / f"{partition}.json").read_text())

    def has_stored(self, asset: str, partition: str) -> bool:
        return (self.root / "hn_data" / asset / f"{partition}.json").exists()

    def in_store(self, asset: str, partition: str | None = None) -> Any:
        """A value the default IO manager pickled in the workspace's store."""
        name = partition.replace(":", "%3A") if partition else "__unpartitioned__"
        found = self.ws.store.get(f"{self.ws.layout.root}io/{asset}/{name}.pickle")
        assert found is not None, f"no stored value of {asset}[{partition}]"
        return pickle.loads(found.data)

    def metadata(self, asset: str, partition: str = "") -> dict[str, Any]:
        row = self.ws.snapshot().rows("partition_status")[(asset, partition)]
        assert row["materialized_run_id"], f"{asset}[{partition}] was not materialized"
        return dict(json.loads(row["materialized_metadata"] or "{}"))

    def materialized(self, asset: str, partition: str) -> bool:
        row = self.ws.snapshot().rows("partition_status").get((asset, partition))
        return bool(row and row.get("materialized_run_id"))


def workspace(store: Any, at: datetime = T0) -> Workspace:
    create_workspaces(store, WS)
    ws = Workspace(store, WS, clock=FixedClock(ms(at)), lookback_ms=3_600_000)
    deploy(ws, load_definitions(LOCATION).snapshot(LOCATION), "test")
    ws.compactor.compact_until_idle()
    return ws


def advance(ws: Workspace, seconds: float) -> None:
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(max(1000, round(seconds * 1000)))


def run(ws: Workspace, executor: InProcessExecutor, request: LaunchRequest) -> str:
    launched = launch_run(ws, request)
    status = drive_run(ws, launched.run_id, executor, timeout_s=30, sleep=lambda s: advance(ws, s))
    ws.compactor.compact_until_idle()
    return status


def drive_backfill(ws: Workspace, executor: InProcessExecutor, backfill_id: str) -> dict[str, Any]:
    """Timer calls (10 s apart) until the backfill is done, tasks run in this process."""
    for _ in range(30):
        advance(ws, 10)
        run_timer(ws, now_of(ws), dispatcher=executor)
        ws.compactor.compact_until_idle()
        view = show_backfill(ws, backfill_id)
        if view["status"] in TERMINAL_BACKFILL:
            return view
    raise AssertionError(f"backfill {backfill_id} never finished: {view}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hackernews")
    definitions = load_definitions(LOCATION)
    ws = workspace(LocalObjectStore(root / "store"))
    executor = InProcessExecutor(ws, definitions)
    runs: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HN_API_TOKEN", "test-token")  # the client's EnvVar, read when tasks run
        patch.chdir(root)  # the local IO manager writes hn_data/ here
        selection = PartitionSelection(kind="range", first=FIRST, last=LAST)
        created, _ = create_backfill(ws, BackfillRequest("group:core", selection), "test")
        view = drive_backfill(ws, executor, created["backfill_id"])
        runs["analytics"] = run(ws, executor, LaunchRequest("group:analytics", partition=ANALYZED))
        runs["recommender"] = run(ws, executor, LaunchRequest("group:recommender"))
        config = {"ops": {"items": {"config": {"max_items": 2}}}}  # Dagster's op name
        request = LaunchRequest("key:hn/core/items", partition=CONFIGURED, run_config=config)
        runs["configured"] = run(ws, executor, request)
    yield World(ws, root, view, runs)


def test_the_backfill_runs_every_hour_and_the_blocked_hour_stops_downstream(world: World) -> None:
    view = world.backfill
    assert view["status"] == "COMPLETED_FAILED"
    items = view["per_asset"]["hn/core/items"]
    assert (items["materialized"], items["failed"]) == (5, 0)  # the blocked hour materialized
    for asset in ("hn/core/comments", "hn/core/stories"):
        counts = view["per_asset"][asset]
        assert (counts["materialized"], counts["failed"]) == (4, 1)
    [only] = backfill_runs(world.ws, view["backfill_id"])  # 5 hours: one chunk, one run
    task_list = run_status(world.ws, only["run_id"])["task_list"]
    tasks = {(t["asset"], t["partition"]): t for t in task_list}
    blocked_items = tasks[("hn/core/items", BLOCKED)]
    assert (blocked_items["status"], blocked_items["error"]) == (
        "FAILURE",
        "blocking asset check 'items_not_empty' failed",
    )
    assert tasks[("hn/core/comments", BLOCKED)]["status"] == "SKIPPED"
    assert tasks[("hn/core/stories", BLOCKED)]["status"] == "SKIPPED"
    # The failed check keeps the materialization (the data stands), as in Dagster.
    assert world.materialized("hn/core/items", BLOCKED)
    assert not world.materialized("hn/core/comments", BLOCKED)
    assert all(tasks[("hn/core/items", hour)]["status"] == "SUCCESS" for hour in GOOD)


def test_the_backfill_counts_the_blocked_hour_of_items_as_materialized(world: World) -> None:
    assert world.materialized("hn/core/items", BLOCKED)
    items = world.backfill["per_asset"]["hn/core/items"]
    assert (items["materialized"], items["failed"]) == (5, 0)


def test_the_checks_results_are_recorded_per_hour(world: World) -> None:
    checks = {(c["asset"], c["name"]): c for c in list_checks(world.ws)}
    not_empty = checks[("hn/core/items", "items_not_empty")]
    assert not_empty["blocking"] is True
    assert [(r["partition"], r["passed"], r["metadata"]) for r in not_empty["results"]] == [
        (hour, hour != BLOCKED, {"items": 0 if hour == BLOCKED else 6}) for hour in HOURS
    ] + [(CONFIGURED, True, {"items": 2})]
    titles = checks[("hn/core/stories", "stories_have_titles")]
    assert titles["blocking"] is False
    assert [(r["partition"], r["passed"], r["severity"]) for r in titles["results"]] == [
        (hour, True, "WARN") for hour in GOOD
    ]
    assert all(r["metadata"] == {"stories": 2, "untitled": 0} for r in titles["results"])


def test_the_io_managers_store_values_and_pass_them_downstream(world: World) -> None:
    for hour in GOOD:
        items = world.stored("hn/core/items", hour)
        assert len(items) == 6 and {row["type"] for row in items} == {"story", "comment"}
        # the @multi_asset received items through the local IO manager, made both assets
        comments = world.stored("hn/core/comments", hour)
        stories = world.stored("hn/core/stories", hour)
        assert comments == [row for row in items if row["type"] == "comment"]
        assert stories == [row for row in items if row["type"] == "story"]
        assert world.metadata("hn/core/comments", hour) == {
            "path": f"hn_data/hn/core/comments/{hour}.json"
        }
        assert world.metadata("hn/core/stories", hour)["path"].endswith(f"stories/{hour}.json")
    assert world.stored("hn/core/items", BLOCKED) == []
    assert not world.has_stored("hn/core/comments", BLOCKED)
    # analytics: hourly, bare names resolved in the group, the default IO manager (the store)
    assert world.runs["analytics"] == "SUCCESS"
    comments = world.stored("hn/core/comments", ANALYZED)
    expected_comments = {"comments": 4, "commenters": len({row["by"] for row in comments})}
    assert world.in_store("hn/analytics/comment_stats", ANALYZED) == expected_comments
    activity = world.in_store("hn/analytics/activity_stats", ANALYZED)
    assert activity == {
        "hour": ANALYZED,
        **expected_comments,
        "stories": 2,
        "top_score": max(row["score"] for row in world.stored("hn/core/stories", ANALYZED)),
    }
    assert "| comments | 4 |" in world.metadata("hn/analytics/activity_stats", ANALYZED)["row"]
    # recommender: unpartitioned over every stored hour (a dict by partition from the custom IO
    # manager), then values through the default IO manager down the chain
    assert world.runs["recommender"] == "SUCCESS"
    pairs = world.in_store("hn/recommender/comment_stories")
    assert len(pairs) == sum(len(world.stored("hn/core/comments", h)) for h in GOOD) == 16
    matrix = world.in_store("hn/recommender/user_story_matrix")
    assert sum(n for stories in matrix.values() for n in stories.values()) == len(pairs)
    model = world.in_store("hn/recommender/recommender_model")
    assert len(model) == 2 * len(GOOD)  # every story of every hour got a comment
    assert world.metadata("hn/recommender/recommender_model")["stories"] == len(model)
    top = world.in_store("hn/recommender/user_top_recommended_stories")
    assert set(top) == set(matrix) and all(len(stories) == 3 for stories in top.values())


def test_the_config_and_the_output_metadata_reach_the_run(world: World) -> None:
    default = world.metadata("hn/core/items", ANALYZED)
    assert default == {
        "item_count": 6,
        "max_items": 100,  # ItemsConfig's default: a backfill carries no run config
        "window": "2024-06-01T02:00:00+00:00 .. 2024-06-01T03:00:00+00:00",
        "ids": {"first": [365000], "last": [365005]},
        "path": f"hn_data/hn/core/items/{ANALYZED}.json",
    }
    assert world.runs["configured"] == "SUCCESS"
    configured = world.metadata("hn/core/items", CONFIGURED)
    assert (configured["max_items"], configured["item_count"]) == (2, 2)
    assert len(world.stored("hn/core/items", CONFIGURED)) == 2


def test_the_schedules_are_the_ones_dagster_derives_and_tick_the_closed_hour() -> None:
    ws = workspace(MemoryObjectStore(), at=datetime(2024, 6, 1, 5, tzinfo=UTC))
    schedules = require_definitions(ws).schedules
    # Dagster 1.13.29 derives these for hourly jobs with minute_of_hour=5 / 20
    assert {name: s.cron.expressions for name, s in schedules.items()} == {
        "core_job_schedule": ("5 * * * *",),
        "analytics_job_schedule": ("20 * * * *",),
        "recommender_job_schedule": ("0 6 * * *",),
    }
    core = schedules["core_job_schedule"]
    assert (core.job, core.partitioned, core.timezone) == ("core_job", True, "UTC")
    assert core.target == ("hn/core/comments", "hn/core/items", "hn/core/stories")
    set_schedule_status(ws, "core_job_schedule", "RUNNING", "start-1", "test")
    run_timer(ws, now_of(ws))
    assert isinstance(ws.clock, FixedClock)
    ws.clock._now = ms(datetime(2024, 6, 1, 5, 5, 5, tzinfo=UTC))
    run_timer(ws, now_of(ws))
    ws.compactor.compact_until_idle()
    [requested] = ws.snapshot().table("runs").to_pylist()
    tags = json.loads(requested["tags"])
    assert (tags["arco/partition"], tags["team"]) == ("2024-06-01-04:00", "ingest")


def test_the_api_token_is_read_when_the_task_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco.sdk.resources import resources_for_execution  # what the worker prepares

    monkeypatch.setenv("HN_API_TOKEN", "the-secret")
    with resources_for_execution(load_definitions(LOCATION).get_resources()) as ready:
        assert ready["hn_client"].api_token == "the-secret"  # type: ignore[attr-defined]
    ws = workspace(LocalObjectStore(tmp_path / "store"))
    executor = InProcessExecutor(ws, load_definitions(LOCATION))
    monkeypatch.delenv("HN_API_TOKEN")
    monkeypatch.chdir(tmp_path)
    assert run(ws, executor, LaunchRequest("key:hn/core/items", partition=ANALYZED)) == "FAILURE"
    row = ws.snapshot().rows("partition_status")[("hn/core/items", ANALYZED)]
    assert "'HN_API_TOKEN', which is not set" in row["attempt_error"]


def test_the_production_resources_run_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HN_ENV=production: the API's bigger pages, core values in the workspace's store (the one
    edit of the port: Arco's ObjectStoreIOManager for Dagster's FilesystemIOManager)."""
    module = importlib.import_module("examples.hackernews.definitions")
    monkeypatch.setenv("HN_API_TOKEN", "test-token")
    monkeypatch.chdir(tmp_path)
    try:
        monkeypatch.setenv("HN_ENV", "production")
        production: Definitions = importlib.reload(module).defs
        ws = workspace(LocalObjectStore(tmp_path / "store"))
        request = LaunchRequest("key:hn/core/items or key:hn/core/comments", partition=ANALYZED)
        assert run(ws, InProcessExecutor(ws, production), request) == "SUCCESS"
    finally:
        monkeypatch.delenv("HN_ENV")
        importlib.reload(module)
    stored = World(ws, tmp_path, {}, {})
    assert len(stored.in_store("hn/core/items", ANALYZED)) == 30
    assert len(stored.in_store("hn/core/comments", ANALYZED)) == 20
    assert not (tmp_path / "hn_data").exists()


# --- the Dagster original, for comparison -------------------------------------------------------

DAGSTER_SCRIPT = """
import json
import dagster as dg
from examples.hackernews_dagster.assets import analytics_assets, core_assets
from examples.hackernews_dagster.checks import items_not_empty, stories_have_titles
from examples.hackernews_dagster.definitions import defs
from examples.hackernews_dagster.resources import RESOURCES_BY_ENV

local = RESOURCES_BY_ENV["local"]
instance = dg.DagsterInstance.ephemeral()
schedules = defs.get_repository_def().schedule_defs
answer = {"schedules": {s.name: s.cron_schedule for s in schedules}, "hours": {}}
for hour in ("2024-06-01-02:00", "2024-06-01-03:00"):
    result = dg.materialize(
        [*core_assets, items_not_empty, stories_have_titles],
        partition_key=hour, resources=local, instance=instance, raise_on_error=False,
    )
    answer["hours"][hour] = {
        "success": result.success,
        "metadata": {
            e.asset_key.to_user_string(): {
                k: v.value for k, v in e.step_materialization_data.materialization.metadata.items()
            }
            for e in result.get_asset_materialization_events()
        },
        "checks": {
            e.event_specific_data.check_name: [
                e.event_specific_data.passed,
                {k: v.value for k, v in e.event_specific_data.metadata.items()},
            ]
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        },
    }
result = dg.materialize(
    [*core_assets, *analytics_assets], selection=dg.AssetSelection.groups("analytics"),
    partition_key="2024-06-01-02:00", resources=local, instance=instance,
)
answer["activity_stats"] = result.asset_value(dg.AssetKey(["hn", "analytics", "activity_stats"]))
print(json.dumps(answer))
"""


def test_the_dagster_original_agrees_with_the_port(world: World, tmp_path: Path) -> None:
    if not DAGSTER_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(missing_message())
        pytest.skip(missing_message())
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "ignore"}
    env.update(HN_API_TOKEN="test-token", HN_ENV="local")
    env.pop("DAGSTER_HOME", None)  # an ephemeral instance only
    done = subprocess.run(
        [str(DAGSTER_PYTHON), "-c", DAGSTER_SCRIPT],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,  # Dagster's local IO manager writes hn_data/ here
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    dagster = json.loads(done.stdout)
    schedules = require_definitions(world.ws).schedules
    arco_crons = {name: s.cron.expressions[0] for name, s in schedules.items()}
    assert dagster["schedules"] == arco_crons
    results = {(c["asset"], c["name"]): c["results"] for c in list_checks(world.ws)}
    for hour, answer in dagster["hours"].items():
        assert answer["success"] is (hour != BLOCKED)
        assert sorted(answer["metadata"]) == sorted(
            asset
            for asset in ("hn/core/comments", "hn/core/items", "hn/core/stories")
            if world.materialized(asset, hour)
        )
        for asset, metadata in answer["metadata"].items():
            assert world.metadata(asset, hour) == metadata, (asset, hour)
            # the local IO manager wrote the same file, byte for byte
            name = Path("hn_data", asset, f"{hour}.json")
            assert (tmp_path / name).read_bytes() == (world.root / name).read_bytes()
        arco_checks = {
            name: [r["passed"], r["metadata"]]
            for (_, name), found in results.items()
            for r in found
            if r["partition"] == hour
        }
        assert answer["checks"] == arco_checks, hour
    assert dagster["activity_stats"] == world.in_store("hn/analytics/activity_stats", ANALYZED)
