"""Edges of the partition mappings: argument checks and the errors users read, the text of a
mapping's repr, and the boundaries of each mapping's rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings import (
    AllPartitionMapping,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
    UpstreamPartitions,
    mapping_from_snapshot,
)
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)

NOW = datetime(2024, 1, 4, tzinfo=UTC)
ABC = StaticPartitionsDefinition(["a", "b", "c"])


# --------------------------------------------------------------------------- shared checks


def test_a_mapping_that_needs_both_sides_partitioned_says_which_side_is_not() -> None:
    identity = IdentityPartitionMapping()
    with pytest.raises(InvalidInput) as caught:
        identity.validate(None, ABC)
    assert str(caught.value) == (
        "IdentityPartitionMapping needs a partitioned upstream "
        "(upstream unpartitioned, downstream static partitions ['a', 'b', 'c'])"
    )
    with pytest.raises(InvalidInput) as caught:
        identity.validate(ABC, None)
    assert str(caught.value) == (
        "IdentityPartitionMapping needs a partitioned downstream "
        "(upstream static partitions ['a', 'b', 'c'], downstream unpartitioned)"
    )
    with pytest.raises(InvalidInput, match="needs a partitioned downstream"):
        identity.upstream_partitions(None, ["a"], ABC, NOW)


BAD_KEY_LISTS = ["ab", {"a", "b"}, 3]
TO_UPSTREAM_WITH_KEYS = [IdentityPartitionMapping(), StaticPartitionMapping({"a": "b"})]
TO_DOWNSTREAM_WITH_KEYS = [
    IdentityPartitionMapping(),
    AllPartitionMapping(),
    LastPartitionMapping(),
    SpecificPartitionsPartitionMapping(["a"]),
    StaticPartitionMapping({"a": "b"}),
]


@pytest.mark.parametrize("keys", BAD_KEY_LISTS)
@pytest.mark.parametrize("mapping", TO_UPSTREAM_WITH_KEYS, ids=repr)
def test_downstream_keys_must_be_a_list_not_a_string_or_a_set(
    mapping: PartitionMapping, keys: Any
) -> None:
    with pytest.raises(InvalidInput) as caught:
        mapping.upstream_partitions(ABC, keys, ABC, NOW)
    assert str(caught.value) == f"downstream keys must be a list of partition keys, got {keys!r}"


@pytest.mark.parametrize("keys", BAD_KEY_LISTS)
@pytest.mark.parametrize("mapping", TO_DOWNSTREAM_WITH_KEYS, ids=repr)
def test_upstream_keys_must_be_a_list_not_a_string_or_a_set(
    mapping: PartitionMapping, keys: Any
) -> None:
    with pytest.raises(InvalidInput) as caught:
        mapping.downstream_partitions(ABC, keys, ABC, NOW)
    assert str(caught.value) == f"upstream keys must be a list of partition keys, got {keys!r}"


def test_every_key_given_must_be_a_string() -> None:
    not_strings: list[Any] = ["a", 1]
    none_first: list[Any] = [None, "a"]
    with pytest.raises(InvalidInput) as caught:
        IdentityPartitionMapping().upstream_partitions(ABC, not_strings, ABC, NOW)
    assert str(caught.value) == "downstream keys: partition key 1 must be a string"
    with pytest.raises(InvalidInput) as caught:
        LastPartitionMapping().downstream_partitions(ABC, none_first, ABC, NOW)
    assert str(caught.value) == "upstream keys: partition key None must be a string"


@pytest.mark.parametrize(
    ("mapping", "text"),
    [
        (IdentityPartitionMapping(), "IdentityPartitionMapping()"),
        (AllPartitionMapping(), "AllPartitionMapping()"),
        (LastPartitionMapping(), "LastPartitionMapping()"),
        (
            TimeWindowPartitionMapping(start_offset=-1),
            "TimeWindowPartitionMapping(start_offset=-1, end_offset=0, "
            "allow_nonexistent_upstream_partitions=False)",
        ),
        (
            SpecificPartitionsPartitionMapping(["b", "a"]),
            "SpecificPartitionsPartitionMapping(keys=['b', 'a'])",
        ),
        (
            StaticPartitionMapping({"a": "x"}),
            "StaticPartitionMapping(mapping={'a': ['x']})",
        ),
    ],
)
def test_a_mappings_repr_is_its_class_and_its_settings(
    mapping: PartitionMapping, text: str
) -> None:
    assert repr(mapping) == text


def test_mapped_keys_come_in_definition_order_with_unknown_keys_last_as_given() -> None:
    identity = IdentityPartitionMapping()
    got = identity.upstream_partitions(ABC, ["zz", "c", "yy", "a"], ABC, NOW)
    assert got.keys == ("a", "c", "zz", "yy")
    assert identity.downstream_partitions(ABC, ["c", "b", "a"], ABC, NOW) == ("a", "b", "c")


# --------------------------------------------------------------------------- snapshots


def test_an_unknown_mapping_kind_is_refused_with_the_kinds_that_exist() -> None:
    with pytest.raises(InvalidInput) as caught:
        mapping_from_snapshot({"kind": "weekly"})
    assert str(caught.value) == (
        "unknown partition mapping kind 'weekly' (expected identity, time_window, all, last, "
        "static, specific_partitions, multi_to_single_dimension or multi)"
    )


def test_a_time_window_mapping_snapshot_without_settings_has_dagsters_defaults() -> None:
    # Dagster: TimeWindowPartitionMapping(start_offset=0, end_offset=0,
    # allow_nonexistent_upstream_partitions=False).
    mapping = mapping_from_snapshot({"kind": "time_window"})
    assert isinstance(mapping, TimeWindowPartitionMapping)
    assert mapping.start_offset == 0
    assert mapping.end_offset == 0
    assert mapping.allow_nonexistent_upstream_partitions is False
    assert mapping == TimeWindowPartitionMapping()


def test_a_mapping_is_never_equal_to_something_that_is_not_a_mapping() -> None:
    identity = IdentityPartitionMapping()
    assert (identity == "identity") is False
    assert (identity == {"kind": "identity"}) is False
    assert identity.__eq__(1) is NotImplemented
    assert identity == IdentityPartitionMapping()


# --------------------------------------------------------------------------- specific partitions


def test_specific_partitions_keep_their_keys_once_in_the_given_order() -> None:
    assert SpecificPartitionsPartitionMapping(["b", "a", "b"]).keys == ("b", "a")


def test_specific_partitions_of_dynamic_upstream_may_name_any_key() -> None:
    # Dynamic keys are added at run time: any key may belong one day.
    SpecificPartitionsPartitionMapping(["x", "y"]).validate(DynamicPartitionsDefinition("d"), None)


def test_specific_partitions_of_a_multi_upstream_must_name_possible_multi_keys() -> None:
    multi = MultiPartitionsDefinition(
        {
            "color": StaticPartitionsDefinition(["red", "blue"]),
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )
    # A date not yet reached can still belong (time windows grow).
    SpecificPartitionsPartitionMapping(["red|2024-01-02", "blue|2030-05-01"]).validate(multi, ABC)
    for bad in ("green|2024-01-02", "red|2023-12-31", "red", "red|2024-01-02|x"):
        with pytest.raises(InvalidInput) as caught:
            SpecificPartitionsPartitionMapping(["red|2024-01-02", bad]).validate(multi, ABC)
        assert str(caught.value).startswith(
            f"SpecificPartitionsPartitionMapping keys [{bad!r}] can never be in the upstream "
            "partitions (upstream multi partitions ("
        )


@pytest.mark.parametrize("keys", ["ab", {"a", "b"}, 7])
def test_specific_partitions_need_a_list_of_keys(keys: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        SpecificPartitionsPartitionMapping(keys)
    assert str(caught.value) == (
        f"SpecificPartitionsPartitionMapping keys must be a list of strings, got {keys!r}"
    )


@pytest.mark.parametrize("key", ["", 1, None])
def test_specific_partitions_keys_are_non_empty_strings(key: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        SpecificPartitionsPartitionMapping(["a", key])
    assert str(caught.value) == (
        f"SpecificPartitionsPartitionMapping: partition key {key!r} must be a non-empty string"
    )


# --------------------------------------------------------------------------- static mapping


def test_a_static_mapping_lists_each_sources_targets_once_in_order() -> None:
    mapping = StaticPartitionMapping({"a": "x", "b": ["y", "x", "y"]})
    assert mapping.mapping == {"a": ("x",), "b": ("y", "x")}


@pytest.mark.parametrize("targets", [{"x"}, 5, ["x", 1], [1, "x"]])
def test_a_static_mapping_maps_to_a_key_or_a_list_of_keys(targets: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        StaticPartitionMapping({"a": targets})
    assert str(caught.value) == (
        f"StaticPartitionMapping: upstream key 'a' must map to a key or a list of keys, "
        f"got {targets!r}"
    )


def test_a_static_mapping_needs_static_partitions_on_each_side() -> None:
    mapping = StaticPartitionMapping({"a": "x"})
    dynamic = DynamicPartitionsDefinition("d")
    with pytest.raises(InvalidInput) as caught:
        mapping.validate(ABC, dynamic)
    assert str(caught.value) == (
        "StaticPartitionMapping: downstream partitions must be static "
        "(upstream static partitions ['a', 'b', 'c'], downstream dynamic partitions 'd')"
    )
    with pytest.raises(InvalidInput) as caught:
        mapping.validate(dynamic, ABC)
    assert str(caught.value) == (
        "StaticPartitionMapping: upstream partitions must be static "
        "(upstream dynamic partitions 'd', downstream static partitions ['a', 'b', 'c'])"
    )


XY = StaticPartitionsDefinition(["x", "y"])


def test_mapping_to_the_upstream_checks_only_the_mappings_source_keys() -> None:
    # Dagster's StaticPartitionMapping: upstream mapping checks the upstream side only,
    # downstream mapping the downstream side only.
    stray_target = StaticPartitionMapping({"a": ["x", "zz"], "b": "y"})
    assert stray_target.upstream_partitions(XY, ["x"], ABC, NOW).keys == ("a",)
    with pytest.raises(InvalidInput) as caught:
        stray_target.downstream_partitions(ABC, ["a"], XY, NOW)
    assert str(caught.value).startswith(
        "StaticPartitionMapping: mapping target keys ['zz'] are not in the downstream partitions"
    )


def test_mapping_to_the_downstream_checks_only_the_mappings_target_keys() -> None:
    stray_source = StaticPartitionMapping({"a": "x", "q": "y"})
    assert stray_source.downstream_partitions(ABC, ["a"], XY, NOW) == ("x",)
    with pytest.raises(InvalidInput) as caught:
        stray_source.upstream_partitions(XY, ["x"], ABC, NOW)
    assert str(caught.value).startswith(
        "StaticPartitionMapping: mapping source keys ['q'] are not in the upstream partitions"
    )


# --------------------------------------------------------------------------- multi mappings

COLORS = StaticPartitionsDefinition(["red", "blue"])
COLOR_BY_DAY = MultiPartitionsDefinition(
    {"color": COLORS, "date": DailyPartitionsDefinition(start_date="2024-01-01")}
)
COLOR_BY_SHAPE = MultiPartitionsDefinition(
    {"color": COLORS, "shape": StaticPartitionsDefinition(["square", "circle"])}
)


def test_multi_mappings_expose_their_settings() -> None:
    assert MultiToSingleDimensionPartitionMapping("color").partition_dimension_name == "color"
    assert MultiToSingleDimensionPartitionMapping().partition_dimension_name is None
    by_color = DimensionPartitionMapping("color", IdentityPartitionMapping())
    assert MultiPartitionMapping({"color": by_color}).mappings == {"color": by_color}


@pytest.mark.parametrize("name", ["", 5])
def test_a_dimension_name_must_be_a_non_empty_string(name: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        MultiToSingleDimensionPartitionMapping(name)
    assert str(caught.value) == (
        f"MultiToSingleDimensionPartitionMapping partition_dimension_name {name!r} must be a "
        "dimension name or None"
    )
    with pytest.raises(InvalidInput) as caught:
        DimensionPartitionMapping(name, IdentityPartitionMapping())
    assert str(caught.value) == (
        f"DimensionPartitionMapping dimension_name {name!r} must be a non-empty string"
    )
    with pytest.raises(InvalidInput) as caught:
        MultiPartitionMapping(
            {name: DimensionPartitionMapping("color", IdentityPartitionMapping())}
        )
    assert str(caught.value) == f"MultiPartitionMapping: upstream dimension {name!r} must be a name"


def test_two_upstream_dimensions_cannot_feed_one_downstream_dimension() -> None:
    identity = IdentityPartitionMapping()
    with pytest.raises(InvalidInput) as caught:
        MultiPartitionMapping(
            {
                "color": DimensionPartitionMapping("shade", identity),
                "tint": DimensionPartitionMapping("shade", identity),
            }
        )
    assert str(caught.value) == (
        "MultiPartitionMapping: upstream dimensions 'color' and 'tint' both map to "
        "downstream dimension 'shade'"
    )


def test_a_multi_partition_mapping_says_which_side_is_not_multi() -> None:
    mapping = MultiPartitionMapping(
        {"color": DimensionPartitionMapping("color", IdentityPartitionMapping())}
    )
    with pytest.raises(InvalidInput) as caught:
        mapping.validate(COLORS, COLOR_BY_SHAPE)
    assert str(caught.value).startswith(
        "MultiPartitionMapping: upstream partitions must be multi partitions (upstream static"
    )
    with pytest.raises(InvalidInput) as caught:
        mapping.validate(COLOR_BY_SHAPE, COLORS)
    assert str(caught.value).startswith(
        "MultiPartitionMapping: downstream partitions must be multi partitions (upstream multi"
    )


@pytest.mark.parametrize("keys", BAD_KEY_LISTS)
def test_multi_mappings_need_key_lists_too(keys: Any) -> None:
    to_single = MultiToSingleDimensionPartitionMapping()
    by_color = MultiPartitionMapping(
        {"color": DimensionPartitionMapping("color", IdentityPartitionMapping())}
    )
    downstream = f"downstream keys must be a list of partition keys, got {keys!r}"
    upstream = f"upstream keys must be a list of partition keys, got {keys!r}"
    for call, message in (
        (lambda: to_single.upstream_partitions(COLORS, keys, COLOR_BY_SHAPE, NOW), downstream),
        (lambda: to_single.downstream_partitions(COLOR_BY_SHAPE, keys, COLORS, NOW), upstream),
        (lambda: by_color.upstream_partitions(COLOR_BY_DAY, keys, COLOR_BY_SHAPE, NOW), downstream),
        (lambda: by_color.downstream_partitions(COLOR_BY_SHAPE, keys, COLOR_BY_DAY, NOW), upstream),
    ):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert str(caught.value) == message


def test_a_week_reaching_before_the_upstream_start_asks_for_the_missing_days_of_every_color() -> (
    None
):
    # Downstream weeks (Sunday 2023-12-31 ..) read upstream days from 2024-01-03 by color:
    # the week needs Dec 31 .. Jan 6 for each color; Dec 31, Jan 1 and Jan 2 do not exist.
    upstream = MultiPartitionsDefinition(
        {"color": COLORS, "date": DailyPartitionsDefinition(start_date="2024-01-03")}
    )
    week = WeeklyPartitionsDefinition(start_date="2023-12-31")
    now = datetime(2024, 1, 10, tzinfo=UTC)
    got = MultiToSingleDimensionPartitionMapping().upstream_partitions(
        week, ["2023-12-31"], upstream, now
    )
    existing = [f"2024-01-0{d}" for d in range(3, 7)]
    assert got.keys == tuple(f"{c}|{d}" for c in ("red", "blue") for d in existing)
    missing = ("2023-12-31", "2024-01-01", "2024-01-02")
    assert set(got.required_but_nonexistent) == {
        f"{c}|{d}" for c in ("red", "blue") for d in missing
    }
    assert len(got.required_but_nonexistent) == 6


# --------------------------------------------------------------------------- time windows
# Expected keys below are Dagster 1.13.29's answers (`.venv-dagster`:
# `get_upstream_mapped_partitions_result_for_partitions`,
# `get_downstream_partitions_for_partitions`).


def test_mapping_no_keys_gives_no_keys() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    mapping = TimeWindowPartitionMapping(start_offset=-1)
    assert mapping.upstream_partitions(daily, [], daily, NOW) == UpstreamPartitions((), ())
    assert mapping.downstream_partitions(daily, [], daily, NOW) == ()


def test_a_step_back_from_the_first_window_of_1970_stays_there() -> None:
    # No window starts before 1970-01-01 on this definition: the offset stops at the first one.
    daily = DailyPartitionsDefinition(start_date="1970-01-01")
    now = datetime(1970, 1, 5, tzinfo=UTC)
    mapping = TimeWindowPartitionMapping(start_offset=-1)
    got = mapping.upstream_partitions(daily, ["1970-01-01", "1970-01-02"], daily, now)
    assert got == UpstreamPartitions(("1970-01-01", "1970-01-02"), ())
    assert mapping.downstream_partitions(daily, ["1970-01-01"], daily, now) == (
        "1970-01-01",
        "1970-01-02",
    )


def test_missing_upstream_days_are_named_in_the_partitions_timezone() -> None:
    down = DailyPartitionsDefinition(start_date="2024-01-01", timezone="America/New_York")
    up = DailyPartitionsDefinition(start_date="2024-01-03", timezone="America/New_York")
    got = TimeWindowPartitionMapping().upstream_partitions(
        down, ["2024-01-01", "2024-01-02", "2024-01-04"], up, datetime(2024, 1, 20, tzinfo=UTC)
    )
    assert got == UpstreamPartitions(("2024-01-04",), ("2024-01-01", "2024-01-02"))


@pytest.mark.parametrize("exclusion", [datetime(2024, 1, 6, tzinfo=UTC), "0 0 * * 6"])
def test_an_excluded_upstream_window_is_never_required(exclusion: str | datetime) -> None:
    # 2024-01-06 is a Saturday, excluded upstream: not required even before the start.
    down = DailyPartitionsDefinition(start_date="2024-01-01")
    up = TimeWindowPartitionsDefinition(
        cron_schedule="0 0 * * *", start="2024-01-08", fmt="%Y-%m-%d", exclusions=[exclusion]
    )
    got = TimeWindowPartitionMapping().upstream_partitions(
        down,
        ["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-09"],
        up,
        datetime(2024, 1, 20, tzinfo=UTC),
    )
    assert got == UpstreamPartitions(("2024-01-09",), ("2024-01-05", "2024-01-07"))


def test_time_window_offsets_may_reach_a_hundred_thousand_windows() -> None:
    for value in (100_000, -100_000):
        assert TimeWindowPartitionMapping(start_offset=value).start_offset == value
        assert TimeWindowPartitionMapping(end_offset=value).end_offset == value
    with pytest.raises(InvalidInput) as caught:
        TimeWindowPartitionMapping(start_offset=-100_001)
    assert str(caught.value) == (
        "TimeWindowPartitionMapping start_offset -100001 is out of range (at most 100000)"
    )


@pytest.mark.parametrize("keys", BAD_KEY_LISTS)
def test_time_window_mappings_need_key_lists_too(keys: Any) -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    mapping = TimeWindowPartitionMapping()
    with pytest.raises(InvalidInput) as caught:
        mapping.upstream_partitions(daily, keys, daily, NOW)
    assert str(caught.value) == f"downstream keys must be a list of partition keys, got {keys!r}"
    with pytest.raises(InvalidInput) as caught:
        mapping.downstream_partitions(daily, keys, daily, NOW)
    assert str(caught.value) == f"upstream keys must be a list of partition keys, got {keys!r}"


def test_a_time_window_mapping_names_a_bad_end_offset() -> None:
    with pytest.raises(InvalidInput) as caught:
        TimeWindowPartitionMapping(end_offset=200_000)
    assert str(caught.value) == (
        "TimeWindowPartitionMapping end_offset 200000 is out of range (at most 100000)"
    )
    with pytest.raises(InvalidInput) as caught:
        TimeWindowPartitionMapping(end_offset=1.5)  # type: ignore[arg-type]
    assert str(caught.value) == "TimeWindowPartitionMapping end_offset 1.5 must be an int"


WEEK_OF_DEC_31 = WeeklyPartitionsDefinition(start_date="2023-12-31")
JAN_10 = datetime(2024, 1, 10, tzinfo=UTC)


def test_a_week_running_past_the_upstreams_end_needs_the_days_after_it() -> None:
    upstream = DailyPartitionsDefinition(start_date="2023-12-01", end_date="2024-01-04")
    got = TimeWindowPartitionMapping().upstream_partitions(
        WEEK_OF_DEC_31, ["2023-12-31"], upstream, JAN_10
    )
    assert got == UpstreamPartitions(
        ("2023-12-31", "2024-01-01", "2024-01-02", "2024-01-03"),
        ("2024-01-04", "2024-01-05", "2024-01-06"),
    )


def test_a_week_starting_before_the_upstreams_start_needs_the_days_before_it() -> None:
    upstream = DailyPartitionsDefinition(start_date="2024-01-05")
    got = TimeWindowPartitionMapping().upstream_partitions(
        WEEK_OF_DEC_31, ["2023-12-31"], upstream, JAN_10
    )
    assert got == UpstreamPartitions(
        ("2024-01-05", "2024-01-06"),
        ("2023-12-31", "2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"),
    )


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "days"),
    [
        (-1, 0, ("2024-01-03", "2024-01-04")),
        (-1, -1, ("2024-01-04",)),
        (0, 1, ("2024-01-02", "2024-01-03")),
    ],
)
def test_mapping_an_hour_downstream_to_days_moves_by_whole_days(
    start_offset: int, end_offset: int, days: tuple[str, ...]
) -> None:
    # Offsets count downstream (daily) windows in both directions.
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    mapping = TimeWindowPartitionMapping(start_offset=start_offset, end_offset=end_offset)
    assert mapping.downstream_partitions(hourly, ["2024-01-03-05:00"], daily, JAN_10) == days


def test_every_day_is_missing_while_the_upstream_has_no_partition_yet() -> None:
    downstream = DailyPartitionsDefinition(start_date="2024-01-01")
    upstream = DailyPartitionsDefinition(start_date="2024-01-05")
    got = TimeWindowPartitionMapping().upstream_partitions(
        downstream, ["2024-01-01", "2024-01-02"], upstream, datetime(2024, 1, 3, tzinfo=UTC)
    )
    assert got == UpstreamPartitions((), ("2024-01-01", "2024-01-02"))
