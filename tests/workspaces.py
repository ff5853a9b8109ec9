"""Creating workspaces in a test store, as `arco workspace create` does."""

from __future__ import annotations

from arco.services.workspaces import workspace_marker
from arco.storage.port import ObjectStore


def create_workspaces(store: ObjectStore, *names: str) -> None:
    for name in names:
        store.create(workspace_marker(name), b'{"created_by": "test"}')
