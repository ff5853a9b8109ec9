"""Edges of the partitions contract: `check_now`, `check_partition_key`, the definition and key
space base classes, static key spaces and descriptions (the text users read in errors)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.partitions import (
    NO_DYNAMIC,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    KeySpace,
    MultiPartitionsDefinition,
    PartitionRange,
    PartitionsDefinition,
    PartitionsSubset,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now, check_partition_key
from arco.domain.partitions.static import ListKeySpace

NOW = datetime(2024, 1, 4, tzinfo=UTC)


# --------------------------------------------------------------------------- check_now


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: Python calls such a datetime naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


def test_a_datetime_whose_tzinfo_has_no_offset_is_naive_and_refused() -> None:
    # Python's datetime docs: aware iff tzinfo is not None AND utcoffset() is not None.
    moment = datetime(2024, 1, 4, tzinfo=_NoOffset())
    with pytest.raises(InvalidInput, match="timezone-aware"):
        check_now(moment)


def test_aware_and_naive_datetimes() -> None:
    assert check_now(NOW) is NOW
    with pytest.raises(InvalidInput, match="timezone-aware"):
        check_now(datetime(2024, 1, 4))  # naive on purpose


# --------------------------------------------------------------------------- check_partition_key


def test_a_valid_partition_key_is_returned_as_is() -> None:
    assert check_partition_key("2024-01-04", "here") == "2024-01-04"


def test_no_character_is_forbidden_beyond_the_rules_unless_the_caller_says_so() -> None:
    # Only '...' and control characters are refused by default: any letter is fine.
    for key in ("X", "XX", "aXXb", "|", "[a,b]"):
        assert check_partition_key(key, "here") == key
    assert StaticPartitionsDefinition(["X", "XXXX"]).partition_keys == ("X", "XXXX")


def test_extra_forbidden_characters_are_refused_and_listed_in_order() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_partition_key("a|b,c", "multi", extra_forbidden="|,[]")
    assert str(caught.value) == "multi: partition key 'a|b,c' must not contain ',' '|'"
    with pytest.raises(InvalidInput) as caught:
        check_partition_key("[x]", "multi", extra_forbidden="|,[]")
    assert str(caught.value) == "multi: partition key '[x]' must not contain '[' ']'"
    assert check_partition_key("plain", "multi", extra_forbidden="|,[]") == "plain"


def test_static_key_errors_say_they_come_from_static_partitions() -> None:
    with pytest.raises(InvalidInput) as caught:
        StaticPartitionsDefinition(["a", ""])
    assert str(caught.value) == "static partitions: partition keys must not be empty"


# --------------------------------------------------------------------------- base classes


class _Listed(PartitionsDefinition):
    """A minimal definition that keeps the base class's `has_key` and `validate_key`."""

    kind: ClassVar[str] = "listed"

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = tuple(keys)

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return list(self._keys)

    def describe(self) -> str:
        return f"listed {list(self._keys)}"

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "keys": list(self._keys)}

    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        return ListKeySpace(self._keys, ("listed", self._keys))


def test_the_default_has_key_is_membership_in_the_keys_at_now() -> None:
    listed = _Listed(["a", "b"])
    assert listed.has_key("a", NOW) is True
    assert listed.has_key("b", NOW) is True
    assert listed.has_key("c", NOW) is False
    listed.validate_key("a", NOW)
    with pytest.raises(InvalidInput, match=re.escape("partition key 'c' is not in listed")):
        listed.validate_key("c", NOW)


def test_a_definition_is_never_equal_to_something_that_is_not_a_definition() -> None:
    static = StaticPartitionsDefinition(["a"])
    assert (static == "a") is False
    assert (static == ["a"]) is False
    assert static != {"kind": "static", "keys": ["a"]}
    assert static.__eq__(1) is NotImplemented


def test_equal_definitions_compare_and_hash_alike_every_time() -> None:
    one, two = StaticPartitionsDefinition(["a", "b"]), StaticPartitionsDefinition(["a", "b"])
    for _ in range(2):  # the second round reads the cached canonical form
        assert one == two
        assert hash(one) == hash(two)
        assert one != StaticPartitionsDefinition(["b", "a"])


def test_a_definitions_repr_names_its_class_and_description() -> None:
    static = StaticPartitionsDefinition(["a", "b"])
    assert repr(static) == "StaticPartitionsDefinition(static partitions ['a', 'b'])"
    dynamic = DynamicPartitionsDefinition("customers")
    assert repr(dynamic) == "DynamicPartitionsDefinition(dynamic partitions 'customers')"


def test_equal_key_spaces_hash_alike_and_collapse_in_a_set() -> None:
    one = StaticPartitionsDefinition(["a", "b"]).key_space()
    two = StaticPartitionsDefinition(["a", "b"]).key_space()
    other = StaticPartitionsDefinition(["b", "a"]).key_space()
    assert one == two
    assert hash(one) == hash(two)
    assert len({one, two, other}) == 2
    assert {one: "x"}[two] == "x"


# --------------------------------------------------------------------------- static


def test_a_static_key_space_knows_exactly_its_positions() -> None:
    space = StaticPartitionsDefinition(["a", "b", "c"]).key_space()
    assert [space.key_at(i) for i in range(3)] == ["a", "b", "c"]
    for index in (3, 4, -1):
        with pytest.raises(InvalidInput, match=f"no partition key at position {index}"):
            space.key_at(index)


def test_an_empty_slice_of_a_static_key_space_is_empty_even_at_its_end() -> None:
    space = StaticPartitionsDefinition(["a", "b", "c"]).key_space()
    assert space.keys_between(3, 3) == []
    assert space.keys_between(1, 1) == []
    assert space.keys_between(5, 5) == []
    assert space.keys_between(1, 3) == ["b", "c"]
    with pytest.raises(InvalidInput):
        space.keys_between(2, 4)
    assert DynamicPartitionsDefinition("d").key_space().keys_between(0, 0) == []


@pytest.mark.parametrize(
    ("keys", "description"),
    [
        (["a"], "static partitions ['a']"),
        (["a", "b"], "static partitions ['a', 'b']"),
        (["a", "b", "c", "d", "e"], "static partitions ['a', 'b', 'c', 'd', 'e']"),
        (
            ["a", "b", "c", "d", "e", "f"],
            "static partitions ['a', 'b', 'c', 'd', 'e', ... (6 keys)]",
        ),
        (
            [f"k{i}" for i in range(12)],
            "static partitions ['k0', 'k1', 'k2', 'k3', 'k4', ... (12 keys)]",
        ),
    ],
)
def test_a_static_description_shows_the_first_five_keys_and_counts_the_rest(
    keys: list[str], description: str
) -> None:
    static = StaticPartitionsDefinition(keys)
    assert static.describe() == description
    with pytest.raises(InvalidInput) as caught:
        static.validate_key("zz", NOW)
    assert str(caught.value) == f"partition key 'zz' is not in {description}"


# --------------------------------------------------------------------------- multi


def _color_by_day(colors: Sequence[str] = ("red", "blue")) -> MultiPartitionsDefinition:
    return MultiPartitionsDefinition(
        {
            "color": StaticPartitionsDefinition(list(colors)),
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )


def test_multi_dimensions_accept_static_keys_with_any_letter() -> None:
    # Only '|', ',', '[' and ']' are refused in a static dimension's keys.
    multi = MultiPartitionsDefinition(
        {"a": StaticPartitionsDefinition(["X", "XX"]), "b": StaticPartitionsDefinition(["y"])}
    )
    assert multi.keys(NOW) == ["X|y", "XX|y"]


def test_a_multi_key_without_exactly_two_parts_is_not_a_key() -> None:
    multi = _color_by_day()
    assert multi.has_key("red|2024-01-01", NOW) is True
    for key in ("red", "red|2024-01-01|x", ""):
        assert multi.has_key(key, NOW) is False


def test_a_multi_description_lists_its_dimensions_by_name() -> None:
    multi = MultiPartitionsDefinition(
        {"b": StaticPartitionsDefinition(["y"]), "a": StaticPartitionsDefinition(["x"])}
    )
    assert (
        multi.describe()
        == "multi partitions (a: static partitions ['x'], b: static partitions ['y'])"
    )
    with pytest.raises(InvalidInput) as caught:
        multi.validate_key("x|z", NOW)
    assert str(caught.value) == f"partition key 'x|z' is not in {multi.describe()}"


def test_key_spaces_of_different_multi_definitions_differ_and_do_not_mix() -> None:
    one, two = _color_by_day(), _color_by_day(("green",))
    assert one.key_space() == _color_by_day().key_space()
    assert one.key_space() != two.key_space()
    with pytest.raises(InvalidInput, match="cannot combine subsets of different partitions"):
        PartitionsSubset.all(one, NOW) | PartitionsSubset.all(two, NOW)


def test_every_multi_key_is_present_when_the_inner_dimension_skips_its_first_window() -> None:
    # The first day is excluded: the daily dimension's present windows start at its second.
    multi = MultiPartitionsDefinition(
        {
            "color": StaticPartitionsDefinition(["red", "blue"]),
            "date": DailyPartitionsDefinition(
                start_date="2024-01-01", exclusions=[datetime(2024, 1, 1, tzinfo=UTC)]
            ),
        }
    )
    expected = ["red|2024-01-02", "red|2024-01-03", "blue|2024-01-02", "blue|2024-01-03"]
    assert multi.keys(NOW) == expected
    every = PartitionsSubset.all(multi, NOW)
    assert every.keys() == expected
    assert len(every) == 4
    assert "red|2024-01-01" not in every
    assert all(key in every for key in expected)


def test_two_multi_keys_never_share_a_number_even_far_along_a_minutely_dimension() -> None:
    # 2**32 minutes after 1800-01-01 is in 9966: the inner number no longer fits under one
    # outer key, and must not spill into the next outer key's numbers.
    minutely = TimeWindowPartitionsDefinition(
        cron_schedule="* * * * *", start="1800-01-01-00:00", fmt="%Y-%m-%d-%H:%M"
    )
    inner = minutely.key_space()
    far = inner.key_at(2**32)
    assert far == "9966-02-16-04:16"  # 1800-01-01 + 4294967296 minutes
    space = MultiPartitionsDefinition(
        {"a": StaticPartitionsDefinition(["x", "y"]), "b": minutely}
    ).key_space()
    first_of_y = space.index_of("y|1800-01-01-00:00")
    assert first_of_y is not None
    assert space.index_of(f"x|{far}") != first_of_y
    assert space.key_at(first_of_y) == "y|1800-01-01-00:00"


def test_a_multi_key_its_key_space_cannot_number_is_not_a_key() -> None:
    """The inner number must fit under STRIDE: has_key agrees with the key space."""
    minutely = TimeWindowPartitionsDefinition(
        cron_schedule="* * * * *", start="1800-01-01-00:00", fmt="%Y-%m-%d-%H:%M"
    )
    multi = MultiPartitionsDefinition({"a": StaticPartitionsDefinition(["x"]), "b": minutely})
    later = datetime(9999, 1, 1, tzinfo=UTC)
    last_fit = minutely.key_space().key_at(2**32 - 1)
    too_far = minutely.key_space().key_at(2**32)
    assert minutely.has_key(too_far, later)
    assert multi.has_key(f"x|{last_fit}", later)
    assert multi.key_space().index_of(f"x|{too_far}") is None
    assert not multi.has_key(f"x|{too_far}", later)


# --------------------------------------------------------------------------- subsets

LETTERS = StaticPartitionsDefinition(["a", "b", "c", "d", "e", "f", "g"])


def _subset(*keys: str) -> PartitionsSubset:
    return PartitionsSubset.from_keys(LETTERS, keys, NOW)


def test_a_subset_knows_its_definition_and_lists_its_keys_in_order() -> None:
    subset = _subset("c", "a", "b")
    assert subset.definition == LETTERS
    assert subset.definition is LETTERS
    assert subset.keys() == ["a", "b", "c"]


def test_touching_ranges_merge_into_one() -> None:
    joined = _subset("a", "b") | _subset("c", "d")
    assert joined.ranges() == [PartitionRange("a", "d")]
    assert joined.to_snapshot() == {"ranges": [["a", "d"]]}
    assert joined == _subset("a", "b", "c", "d")
    assert len(joined.index_ranges) == 1


def test_subsets_are_equal_only_with_the_same_keys() -> None:
    assert _subset("a") != _subset("b")
    assert _subset("a", "b") != _subset("a")
    assert _subset("a", "c") == _subset("c", "a")
    assert (_subset("a") == "a") is False
    assert _subset("a").__eq__(["a"]) is NotImplemented


def test_equal_subsets_hash_alike() -> None:
    assert hash(_subset("a", "c")) == hash(_subset("c", "a"))
    assert len({_subset("a", "c"), _subset("c", "a"), _subset("b")}) == 2


def test_a_one_key_range_is_that_key() -> None:
    one = PartitionsSubset.from_range(LETTERS, PartitionRange("b", "b"), NOW)
    assert one.keys() == ["b"]
    with pytest.raises(InvalidInput, match="is reversed"):
        PartitionsSubset.from_range(LETTERS, PartitionRange("c", "b"), NOW)


@pytest.mark.parametrize(
    ("keys", "text"),
    [
        ((), "PartitionsSubset(0 keys: [])"),
        (("b",), "PartitionsSubset(1 keys: [b..b])"),
        (("a", "b", "c", "e", "g"), "PartitionsSubset(5 keys: [a..c, e..e, g..g])"),
        (("a", "c", "e", "g"), "PartitionsSubset(4 keys: [a..a, c..c, e..e, ...])"),
    ],
)
def test_a_subsets_repr_shows_its_size_and_first_three_ranges(
    keys: tuple[str, ...], text: str
) -> None:
    assert repr(_subset(*keys)) == text


def test_a_subset_is_truthy_from_its_first_key() -> None:
    assert not PartitionsSubset.empty(LETTERS)
    assert bool(_subset("a")) is True
    assert bool(_subset("a", "b")) is True


def test_empty_ranges_given_to_a_subset_are_dropped() -> None:
    space = LETTERS.key_space()
    subset = PartitionsSubset(LETTERS, space, [(2, 2), (4, 5), (6, 6)])
    assert subset.index_ranges == ((4, 5),)
    assert subset.ranges() == [PartitionRange("e", "e")]
    assert subset == _subset("e")
    assert not PartitionsSubset(LETTERS, space, [(3, 3)])
    assert PartitionsSubset(LETTERS, space, [(3, 3)]).to_snapshot() == {"ranges": []}


def test_a_large_subset_lists_every_key_once_in_order() -> None:
    many = StaticPartitionsDefinition([f"k{i:05d}" for i in range(10_000)])
    every = PartitionsSubset.all(many, NOW)
    keys = list(every)
    assert len(keys) == 10_000
    assert keys == [f"k{i:05d}" for i in range(10_000)]
    part = PartitionsSubset.from_range(many, PartitionRange("k00100", "k09000"), NOW)
    assert list(part) == [f"k{i:05d}" for i in range(100, 9_001)]


def test_a_snapshot_range_holds_every_key_from_its_start_to_its_end() -> None:
    subset = PartitionsSubset.from_snapshot(LETTERS, {"ranges": [["a", "c"], ["e", "f"]]})
    assert subset.keys() == ["a", "b", "c", "e", "f"]
    assert subset.to_snapshot() == {"ranges": [["a", "c"], ["e", "f"]]}


def test_a_snapshot_range_with_a_non_string_end_is_malformed() -> None:
    for item in (["a", 1], [1, "a"], ["a", None]):
        with pytest.raises(InvalidInput) as caught:
            PartitionsSubset.from_snapshot(LETTERS, {"ranges": [item]})
        assert str(caught.value) == f"partitions subset range {item!r} must be [start, end] keys"


def test_a_snapshot_range_error_names_the_unknown_endpoint() -> None:
    with pytest.raises(InvalidInput) as caught:
        PartitionsSubset.from_snapshot(LETTERS, {"ranges": [["zz", "c"]]})
    assert str(caught.value) == f"partition key 'zz' is not in {LETTERS.describe()}"
    with pytest.raises(InvalidInput) as caught:
        PartitionsSubset.from_snapshot(LETTERS, {"ranges": [["a", "yy"]]})
    assert str(caught.value) == f"partition key 'yy' is not in {LETTERS.describe()}"
