"""Loaded state cached per manifest id, advanced by applying newer deltas.

When the pointer moves from manifest M to a successor whose table entries extend M's (same
base, more deltas), only the new delta files are read. A changed base means the table was
merged, and only that table is reloaded. Both caches are per process and per workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from arco.domain.registry import Registry
from arco.domain.state import FoldState
from arco.domain.tables import Key, Row
from arco.projections.manifest import Manifest, TableEntry
from arco.projections.parquet import Projection, arrow_schema, conform, merge_arrow, rows_to_arrow
from arco.projections.table_files import (
    apply_files_to_rows,
    load_arrow_table,
    load_projection,
    read_files,
)
from arco.storage.port import ObjectStore


def _extends(old: TableEntry, new: TableEntry) -> bool:
    return (
        old.base == new.base
        and len(new.deltas) >= len(old.deltas)
        and new.deltas[: len(old.deltas)] == old.deltas
    )


@dataclass
class LoadStats:
    """How the last `state_for`/`snapshot` call got its tables (for tests and logs)."""

    reused: int = 0
    advanced: int = 0
    reloaded: int = 0
    files_read: int = 0


class FoldStateCache:
    """The compactor's rows-by-key state for the latest manifest it has seen."""

    def __init__(self, store: ObjectStore, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.manifest: Manifest | None = None
        self.state: FoldState | None = None
        self.last = LoadStats()

    def state_for(self, manifest: Manifest) -> FoldState:
        stats = LoadStats()
        if self.manifest is not None and self.state is not None:
            if self.manifest.manifest_id == manifest.manifest_id:
                stats.reused = len(manifest.tables)
                self.last = stats
                return self.state
            state, old_tables = self.state, self.manifest.tables
        else:
            state, old_tables = FoldState(), {}
        for name, entry in manifest.tables.items():
            if name not in self.registry.tables:
                continue
            spec = self.registry.table(name)
            old = old_tables.get(name)
            if old is not None and old == entry:
                stats.reused += 1
                continue
            if old is not None and _extends(old, entry):
                files = entry.deltas[len(old.deltas) :]
                stats.advanced += 1
                rows = state.rows(name)
            else:
                files = entry.files
                stats.reloaded += 1
                rows = {}
                state.tables[name] = rows
            stats.files_read += len(files)
            apply_files_to_rows(spec, rows, read_files(self.store, files))
        for name in set(state.tables) - set(manifest.tables):
            del state.tables[name]
        self.manifest, self.state, self.last = manifest, state, stats
        return state

    def committed(self, manifest: Manifest, state: FoldState) -> None:
        """Record that `state` is exactly what `manifest` publishes (after a won CAS)."""
        self.manifest, self.state = manifest, state

    def forget(self) -> None:
        self.manifest, self.state = None, None


@dataclass
class Snapshot:
    """A published state as readers see it: Arrow tables loaded lazily, one manifest."""

    store: ObjectStore
    registry: Registry
    manifest: Manifest
    tables: dict[str, pa.Table] = field(default_factory=dict)
    projections: dict[tuple[str, Projection], pa.Table] = field(default_factory=dict)

    def table(self, name: str) -> pa.Table:
        """The table `name` (empty when the manifest has none yet)."""
        if name not in self.tables:
            spec = self.registry.table(name)
            entry = self.manifest.tables.get(name)
            self.tables[name] = (
                load_arrow_table(self.store, spec, entry) if entry else rows_to_arrow(spec, [])
            )
        return self.tables[name]

    def rows(self, name: str) -> dict[Key, Row]:
        spec = self.registry.table(name)
        return {spec.key_of(r): r for r in self.table(name).to_pylist()}

    def projection(self, name: str, projection: Projection) -> pa.Table:
        """Some columns of table `name` (see `Projection`); from the whole table when it is
        loaded already, else read on its own and kept beside it."""
        spec = self.registry.table(name)
        schema = arrow_schema(spec, projection=projection)
        if name in self.tables:
            return self.tables[name].select(list(schema.names)).cast(schema).unify_dictionaries()
        key = (name, projection)
        if key not in self.projections:
            entry = self.manifest.tables.get(name)
            self.projections[key] = (
                load_projection(self.store, spec, entry, projection).unify_dictionaries()
                if entry
                else schema.empty_table()
            )
        return self.projections[key]


class SnapshotCache:
    """Readers' cache: the last snapshot, advanced to newer manifests delta by delta."""

    def __init__(self, store: ObjectStore, registry: Registry) -> None:
        self.store = store
        self.registry = registry
        self.current: Snapshot | None = None
        self.last = LoadStats()

    def snapshot(self, manifest: Manifest) -> Snapshot:
        old = self.current
        stats = LoadStats()
        if old is not None and old.manifest.manifest_id == manifest.manifest_id:
            self.last = stats
            return old
        fresh = Snapshot(self.store, self.registry, manifest)
        if old is not None:
            for name, cached in old.tables.items():
                entry = manifest.tables.get(name)
                before = old.manifest.tables.get(name)
                if entry is None or before is None:
                    continue
                if entry == before:
                    fresh.tables[name] = cached
                    stats.reused += 1
                elif _extends(before, entry):
                    spec = self.registry.table(name)
                    new_files = entry.deltas[len(before.deltas) :]
                    deltas = [conform(spec, d) for d in read_files(self.store, new_files)]
                    fresh.tables[name] = merge_arrow(spec, cached, *deltas)
                    stats.advanced += 1
                    stats.files_read += len(new_files)
        self.current, self.last = fresh, stats
        return fresh


class StagedSnapshot(Snapshot):
    """A published snapshot with staged (folded, not yet published) changes applied: what the
    next publication will show. Changed tables are merged on first read; the rest are the
    published snapshot's own."""

    def __init__(self, base: Snapshot, changes: Mapping[str, Mapping[Key, Row | None]]) -> None:
        super().__init__(base.store, base.registry, base.manifest)
        self.base = base
        # Copied: the session goes on folding after this view was taken.
        self.changes = {name: dict(rows) for name, rows in changes.items() if rows}

    def projection(self, name: str, projection: Projection) -> pa.Table:
        if not self.changes.get(name):
            return self.base.projection(name, projection)
        self.table(name)  # merged with the staged changes: projected from it
        return super().projection(name, projection)

    def table(self, name: str) -> pa.Table:
        changed = self.changes.get(name)
        if not changed:
            return self.base.table(name)
        if name not in self.tables:
            spec = self.registry.table(name)
            live = [row for row in changed.values() if row is not None]
            dead = [key for key, row in changed.items() if row is None]
            delta = rows_to_arrow(spec, live, dead, delta=True)
            self.tables[name] = merge_arrow(spec, self.base.table(name), delta)
        return self.tables[name]
