"""Compaction: list what is new in the ledger, fold it, publish tables, CAS the pointer.

One compaction step:
  1. read the pointer and its manifest (manifests are cached: they are immutable);
  2. list ledger objects from `watermark - lookback`, skipping names folded in that window;
  3. read them, fold them into a staged overlay of the cached state;
  4. write changed tables (base or delta files), then manifest N+1, both create-if-absent;
  5. compare-and-swap the pointer from N to N+1. Only now is anything visible.
Losing the CAS (another compactor won) discards the overlay and retries, a bounded number of
times. A crash anywhere before the CAS leaves orphans that `arco doctor` reports.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arco.clock import Clock
from arco.domain.envelope import format_time_ms
from arco.domain.errors import ConflictError, CorruptState
from arco.domain.fold import FoldReport, fold_objects
from arco.domain.registry import Registry
from arco.domain.state import StagedState
from arco.domain.system_tables import LEDGER_OBJECTS
from arco.domain.ulid import is_ulid
from arco.ledger.reader import list_unfolded, read_objects, window_start
from arco.projections.cache import FoldStateCache
from arco.projections.manifest import (
    Manifest,
    TableEntry,
    read_current_manifest,
    remember_manifest,
    swap_pointer,
)
from arco.projections.table_files import write_table_changes
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

CrashHook = Callable[[str], None]

# Named points where tests inject failures (see tests/integration/test_crash_points.py).
AFTER_TABLE_WRITE = "after_table_write"
AFTER_MANIFEST_WRITE = "after_manifest_write"
BEFORE_POINTER_CAS = "before_pointer_cas"
AFTER_POINTER_CAS = "after_pointer_cas"
CRASH_POINTS = (AFTER_TABLE_WRITE, AFTER_MANIFEST_WRITE, BEFORE_POINTER_CAS, AFTER_POINTER_CAS)


@dataclass
class CompactionResult:
    """What one `compact()` call did."""

    workspace: str
    published: bool
    manifest_id: int
    previous_manifest_id: int
    watermark: str | None
    objects_listed: int = 0
    objects_deferred: int = 0
    more_pending: bool = False
    attempts: int = 1
    tables_written: list[str] = field(default_factory=list)
    fold: FoldReport = field(default_factory=FoldReport)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "published": self.published,
            "manifest_id": self.manifest_id,
            "previous_manifest_id": self.previous_manifest_id,
            "watermark": self.watermark,
            "objects_listed": self.objects_listed,
            "objects_deferred": self.objects_deferred,
            "more_pending": self.more_pending,
            "attempts": self.attempts,
            "tables_written": self.tables_written,
            "fold": self.fold.as_dict(),
            "quarantined": [{"object": n, "reason": r} for n, r in self.fold.quarantined],
            "seconds": round(self.seconds, 4),
        }


class Compactor:
    """Folds one workspace's ledger into published projections. Safe to run concurrently."""

    def __init__(
        self,
        store: ObjectStore,
        workspace: str,
        registry: Registry,
        clock: Clock,
        *,
        lookback_ms: int,
        max_objects: int = 2000,
        max_future_ms: int = 60_000,
        max_attempts: int = 8,
        crash_hook: CrashHook | None = None,
        compactor_id: str | None = None,
    ) -> None:
        self.store = store
        self.layout = WorkspaceLayout(workspace)
        self.registry = registry
        self.clock = clock
        self.lookback_ms = lookback_ms
        self.max_objects = max_objects
        self.max_future_ms = max_future_ms
        self.max_attempts = max_attempts
        self.crash = crash_hook or (lambda point: None)
        self.compactor_id = compactor_id or f"{socket.gethostname()}:{id(self):x}"
        self.cache = FoldStateCache(store, registry)
        # A manifest id whose create failed is taken (by a racing compactor, or by one that
        # crashed before its pointer CAS): later attempts claim ids above it.
        self._next_id_floor = 0

    def compact(self, sweep: bool = False) -> CompactionResult:
        """Run one compaction step; `sweep` lists the whole ledger (for late objects)."""
        started = time.perf_counter()
        for attempt in range(1, self.max_attempts + 1):
            result = self._attempt(attempt, sweep)
            if result is not None:
                result.seconds = time.perf_counter() - started
                return result
            # Lost the race: another compactor published first. Back off with jitter.
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise ConflictError(
            f"compaction of {self.layout.workspace} lost the pointer race "
            f"{self.max_attempts} times; it is safe to retry"
        )

    def compact_until_idle(self, max_steps: int = 10_000) -> list[CompactionResult]:
        results = []
        for _ in range(max_steps):
            result = self.compact()
            results.append(result)
            if not result.more_pending:
                break
        return results

    def _attempt(self, attempt: int, sweep: bool) -> CompactionResult | None:
        manifest, pointer_version = read_current_manifest(self.store, self.layout, self.lookback_ms)
        if pointer_version is None:
            self._check_no_history_lost()
        now = self.clock.now_ms()
        if sweep:
            state = self.cache.state_for(manifest)
            folded = state.tables.get(LEDGER_OBJECTS.name, {})
            names, deferred = list_unfolded(
                self.store,
                self.layout,
                None,
                [k[0] for k in folded],
                self.lookback_ms,
                now,
                self.max_future_ms,
            )
        else:
            names, deferred = list_unfolded(
                self.store,
                self.layout,
                manifest.watermark,
                manifest.recent_objects,
                self.lookback_ms,
                now,
                self.max_future_ms,
            )
        result = CompactionResult(
            workspace=self.layout.workspace,
            published=False,
            manifest_id=manifest.manifest_id,
            previous_manifest_id=manifest.manifest_id,
            watermark=manifest.watermark,
            objects_listed=len(names),
            objects_deferred=len(deferred),
            attempts=attempt,
        )
        if not names:
            return result
        batch = names[: self.max_objects]
        result.more_pending = len(names) > len(batch)

        state = self.cache.state_for(manifest)
        staged = StagedState(state)
        result.fold = fold_objects(
            staged,
            read_objects(self.store, self.layout, batch),
            self.registry,
            self.layout.workspace,
        )
        new_id = max(manifest.manifest_id + 1, self._next_id_floor)
        tables = dict(manifest.tables)
        for name in staged.changed_tables():
            tables[name] = write_table_changes(
                self.store,
                self.layout,
                new_id,
                self.registry.table(name),
                manifest.tables.get(name) or TableEntry(),
                state,
                staged,
            )
            result.tables_written.append(name)
            self.crash(AFTER_TABLE_WRITE)

        new_manifest = self._next_manifest(manifest, new_id, batch, tables, result.fold, now)
        if not self.store.create(self.layout.manifest_key(new_id), new_manifest.to_bytes()).ok:
            self._next_id_floor = new_id + 1
            return None  # the id is taken; re-read the pointer and retry above it
        self.crash(AFTER_MANIFEST_WRITE)
        self.crash(BEFORE_POINTER_CAS)
        won = swap_pointer(self.store, self.layout, new_id, pointer_version, format_time_ms(now))
        if not won:
            return None
        self.crash(AFTER_POINTER_CAS)
        remember_manifest(self.store, self.layout, new_manifest)
        self.cache.committed(new_manifest, staged.commit())
        result.published = True
        result.manifest_id = new_id
        result.watermark = new_manifest.watermark
        return result

    def _check_no_history_lost(self) -> None:
        """No pointer. If every manifest there is a first publication (parent 0: built from the
        empty state by a compactor that crashed, or is about to create the pointer), publishing
        another first publication loses nothing: whatever those folded is still in the ledger,
        and creating the pointer is exclusive, so one first publication wins and the others'
        objects are folded by the next step. A manifest with a parent means a published history
        whose pointer was lost: starting over from the empty state would hide it, so stop."""
        for listed in self.store.list(self.layout.manifests_prefix):
            stored = self.store.get(listed.key)
            try:
                first = stored is None or json.loads(stored.data).get("parent_id") in (None, 0)
            except (ValueError, AttributeError):
                first = False
            if not first:
                raise CorruptState(
                    f"workspace {self.layout.workspace} has published manifests but no pointer; "
                    "run `arco restore-pointer` (see docs/operations.md)"
                )

    def _next_manifest(
        self,
        manifest: Manifest,
        new_id: int,
        batch: list[str],
        tables: dict[str, TableEntry],
        fold: FoldReport,
        now: int,
    ) -> Manifest:
        valid = [n for n in batch if is_ulid(n)]
        watermark = max([*valid, manifest.watermark or ""]) or None
        floor = window_start(watermark, self.lookback_ms) or ""
        # Remember folded names inside the window; names that are not ULIDs (garbage dropped
        # into the ledger prefix by hand) stay remembered so they are quarantined only once.
        recent = sorted(
            {n for n in (*manifest.recent_objects, *batch) if not is_ulid(n) or n > floor}
        )
        return Manifest(
            manifest_id=new_id,
            parent_id=manifest.manifest_id,
            workspace=self.layout.workspace,
            created_at=format_time_ms(now),
            compactor=self.compactor_id,
            watermark=watermark,
            lookback_ms=self.lookback_ms,
            recent_objects=tuple(recent),
            tables=tables,
            objects_total=manifest.objects_total + fold.objects,
            events_total=manifest.events_total + fold.events_seen,
        )
