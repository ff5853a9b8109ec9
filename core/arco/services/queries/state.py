"""`arco state`: what is published, in one small JSON-able dict."""

from __future__ import annotations

from typing import Any

from arco.domain.envelope import format_time_ms
from arco.domain.ulid import is_ulid, ulid_time_ms
from arco.services.workspace import Workspace


def state_summary(ws: Workspace) -> dict[str, Any]:
    """Manifest id, watermark and rows per table; reads pointer + manifest only."""
    manifest = ws.manifest()
    watermark = manifest.watermark
    return {
        "workspace": ws.name,
        "store": ws.store.url,
        "manifest_id": manifest.manifest_id,
        "published_at": manifest.created_at if manifest.manifest_id else None,
        "watermark": watermark,
        "watermark_time": (
            format_time_ms(ulid_time_ms(watermark)) if watermark and is_ulid(watermark) else None
        ),
        "objects_folded": manifest.objects_total,
        "events_folded": manifest.events_total,
        "tables": {
            name: {
                "rows": entry.rows,
                "files": len(entry.files),
                "bytes": sum(f.bytes for f in entry.files),
            }
            for name, entry in sorted(manifest.tables.items())
        },
    }
