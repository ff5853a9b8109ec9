"""A store wrapper that records every call, so tests can assert how many requests code makes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

from arco.storage.port import ListedObject, ObjectStore, StoredObject, WriteResult


@dataclass(frozen=True, slots=True)
class StoreCall:
    """One call: `op` is create/replace/get/list/delete; `key` is the prefix for list."""

    op: str
    key: str


class RecordingObjectStore:
    """Delegates to `inner` and appends a `StoreCall` to `calls` for each call made."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._calls: list[StoreCall] = []

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def calls(self) -> list[StoreCall]:
        """A snapshot of the calls so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def _record(self, op: str, key: str) -> None:
        with self._lock:
            self._calls.append(StoreCall(op, key))

    def count(self, op: str | None = None, prefix: str | None = None) -> int:
        """How many calls match `op` (any when None) on keys starting with `prefix`."""
        with self._lock:
            return sum(
                1
                for call in self._calls
                if (op is None or call.op == op) and (prefix is None or call.key.startswith(prefix))
            )

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def create(self, key: str, data: bytes) -> WriteResult:
        self._record("create", key)
        return self.inner.create(key, data)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        self._record("replace", key)
        return self.inner.replace(key, data, expected_version)

    def get(self, key: str) -> StoredObject | None:
        self._record("get", key)
        return self.inner.get(key)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        self._record("list", prefix)
        return self.inner.list(prefix, start_after)

    def delete(self, key: str) -> None:
        self._record("delete", key)
        self.inner.delete(key)
