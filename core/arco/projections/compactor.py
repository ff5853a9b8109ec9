"""Compaction: list what is new in the ledger, fold it, publish tables, CAS the pointer.

One compaction step:
  1. read the pointer and its manifest (manifests are cached: they are immutable);
  2. list ledger objects from `watermark - lookback`, skipping names folded in that window;
  3. read them, fold them into a staged overlay of the cached state;
  4. write changed tables (base or delta files), then manifest N+1, both create-if-absent;
  5. compare-and-swap the pointer from N to N+1. Only now is anything visible.
Losing the CAS (another compactor won) discards the overlay and retries, a bounded number of
times. A crash anywhere before the CAS leaves objects no manifest names, which `arco gc`
deletes after its grace period.

Steps 2-3 and 4-5 are separate in a `CompactionSession`, so a caller (the timer) can fold what
it writes as it goes, read the result before it is published, and publish once.
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from arco.clock import Clock
from arco.domain.envelope import format_time_ms
from arco.domain.errors import ConflictError, CorruptState
from arco.domain.fold import FoldCall, FoldReport, LedgerObject, fold_objects
from arco.domain.registry import Registry
from arco.domain.state import FoldState, StagedState
from arco.domain.system_tables import LEDGER_OBJECTS
from arco.domain.ulid import is_ulid
from arco.ledger.reader import list_unfolded, read_objects, window_start
from arco.projections.cache import FoldStateCache
from arco.projections.manifest import (
    Manifest,
    TableEntry,
    read_current_manifest,
    recent_fields,
    recent_names,
    remember_manifest,
    swap_pointer,
)
from arco.projections.table_files import write_table_changes
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

CrashHook = Callable[[str], None]
_MANIFEST_NAME = re.compile(r"/\d{20}\.json$")

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

    def begin(self) -> CompactionSession:
        """Open a publication over the current manifest: fold into it, read it, publish it."""
        manifest, pointer_version = read_current_manifest(self.store, self.layout, self.lookback_ms)
        if pointer_version is None:
            self._check_no_history_lost()
        return CompactionSession(self, manifest, pointer_version)

    def _attempt(self, attempt: int, sweep: bool) -> CompactionResult | None:
        session = self.begin()
        session.refresh(sweep)
        session.result.attempts = attempt
        if not session.batch:
            return session.result
        return session.publish()

    def _check_no_history_lost(self) -> None:
        """No pointer. If every manifest there is a first publication (parent 0: built from the
        empty state by a compactor that crashed, or is about to create the pointer), publishing
        another first publication loses nothing: whatever those folded is still in the ledger,
        and creating the pointer is exclusive, so one first publication wins and the others'
        objects are folded by the next step. A manifest with a parent means a published history
        whose pointer was lost: starting over from the empty state would hide it, so stop."""
        for listed in self.store.list(self.layout.manifests_prefix):
            if not _MANIFEST_NAME.search(listed.key):
                continue  # a manifest's side object (`recent_file`), not a manifest
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


class CompactionSession:
    """One publication in the making, over the manifest read when it began.

    Ledger objects are folded into a staged overlay of that manifest's state: those pending in
    the ledger (`refresh`) and any the caller has just written (`fold`). `view` reads the
    overlay as the next publication will show it, before anything is published; `publish`
    writes the changed tables and the manifest and swaps the pointer, once. The timer folds
    each step's decisions here and publishes once per call.
    """

    def __init__(
        self, compactor: Compactor, manifest: Manifest, pointer_version: str | None
    ) -> None:
        self.compactor = compactor
        self.manifest = manifest
        self.pointer_version = pointer_version
        self.batch: list[str] = []  # object names folded here, in the order they came
        self._batched: set[str] = set()
        self._calls = 0  # fold calls made here (each is recorded with its objects)
        self.result = CompactionResult(
            workspace=compactor.layout.workspace,
            published=False,
            manifest_id=manifest.manifest_id,
            previous_manifest_id=manifest.manifest_id,
            watermark=manifest.watermark,
        )

    def refresh(self, sweep: bool = False) -> int:
        """List the ledger for objects neither published nor folded here, and fold them (at
        most the compactor's `max_objects` per session). Returns how many were folded."""
        c = self.compactor
        now = c.clock.now_ms()
        if sweep:
            folded = [k[0] for k in self.state.tables.get(LEDGER_OBJECTS.name, {})]
            names, deferred = list_unfolded(
                c.store, c.layout, None, [*folded, *self.batch], c.lookback_ms, now, c.max_future_ms
            )
        else:
            names, deferred = list_unfolded(
                c.store,
                c.layout,
                self.manifest.watermark,
                [*self.recent, *self.batch],
                c.lookback_ms,
                now,
                c.max_future_ms,
            )
        room = max(0, c.max_objects - len(self.batch))
        chosen = names[:room]
        self.result.objects_listed += len(names)
        self.result.objects_deferred = len(deferred)
        self.result.more_pending = len(names) > len(chosen)
        if chosen:
            self.fold(read_objects(c.store, c.layout, chosen))
        return len(chosen)

    def fold(self, objects: Sequence[LedgerObject]) -> None:
        """Fold objects whose bytes the caller has (it just wrote them)."""
        fresh = [o for o in objects if o.name not in self._batched]
        if not fresh:
            return
        self._calls += 1
        report = fold_objects(
            self.staged,
            fresh,
            self.compactor.registry,
            self.compactor.layout.workspace,
            FoldCall(self.manifest.manifest_id, self._calls),
        )
        self.result.fold.add(report)
        self.batch.extend(o.name for o in fresh)
        self._batched.update(o.name for o in fresh)

    @cached_property
    def state(self) -> FoldState:
        """The published state by key (loaded on first need: an idle call reads no table)."""
        return self.compactor.cache.state_for(self.manifest)

    @cached_property
    def recent(self) -> tuple[str, ...]:
        """Names the published manifest folded inside its window."""
        return recent_names(self.compactor.store, self.compactor.layout, self.manifest)

    @cached_property
    def staged(self) -> StagedState:
        return StagedState(self.state)

    @property
    def pending(self) -> bool:
        """Whether anything was folded that is not published yet."""
        return bool(self.batch) and not self.result.published

    def publish(self) -> CompactionResult | None:
        """Write the changed tables and the next manifest, then swap the pointer. None when
        another compactor published first (the overlay is then stale: begin again)."""
        c = self.compactor
        manifest, staged, result = self.manifest, self.staged, self.result
        now = c.clock.now_ms()
        new_id = max(manifest.manifest_id + 1, c._next_id_floor)
        tables = dict(manifest.tables)
        result.tables_written = []
        for name in staged.changed_tables():
            tables[name] = write_table_changes(
                c.store,
                c.layout,
                new_id,
                c.registry.table(name),
                manifest.tables.get(name) or TableEntry(),
                self.state,
                staged,
            )
            result.tables_written.append(name)
            c.crash(AFTER_TABLE_WRITE)

        new_manifest = self._next_manifest(new_id, tables, now)
        if not c.store.create(c.layout.manifest_key(new_id), new_manifest.to_bytes()).ok:
            c._next_id_floor = new_id + 1
            return None  # the id is taken; re-read the pointer and retry above it
        c.crash(AFTER_MANIFEST_WRITE)
        c.crash(BEFORE_POINTER_CAS)
        won = swap_pointer(c.store, c.layout, new_id, self.pointer_version, format_time_ms(now))
        if not won:
            return None
        c.crash(AFTER_POINTER_CAS)
        remember_manifest(c.store, c.layout, new_manifest)
        c.cache.committed(new_manifest, staged.commit())
        result.published = True
        result.manifest_id = new_id
        result.watermark = new_manifest.watermark
        return result

    def _next_manifest(self, new_id: int, tables: dict[str, TableEntry], now: int) -> Manifest:
        manifest, fold, c = self.manifest, self.result.fold, self.compactor
        valid = [n for n in self.batch if is_ulid(n)]
        watermark = max([*valid, manifest.watermark or ""]) or None
        floor = window_start(watermark, c.lookback_ms) or ""
        # Remember folded names inside the window; names that are not ULIDs (garbage dropped
        # into the ledger prefix by hand) stay remembered so they are quarantined only once.
        recent_objects, recent_file = recent_fields(
            c.store,
            c.layout,
            new_id,
            sorted({n for n in (*self.recent, *self.batch) if not is_ulid(n) or n > floor}),
        )
        return Manifest(
            manifest_id=new_id,
            parent_id=manifest.manifest_id,
            workspace=c.layout.workspace,
            created_at=format_time_ms(now),
            compactor=c.compactor_id,
            watermark=watermark,
            lookback_ms=c.lookback_ms,
            recent_objects=recent_objects,
            recent_file=recent_file,
            tables=tables,
            objects_total=manifest.objects_total + fold.objects,
            events_total=manifest.events_total + fold.events_seen,
        )
