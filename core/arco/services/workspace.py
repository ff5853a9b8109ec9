"""A workspace opened on a store: the one object services and entry points build from config."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from arco.clock import Clock, SystemClock
from arco.domain.catalog import default_registry
from arco.domain.registry import Registry
from arco.ledger.writer import DEFAULT_LOOKBACK_MS, LedgerWriter
from arco.projections.cache import Snapshot, SnapshotCache, StagedSnapshot
from arco.projections.compactor import CompactionSession, Compactor
from arco.projections.manifest import Manifest, read_current_manifest
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore


@dataclass
class Workspace:
    """Everything needed to write to, compact and read one workspace of a store."""

    store: ObjectStore
    name: str = "default"
    clock: Clock = field(default_factory=SystemClock)
    registry: Registry = field(default_factory=default_registry)
    lookback_ms: int = DEFAULT_LOOKBACK_MS
    source: str = "arco"

    @cached_property
    def layout(self) -> WorkspaceLayout:
        return WorkspaceLayout(self.name)

    @cached_property
    def writer(self) -> LedgerWriter:
        return LedgerWriter(
            self.store, self.name, self.registry, self.clock, self.source, self.lookback_ms
        )

    @cached_property
    def compactor(self) -> Compactor:
        return Compactor(
            self.store, self.name, self.registry, self.clock, lookback_ms=self.lookback_ms
        )

    @cached_property
    def snapshots(self) -> SnapshotCache:
        return SnapshotCache(self.store, self.registry)

    def manifest(self) -> Manifest:
        """The published manifest (pointer read every call; the manifest itself is cached)."""
        return read_current_manifest(self.store, self.layout, self.lookback_ms)[0]

    def staged_snapshot(self, session: CompactionSession) -> Snapshot:
        """What `session` will publish, readable before it is."""
        base = self.snapshots.snapshot(session.manifest)
        return StagedSnapshot(base, session.staged.changes) if session.batch else base

    def snapshot(self) -> Snapshot:
        """The published state for readers. Never touches the ledger."""
        return self.snapshots.snapshot(self.manifest())
