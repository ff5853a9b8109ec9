"""Projections: some columns of a published table, strings as dictionaries (issue 18: the
staleness report reads 7 of partition_status's 21 columns). Whatever the files (a base, deltas,
tombstones) and whether the state is published or staged, a projection holds exactly the rows
and values of the whole table."""

from __future__ import annotations

import pyarrow as pa
import pytest

from arco.clock import FixedClock
from arco.domain.dynamic_partitions import DYNAMIC_PARTITIONS
from arco.projections import table_files
from arco.projections.cache import StagedSnapshot
from arco.projections.parquet import Projection
from arco.sdk import AssetSpec, Definitions, DynamicPartitionsDefinition
from arco.services.commands.deploy import deploy
from arco.services.commands.partitions import change_dynamic_partitions
from arco.services.workspace import Workspace

PROJECTION = Projection(("definition", "partition_key", "present"), ("definition", "partition_key"))


@pytest.fixture
def deltas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(table_files, "SMALL_TABLE_ROWS", 0)
    monkeypatch.setattr(table_files, "MERGE_FRACTION", 1e9)


def _deploy_dynamic(ws: Workspace) -> None:
    """One asset on the dynamic partitions definition "dyn", deployed and folded."""
    defs = Definitions(assets=[AssetSpec("a", partitions_def=DynamicPartitionsDefinition("dyn"))])
    deploy(ws, defs.snapshot("t"), "t")
    ws.compactor.compact()


def _plain(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda r: (r["definition"], r["partition_key"]))


def _whole(table: pa.Table) -> list[dict[str, object]]:
    return _plain(table.select(list(PROJECTION.columns)))


@pytest.mark.usefixtures("deltas")
def test_a_projection_over_a_base_deltas_and_tombstones_is_the_whole_tables(
    ws: Workspace, clock: FixedClock
) -> None:
    _deploy_dynamic(ws)
    for step, (action, keys) in enumerate(
        [("add", ["k1", "k2", "k3"]), ("add", ["k4"]), ("remove", ["k2"]), ("add", ["k2"])]
    ):
        clock.advance(1000)
        change_dynamic_partitions(ws, "dyn", keys, action, f"r{step}", "test")
        ws.compactor.compact()
    entry = ws.manifest().tables[DYNAMIC_PARTITIONS.name]
    assert entry.base is not None and len(entry.deltas) >= 2  # read through deltas
    fresh = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms).snapshot()
    projected = fresh.projection(DYNAMIC_PARTITIONS.name, PROJECTION)
    assert pa.types.is_dictionary(projected.schema.field("partition_key").type)
    assert projected.column_names == list(PROJECTION.columns)
    assert _plain(projected) == _whole(ws.snapshot().table(DYNAMIC_PARTITIONS.name))
    # The whole table loaded first: the projection is cut from it, with the same values.
    assert _plain(ws.snapshot().projection(DYNAMIC_PARTITIONS.name, PROJECTION)) == _plain(
        projected
    )
    assert {r["partition_key"]: r["present"] for r in _plain(projected)} == {
        "k1": True,
        "k2": True,
        "k3": True,
        "k4": True,
    }


def test_a_staged_snapshots_projection_shows_its_staged_changes(
    ws: Workspace, clock: FixedClock
) -> None:
    _deploy_dynamic(ws)
    change_dynamic_partitions(ws, "dyn", ["k1"], "add", "r1", "test")
    ws.compactor.compact_until_idle()
    published = ws.snapshot()
    key = ("dyn", "k9")
    staged = StagedSnapshot(
        published,
        {
            DYNAMIC_PARTITIONS.name: {
                key: {"definition": "dyn", "partition_key": "k9", "present": True}
            }
        },
    )
    keys = [
        r["partition_key"] for r in _plain(staged.projection(DYNAMIC_PARTITIONS.name, PROJECTION))
    ]
    assert keys == ["k1", "k9"]
    untouched = StagedSnapshot(published, {})
    assert _plain(untouched.projection(DYNAMIC_PARTITIONS.name, PROJECTION)) == _whole(
        published.table(DYNAMIC_PARTITIONS.name)
    )


def test_a_table_not_published_yet_projects_to_no_rows(ws: Workspace) -> None:
    empty = ws.snapshot().projection(DYNAMIC_PARTITIONS.name, PROJECTION)
    assert empty.num_rows == 0 and empty.column_names == list(PROJECTION.columns)
