"""Writing table changes as base or delta Parquet files, and reading tables back.

Deltas hold only changed rows (and tombstones). When a table's deltas grow past a limit, the
next change writes a new base instead, so readers never apply more than `MAX_DELTAS` files and
the cost of an incremental compaction stays proportional to what changed, not to the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from arco.domain.canonical import sha256_hex
from arco.domain.errors import CorruptState
from arco.domain.registry import Registry
from arco.domain.state import FoldState, StagedState
from arco.domain.tables import Key, Row, TableSpec
from arco.projections.manifest import Manifest, TableEntry, TableFile
from arco.projections.parquet import (
    Projection,
    arrow_to_parquet,
    arrow_to_rows,
    conform,
    merge_arrow,
    parquet_to_arrow,
    rows_to_arrow,
)
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

MAX_DELTAS = 16
SMALL_TABLE_ROWS = 20_000
MERGE_FRACTION = 0.25


def needs_new_base(entry: TableEntry, changed_rows: int) -> bool:
    """Rewrite small tables whole (one file to read); merge big ones when their deltas are many
    or large compared with the base. Either way a reader applies at most MAX_DELTAS files."""
    if entry.base is None and not entry.deltas:
        return True
    delta_rows = sum(f.rows for f in entry.deltas) + changed_rows
    base_rows = entry.base.rows if entry.base else 0
    if base_rows + delta_rows <= SMALL_TABLE_ROWS:
        return True
    return len(entry.deltas) + 1 > MAX_DELTAS or delta_rows > int(base_rows * MERGE_FRACTION)


def _write_file(
    store: ObjectStore,
    layout: WorkspaceLayout,
    table: str,
    manifest_id: int,
    kind: str,
    arrow: pa.Table,
) -> TableFile:
    data = arrow_to_parquet(arrow)
    digest = sha256_hex(data)
    key = layout.table_file_key(table, manifest_id, kind, digest)
    # Content-addressed name: if it already exists it holds these very bytes.
    store.create(key, data)
    return TableFile(key=key, rows=arrow.num_rows, bytes=len(data), sha256=digest)


def write_table_changes(
    store: ObjectStore,
    layout: WorkspaceLayout,
    manifest_id: int,
    spec: TableSpec,
    entry: TableEntry,
    committed: FoldState,
    staged: StagedState,
) -> TableEntry:
    """Write one changed table for manifest `manifest_id`; return its new manifest entry."""
    changes = list(staged.iter_changes(spec.name))
    current = committed.tables.get(spec.name, {})
    live_after = len(current) + sum((row is not None) - (key in current) for key, row in changes)
    if needs_new_base(entry, len(changes)):
        rows: dict[Key, Row] = dict(current)
        for key, row in changes:
            if row is None:
                rows.pop(key, None)
            else:
                rows[key] = row
        base = _write_file(
            store, layout, spec.name, manifest_id, "base", rows_to_arrow(spec, rows.values())
        )
        return TableEntry(base=base, deltas=(), rows=len(rows))
    upserts = [row for _, row in changes if row is not None]
    deletes = [key for key, row in changes if row is None]
    delta = _write_file(
        store,
        layout,
        spec.name,
        manifest_id,
        "delta",
        rows_to_arrow(spec, upserts, deletes, delta=True),
    )
    return TableEntry(base=entry.base, deltas=(*entry.deltas, delta), rows=live_after)


def read_table_file(
    store: ObjectStore, file: TableFile, projection: Projection | None = None
) -> pa.Table:
    stored = store.get(file.key)
    if stored is None:
        raise CorruptState(f"table file {file.key} named by the manifest does not exist")
    if sha256_hex(stored.data) != file.sha256:
        raise CorruptState(f"table file {file.key} does not match its checksum")
    return parquet_to_arrow(stored.data, projection)


def read_files(
    store: ObjectStore, files: Sequence[TableFile], projection: Projection | None = None
) -> list[pa.Table]:
    if len(files) <= 1:
        return [read_table_file(store, f, projection) for f in files]
    with ThreadPoolExecutor(max_workers=min(8, len(files))) as pool:
        return list(pool.map(lambda f: read_table_file(store, f, projection), files))


def apply_files_to_rows(spec: TableSpec, rows: dict[Key, Row], tables: Sequence[pa.Table]) -> None:
    """Apply base/delta Arrow tables, in order, to a dict of rows (in place)."""
    for arrow in tables:
        upserts, deletes = arrow_to_rows(spec, conform(spec, arrow))
        rows.update(upserts)
        for key in deletes:
            rows.pop(key, None)


def load_fold_state(store: ObjectStore, manifest: Manifest, registry: Registry) -> FoldState:
    """Every registered table of a manifest, as rows keyed by key (the compactor's form)."""
    state = FoldState()
    for name, entry in manifest.tables.items():
        if name not in registry.tables:
            continue  # a table of a newer build; this build neither reads nor writes it
        rows: dict[Key, Row] = {}
        apply_files_to_rows(registry.table(name), rows, read_files(store, entry.files))
        state.tables[name] = rows
    return state


def load_arrow_table(
    store: ObjectStore,
    spec: TableSpec,
    entry: TableEntry,
    read: Callable[[ObjectStore, Sequence[TableFile]], list[pa.Table]] = read_files,
) -> pa.Table:
    """One table as Arrow (base merged with deltas, vectorised): the readers' form."""
    tables = [conform(spec, t) for t in read(store, entry.files)]
    base = tables.pop(0) if entry.base is not None else None
    return merge_arrow(spec, base, *tables)


def load_projection(
    store: ObjectStore, spec: TableSpec, entry: TableEntry, projection: Projection
) -> pa.Table:
    """Some columns of one table (its key among them), merged as `load_arrow_table` does."""
    assert set(spec.key) <= set(projection.columns), "a projection keeps the key"
    files = read_files(store, entry.files, projection)
    tables = [conform(spec, t, projection) for t in files]
    base = tables.pop(0) if entry.base is not None else None
    return merge_arrow(spec, base, *tables, projection=projection)


def write_base(
    store: ObjectStore,
    layout: WorkspaceLayout,
    manifest_id: int,
    spec: TableSpec,
    rows: dict[Key, Row],
) -> TableEntry:
    """Write a whole table as a new base file (used by rebuild)."""
    return write_arrow_base(store, layout, manifest_id, spec, rows_to_arrow(spec, rows.values()))


def write_arrow_base(
    store: ObjectStore, layout: WorkspaceLayout, manifest_id: int, spec: TableSpec, arrow: pa.Table
) -> TableEntry:
    """Write a whole table, as Arrow in its published schema and key order, as a base file."""
    base = _write_file(store, layout, spec.name, manifest_id, "base", arrow)
    return TableEntry(base=base, deltas=(), rows=arrow.num_rows)
