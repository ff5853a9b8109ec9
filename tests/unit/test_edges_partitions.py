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
    DynamicPartitionsDefinition,
    KeySpace,
    PartitionsDefinition,
    StaticPartitionsDefinition,
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
        check_now(datetime(2024, 1, 4))  # noqa: DTZ001 - naive on purpose


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
