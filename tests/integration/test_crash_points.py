"""A failure injected after each write step of a compaction: the next one converges."""

from __future__ import annotations

from typing import Any

import pytest

from arco.clock import FixedClock
from arco.projections.compactor import (
    AFTER_MANIFEST_WRITE,
    AFTER_POINTER_CAS,
    AFTER_TABLE_WRITE,
    BEFORE_POINTER_CAS,
    CRASH_POINTS,
)
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.workspace import Workspace
from tests.integration.helpers import published_settings, set_setting


class Crash(Exception):
    pass


def crash_at(point: str):  # type: ignore[no-untyped-def]
    def hook(name: str) -> None:
        if name == point:
            raise Crash(point)

    return hook


@pytest.mark.parametrize("point", CRASH_POINTS)
@pytest.mark.parametrize("same_process", [True, False], ids=["same-process", "new-process"])
def test_compaction_converges_after_a_crash(
    ws: Workspace, clock: FixedClock, point: str, same_process: bool
) -> None:
    set_setting(ws, 1, "before")
    ws.compactor.compact()
    clock.advance(1000)
    for i in range(3):
        set_setting(ws, 10 + i, f"during{i}", name="reconciliation.max_runs_per_hour")
    ws.compactor.crash = crash_at(point)
    with pytest.raises(Crash):
        ws.compactor.compact()
    published_before = ws.manifest().manifest_id
    assert published_before == (2 if point == AFTER_POINTER_CAS else 1)

    survivor = (
        ws
        if same_process
        else Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    )
    survivor.compactor.crash = lambda name: None
    clock.advance(1000)
    set_setting(ws, 2, "after")
    result = survivor.compactor.compact()
    assert result.published
    assert published_settings(survivor) == {
        "runs.max_in_flight": "2",
        "reconciliation.max_runs_per_hour": "12",
    }
    manifest = survivor.manifest()
    assert manifest.events_total == 5  # every event folded exactly once
    assert len(survivor.snapshot().table("idempotency_keys")) == 5
    assert verify(survivor).identical

    orphans = {f.check: f for f in run_doctor(survivor)}["orphans"]
    kinds = {d["kind"] for d in orphans.details}
    if point == AFTER_TABLE_WRITE:
        # Files written for manifest 2; the survivor published a different manifest 2.
        assert result.manifest_id == 2
        assert kinds == {"table file of a lost race"}
    elif point in (AFTER_MANIFEST_WRITE, BEFORE_POINTER_CAS):
        # The crashed manifest 2 holds its id forever, so the survivor claims id 3.
        assert result.manifest_id == 3
        assert kinds == {"manifest never published", "table file never published"}
    else:
        assert point == AFTER_POINTER_CAS
        assert result.manifest_id == 3
        assert orphans.status == "ok"


@pytest.mark.parametrize("point", [AFTER_TABLE_WRITE, AFTER_MANIFEST_WRITE, BEFORE_POINTER_CAS])
def test_a_crash_in_the_first_publication_heals_on_the_next_compaction(
    ws: Workspace, clock: FixedClock, point: str
) -> None:
    """The first publication of a workspace has no pointer to compare-and-swap: a compactor
    killed between its manifest and the pointer's creation once wedged compaction (retries for
    the lookback window, then `CorruptState` until an operator ran restore-pointer)."""
    set_setting(ws, 1, "first")
    ws.compactor.crash = crash_at(point)
    with pytest.raises(Crash):
        ws.compactor.compact()
    assert ws.manifest().manifest_id == 0  # nothing published, no pointer
    survivor = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    clock.advance(1000)  # well within the lookback window: no waiting for it to pass
    set_setting(ws, 2, "second")
    result = survivor.compactor.compact()
    assert result.published and result.attempts <= 2
    assert published_settings(survivor) == {"runs.max_in_flight": "2"}
    assert survivor.manifest().events_total == 2
    assert verify(survivor).identical
    findings = {f.check: f for f in run_doctor(survivor)}
    assert findings["pointer"].status == "ok"


def test_a_lost_pointer_over_a_published_history_is_still_refused(
    ws: Workspace, clock: FixedClock
) -> None:
    """Only first publications may be started over: a history (a manifest with a parent) whose
    pointer is gone must be restored, not silently replaced by a fresh state."""
    from arco.domain.errors import CorruptState

    set_setting(ws, 1, "a")
    ws.compactor.compact()
    clock.advance(1000)
    set_setting(ws, 2, "b")
    ws.compactor.compact()
    ws.store.delete(ws.layout.pointer_key)
    set_setting(ws, 3, "c")
    survivor = Workspace(ws.store, "default", clock=clock, lookback_ms=ws.lookback_ms)
    with pytest.raises(CorruptState, match="restore-pointer"):
        survivor.compactor.compact()


def test_doctor_during_a_compaction_never_calls_its_objects_orphans(
    ws: Workspace, clock: FixedClock
) -> None:
    """Run between a compaction's manifest write and its pointer CAS, doctor sees the new
    manifest and table files: they are about to be published, so it must not say delete."""
    seen: list[Any] = []

    def doctor_now(point: str) -> None:
        if point == BEFORE_POINTER_CAS:
            seen.append({f.check: f for f in run_doctor(ws)}["orphans"])

    set_setting(ws, 1, "before")
    ws.compactor.compact()
    clock.advance(1000)
    set_setting(ws, 2, "during")
    ws.compactor.crash = doctor_now
    assert ws.compactor.compact().published
    [finding] = seen
    assert finding.status == "ok" and "Never delete" in (finding.action or "")
    kinds = {d["kind"] for d in finding.details}
    assert kinds == {"ahead of the pointer (publishing?)"}
    assert any(d["object"].endswith("00000000000000000002.json") for d in finding.details)
    # Once published, nothing is left over.
    assert {f.check: f for f in run_doctor(ws)}["orphans"].details == []
