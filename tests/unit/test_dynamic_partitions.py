"""Dynamic partition keys: Dagster's insertion order, removes, and order-independence."""

from __future__ import annotations

import itertools

from arco.domain.catalog import default_registry
from arco.domain.dynamic_partitions import dynamic_keys
from arco.domain.fold import fold_objects
from arco.domain.state import FoldState, StagedState
from tests.factories import BASE_MS, dynamic_partitions_event, ledger_object, ulid_at

REG = default_registry()


def keys_after(*events) -> list[str]:  # type: ignore[no-untyped-def]
    staged = StagedState(FoldState())
    for n, event in enumerate(events):
        fold_objects(
            staged, [ledger_object([event], name=ulid_at(BASE_MS, 1000 + n))], REG, "default"
        )
    return dynamic_keys(staged.commit().rows("dynamic_partitions").values()).get("dyn", [])


def ev(action: str, keys: list[str], n: int):  # type: ignore[no-untyped-def]
    return dynamic_partitions_event(action, keys, event_id=ulid_at(BASE_MS + n, n))


def test_adding_keeps_first_insertion_order() -> None:
    assert keys_after(ev("add", ["c2", "c1"], 1), ev("add", ["c1", "c3"], 2)) == ["c2", "c1", "c3"]


def test_remove_then_add_again_moves_the_key_to_the_end() -> None:
    events = [ev("add", ["a", "b"], 1), ev("remove", ["a"], 2), ev("add", ["a"], 3)]
    assert keys_after(*events) == ["b", "a"]


def test_order_of_arrival_does_not_matter() -> None:
    events = [
        ev("add", ["a", "b"], 1),
        ev("remove", ["a"], 2),
        ev("add", ["a", "c"], 3),
        ev("add", ["b"], 4),
        ev("remove", ["c"], 5),
    ]
    expected = keys_after(*events)
    assert expected == ["b", "a"]
    for permutation in itertools.permutations(events):
        assert keys_after(*permutation) == expected


def test_a_change_that_changes_nothing_is_superseded() -> None:
    from tests.factories import FoldProjection

    projection = FoldProjection(REG)
    outcomes = projection.deliver(
        ev("add", ["a"], 1),
        ev("remove", ["a"], 3),
        ev("remove", ["a"], 2),  # older than the removal already folded: nothing to do
        ev("add", ["b", "b"], 4),
    )
    assert outcomes == ["applied", "applied", "superseded", "applied"]
    rows = projection.state.rows("dynamic_partitions")
    assert rows[("dyn", "a")]["row_version"] == ulid_at(BASE_MS + 3, 3)


def test_a_key_may_hold_500_characters() -> None:
    import pytest
    from pydantic import ValidationError

    from arco.domain.dynamic_partitions import DynamicPartitionsChanged

    ok = DynamicPartitionsChanged(definition="dyn", keys=["k" * 500], request_id="r")
    assert ok.keys == ["k" * 500]
    with pytest.raises(ValidationError, match="invalid partition key"):
        DynamicPartitionsChanged(definition="dyn", keys=["k" * 501], request_id="r")
