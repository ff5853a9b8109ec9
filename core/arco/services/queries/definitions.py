"""The deployed definitions, read back from the published state (parsed once per content hash),
and the dynamic partitions' keys.
"""

from __future__ import annotations

import json

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.deployments import (
    CURRENT,
    CURRENT_DEPLOYMENT,
    DEPLOYMENTS,
)
from arco.domain.dynamic_partitions import DYNAMIC_PARTITIONS, dynamic_keys
from arco.domain.errors import NotFound
from arco.projections.cache import Snapshot
from arco.services.workspace import Workspace

_PARSED: dict[str, DefinitionsSnapshot] = {}


def current_hash(snapshot: Snapshot) -> str | None:
    table = snapshot.table(CURRENT_DEPLOYMENT.name)
    for row in table.to_pylist():
        if row["slot"] == CURRENT:
            value: str = row["content_hash"]
            return value
    return None


def current_definitions(snapshot: Snapshot) -> DefinitionsSnapshot | None:
    """The deployed definitions of a published state (parsed once per content hash)."""
    content_hash = current_hash(snapshot)
    if content_hash is None:
        return None
    return deployed_definitions(snapshot, content_hash)


def deployed_definitions(snapshot: Snapshot, content_hash: str) -> DefinitionsSnapshot | None:
    """The definitions deployed under `content_hash` (a run's), current or not."""
    if content_hash not in _PARSED:
        import pyarrow.compute as pc

        table = snapshot.table(DEPLOYMENTS.name)
        rows = table.filter(pc.equal(table.column("content_hash"), content_hash)).to_pylist()
        if not rows:
            return None
        parsed = DefinitionsSnapshot.from_json(json.loads(rows[0]["snapshot"]))
        # The hash the deployment was recorded under (computed by deploy over these very
        # bytes; the table file is checksummed): not hashed again, 10,000 assets take 0.2 s.
        parsed.__dict__["content_hash"] = content_hash
        _PARSED[content_hash] = parsed
    return _PARSED[content_hash]


def require_definitions(ws: Workspace, snapshot: Snapshot | None = None) -> DefinitionsSnapshot:
    defs = current_definitions(snapshot or ws.snapshot())
    if defs is None:
        raise NotFound(f"nothing is deployed in workspace {ws.name!r}; run `arco deploy`")
    return defs


def dynamic_partition_keys(snapshot: Snapshot) -> dict[str, list[str]]:
    return dict(dynamic_keys(snapshot.table(DYNAMIC_PARTITIONS.name).to_pylist()))
