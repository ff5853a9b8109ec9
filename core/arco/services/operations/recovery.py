"""Recovering a lost or damaged pointer: point it back at a good manifest.

Manifests are immutable and numbered, so the published history is intact even when the pointer
object is gone or unreadable. Restoring picks the newest manifest whose table files are all
present (or the one the operator names) and writes the pointer to it.
"""

from __future__ import annotations

import re

from arco.domain.envelope import format_time_ms
from arco.domain.errors import ConflictError, CorruptState, NotFound
from arco.projections.manifest import Manifest, read_manifest, swap_pointer
from arco.services.workspace import Workspace

_MANIFEST_ID = re.compile(r"/(\d{20})\.json$")


def manifest_ids(ws: Workspace) -> list[int]:
    """Ids of every manifest object in the workspace, ascending."""
    ids = []
    for obj in ws.store.list(ws.layout.manifests_prefix):
        match = _MANIFEST_ID.search(obj.key)
        if match:
            ids.append(int(match.group(1)))
    return sorted(ids)


def _complete(ws: Workspace, manifest: Manifest) -> bool:
    files = [f for entry in manifest.tables.values() for f in entry.files]
    if manifest.recent_file is not None:  # the compactor reads it at its next step
        files.append(manifest.recent_file)
    return all(ws.store.get(f.key) is not None for f in files)


def restore_pointer(ws: Workspace, manifest_id: int | None = None) -> Manifest:
    """Point the pointer at `manifest_id`, or at the newest complete manifest."""
    candidates = manifest_ids(ws)
    if manifest_id is not None:
        if manifest_id not in candidates:
            raise NotFound(f"manifest {manifest_id} does not exist in workspace {ws.name}")
        candidates = [manifest_id]
    chosen = None
    for candidate in reversed(candidates):
        try:
            manifest = read_manifest(ws.store, ws.layout, candidate)
        except CorruptState:
            continue
        if _complete(ws, manifest):
            chosen = manifest
            break
    if chosen is None:
        raise NotFound("no readable manifest with all its table files; run `arco rebuild`")
    current = ws.store.get(ws.layout.pointer_key)
    updated_at = format_time_ms(ws.clock.now_ms())
    if not swap_pointer(
        ws.store, ws.layout, chosen.manifest_id, current.version if current else None, updated_at
    ):
        raise ConflictError("the pointer changed while restoring it; check `arco doctor` again")
    ws.compactor.cache.forget()
    return chosen
