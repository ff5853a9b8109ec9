"""Append retry rules: unknown outcomes, identical bytes, fresh names after half the lookback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from arco.clock import FixedClock
from arco.domain.catalog import default_registry
from arco.domain.errors import IdempotencyConflict, InvalidInput, StorageUnavailable
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.state import FoldState, StagedState
from arco.ledger.writer import LedgerWriter, NewEvent
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ListedObject, ObjectStore, StoredObject, WriteResult
from tests.factories import BASE_MS


class FlakyStore:
    """Fails the first `failures` creates; `lands` says whether the failed write landed anyway."""

    def __init__(self, inner: ObjectStore, failures: int, lands: bool) -> None:
        self.inner, self.failures, self.lands = inner, failures, lands
        self.created: list[str] = []

    @property
    def url(self) -> str:
        return self.inner.url

    def create(self, key: str, data: bytes) -> WriteResult:
        self.created.append(key)
        if self.failures > 0:
            self.failures -= 1
            if self.lands:
                self.inner.create(key, data)
            raise StorageUnavailable("timeout")
        return self.inner.create(key, data)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        return self.inner.replace(key, data, expected_version)

    def get(self, key: str) -> StoredObject | None:
        return self.inner.get(key)

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        return self.inner.list(prefix, start_after)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def event(request_id: str = "r1", value: object = 3) -> NewEvent:
    return NewEvent(
        "workspace.setting_changed",
        {"name": "runs.max_in_flight", "value": value, "changed_by": "t", "request_id": request_id},
        f"setting:runs.max_in_flight:{request_id}",
    )


def writer(store: ObjectStore, clock: FixedClock) -> LedgerWriter:
    w = LedgerWriter(store, "default", default_registry(), clock, "test", lookback_ms=60_000)
    w.sleep = lambda seconds: clock.advance(int(seconds * 1000) + 10_000)
    return w


def ledger(store: ObjectStore) -> list[str]:
    return [o.key for o in store.list("workspaces/default/ledger/")]


def test_unknown_outcome_that_landed_is_recognised_by_its_bytes() -> None:
    inner, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    flaky = FlakyStore(inner, failures=1, lands=True)
    result = writer(flaky, clock).append([event()])
    assert result.attempts == 2
    assert ledger(inner) == [flaky.created[0]]  # one object, the first name


def test_switches_to_a_fresh_name_after_half_the_lookback() -> None:
    inner, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    flaky = FlakyStore(inner, failures=4, lands=False)
    result = writer(flaky, clock).append([event()])
    names = list(dict.fromkeys(flaky.created))
    assert len(names) >= 2  # renamed once 30 s had passed
    assert ledger(inner) == [f"workspaces/default/ledger/{result.object_name}.json"]
    assert result.object_name > names[0].rsplit("/", 1)[1][:26]


def test_renamed_retry_keeps_event_ids_so_the_fold_keeps_one() -> None:
    inner, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    flaky = FlakyStore(inner, failures=4, lands=True)  # every attempt lands: duplicates
    w = writer(flaky, clock)
    w.append([event()])
    bodies = {inner.get(k).data for k in ledger(inner)}  # type: ignore[union-attr]
    assert len(ledger(inner)) >= 2 and len(bodies) == 1  # same bytes under several names
    # Fold every copy, in name order as the compactor lists them: one applies, the rest are
    # duplicates of the same event id, and the setting is the event's value.
    objects = [
        LedgerObject(k.rsplit("/", 1)[1].removesuffix(".json"), inner.get(k).data)  # type: ignore[union-attr]
        for k in ledger(inner)
    ]
    staged = StagedState(FoldState())
    report = fold_objects(staged, objects, default_registry(), "default")
    state = staged.commit()
    assert report.objects == len(objects) and report.objects_quarantined == 0
    assert report.events_applied == 1
    assert report.events_duplicate == len(objects) - 1
    assert state.rows("workspace_settings")[("runs.max_in_flight",)]["value"] == "3"
    assert len(state.rows("idempotency_keys")) == 1


def test_different_bytes_under_the_same_name_is_a_conflict() -> None:
    store, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    w = writer(store, clock)
    original_new = w.ids.new
    fixed = original_new()
    w.ids.new = lambda: fixed  # type: ignore[method-assign]
    w.append([event("a")])
    with pytest.raises(IdempotencyConflict):
        w.append([event("b")])


def test_unknown_event_type_is_refused_before_writing() -> None:
    store, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    with pytest.raises(InvalidInput):
        writer(store, clock).append([NewEvent("no.such_type", {}, "k")])
    assert ledger(store) == []


def test_invalid_payload_is_refused_before_writing() -> None:
    store, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    with pytest.raises(Exception, match="name"):
        writer(store, clock).append([NewEvent("workspace.setting_changed", {"value": 1}, "k")])
    assert ledger(store) == []


def test_gives_up_with_a_retryable_error() -> None:
    inner, clock = MemoryObjectStore(), FixedClock(BASE_MS)
    flaky = FlakyStore(inner, failures=100, lands=False)
    with pytest.raises(StorageUnavailable):
        writer(flaky, clock).append([event()], max_attempts=3)
