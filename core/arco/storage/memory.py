"""An in-process object store: a dict behind a lock. For tests and single-process tools."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from arco.domain.names import validate_key_component
from arco.storage.port import ListedObject, StoredObject, WriteOutcome, WriteResult


class MemoryObjectStore:
    """Keeps every object in a dict; each write gets a fresh integer version."""

    def __init__(self, name: str = "") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._objects: dict[str, tuple[bytes, str]] = {}
        # One counter for the whole store (not per key), so a key that is deleted and created
        # again never gets back a version a stale reader may still hold.
        self._counter = 0

    @property
    def url(self) -> str:
        return f"memory://{self._name}"

    def _next_version(self) -> str:
        self._counter += 1
        return str(self._counter)

    def create(self, key: str, data: bytes) -> WriteResult:
        with self._lock:
            if key in self._objects:
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            version = self._next_version()
            self._objects[key] = (bytes(data), version)
            return WriteResult(WriteOutcome.CREATED, version)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        with self._lock:
            current = self._objects.get(key)
            if current is None or current[1] != expected_version:
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            version = self._next_version()
            self._objects[key] = (bytes(data), version)
            return WriteResult(WriteOutcome.REPLACED, version)

    def get(self, key: str) -> StoredObject | None:
        with self._lock:
            current = self._objects.get(key)
        if current is None:
            return None
        return StoredObject(data=current[0], version=current[1])

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        # Snapshot under the lock, then yield outside it so a slow consumer never blocks writers.
        with self._lock:
            found = [
                ListedObject(key=key, size=len(data))
                for key, (data, _) in self._objects.items()
                if key.startswith(prefix) and (start_after is None or key > start_after)
            ]
        # Python orders str by code point, which is the same as UTF-8 byte order.
        found.sort(key=lambda obj: obj.key)
        return iter(found)

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(key, None)


_registry_lock = threading.Lock()
_registry: dict[str, MemoryObjectStore] = {}


def named_memory_store(name: str) -> MemoryObjectStore:
    """The process-wide store called `name`, created on first use (`memory://name`)."""
    validate_key_component(name, "memory store name")
    with _registry_lock:
        store = _registry.get(name)
        if store is None:
            store = _registry[name] = MemoryObjectStore(name)
        return store
