"""Garbage collection: delete superseded manifests and table files that no reader can still use.

A reader reads the pointer, then its manifest, then that manifest's table files. So a manifest,
and every file it names, stays while a reader may be inside it: every manifest published within
the grace period, and the one that was current when the period began. What is older (published
manifests, manifests and table files of crashed or lost compactions below them) is deleted,
unless a kept manifest names it (a base file can be much older than the manifests that use it).
Objects above the published manifest (a compaction publishing) are never touched, nor is the
ledger: it is the truth every projection can be rebuilt from.

Attempt claims (`claims/<run>/<task>/<attempt>.json`) go too, once the attempt is over in the
oldest kept manifest: every reader is at or after it, so a redelivered order finds the
attempt over (and runs nothing) before it would look for its claim. Logs are what users read,
and are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from arco.domain.envelope import parse_time_ms
from arco.domain.errors import CorruptState
from arco.domain.runs import FINAL_TASK, TASKS
from arco.projections.cache import Snapshot
from arco.projections.manifest import Manifest, read_manifest
from arco.services.workspace import Workspace

_CLAIM = re.compile(r"/claims/([^/]+)/(\d+)/(\d+)\.json$")
_ID = re.compile(r"/(\d{20})(?:\.json|\.[a-z]+\.[0-9a-f]{12}\.(?:parquet|json\.gz))$")
DEFAULT_GRACE_MS = 60 * 60 * 1000


@dataclass
class GcReport:
    """What one collection kept and deleted (or, on a dry run, would delete)."""

    current_manifest_id: int
    oldest_kept_manifest_id: int
    kept_manifests: int
    manifests_deleted: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    claims_deleted: list[str] = field(default_factory=list)
    dry_run: bool = False
    more: bool = False  # stopped at max_deletes: run again

    @property
    def deleted(self) -> int:
        return len(self.manifests_deleted) + len(self.files_deleted) + len(self.claims_deleted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_manifest_id": self.current_manifest_id,
            "oldest_kept_manifest_id": self.oldest_kept_manifest_id,
            "kept_manifests": self.kept_manifests,
            "manifests_deleted": len(self.manifests_deleted),
            "files_deleted": len(self.files_deleted),
            "claims_deleted": len(self.claims_deleted),
            "dry_run": self.dry_run,
            "more": self.more,
        }


def kept_manifests(ws: Workspace, current: Manifest, cutoff_ms: int) -> list[Manifest]:
    """The published manifests a reader may still be inside: back along the chain from the
    current one, every manifest created at or after `cutoff_ms`, plus the one current then."""
    kept = [current]
    manifest = current
    while parse_time_ms(manifest.created_at) >= cutoff_ms and manifest.parent_id:
        try:
            manifest = read_manifest(ws.store, ws.layout, manifest.parent_id)
        except CorruptState:  # already collected
            break
        kept.append(manifest)
    return kept


def collect_garbage(
    ws: Workspace,
    grace_ms: int = DEFAULT_GRACE_MS,
    dry_run: bool = False,
    max_deletes: int = 10_000,
    claims: bool = True,
) -> GcReport:
    """Delete what no reader can use any more (see the module's docstring); attempt claims
    too unless `claims` is False."""
    current = ws.manifest()
    kept = kept_manifests(ws, current, ws.clock.now_ms() - grace_ms)
    oldest = min(m.manifest_id for m in kept)
    named = {f.key for m in kept for entry in m.tables.values() for f in entry.files}
    named |= {m.recent_file.key for m in kept if m.recent_file is not None}
    report = GcReport(current.manifest_id, oldest, len(kept), dry_run=dry_run)
    if current.manifest_id == 0:
        return report  # nothing published: nothing superseded
    for prefix, deleted in (
        (ws.layout.manifests_prefix, report.manifests_deleted),
        (ws.layout.tables_prefix, report.files_deleted),
    ):
        for listed in ws.store.list(prefix):
            match = _ID.search(listed.key)
            if match is None or int(match.group(1)) >= oldest or listed.key in named:
                continue
            if report.deleted >= max_deletes:
                report.more = True
                return report
            if not dry_run:
                ws.store.delete(listed.key)
            deleted.append(listed.key)
    if claims:
        _collect_claims(ws, kept[-1], report, max_deletes)
    return report


def _collect_claims(ws: Workspace, oldest: Manifest, report: GcReport, max_deletes: int) -> None:
    listed = [o.key for o in ws.store.list(ws.layout.claims_prefix)]
    if not listed:
        return
    over = _attempts_over(ws, oldest)
    for key in listed:
        match = _CLAIM.search(key)
        if match is None:
            continue
        run_id, task, attempt = match.group(1), int(match.group(2)), int(match.group(3))
        if (run_id, task) not in over or attempt > over[(run_id, task)]:
            continue
        if report.deleted >= max_deletes:
            report.more = True
            return
        if not report.dry_run:
            ws.store.delete(key)
        report.claims_deleted.append(key)


def _attempts_over(ws: Workspace, manifest: Manifest) -> dict[tuple[str, int], int]:
    """Per (run, task) in `manifest`'s state: the newest attempt that is over (all attempts of
    a final task; those before the current one otherwise)."""
    tasks = Snapshot(ws.store, ws.registry, manifest).table(TASKS.name)
    out: dict[tuple[str, int], int] = {}
    columns = [tasks.column(c).to_pylist() for c in ("run_id", "index", "status", "attempt")]
    for run_id, index, status, attempt in zip(*columns, strict=True):
        out[(run_id, index)] = attempt if status in FINAL_TASK else attempt - 1
    return out
