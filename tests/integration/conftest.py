"""Fixtures for service-level tests: a workspace on a memory or local store."""

from __future__ import annotations

from pathlib import Path

import pytest

from arco.clock import FixedClock
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ObjectStore
from tests.factories import BASE_MS


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(BASE_MS)


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "memory":
        return MemoryObjectStore()
    return LocalObjectStore(tmp_path / "store")


@pytest.fixture
def ws(store: ObjectStore, clock: FixedClock) -> Workspace:
    return Workspace(store, "default", clock=clock, lookback_ms=60_000, source="test")
