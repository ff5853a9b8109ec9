"""Manifests and the pointer: how a set of table files becomes the published state.

A manifest is immutable and numbered; it names every table's base file and delta files, the
watermark (the newest ledger object folded) and the names folded inside the lookback window.
Every reader reads the manifest, but only the compactor needs those names: up to
RECENT_INLINE of them are kept in the manifest, more go to a side object the manifest names
(`recent_file`), so a manifest stays a few kilobytes whatever the ingest rate.
The pointer names the current manifest and is only ever replaced by compare-and-swap: that CAS
is the single commit point of a compaction.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import weakref
from collections.abc import Sequence
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arco.domain.canonical import canonical_json
from arco.domain.errors import CorruptState
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

MANIFEST_FORMAT: Final = "arco.manifest/1"
# ~7 KB of ULID names; beyond this the window's names live in the side object.
RECENT_INLINE: Final = 256
POINTER_FORMAT: Final = "arco.pointer/1"


class TableFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    rows: int
    bytes: int
    sha256: str


class TableEntry(BaseModel):
    """A table as published: a base file plus deltas applied in order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: TableFile | None = None
    deltas: tuple[TableFile, ...] = ()
    rows: int = 0

    @property
    def files(self) -> tuple[TableFile, ...]:
        return ((self.base,) if self.base else ()) + self.deltas


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["arco.manifest/1"] = MANIFEST_FORMAT
    manifest_id: int = Field(ge=0)
    parent_id: int | None
    workspace: str
    created_at: str
    compactor: str
    watermark: str | None
    lookback_ms: int
    recent_objects: tuple[str, ...] = ()
    # the names folded inside the window when there are more than RECENT_INLINE (gzip JSON)
    recent_file: TableFile | None = None
    tables: dict[str, TableEntry] = Field(default_factory=dict)
    objects_total: int = 0
    events_total: int = 0

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def empty(cls, workspace: str, lookback_ms: int) -> Manifest:
        """The state before the first compaction: manifest 0, no tables."""
        return cls(
            manifest_id=0,
            parent_id=None,
            workspace=workspace,
            created_at="1970-01-01T00:00:00.000Z",
            compactor="",
            watermark=None,
            lookback_ms=lookback_ms,
        )


class Pointer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["arco.pointer/1"] = POINTER_FORMAT
    manifest_id: int
    manifest_key: str
    updated_at: str

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))


def read_pointer(store: ObjectStore, layout: WorkspaceLayout) -> tuple[Pointer | None, str | None]:
    """The current pointer and its version token, or (None, None) before the first publish."""
    stored = store.get(layout.pointer_key)
    if stored is None:
        return None, None
    try:
        return Pointer.model_validate_json(stored.data), stored.version
    except ValidationError as exc:
        raise CorruptState(f"pointer {layout.pointer_key} is unreadable: {exc}") from exc


# Per store object (not per URL: two in-memory stores share a URL), then per key.
_MANIFESTS: weakref.WeakKeyDictionary[ObjectStore, dict[str, Manifest]] = (
    weakref.WeakKeyDictionary()
)


def read_manifest(store: ObjectStore, layout: WorkspaceLayout, manifest_id: int) -> Manifest:
    """Read a manifest by id; manifests are immutable, so each is fetched once per process."""
    key = layout.manifest_key(manifest_id)
    per_store = _MANIFESTS.setdefault(store, {})
    cached = per_store.get(key)
    if cached is not None:
        return cached
    stored = store.get(key)
    if stored is None:
        raise CorruptState(f"manifest {key} named by the pointer does not exist")
    try:
        manifest = Manifest.model_validate_json(stored.data)
    except ValidationError as exc:
        raise CorruptState(f"manifest {key} is unreadable: {exc}") from exc
    if manifest.manifest_id != manifest_id or manifest.workspace != layout.workspace:
        raise CorruptState(f"manifest {key} claims id {manifest.manifest_id}")
    if len(per_store) > 256:
        per_store.clear()
    per_store[key] = manifest
    return manifest


def swap_pointer(
    store: ObjectStore,
    layout: WorkspaceLayout,
    manifest_id: int,
    expected_version: str | None,
    updated_at: str,
) -> bool:
    """Point the pointer at `manifest_id`: the single commit point of every publish.

    Created when `expected_version` is None (the first publish), otherwise compare-and-swapped
    from that version. False means someone else moved the pointer first.
    """
    data = Pointer(
        manifest_id=manifest_id,
        manifest_key=layout.manifest_key(manifest_id),
        updated_at=updated_at,
    ).to_bytes()
    if expected_version is None:
        return store.create(layout.pointer_key, data).ok
    return store.replace(layout.pointer_key, data, expected_version).ok


def remember_manifest(store: ObjectStore, layout: WorkspaceLayout, manifest: Manifest) -> None:
    """Seed the cache with a manifest this process just published."""
    _MANIFESTS.setdefault(store, {})[layout.manifest_key(manifest.manifest_id)] = manifest


def read_current_manifest(
    store: ObjectStore, layout: WorkspaceLayout, lookback_ms: int
) -> tuple[Manifest, str | None]:
    """The published manifest (or the empty one) and the pointer version it was read at."""
    pointer, version = read_pointer(store, layout)
    if pointer is None:
        return Manifest.empty(layout.workspace, lookback_ms), None
    return read_manifest(store, layout, pointer.manifest_id), version


_RECENT: weakref.WeakKeyDictionary[ObjectStore, dict[str, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


def recent_fields(
    store: ObjectStore, layout: WorkspaceLayout, manifest_id: int, names: Sequence[str]
) -> tuple[tuple[str, ...], TableFile | None]:
    """(`recent_objects`, `recent_file`) of a manifest recording `names` (sorted): inline when
    few, else a side object written now (create-if-absent; its name carries its digest, so a
    retry writes the same bytes)."""
    if len(names) <= RECENT_INLINE:
        return tuple(names), None
    data = gzip.compress(json.dumps(list(names)).encode(), compresslevel=6, mtime=0)
    digest = hashlib.sha256(data).hexdigest()
    key = layout.recent_key(manifest_id, digest)
    store.create(key, data)  # an existing object with this name holds these very bytes
    per_store = _RECENT.setdefault(store, {})
    per_store.clear()  # only the newest window is ever needed again
    per_store[key] = tuple(names)
    return (), TableFile(key=key, rows=len(names), bytes=len(data), sha256=digest)


def recent_names(
    store: ObjectStore, layout: WorkspaceLayout, manifest: Manifest
) -> tuple[str, ...]:
    """The ledger object names folded inside the manifest's window (the compactor's concern;
    fetched once per process: side objects are immutable)."""
    ref = manifest.recent_file
    if ref is None:
        return manifest.recent_objects
    per_store = _RECENT.setdefault(store, {})
    cached = per_store.get(ref.key)
    if cached is not None:
        return cached
    stored = store.get(ref.key)
    if stored is None or hashlib.sha256(stored.data).hexdigest() != ref.sha256:
        raise CorruptState(
            f"{ref.key} named by manifest {manifest.manifest_id} is missing or altered"
        )
    names = tuple(json.loads(gzip.decompress(stored.data)))
    per_store.clear()  # only the newest window is ever needed again
    per_store[ref.key] = names
    return names
