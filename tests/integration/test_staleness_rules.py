"""The staleness reference rules against Dagster's observed behaviour, on real materializations
(provenance recorded by the worker): code version change, upstream re-materialized with and
without a new data version, user-provided data versions, an offset mapping, added and removed
dependencies, a never-materialized upstream, root causes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arco.clock import FixedClock
from arco.domain.staleness import (
    CODE_VERSION_CHANGED,
    DEPENDENCY_ADDED,
    DEPENDENCY_REMOVED,
    UPSTREAM_DATA_CHANGED,
    UPSTREAM_MISSING,
    Assessment,
    assess,
    root_causes,
)
from arco.sdk import Definitions
from arco.services.commands.deploy import deploy
from arco.services.commands.runs import LaunchRequest, launch_run
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.local_runner import drive_run
from arco.services.queries.definitions import current_definitions
from arco.services.queries.staleness_report import causes_json, compute_report, load_tables
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.fixtures.versions_graph import REPORTED, build

T0 = datetime(2024, 2, 1, tzinfo=UTC)
DAY = "2024-01-02"


class World:
    def __init__(self, root: Path) -> None:
        self.ws = Workspace(
            LocalObjectStore(root), "s", clock=FixedClock(int(T0.timestamp() * 1000))
        )
        self.definitions = build()
        self.deploy(self.definitions)

    def deploy(self, definitions: Definitions) -> int:
        self.definitions = definitions
        self.tick()
        deploy(self.ws, definitions.snapshot("versions"), "test")
        self.ws.compactor.compact_until_idle()
        return self.ws.clock.now_ms()

    def tick(self) -> None:
        assert isinstance(self.ws.clock, FixedClock)
        self.ws.clock.advance(1000)

    def run(self, asset: str, partition: str = DAY) -> int:
        self.tick()
        launched = launch_run(self.ws, LaunchRequest(f"key:{asset}", partition=partition))
        drive_run(self.ws, launched.run_id, InProcessExecutor(self.ws, self.definitions))
        self.ws.compactor.compact_until_idle()
        return int(self.ws.snapshot().rows("runs")[(launched.run_id,)]["finished_ms"])

    def check_report_agrees(self) -> None:
        """The vectorised report gives, for every partition, what the reference rules give."""
        snapshot = self.ws.snapshot()
        defs = current_definitions(snapshot)
        assert defs is not None
        status, inputs = load_tables(snapshot)
        versions = {k[0]: r for k, r in snapshot.rows("asset_versions").items()}
        now = datetime.fromtimestamp(self.ws.clock.now_ms() / 1000, tz=UTC)
        report = compute_report(defs, status, inputs, versions, now)
        grouped = causes_json(report.causes)
        assert report.partitions.num_rows > 0
        for row in report.partitions.to_pylist():
            partition = row["partition"] or None
            expected = self.assess(row["asset"], partition)  # type: ignore[arg-type]
            assert row["status"] == expected.status, row
            assert row["stale_since_ms"] == expected.stale_since_ms, row
            got = grouped.get((row["asset"], row["partition"]), [])
            assert got == [c.as_dict() for c in expected.causes], row

    def assess(self, asset: str, partition: str = DAY) -> Assessment:
        snapshot = self.ws.snapshot()
        defs = current_definitions(snapshot)
        assert defs is not None
        statuses = {k: r for k, r in snapshot.rows("partition_status").items()}
        versions = {k[0]: r for k, r in snapshot.rows("asset_versions").items()}
        return assess(defs, asset, partition, statuses, versions)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path / "store")
    yield made
    made.check_report_agrees()


def codes(assessment: Assessment) -> list[str]:
    return [c.code for c in assessment.causes]


def test_a_code_version_change_makes_the_asset_stale_but_not_its_downstream(world: World) -> None:
    world.run("source", "2024-01-01")
    world.run("source")
    world.run("rolling")
    assert world.assess("source").status == "FRESH" and world.assess("rolling").status == "FRESH"
    deployed_at = world.deploy(build(source_code="2"))
    stale = world.assess("source")
    assert stale.status == "STALE" and codes(stale) == [CODE_VERSION_CHANGED]
    assert stale.causes[0].evidence == {"recorded": "1", "current": "2"}
    assert stale.stale_since_ms == deployed_at
    # No transitive propagation (Dagster): rolling stays FRESH until source gets a new version.
    assert world.assess("rolling").status == "FRESH"
    changed_at = world.run("source")
    rolling = world.assess("rolling")
    assert codes(rolling) == [UPSTREAM_DATA_CHANGED]
    assert rolling.causes[0].upstream == ("source", DAY)
    assert rolling.stale_since_ms is not None and rolling.stale_since_ms <= changed_at
    assert world.assess("source").status == "FRESH"


def test_re_materializing_with_the_same_data_version_changes_nothing(world: World) -> None:
    world.run("source", "2024-01-01")
    world.run("source")
    world.run("untracked")
    world.run("rolling")
    world.run("source")  # code "1", no inputs: the same data version
    assert world.assess("rolling").status == "FRESH"
    assert world.assess("untracked").status == "FRESH"
    world.run("untracked")  # no code version: a new data version each time
    assert world.assess("untracked").status == "FRESH"


def test_user_provided_data_versions(world: World) -> None:
    world.run("reported")
    world.run("reader")
    world.run("reported")  # "v1" again
    assert world.assess("reader").status == "FRESH"
    REPORTED["version"] = "v2"
    try:
        world.run("reported")
    finally:
        REPORTED["version"] = "v1"
    reader = world.assess("reader")
    assert codes(reader) == [UPSTREAM_DATA_CHANGED]
    assert reader.causes[0].evidence["recorded"] == "v1"
    assert reader.causes[0].evidence["current"] == "v2"


def test_an_offset_mapping_and_a_never_materialized_upstream(world: World) -> None:
    world.run("source")  # 2024-01-02 only; rolling[01-02] also reads source[01-01]
    world.run("rolling")
    missing = world.assess("rolling")
    assert codes(missing) == [UPSTREAM_MISSING]
    assert missing.causes[0].upstream == ("source", "2024-01-01")
    world.run("source", "2024-01-01")
    arrived = world.assess("rolling")
    assert codes(arrived) == [UPSTREAM_DATA_CHANGED]
    assert arrived.causes[0].evidence["recorded"] == "NULL"
    assert world.assess("rolling", "2024-01-03").status == "MISSING"


def test_added_and_removed_dependencies(world: World) -> None:
    world.run("reported")
    world.run("source")
    world.run("reader")
    at = world.deploy(build(reader_deps=("source",)))
    reader = world.assess("reader")
    # Sorted as Dagster sorts causes: by "<asset>/<upstream>".
    assert [(c.code, c.upstream) for c in reader.causes] == [
        (DEPENDENCY_REMOVED, ("reported", None)),
        (DEPENDENCY_ADDED, ("source", None)),
    ]
    assert reader.stale_since_ms == at


def test_root_causes_follow_stale_upstreams(world: World) -> None:
    world.run("source", "2024-01-01")
    world.run("source")
    world.run("rolling")
    world.run("digest")
    world.deploy(build(source_code="2"))
    world.run("source")
    world.run("source", "2024-01-01")  # both days of source now have the new version
    world.deploy(build(source_code="3"))  # and source is stale again (code)
    lookup = {(a, DAY): world.assess(a) for a in ("source", "rolling", "digest")}
    lookup[("source", "2024-01-01")] = world.assess("source", "2024-01-01")
    digest = lookup[("digest", DAY)]
    assert digest.status == "FRESH"  # rolling was not re-materialized: its version is the same
    rolling = lookup[("rolling", DAY)]
    assert codes(rolling) == [UPSTREAM_DATA_CHANGED, UPSTREAM_DATA_CHANGED]
    roots = root_causes(rolling, lookup)
    assert [(key, cause.code) for key, cause in roots] == [
        (("source", "2024-01-01"), CODE_VERSION_CHANGED),
        (("source", DAY), CODE_VERSION_CHANGED),
    ]
