"""A store that fails a fraction of calls, like a cloud store on a bad day: some writes that
fail have landed anyway (the answer was lost, not the write)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from arco.domain.errors import StorageUnavailable
from arco.storage.port import ListedObject, ObjectStore, StoredObject, WriteResult


class FlakyObjectStore:
    """Delegates to `inner`; each call fails with probability `rate` (seeded: reproducible).
    Half of the failed creates and replaces are applied before the failure is raised."""

    def __init__(self, inner: ObjectStore, rate: float, seed: int = 0) -> None:
        self.inner = inner
        self.rate = rate
        self.random = random.Random(seed)
        self.failures = 0
        self.enabled = True

    @property
    def url(self) -> str:
        return self.inner.url

    def _fails(self) -> bool:
        if self.enabled and self.random.random() < self.rate:
            self.failures += 1
            return True
        return False

    def _fail(self, what: str) -> StorageUnavailable:
        return StorageUnavailable(f"injected: {what} failed")

    def create(self, key: str, data: bytes) -> WriteResult:
        if self._fails():
            if self.random.random() < 0.5:
                self.inner.create(key, data)
            raise self._fail("create")
        return self.inner.create(key, data)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        if self._fails():
            if self.random.random() < 0.5:
                self.inner.replace(key, data, expected_version)
            raise self._fail("replace")
        return self.inner.replace(key, data, expected_version)

    def get(self, key: str) -> StoredObject | None:
        if self._fails():
            raise self._fail("get")
        return self.inner.get(key)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        if self._fails():
            raise self._fail("list")
        return self.inner.list(prefix, start_after)

    def delete(self, key: str) -> None:
        if self._fails():
            raise self._fail("delete")
        self.inner.delete(key)
