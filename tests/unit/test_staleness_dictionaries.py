"""The staleness report over tables whose key columns are dictionaries (issue 18: the report
reads projections), including chunks with dictionaries of their own (a base and its deltas,
row groups): the same report as over plain strings."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from arco.domain.runs import PARTITION_INPUTS, PARTITION_STATUS
from arco.projections.parquet import arrow_schema, rows_to_arrow
from arco.sdk import AssetSpec, Definitions, StaticPartitionsDefinition
from arco.services.queries.staleness_report import (
    INPUTS_PROJECTION,
    STATUS_PROJECTION,
    compute_report,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)
PARTS = StaticPartitionsDefinition(["p1", "p2"])


def _projected(table: pa.Table, spec: object, projection: object) -> pa.Table:
    """What `Snapshot.projection` cuts from a loaded table: each chunk encoded on its own."""
    schema = arrow_schema(spec, projection=projection)  # type: ignore[arg-type]
    return table.select(list(schema.names)).cast(schema)


def test_a_removed_dependency_over_chunks_with_their_own_dictionaries() -> None:
    # b no longer depends on a, but its materializations read a: DEPENDENCY_REMOVED, grouped.
    defs = Definitions(
        assets=[AssetSpec("a", partitions_def=PARTS), AssetSpec("b", partitions_def=PARTS)]
    ).snapshot("t")
    status = rows_to_arrow(
        PARTITION_STATUS,
        [
            {
                "asset": asset,
                "partition": key,
                "materialized_run_id": "r",
                "materialized_ms": 1,
                "materialized_data_version": "v",
            }
            for asset in "ab"
            for key in ("p1", "p2")
        ],
    )
    inputs = pa.concat_tables(  # two chunks, as a base and a delta merged
        rows_to_arrow(
            PARTITION_INPUTS,
            [
                {
                    "asset": "b",
                    "partition": key,
                    "input_asset": "a",
                    "input_partition": key,
                    "data_version": "v",
                }
            ],
        )
        for key in ("p1", "p2")
    )
    projected_inputs = _projected(inputs, PARTITION_INPUTS, INPUTS_PROJECTION)
    chunks = projected_inputs.column("partition").chunks
    assert [c.dictionary.to_pylist() for c in chunks] == [["p1"], ["p2"]]
    plain = compute_report(defs, status, inputs, {}, NOW)
    projected = compute_report(
        defs,
        _projected(status, PARTITION_STATUS, STATUS_PROJECTION),
        projected_inputs,
        {},
        NOW,
    )
    assert projected.causes.to_pylist() == plain.causes.to_pylist()
    assert projected.partitions.to_pylist() == plain.partitions.to_pylist()
    assert [c["code"] for c in plain.causes.to_pylist()] == ["DEPENDENCY_REMOVED"] * 2
