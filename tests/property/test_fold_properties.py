"""Hypothesis properties of the fold.

Any permutation, duplication and batching of a stream of ledger objects folds to the same
tables as one ordered pass; a crash at any split point followed by a replay converges.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from arco.domain.catalog import default_registry
from arco.domain.envelope import EventEnvelope
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.state import FoldState, StagedState
from tests.factories import (
    BASE_MS,
    batch_bytes,
    dynamic_partitions_event,
    setting_event,
    ulid_at,
)
from tests.property.budget import examples

REG = default_registry()
NAMES = [
    "runs.max_in_flight",
    "reconciliation.enabled",
    "reconciliation.max_runs_per_hour",
    "no.such.setting",
]  # the last one is REJECTED by its rule


@st.composite
def events(draw: st.DrawFn) -> list[EventEnvelope]:
    count = draw(st.integers(1, 30))
    out = []
    for i in range(count):
        kind = draw(st.sampled_from(["setting", "setting", "unknown", "dyn_add", "dyn_remove"]))
        ms = BASE_MS + draw(st.integers(0, 50))  # collisions in ms on purpose
        if kind.startswith("dyn_"):
            keys = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3))
            out.append(
                dynamic_partitions_event(
                    kind[4:], keys, event_id=ulid_at(ms, i + 1), ms=ms, request_id=f"req{i}"
                )
            )
            continue
        out.append(
            setting_event(
                name=draw(st.sampled_from(NAMES)),
                value=draw(st.integers(0, 3)),
                request_id=f"req{i}",
                event_id=ulid_at(ms, i + 1),
                ms=ms,
                event_type="workspace.setting_changed" if kind == "setting" else "x.unknown",
            )
        )
    return out


@st.composite
def ledger(draw: st.DrawFn) -> tuple[list[LedgerObject], list[LedgerObject]]:
    """Objects as written (distinct names), and a delivery: shuffled, duplicated, re-wrapped."""
    stream = draw(events())
    objects: list[LedgerObject] = []
    i = 0
    n = 0
    while i < len(stream):
        size = draw(st.integers(1, 4))
        n += 1
        name = ulid_at(BASE_MS + 100 + n, n)
        if draw(st.booleans()) and n % 5 == 0:
            objects.append(LedgerObject(name, b"{ broken"))  # malformed objects are in streams too
        objects.append(
            LedgerObject(ulid_at(BASE_MS + 100 + n, 10_000 + n), batch_bytes(stream[i : i + size]))
        )
        i += size
    delivery = list(objects)
    # duplicated deliveries of the same object
    delivery += draw(st.lists(st.sampled_from(objects), max_size=5))
    # a writer retry: the same events under a fresh object name
    if draw(st.booleans()):
        victim = draw(st.sampled_from([o for o in objects if o.data != b"{ broken"]))
        retry = LedgerObject(ulid_at(BASE_MS + 9_000, 99_999), victim.data)
        objects.append(retry)
        delivery.append(retry)
    delivery = draw(st.permutations(delivery))
    return objects, delivery


def fold_in_batches(state: FoldState, delivery: list[LedgerObject], cuts: list[int]) -> FoldState:
    bounds = sorted({0, len(delivery), *[c % (len(delivery) + 1) for c in cuts]})
    for start, end in itertools.pairwise(bounds):
        staged = StagedState(state)
        fold_objects(staged, delivery[start:end], REG, "default")
        state = staged.commit()
    return state


def one_ordered_pass(objects: list[LedgerObject]) -> FoldState:
    staged = StagedState(FoldState())
    fold_objects(staged, sorted(objects, key=lambda o: o.name), REG, "default")
    return staged.commit()


def tables(state: FoldState) -> dict[str, dict]:  # type: ignore[type-arg]
    return {name: rows for name, rows in state.tables.items() if rows}


@examples(300, deadline=None)
@given(ledger(), st.lists(st.integers(0, 100), max_size=6))
def test_any_delivery_folds_like_one_ordered_pass(data, cuts):  # type: ignore[no-untyped-def]
    objects, delivery = data
    assert tables(fold_in_batches(FoldState(), delivery, cuts)) == tables(one_ordered_pass(objects))


@examples(200, deadline=None)
@given(ledger(), st.lists(st.integers(0, 100), max_size=4), st.integers(0, 100))
def test_crash_and_replay_converges(data, cuts, crash_at):  # type: ignore[no-untyped-def]
    objects, delivery = data
    split = crash_at % (len(delivery) + 1)
    # Fold a prefix and commit it; then fold more but "crash" before committing.
    committed = fold_in_batches(FoldState(), delivery[:split], cuts)
    lost = StagedState(committed)
    fold_objects(lost, delivery[split:], REG, "default")
    del lost  # the crash: staged changes never published
    # Replay everything from the committed point, in another order and batching.
    replayed = fold_in_batches(committed, list(reversed(delivery)), [c + 1 for c in cuts])
    assert tables(replayed) == tables(one_ordered_pass(objects))
