"""Finding and reading ledger objects the compactor has not folded yet.

The compactor lists from `watermark - lookback` rather than from the watermark itself, because
writers' clocks disagree: an object named by a slow clock can land after a later-named one was
folded. Names already folded inside that window are remembered in the manifest and skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from arco.domain.fold import LedgerObject
from arco.domain.ulid import is_ulid, ulid_floor, ulid_time_ms
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore


def window_start(watermark: str | None, lookback_ms: int) -> str | None:
    """The smallest object name the next listing must consider."""
    if watermark is None or not is_ulid(watermark):
        return None
    return ulid_floor(ulid_time_ms(watermark) - lookback_ms)


def list_unfolded(
    store: ObjectStore,
    layout: WorkspaceLayout,
    watermark: str | None,
    recent: Iterable[str],
    lookback_ms: int,
    now_ms: int,
    max_future_ms: int,
) -> tuple[list[str], list[str]]:
    """Names to fold now, and names deferred because they claim to be from the future.

    One `list` call (paged by the backend). Objects more than `max_future_ms` ahead of the
    compactor's clock are left for later: folding them would push the watermark, and with it
    the listing window, past objects honest clocks are still writing.
    """
    start = window_start(watermark, lookback_ms)
    start_after = layout.ledger_key(start) if start else None
    skip = set(recent)
    ready: list[str] = []
    deferred: list[str] = []
    for listed in store.list(layout.ledger_prefix, start_after=start_after):
        name = layout.object_name(listed.key)
        if name in skip:
            continue
        if is_ulid(name) and ulid_time_ms(name) > now_ms + max_future_ms:
            deferred.append(name)
        else:
            ready.append(name)
    return ready, deferred


def read_objects(
    store: ObjectStore, layout: WorkspaceLayout, names: Sequence[str], parallelism: int = 16
) -> list[LedgerObject]:
    """Read ledger objects by name, in parallel (object stores reward concurrency)."""

    def read(name: str) -> LedgerObject:
        stored = store.get(layout.ledger_key(name))
        # A listed object can only vanish if someone deleted it by hand; fold it as empty
        # bytes so it is quarantined and reported rather than forgotten.
        return LedgerObject(name, stored.data if stored is not None else b"")

    if len(names) <= 1 or parallelism <= 1:
        return [read(n) for n in names]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(names))) as pool:
        return list(pool.map(read, names))
