"""Rows <-> Arrow tables <-> Parquet bytes, for any registered TableSpec.

Files are deterministic for given rows (sorted by key, fixed schema, no timestamps in
metadata), so rebuilding the same state gives byte-identical files. Delta files carry a
`_deleted` column marking tombstones.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arco.domain.tables import ColumnType, Key, Row, TableSpec

DELETED = "_deleted"
_ARROW: Mapping[ColumnType, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "json": pa.string(),
}


DICTIONARY = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class Projection:
    """Some columns of a table, string columns among them dictionary-encoded: how a reader
    of a million rows asks for only what it uses (the staleness report reads 7 of
    `partition_status`'s columns, with its few thousand asset names as one dictionary)."""

    columns: tuple[str, ...]
    dictionary: tuple[str, ...] = ()


def arrow_schema(
    spec: TableSpec, delta: bool = False, projection: Projection | None = None
) -> pa.Schema:
    columns = spec.all_columns
    if projection is not None:
        columns = tuple(c for c in columns if c.name in projection.columns)
    dictionary = projection.dictionary if projection is not None else ()
    fields = [
        pa.field(c.name, DICTIONARY if c.name in dictionary else _ARROW[c.type]) for c in columns
    ]
    if delta:
        fields.append(pa.field(DELETED, pa.bool_()))
    return pa.schema(fields, metadata={b"arco.table": spec.name.encode()})


def _sort_key(key: Key) -> tuple[Any, ...]:
    # None sorts first; keys of one table have consistent types otherwise.
    return tuple((v is not None, v if v is not None else "") for v in key)


def rows_to_arrow(
    spec: TableSpec, rows: Iterable[Row], deleted: Iterable[Key] = (), delta: bool = False
) -> pa.Table:
    """Build an Arrow table from rows (and tombstones for a delta), sorted by key."""
    live = sorted(rows, key=lambda r: _sort_key(spec.key_of(r)))
    columns: dict[str, list[Any]] = {c: [r.get(c) for r in live] for c in spec.column_names}
    if delta:
        dead = sorted(deleted, key=_sort_key)
        for name in spec.column_names:
            if name in spec.key:
                columns[name].extend(k[spec.key.index(name)] for k in dead)
            else:
                columns[name].extend([None] * len(dead))
        columns[DELETED] = [False] * len(live) + [True] * len(dead)
    return pa.table(columns, schema=arrow_schema(spec, delta))


def arrow_to_parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=True, store_schema=False)
    return sink.getvalue()


def parquet_to_arrow(data: bytes, projection: Projection | None = None) -> pa.Table:
    """A Parquet file as Arrow; with a `projection`, only its columns (and a delta's
    tombstones), its dictionary columns read straight into dictionaries."""
    if projection is None:
        return pq.read_table(io.BytesIO(data))
    present = set(pq.read_schema(io.BytesIO(data)).names)  # a file of an older build may lack some
    return pq.read_table(
        io.BytesIO(data),
        columns=[c for c in (*projection.columns, DELETED) if c in present],
        read_dictionary=[c for c in projection.dictionary if c in present],
    )


def conform(spec: TableSpec, table: pa.Table, projection: Projection | None = None) -> pa.Table:
    """Fit a file written by another build to this build's schema (or a projection of it).

    Columns are only ever added (docs/protocol.md, "Versioning"): a column this build knows but
    the file lacks reads as nulls; a column the file has but this build does not is dropped.
    """
    delta = DELETED in table.column_names
    schema = arrow_schema(spec, delta, projection)
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def arrow_to_rows(spec: TableSpec, table: pa.Table) -> tuple[dict[Key, Row], list[Key]]:
    """Rows keyed by key, and the keys a delta deletes."""
    names = spec.column_names
    cols = [table.column(n).to_pylist() for n in names]
    deleted_flags = table.column(DELETED).to_pylist() if DELETED in table.column_names else None
    key_idx = [names.index(k) for k in spec.key]
    rows: dict[Key, Row] = {}
    deleted: list[Key] = []
    for i, values in enumerate(zip(*cols, strict=True)):
        key = tuple(values[j] for j in key_idx)
        if deleted_flags is not None and deleted_flags[i]:
            deleted.append(key)
        else:
            rows[key] = dict(zip(names, values, strict=True))
    return rows, deleted


def key_strings(spec: TableSpec, table: pa.Table) -> pa.Array:
    """One comparable string per row made from its key columns (for vectorised merges)."""
    parts = [pc.cast(table.column(k), pa.string()).fill_null("\x00") for k in spec.key]
    if len(parts) == 1:
        return parts[0].combine_chunks() if isinstance(parts[0], pa.ChunkedArray) else parts[0]
    joined = pc.binary_join_element_wise(*parts, "\x1f")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


def merge_arrow(
    spec: TableSpec, base: pa.Table | None, *deltas: pa.Table, projection: Projection | None = None
) -> pa.Table:
    """Apply deltas (upserts and tombstones, in order) to a base table, in one vectorised pass.

    The last write of each key across the deltas wins; the base is filtered once. With a
    `projection`, the tables hold its columns (the key among them).
    """
    if not deltas:
        return base if base is not None else arrow_schema(spec, projection=projection).empty_table()
    combined = pa.concat_tables(deltas) if len(deltas) > 1 else deltas[0]
    keys = key_strings(spec, combined)
    if len(deltas) > 1:
        positions = pa.table({"k": keys, "i": pa.array(range(combined.num_rows), pa.int64())})
        last = positions.group_by("k", use_threads=False).aggregate([("i", "max")])
        order = pc.sort_indices(last.column("i_max"))
        combined = combined.take(pc.take(last.column("i_max"), order))
        keys = key_strings(spec, combined)
    upserts = combined.filter(pc.invert(combined.column(DELETED))).drop_columns([DELETED])
    upserts = upserts.cast(arrow_schema(spec, projection=projection))
    if base is None or base.num_rows == 0:
        return upserts
    keep = pc.invert(pc.is_in(key_strings(spec, base), value_set=keys))
    return pa.concat_tables([base.filter(keep), upserts])
