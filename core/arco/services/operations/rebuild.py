"""Rebuilding projections from the full ledger, to verify or to republish them.

`verify` folds exactly the ledger objects the published state says it folded, in memory, and
compares every table row by row: any difference is a bug (or tampering) worth a page.
`publish` folds the whole ledger and publishes the result as a new manifest (after an upgrade
that taught the fold new event types, for example).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arco.domain.envelope import format_time_ms
from arco.domain.errors import ConflictError
from arco.domain.fold import FoldCall, FoldReport, fold_objects
from arco.domain.state import FoldState, StagedState
from arco.domain.system_tables import LEDGER_OBJECTS
from arco.domain.tables import Key, Row
from arco.domain.ulid import is_ulid
from arco.ledger.reader import read_objects, window_start
from arco.projections.manifest import (
    Manifest,
    TableEntry,
    read_current_manifest,
    recent_fields,
    swap_pointer,
)
from arco.projections.table_files import load_fold_state, write_base
from arco.services.workspace import Workspace

Progress = Callable[[int, int], None]
CHUNK = 1000


def list_ledger(ws: Workspace) -> list[str]:
    """Every ledger object name of the workspace, ascending."""
    return [ws.layout.object_name(o.key) for o in ws.store.list(ws.layout.ledger_prefix)]


def fold_ledger(
    ws: Workspace,
    names: Sequence[str],
    progress: Progress | None = None,
    *,
    after_manifest: int,
) -> tuple[FoldState, FoldReport]:
    """Fold the named ledger objects from an empty state, chunk by chunk (one fold call per
    chunk, recorded as folding over `after_manifest`)."""
    chunks = [
        (FoldCall(after_manifest, number), names[start : start + CHUNK])
        for number, start in enumerate(range(0, len(names), CHUNK), start=1)
    ]
    return _fold_calls(ws, chunks, progress)


def _fold_calls(
    ws: Workspace,
    calls: Sequence[tuple[FoldCall, Sequence[str]]],
    progress: Progress | None = None,
) -> tuple[FoldState, FoldReport]:
    """Fold from an empty state: each call's objects together, the calls in order. Objects are
    read about `CHUNK` at a time across calls (the timer folds one object per call: reading
    call by call would read one object at a time)."""
    state = FoldState()
    total = FoldReport()
    done, count = 0, sum(len(names) for _, names in calls)
    for batch in _batches(calls):
        wanted = [name for _, names in batch for name in names]
        read = {obj.name: obj for obj in read_objects(ws.store, ws.layout, wanted)}
        for call, names in batch:
            staged = StagedState(state)
            report = fold_objects(staged, [read[n] for n in names], ws.registry, ws.name, call)
            state = staged.commit()
            total.add(report)
        done += len(wanted)
        if progress:
            progress(done, count)
    return state, total


def _batches(
    calls: Sequence[tuple[FoldCall, Sequence[str]]],
) -> list[list[tuple[FoldCall, Sequence[str]]]]:
    """Consecutive calls grouped until a group names `CHUNK` objects or more."""
    out: list[list[tuple[FoldCall, Sequence[str]]]] = [[]]
    size = 0
    for call in calls:
        if size >= CHUNK:
            out.append([])
            size = 0
        out[-1].append(call)
        size += len(call[1])
    return [batch for batch in out if batch]


def published_fold_calls(
    ledger_objects: Mapping[Key, Row], present: Sequence[str]
) -> list[tuple[FoldCall, list[str]]]:
    """The fold calls that built a published state, in order, each with the names it folded
    (those still `present` in the ledger). Objects folded before calls were recorded come
    first, in name order and in chunks (exact for a state built by an `arco rebuild`; for one
    built by compactions of an older build, an object that landed late may be applied in
    another order than it was: run `arco rebuild` once after upgrading)."""
    by_call: dict[tuple[int, int], list[str]] = defaultdict(list)
    unrecorded: list[str] = []
    for name in present:
        row = ledger_objects.get((name,))
        if row is None:
            continue
        if row.get("fold_call") is None:
            unrecorded.append(name)
        else:
            by_call[(row["fold_after_manifest"], row["fold_call"])].append(name)
    older = [
        (FoldCall(), unrecorded[start : start + CHUNK])
        for start in range(0, len(unrecorded), CHUNK)
    ]
    ordered = [(FoldCall(*call), names) for call, names in sorted(by_call.items())]
    return [*older, *ordered]


@dataclass
class TableDiff:
    table: str
    missing: list[Key] = field(default_factory=list)  # published has it, rebuild does not
    extra: list[Key] = field(default_factory=list)  # rebuild has it, published does not
    changed: list[tuple[Key, Row, Row]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def as_dict(self, limit: int = 20) -> dict[str, Any]:
        return {
            "table": self.table,
            "missing_in_rebuild": len(self.missing),
            "extra_in_rebuild": len(self.extra),
            "changed": len(self.changed),
            "examples": {
                "missing_in_rebuild": [list(k) for k in self.missing[:limit]],
                "extra_in_rebuild": [list(k) for k in self.extra[:limit]],
                "changed": [
                    {"key": list(k), "published": p, "rebuilt": r}
                    for k, p, r in self.changed[:limit]
                ],
            },
        }


def diff_states(published: FoldState, rebuilt: FoldState) -> list[TableDiff]:
    diffs = []
    for table in sorted(set(published.tables) | set(rebuilt.tables)):
        left = published.tables.get(table, {})
        right = rebuilt.tables.get(table, {})
        diff = TableDiff(table)
        diff.missing = sorted(k for k in left if k not in right)
        diff.extra = sorted(k for k in right if k not in left)
        diff.changed = [
            (k, left[k], right[k]) for k in sorted(left) if k in right and left[k] != right[k]
        ]
        if not diff.empty:
            diffs.append(diff)
    return diffs


@dataclass
class VerifyReport:
    manifest_id: int
    objects: int
    pending: int
    tables: dict[str, int]
    diffs: list[TableDiff]

    @property
    def identical(self) -> bool:
        return not self.diffs

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest_id": self.manifest_id,
            "identical": self.identical,
            "objects_refolded": self.objects,
            "objects_not_yet_compacted": self.pending,
            "rows": self.tables,
            "diffs": [d.as_dict() for d in self.diffs],
        }


def verify(ws: Workspace, progress: Progress | None = None) -> VerifyReport:
    """Rebuild in memory what the published manifest covers and compare it table by table.

    The objects are refolded call by call, as the compactions folded them: an object that
    landed after later ones were folded is applied after them again, so the known order
    dependences (docs/design/runs.md) are reproduced, not reported as differences.
    """
    manifest = ws.manifest()
    published = load_fold_state(ws.store, manifest, ws.registry)
    folded = published.tables.get(LEDGER_OBJECTS.name, {})
    everything = list_ledger(ws)
    calls = published_fold_calls(folded, everything)
    names = [name for _, call_names in calls for name in call_names]
    # Objects the manifest says were folded but that are gone from the ledger also show up,
    # as rows missing from the rebuild.
    rebuilt, _ = _fold_calls(ws, calls, progress)
    return VerifyReport(
        manifest_id=manifest.manifest_id,
        objects=len(names),
        pending=len(everything) - len(names),
        tables=rebuilt.row_counts(),
        diffs=diff_states(published, rebuilt),
    )


def publish(ws: Workspace, progress: Progress | None = None) -> Manifest:
    """Fold the whole ledger from scratch and publish it as the next manifest."""
    current, version = read_current_manifest(ws.store, ws.layout, ws.lookback_ms)
    names = list_ledger(ws)
    state, report = fold_ledger(ws, names, progress, after_manifest=current.manifest_id)
    # Claim an id above every manifest written so far, orphans of crashed compactions included.
    taken = [
        int(o.key.rsplit("/", 1)[1].split(".")[0])
        for o in ws.store.list(ws.layout.manifests_prefix)
    ]
    new_id = max([current.manifest_id, *taken]) + 1
    if not taken:
        # Nothing published is left (every projection lost, or none yet). Processes that ran
        # before a loss cache manifests by id, so ids are never reused: start above any id
        # the lost history can have reached (one a second since 1970 would be needed).
        new_id = max(new_id, ws.clock.now_ms() // 1000)
    tables: dict[str, TableEntry] = {
        name: write_base(ws.store, ws.layout, new_id, ws.registry.table(name), rows)
        for name, rows in sorted(state.tables.items())
    }
    valid = [n for n in names if is_ulid(n)]
    watermark = max(valid) if valid else None
    floor = window_start(watermark, ws.lookback_ms) or ""
    now = ws.clock.now_ms()
    recent_objects, recent_file = recent_fields(
        ws.store, ws.layout, new_id, sorted(n for n in names if not is_ulid(n) or n > floor)
    )
    manifest = Manifest(
        manifest_id=new_id,
        parent_id=current.manifest_id,
        workspace=ws.name,
        created_at=format_time_ms(now),
        compactor="rebuild",
        watermark=watermark,
        lookback_ms=ws.lookback_ms,
        recent_objects=recent_objects,
        recent_file=recent_file,
        tables=tables,
        objects_total=report.objects,
        events_total=report.events_seen,
    )
    if not ws.store.create(ws.layout.manifest_key(new_id), manifest.to_bytes()).ok:
        raise ConflictError("a compaction published while rebuilding; run the rebuild again")
    if not swap_pointer(ws.store, ws.layout, new_id, version, format_time_ms(now)):
        raise ConflictError("a compaction published while rebuilding; run the rebuild again")
    ws.compactor.cache.forget()
    return manifest
