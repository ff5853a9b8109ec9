"""Garbage collection: delete superseded manifests and table files that no reader can still use.

A reader reads the pointer, then its manifest, then that manifest's table files. So a manifest,
and every file it names, stays while a reader may be inside it: every manifest published within
the grace period, and the one that was current when the period began. What is older (published
manifests, manifests and table files of crashed or lost compactions below them) is deleted,
unless a kept manifest names it (a base file can be much older than the manifests that use it).
Objects above the published manifest (a compaction publishing) are never touched, nor is the
ledger: it is the truth every projection can be rebuilt from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from arco.domain.envelope import parse_time_ms
from arco.domain.errors import CorruptState
from arco.projections.manifest import Manifest, read_manifest
from arco.services.workspace import Workspace

_ID = re.compile(r"/(\d{20})(?:\.json|\.[a-z]+\.[0-9a-f]{12}\.parquet)$")
DEFAULT_GRACE_MS = 60 * 60 * 1000


@dataclass
class GcReport:
    """What one collection kept and deleted (or, on a dry run, would delete)."""

    current_manifest_id: int
    oldest_kept_manifest_id: int
    kept_manifests: int
    manifests_deleted: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    dry_run: bool = False
    more: bool = False  # stopped at max_deletes: run again

    def as_dict(self) -> dict[str, Any]:
        return {
            "current_manifest_id": self.current_manifest_id,
            "oldest_kept_manifest_id": self.oldest_kept_manifest_id,
            "kept_manifests": self.kept_manifests,
            "manifests_deleted": len(self.manifests_deleted),
            "files_deleted": len(self.files_deleted),
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
) -> GcReport:
    """Delete what no reader can use any more (see the module's docstring)."""
    current = ws.manifest()
    kept = kept_manifests(ws, current, ws.clock.now_ms() - grace_ms)
    oldest = min(m.manifest_id for m in kept)
    named = {f.key for m in kept for entry in m.tables.values() for f in entry.files}
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
            if len(report.manifests_deleted) + len(report.files_deleted) >= max_deletes:
                report.more = True
                return report
            if not dry_run:
                ws.store.delete(listed.key)
            deleted.append(listed.key)
    return report
