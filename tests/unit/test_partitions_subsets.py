"""Compact partition subsets: index ranges, set algebra, snapshots, and 100,000-key scale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionRange,
    PartitionsSubset,
    StaticPartitionsDefinition,
)

NOW = datetime(2024, 2, 1, tzinfo=UTC)
DAILY = DailyPartitionsDefinition("2024-01-01")
LETTERS = StaticPartitionsDefinition(list("abcdefghij"))


def daily(*days: int) -> list[str]:
    return [f"2024-01-{d:02d}" for d in days]


# --------------------------------------------------------------------------- construction


def test_from_keys_keeps_definition_order_and_merges_runs() -> None:
    subset = PartitionsSubset.from_keys(DAILY, daily(5, 3, 4, 10), NOW)
    assert list(subset) == daily(3, 4, 5, 10)
    assert len(subset) == 4
    assert subset.index_ranges == ((2, 5), (9, 10))
    assert subset.ranges() == [
        PartitionRange("2024-01-03", "2024-01-05"),
        PartitionRange("2024-01-10", "2024-01-10"),
    ]
    assert subset.contains("2024-01-04")
    assert "2024-01-10" in subset
    assert "2024-01-06" not in subset
    assert "not a key" not in subset
    assert 3 not in subset


def test_from_keys_rejects_keys_that_are_not_present() -> None:
    with pytest.raises(InvalidInput, match="partition key '2024-02-01' is not in time-window"):
        PartitionsSubset.from_keys(DAILY, ["2024-01-01", "2024-02-01"], NOW)  # not closed yet
    with pytest.raises(InvalidInput, match="partition key 'z' is not in static partitions"):
        PartitionsSubset.from_keys(LETTERS, ["a", "z"], NOW)


def test_from_range_is_inclusive_and_checked() -> None:
    subset = PartitionsSubset.from_range(DAILY, PartitionRange("2024-01-30", "2024-01-31"), NOW)
    assert list(subset) == daily(30, 31)
    assert list(PartitionsSubset.from_range(LETTERS, PartitionRange("c", "e"), NOW)) == [
        "c",
        "d",
        "e",
    ]
    with pytest.raises(InvalidInput, match="is reversed: 'e' comes after 'c'"):
        PartitionsSubset.from_range(LETTERS, PartitionRange("e", "c"), NOW)
    with pytest.raises(InvalidInput, match="partition key '2024-02-01' is not in"):
        PartitionsSubset.from_range(DAILY, PartitionRange("2024-01-01", "2024-02-01"), NOW)


def test_all_and_empty() -> None:
    everything = PartitionsSubset.all(DAILY, NOW)
    assert len(everything) == 31
    assert everything.ranges() == [PartitionRange("2024-01-01", "2024-01-31")]
    assert len(PartitionsSubset.all(DAILY, datetime(2023, 1, 1, tzinfo=UTC))) == 0
    empty = PartitionsSubset.empty(DAILY)
    assert not empty
    assert len(empty) == 0
    assert list(empty) == []
    assert empty.to_snapshot() == {"ranges": []}


def test_exclusions_split_the_ranges() -> None:
    weekdays = DailyPartitionsDefinition("2024-01-01", exclusions=["0 0 * * 6,0"])
    everything = PartitionsSubset.all(weekdays, datetime(2024, 1, 16, tzinfo=UTC))
    assert everything.ranges() == [
        PartitionRange("2024-01-01", "2024-01-05"),
        PartitionRange("2024-01-08", "2024-01-12"),
        PartitionRange("2024-01-15", "2024-01-15"),
    ]
    assert len(everything) == 11
    span = PartitionsSubset.from_range(weekdays, PartitionRange("2024-01-04", "2024-01-09"), NOW)
    assert list(span) == daily(4, 5, 8, 9)
    assert "2024-01-06" not in span


# --------------------------------------------------------------------------- algebra


def test_union_intersection_difference() -> None:
    a = PartitionsSubset.from_keys(LETTERS, list("abcdef"), NOW)
    b = PartitionsSubset.from_keys(LETTERS, list("defghi"), NOW)
    assert list(a.union(b)) == list("abcdefghi")
    assert list(a | b) == list("abcdefghi")
    assert list(a.intersection(b)) == list("def")
    assert list(a & b) == list("def")
    assert list(a.difference(b)) == list("abc")
    assert list(b - a) == list("ghi")
    holes = PartitionsSubset.from_keys(LETTERS, list("bdf"), NOW)
    assert list(PartitionsSubset.all(LETTERS, NOW) - holes) == list("aceghij")
    assert (a | b) - (a & b) == (a - b) | (b - a)


def test_subsets_of_different_definitions_do_not_mix() -> None:
    a = PartitionsSubset.from_keys(LETTERS, ["a"], NOW)
    b = PartitionsSubset.from_keys(DAILY, ["2024-01-01"], NOW)
    with pytest.raises(InvalidInput, match="cannot combine subsets of different partitions"):
        a.union(b)
    same = DailyPartitionsDefinition("2024-01-01")
    assert PartitionsSubset.from_keys(same, ["2024-01-01"], NOW) == b


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.sampled_from("abcdefghij")),
    st.sets(st.sampled_from("abcdefghij")),
)
def test_algebra_agrees_with_python_sets(left: set[str], right: set[str]) -> None:
    a = PartitionsSubset.from_keys(LETTERS, left, NOW)
    b = PartitionsSubset.from_keys(LETTERS, right, NOW)
    order = list("abcdefghij")

    def ordered(keys: set[str]) -> list[str]:
        return [k for k in order if k in keys]

    assert list(a | b) == ordered(left | right)
    assert list(a & b) == ordered(left & right)
    assert list(a - b) == ordered(left - right)
    assert len(a - b) == len(left - right)
    assert PartitionsSubset.from_snapshot(LETTERS, (a - b).to_snapshot()) == a - b


# --------------------------------------------------------------------------- other kinds


def test_dynamic_subsets_number_keys_by_position() -> None:
    dynamic = DynamicPartitionsDefinition("customers")
    state = {"customers": ["c2", "c1", "c3", "c4"]}
    subset = PartitionsSubset.from_keys(dynamic, ["c3", "c2", "c1"], NOW, state)
    assert list(subset) == ["c2", "c1", "c3"]
    assert subset.to_snapshot() == {"ranges": [["c2", "c3"]]}
    assert PartitionsSubset.from_snapshot(dynamic, subset.to_snapshot(), state) == subset
    with pytest.raises(InvalidInput, match="partition key 'c9' is not in dynamic partitions"):
        PartitionsSubset.from_keys(dynamic, ["c9"], NOW, state)
    other_state = PartitionsSubset.from_keys(dynamic, ["c2"], NOW, {"customers": ["c2"]})
    with pytest.raises(InvalidInput, match="cannot combine"):
        subset.union(other_state)


def test_multi_subsets_follow_the_product_order() -> None:
    multi = MultiPartitionsDefinition(
        {"date": DAILY, "color": StaticPartitionsDefinition(["red", "blue"])}
    )
    now = datetime(2024, 1, 4, tzinfo=UTC)
    everything = PartitionsSubset.all(multi, now)
    assert len(everything) == 6
    assert everything.ranges() == [
        PartitionRange("red|2024-01-01", "red|2024-01-03"),
        PartitionRange("blue|2024-01-01", "blue|2024-01-03"),
    ]
    span = PartitionsSubset.from_range(
        multi, PartitionRange("red|2024-01-03", "blue|2024-01-02"), now
    )
    assert list(span) == ["red|2024-01-03", "blue|2024-01-01", "blue|2024-01-02"]
    # the numbering does not move as days pass: a later `now` reads the same snapshot
    later = PartitionsSubset.from_snapshot(multi, span.to_snapshot())
    assert later == span
    assert list(later) == list(span)
    assert "blue|2024-01-02" in span
    assert "blue|2024-01-03" not in span
    assert "green|2024-01-01" not in span


# --------------------------------------------------------------------------- snapshots


def test_snapshots_hold_key_ranges_not_keys() -> None:
    subset = PartitionsSubset.from_keys(DAILY, daily(1, 2, 3, 7, 8, 20), NOW)
    snapshot = subset.to_snapshot()
    assert snapshot == {
        "ranges": [["2024-01-01", "2024-01-03"], ["2024-01-07", "2024-01-08"], ["2024-01-20"] * 2]
    }
    assert PartitionsSubset.from_snapshot(DAILY, snapshot) == subset


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({}, "needs a 'ranges' list"),
        ({"ranges": [["2024-01-01"]]}, "must be \\[start, end\\] keys"),
        ({"ranges": [["2024-01-05", "2024-01-01"]]}, "is reversed"),
        ({"ranges": [["2024-01-01", "nope"]]}, "partition key 'nope' is not in"),
    ],
)
def test_malformed_subset_snapshots_are_rejected(snapshot: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        PartitionsSubset.from_snapshot(DAILY, snapshot)


# --------------------------------------------------------------------------- scale


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_a_100k_hourly_range_is_one_compact_range(tz: str) -> None:
    hourly = HourlyPartitionsDefinition("2020-01-01-00:00", timezone=tz)
    first, last = hourly.key_at(0), hourly.key_at(99_999)
    now = hourly.window_at(99_999).end
    probe = hourly.key_at(54_321)
    hourly.key_count(now)  # warm the zone caches shared by every definition of this zone

    subset = PartitionsSubset.from_range(hourly, PartitionRange(first, last), now)
    size = len(subset)
    found = subset.contains(probe)
    missing = subset.contains("2035-01-01-00:00")
    everything = PartitionsSubset.all(hourly, now)

    assert size == 100_000
    assert found and not missing
    assert everything == subset
    assert subset.index_ranges == ((0, 100_000),)
    assert subset.to_snapshot() == {"ranges": [[first, last]]}
    # the ranges stay compact when cut: every other day of 100k hours is ~2,000 ranges
    days = PartitionsSubset.from_keys(hourly, [hourly.key_at(i * 48) for i in range(2_000)], now)
    assert len(subset - days) == 98_000
