"""`arco rebuild --verify` refolds a published state call by call: the order of the calls."""

from __future__ import annotations

from arco.domain.fold import FoldCall
from arco.domain.tables import Key, Row
from arco.services.operations import rebuild
from arco.services.operations.rebuild import published_fold_calls


def _rows(*rows: tuple[str, int | None, int | None]) -> dict[Key, Row]:
    return {
        (name,): {"object_name": name, "fold_after_manifest": after, "fold_call": call}
        for name, after, call in rows
    }


def test_calls_come_in_the_order_they_were_made_not_in_name_order() -> None:
    folded = _rows(("a", 7, 2), ("b", 8, 1), ("c", 7, 1), ("d", 7, 2), ("e", 12, 1))
    calls = published_fold_calls(folded, ["a", "b", "c", "d", "e"])
    assert calls == [
        (FoldCall(7, 1), ["c"]),
        (FoldCall(7, 2), ["a", "d"]),
        (FoldCall(8, 1), ["b"]),
        (FoldCall(12, 1), ["e"]),
    ]


def test_objects_folded_before_calls_were_recorded_come_first_in_name_order_and_chunks(
    monkeypatch,
) -> None:
    monkeypatch.setattr(rebuild, "CHUNK", 2)
    folded = _rows(("a", 3, 1), ("b", None, None), ("c", None, None), ("d", None, None))
    assert published_fold_calls(folded, ["a", "b", "c", "d"]) == [
        (FoldCall(), ["b", "c"]),
        (FoldCall(), ["d"]),
        (FoldCall(3, 1), ["a"]),
    ]


def test_names_not_folded_or_gone_from_the_ledger_are_left_out() -> None:
    folded = _rows(("a", 1, 1), ("gone", 1, 1))
    assert published_fold_calls(folded, ["a", "pending"]) == [(FoldCall(1, 1), ["a"])]
