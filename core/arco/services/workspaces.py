"""The workspaces a deployment serves: created ones (a create-once marker object per workspace,
outside every workspace's prefix), limited to the declared set (ARCO_WORKSPACES) when the
deployment names one. Nothing else creates a workspace, so a misspelt name is a 404, not a new
workspace.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from arco.domain.errors import InvalidInput, NotFound
from arco.domain.names import validate_workspace
from arco.storage.port import ObjectStore

if TYPE_CHECKING:  # types only: the push and timer paths import this module without pyarrow
    from arco.services.workspace import Workspace

DIRECTORY_PREFIX = "directory/workspaces/"


def workspace_marker(name: str) -> str:
    """The create-once object that makes a workspace exist. Outside every workspace's prefix,
    so listing the workspaces lists only these."""
    return f"{DIRECTORY_PREFIX}{validate_workspace(name)}.json"


@dataclass
class WorkspaceDirectory:
    """The workspaces a deployment serves: created ones (a create-once marker object), limited
    to `declared` when the deployment names them. Opened workspaces are cached per instance
    (a workspace is never deleted, so a positive answer stays true)."""

    store: ObjectStore
    build: Callable[[str], Workspace]
    declared: frozenset[str] | None = None
    _open: dict[str, Workspace] = field(default_factory=dict, init=False, repr=False)
    _known: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def open(self, name: str) -> Workspace:
        """The served workspace `name`, or NotFound (see `check`)."""
        with self._lock:
            cached = self._open.get(name)
        if cached is not None:
            return cached
        self.check(name)
        ws = self.build(name)
        with self._lock:
            return self._open.setdefault(name, ws)

    def check(self, name: str) -> str:
        """`name` if this deployment serves it, else NotFound: the same answer for undeclared
        and for not created, with the command that would create it. One read, then cached."""
        with self._lock:
            if name in self._known:
                return name
        validate_workspace(name)
        if self.declared is not None and name not in self.declared:
            raise NotFound(f"workspace {name!r} is not served by this deployment")
        if self.store.get(workspace_marker(name)) is None:
            raise NotFound(
                f"workspace {name!r} does not exist (create it: arco workspace create {name})"
            )
        with self._lock:
            self._known.add(name)
        return name

    def create(self, name: str, created_by: str, now_ms: int) -> bool:
        """Create workspace `name` (False if it existed). Refused outside the declared set."""
        validate_workspace(name)
        if self.declared is not None and name not in self.declared:
            raise InvalidInput(
                f"workspace {name!r} is not in this deployment's declared workspaces "
                f"({', '.join(sorted(self.declared))}); add it to ARCO_WORKSPACES first"
            )
        body = json.dumps({"workspace": name, "created_by": created_by, "created_ms": now_ms})
        return self.store.create(workspace_marker(name), body.encode()).ok

    def names(self) -> list[str]:
        """Every created workspace this deployment serves."""
        found = []
        for listed in self.store.list(DIRECTORY_PREFIX):
            name = listed.key[len(DIRECTORY_PREFIX) :]
            if name.endswith(".json"):
                found.append(name[: -len(".json")])
        return sorted(n for n in found if self.declared is None or n in self.declared)
