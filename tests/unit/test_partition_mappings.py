"""Partition mappings against Dagster 1.13's rules (reference §6).

Expected keys are written out; the labels in brackets name the oracle cases of the reference
notes they come from. Every `now` is fixed.
"""

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
    default_partition_mapping,
    mapping_from_snapshot,
)
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


NOW = utc(2024, 1, 10)  # the last daily partition is 2024-01-09
DAILY = DailyPartitionsDefinition("2024-01-01")
TW = TimeWindowPartitionMapping
NY = "America/New_York"


def up(result: UpstreamPartitions) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return result.keys, result.required_but_nonexistent


def hourly_keys(day: str, hours: range) -> tuple[str, ...]:
    return tuple(f"{day}-{h:02d}:00" for h in hours)


# --------------------------------------------------------------------------- time windows


def test_start_offset_minus_one_adds_the_previous_day() -> None:  # [tw_start_-1]
    result = TW(start_offset=-1).upstream_partitions(DAILY, ["2024-01-05"], DAILY, NOW)
    assert up(result) == (("2024-01-04", "2024-01-05"), ())


def test_start_and_end_offset_minus_one_is_the_previous_day() -> None:  # [tw_start_-1_end_-1]
    result = TW(start_offset=-1, end_offset=-1).upstream_partitions(
        DAILY, ["2024-01-05"], DAILY, NOW
    )
    assert up(result) == (("2024-01-04",), ())


def test_end_offset_plus_one_adds_the_next_day() -> None:  # [tw_end_+1]
    result = TW(end_offset=1).upstream_partitions(DAILY, ["2024-01-05"], DAILY, NOW)
    assert up(result) == (("2024-01-05", "2024-01-06"), ())


def test_end_offset_is_clamped_at_the_last_partition() -> None:  # [tw_end_+1_last_partition]
    result = TW(end_offset=1).upstream_partitions(DAILY, ["2024-01-09"], DAILY, NOW)
    assert up(result) == (("2024-01-09",), ())


def test_start_offset_is_clamped_at_the_first_partition() -> None:  # [tw_start_-1_first_partition]
    result = TW(start_offset=-1).upstream_partitions(DAILY, ["2024-01-01"], DAILY, NOW)
    assert up(result) == (("2024-01-01",), ())


def test_previous_day_of_the_first_partition_is_nothing_and_not_reported() -> None:
    # [tw_start_-1_end_-1_first_partition]
    result = TW(start_offset=-1, end_offset=-1).upstream_partitions(
        DAILY, ["2024-01-01"], DAILY, NOW
    )
    assert up(result) == ((), ())


def test_downstream_of_inverts_the_offsets() -> None:  # [tw_start_-1].downstream_of
    mapping = TW(start_offset=-1)
    assert mapping.downstream_partitions(DAILY, ["2024-01-05"], DAILY, NOW) == (
        "2024-01-05",
        "2024-01-06",
    )
    # 2024-01-10 has not closed at NOW, so only 2024-01-09 depends on 2024-01-09.
    assert mapping.downstream_partitions(DAILY, ["2024-01-09"], DAILY, NOW) == ("2024-01-09",)
    previous_day = TW(start_offset=-1, end_offset=-1)
    assert previous_day.downstream_partitions(DAILY, ["2024-01-04"], DAILY, NOW) == ("2024-01-05",)
    assert previous_day.downstream_partitions(DAILY, ["2024-01-09"], DAILY, NOW) == ()


def test_several_downstream_keys_give_the_union_in_order() -> None:
    result = TW(start_offset=-1).upstream_partitions(
        DAILY, ["2024-01-07", "2024-01-03"], DAILY, NOW
    )
    assert up(result) == (("2024-01-02", "2024-01-03", "2024-01-06", "2024-01-07"), ())


def test_upstream_starting_later_reports_required_but_nonexistent() -> None:
    # [tw_upstream_starts_later_error]
    later = DailyPartitionsDefinition("2024-01-05")
    result = TW().upstream_partitions(DAILY, ["2024-01-02", "2024-01-03", "2024-01-06"], later, NOW)
    assert up(result) == (("2024-01-06",), ("2024-01-02", "2024-01-03"))
    # An offset reaching back before the upstream start is clamped, not reported.
    result = TW(start_offset=-1).upstream_partitions(DAILY, ["2024-01-05"], later, NOW)
    assert up(result) == (("2024-01-05",), ())


def test_allow_nonexistent_upstream_partitions_drops_them() -> None:
    # [tw_upstream_starts_later_allow_nonexistent]
    later = DailyPartitionsDefinition("2024-01-05")
    mapping = TW(allow_nonexistent_upstream_partitions=True)
    result = mapping.upstream_partitions(DAILY, ["2024-01-02", "2024-01-06"], later, NOW)
    assert up(result) == (("2024-01-06",), ())


def test_monthly_upstream_whose_current_month_has_not_closed() -> None:
    # [tw_daily_down_monthly_up_current_month_not_complete]
    daily = DailyPartitionsDefinition("2023-01-01")
    monthly = MonthlyPartitionsDefinition("2023-01-01")
    now = utc(2024, 1, 20)
    assert up(TW().upstream_partitions(daily, ["2024-01-15"], monthly, now)) == (
        (),
        ("2024-01-01",),
    )
    assert up(TW().upstream_partitions(daily, ["2023-12-15"], monthly, now)) == (
        ("2023-12-01",),
        (),
    )


def test_downstream_not_yet_closed_upstream_is_nonexistent() -> None:
    # Hourly downstream in a day whose daily upstream window is still open.
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    now = utc(2024, 1, 10, 12)
    result = TW().upstream_partitions(hourly, ["2024-01-10-05:00"], DAILY, now)
    assert up(result) == ((), ("2024-01-10",))
    result = TW().upstream_partitions(hourly, ["2024-01-09-05:00"], DAILY, now)
    assert up(result) == (("2024-01-09",), ())


def test_daily_downstream_hourly_upstream_is_24_hours() -> None:  # [tw_daily_down_hourly_up]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    result = TW().upstream_partitions(DAILY, ["2024-01-05"], hourly, NOW)
    assert up(result) == (hourly_keys("2024-01-05", range(24)), ())
    assert TW().downstream_partitions(hourly, ["2024-01-05-13:00"], DAILY, NOW) == ("2024-01-05",)


def test_hourly_downstream_daily_upstream_is_the_containing_day() -> None:
    # [tw_hourly_down_daily_up]
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    result = TW().upstream_partitions(hourly, ["2024-01-05-00:00", "2024-01-05-23:00"], DAILY, NOW)
    assert up(result) == (("2024-01-05",), ())
    assert TW().downstream_partitions(DAILY, ["2024-01-05"], hourly, NOW) == hourly_keys(
        "2024-01-05", range(24)
    )


def test_offsets_are_in_downstream_units() -> None:
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    # An hourly downstream moved back one hour reaches into the previous day.
    result = TW(start_offset=-1).upstream_partitions(hourly, ["2024-01-05-00:00"], DAILY, NOW)
    assert up(result) == (("2024-01-04", "2024-01-05"), ())
    # A daily downstream moved back one day needs 48 hourly upstream partitions.
    result = TW(start_offset=-1).upstream_partitions(DAILY, ["2024-01-05"], hourly, NOW)
    assert up(result) == (
        hourly_keys("2024-01-04", range(24)) + hourly_keys("2024-01-05", range(24)),
        (),
    )


NY_SPRING_HOURS = (
    "2024-03-10-00:00",
    "2024-03-10-01:00",
    "2024-03-10-03:00",
    "2024-03-10-04:00",
    "2024-03-10-05:00",
    "2024-03-10-06:00",
    "2024-03-10-07:00",
    "2024-03-10-08:00",
    "2024-03-10-09:00",
    "2024-03-10-10:00",
    "2024-03-10-11:00",
    "2024-03-10-12:00",
    "2024-03-10-13:00",
    "2024-03-10-14:00",
    "2024-03-10-15:00",
    "2024-03-10-16:00",
    "2024-03-10-17:00",
    "2024-03-10-18:00",
    "2024-03-10-19:00",
    "2024-03-10-20:00",
    "2024-03-10-21:00",
    "2024-03-10-22:00",
    "2024-03-10-23:00",
)

NY_FALL_HOURS = (
    "2024-11-03-00:00",
    "2024-11-03-01:00",
    "2024-11-03-01:00-0500",
    "2024-11-03-02:00",
    "2024-11-03-03:00",
    "2024-11-03-04:00",
    "2024-11-03-05:00",
    "2024-11-03-06:00",
    "2024-11-03-07:00",
    "2024-11-03-08:00",
    "2024-11-03-09:00",
    "2024-11-03-10:00",
    "2024-11-03-11:00",
    "2024-11-03-12:00",
    "2024-11-03-13:00",
    "2024-11-03-14:00",
    "2024-11-03-15:00",
    "2024-11-03-16:00",
    "2024-11-03-17:00",
    "2024-11-03-18:00",
    "2024-11-03-19:00",
    "2024-11-03-20:00",
    "2024-11-03-21:00",
    "2024-11-03-22:00",
    "2024-11-03-23:00",
)

NY_DAILY = DailyPartitionsDefinition("2024-01-01", timezone=NY)
NY_HOURLY = HourlyPartitionsDefinition("2024-01-01-00:00", timezone=NY)
NY_NOW = utc(2024, 12, 1)


def test_ny_daily_downstream_hourly_upstream_spring_forward_is_23_hours() -> None:
    # [tw_ny_daily_down_hourly_up_spring_forward]
    result = TW().upstream_partitions(NY_DAILY, ["2024-03-10"], NY_HOURLY, NY_NOW)
    assert len(NY_SPRING_HOURS) == 23
    assert up(result) == (NY_SPRING_HOURS, ())
    assert TW().downstream_partitions(NY_DAILY, ["2024-03-10"], NY_HOURLY, NY_NOW) == (
        NY_SPRING_HOURS
    )


def test_ny_daily_downstream_hourly_upstream_fall_back_is_25_hours() -> None:
    # [tw_ny_daily_down_hourly_up_fall_back]
    result = TW().upstream_partitions(NY_DAILY, ["2024-11-03"], NY_HOURLY, NY_NOW)
    assert len(NY_FALL_HOURS) == 25
    assert up(result) == (NY_FALL_HOURS, ())
    assert TW().downstream_partitions(NY_DAILY, ["2024-11-03"], NY_HOURLY, NY_NOW) == (
        NY_FALL_HOURS
    )


def test_ny_hourly_downstream_daily_upstream_fall_back_repeated_hour() -> None:
    # [tw_ny_hourly_down_daily_up_fall_back_repeated_hour]
    for key in ("2024-11-03-01:00", "2024-11-03-01:00-0500", "2024-11-03-23:00"):
        result = TW().upstream_partitions(NY_HOURLY, [key], NY_DAILY, NY_NOW)
        assert up(result) == (("2024-11-03",), ())
    assert TW().downstream_partitions(NY_HOURLY, ["2024-11-03-01:00-0500"], NY_DAILY, NY_NOW) == (
        "2024-11-03",
    )


def test_ny_daily_offset_across_dst_steps_whole_days() -> None:
    result = TW(start_offset=-1).upstream_partitions(NY_DAILY, ["2024-03-11"], NY_DAILY, NY_NOW)
    assert up(result) == (("2024-03-10", "2024-03-11"), ())
    # The hour before a NY day that follows the fall-back day is 23:00 of that day.
    result = TW(start_offset=-1).upstream_partitions(
        NY_HOURLY, ["2024-11-04-00:00"], NY_HOURLY, NY_NOW
    )
    assert up(result) == (("2024-11-03-23:00", "2024-11-04-00:00"), ())
    result = TW(start_offset=-2, end_offset=-1).upstream_partitions(
        NY_HOURLY, ["2024-11-03-02:00"], NY_HOURLY, NY_NOW
    )
    assert up(result) == (("2024-11-03-01:00", "2024-11-03-01:00-0500"), ())


def test_daily_downstream_weekly_upstream_is_the_containing_week() -> None:
    # [tw_daily_down_weekly_up]; weeks start on Sunday.
    weekly = WeeklyPartitionsDefinition("2024-01-01")  # first week starts 2024-01-07
    now = utc(2024, 2, 1)
    result = TW().upstream_partitions(DAILY, ["2024-01-10", "2024-01-13"], weekly, now)
    assert up(result) == (("2024-01-07",), ())
    # Days before the first week are not in the upstream.
    result = TW().upstream_partitions(DAILY, ["2024-01-03"], weekly, now)
    assert up(result) == ((), ("2023-12-31",))
    assert TW().downstream_partitions(weekly, ["2024-01-07"], DAILY, now) == (
        "2024-01-07",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-13",
    )


def test_weekly_downstream_daily_upstream_is_seven_days() -> None:  # [tw_weekly_down_daily_up]
    weekly = WeeklyPartitionsDefinition("2024-01-01")
    result = TW().upstream_partitions(weekly, ["2024-01-14"], DAILY, utc(2024, 2, 1))
    assert up(result) == (
        (
            "2024-01-14",
            "2024-01-15",
            "2024-01-16",
            "2024-01-17",
            "2024-01-18",
            "2024-01-19",
            "2024-01-20",
        ),
        (),
    )


def test_monthly_downstream_weekly_upstream_is_every_overlapping_week() -> None:
    # [tw_monthly_down_weekly_up]
    monthly = MonthlyPartitionsDefinition("2024-01-01")
    weekly = WeeklyPartitionsDefinition("2024-01-01")
    result = TW().upstream_partitions(monthly, ["2024-02-01"], weekly, utc(2024, 4, 1))
    assert up(result) == (
        ("2024-01-28", "2024-02-04", "2024-02-11", "2024-02-18", "2024-02-25"),
        (),
    )
    assert TW().downstream_partitions(weekly, ["2024-01-28"], monthly, utc(2024, 4, 1)) == (
        "2024-01-01",
        "2024-02-01",
    )


def test_monthly_downstream_daily_upstream_is_the_whole_month() -> None:
    # [tw_monthly_down_daily_up]
    monthly = MonthlyPartitionsDefinition("2024-01-01")
    daily = DailyPartitionsDefinition("2024-01-01")
    result = TW().upstream_partitions(monthly, ["2024-02-01"], daily, utc(2024, 4, 1))
    assert up(result) == (tuple(f"2024-02-{d:02d}" for d in range(1, 30)), ())
    result = TW(start_offset=-1).upstream_partitions(
        monthly, ["2024-02-01"], monthly, utc(2024, 4, 1)
    )
    assert up(result) == (("2024-01-01", "2024-02-01"), ())


def test_timezone_mismatch_is_invalid() -> None:  # [tw_timezone_mismatch_error]
    with pytest.raises(InvalidInput, match="Timezones America/New_York and UTC don't match"):
        TW().validate(NY_DAILY, DAILY)
    with pytest.raises(InvalidInput, match="Timezones UTC and America/New_York don't match"):
        TW().upstream_partitions(NY_DAILY, ["2024-01-05"], DAILY, NOW)


def test_time_window_mapping_needs_time_windows_on_both_sides() -> None:
    static = StaticPartitionsDefinition(["a"])
    with pytest.raises(InvalidInput, match="upstream partitions must be time windows"):
        TW().validate(static, DAILY)
    with pytest.raises(InvalidInput, match=r"downstream partitions must be time windows.*unpart"):
        TW().validate(DAILY, None)
    TW().validate(DAILY, DailyPartitionsDefinition("2023-06-01"))


def test_unknown_downstream_key_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="'2023-12-31'"):
        TW().upstream_partitions(DAILY, ["2023-12-31"], DAILY, NOW)
    with pytest.raises(InvalidInput, match="must be an int"):
        TW(start_offset=True)


# --------------------------------------------------------------------------- identity

ABC = StaticPartitionsDefinition(["a", "b", "c"])
BCD = StaticPartitionsDefinition(["b", "c", "d"])


def test_identity_maps_a_key_to_itself() -> None:  # [identity_same]
    result = IdentityPartitionMapping().upstream_partitions(ABC, ["c", "a"], ABC, NOW)
    assert up(result) == (("a", "c"), ())
    assert IdentityPartitionMapping().downstream_partitions(ABC, ["b"], ABC, NOW) == ("b",)


def test_identity_between_different_key_sets_intersects() -> None:  # [identity_mismatched]
    result = IdentityPartitionMapping().upstream_partitions(ABC, ["a", "b", "c"], BCD, NOW)
    assert up(result) == (("b", "c"), ("a",))
    assert IdentityPartitionMapping().downstream_partitions(BCD, ["b", "d"], ABC, NOW) == ("b",)


def test_identity_with_dynamic_partitions_reads_the_dynamic_keys() -> None:
    dynamic_def = DynamicPartitionsDefinition("customers")
    dynamic = {"customers": ["c2", "c1"]}
    result = IdentityPartitionMapping().upstream_partitions(
        ABC, ["a"], dynamic_def, NOW, dynamic=dynamic
    )
    assert up(result) == ((), ("a",))
    other = DynamicPartitionsDefinition("accounts")
    result = IdentityPartitionMapping().upstream_partitions(
        other, ["c1", "c3"], dynamic_def, NOW, {"customers": ["c2", "c1"], "accounts": ["c1"]}
    )
    assert up(result) == (("c1",), ("c3",))


def test_identity_validate_compares_partition_kinds() -> None:
    with pytest.raises(InvalidInput, match=r"upstream is static.*downstream is time_window"):
        IdentityPartitionMapping().validate(ABC, DAILY)
    with pytest.raises(InvalidInput, match="needs a partitioned upstream"):
        IdentityPartitionMapping().validate(None, DAILY)
    # Dagster rejects Daily vs. an equivalent custom cron (quirk 7); we accept it, and the
    # mapping works by key.
    custom = TimeWindowPartitionsDefinition("0 0 * * *", "2024-01-01", "%Y-%m-%d")
    IdentityPartitionMapping().validate(DAILY, custom)
    result = IdentityPartitionMapping().upstream_partitions(custom, ["2024-01-03"], DAILY, NOW)
    assert up(result) == (("2024-01-03",), ())


# --------------------------------------------------------------------------- all / last


def test_all_maps_every_downstream_key_to_every_upstream_key() -> None:  # [all_*]
    result = AllPartitionMapping().upstream_partitions(BCD, ["b"], ABC, NOW)
    assert up(result) == (("a", "b", "c"), ())
    assert AllPartitionMapping().downstream_partitions(ABC, ["c"], BCD, NOW) == ("b", "c", "d")
    assert AllPartitionMapping().downstream_partitions(ABC, [], BCD, NOW) == ()


def test_all_with_unpartitioned_sides() -> None:
    result = AllPartitionMapping().upstream_partitions(None, [], DAILY, utc(2024, 1, 4))
    assert up(result) == (("2024-01-01", "2024-01-02", "2024-01-03"), ())
    assert up(AllPartitionMapping().upstream_partitions(ABC, ["a"], None, NOW)) == ((), ())
    assert AllPartitionMapping().downstream_partitions(None, ["x"], ABC, NOW) == ("a", "b", "c")
    assert AllPartitionMapping().downstream_partitions(ABC, ["a"], None, NOW) == ()
    AllPartitionMapping().validate(None, None)


def test_last_maps_to_the_last_upstream_partition() -> None:  # [last_*]
    result = LastPartitionMapping().upstream_partitions(ABC, ["a", "b"], DAILY, NOW)
    assert up(result) == (("2024-01-09",), ())
    result = LastPartitionMapping().upstream_partitions(None, [], BCD, NOW)
    assert up(result) == (("d",), ())
    # No upstream partition yet: nothing.
    result = LastPartitionMapping().upstream_partitions(None, [], DAILY, utc(2024, 1, 1, 12))
    assert up(result) == ((), ())


def test_last_respects_the_upstream_end_offset() -> None:  # [last_end_offset]
    with_current = DailyPartitionsDefinition("2024-01-01", end_offset=1)
    result = LastPartitionMapping().upstream_partitions(None, [], with_current, utc(2024, 1, 10, 8))
    assert up(result) == (("2024-01-10",), ())


def test_only_the_last_upstream_partition_maps_downstream() -> None:  # [last_downstream]
    mapping = LastPartitionMapping()
    assert mapping.downstream_partitions(DAILY, ["2024-01-09"], ABC, NOW) == ("a", "b", "c")
    assert mapping.downstream_partitions(DAILY, ["2024-01-08"], ABC, NOW) == ()
    assert mapping.downstream_partitions(DAILY, ["2024-01-09"], None, NOW) == ()
    with pytest.raises(InvalidInput, match="needs a partitioned upstream"):
        mapping.validate(None, ABC)


# --------------------------------------------------------------------------- static / specific

UPS = StaticPartitionsDefinition(["u1", "u2", "u3"])
DOWNS = StaticPartitionsDefinition(["d1", "d2"])
STATIC = StaticPartitionMapping({"u1": ["d1", "d2"], "u2": "d2"})


def test_static_mapping_is_many_to_many() -> None:  # [static_mapping]
    assert up(STATIC.upstream_partitions(DOWNS, ["d2"], UPS, NOW)) == (("u1", "u2"), ())
    assert up(STATIC.upstream_partitions(DOWNS, ["d1"], UPS, NOW)) == (("u1",), ())
    assert STATIC.downstream_partitions(UPS, ["u1"], DOWNS, NOW) == ("d1", "d2")
    assert STATIC.downstream_partitions(UPS, ["u2"], DOWNS, NOW) == ("d2",)
    assert STATIC.downstream_partitions(UPS, ["u3"], DOWNS, NOW) == ()
    STATIC.validate(UPS, DOWNS)


def test_static_mapping_rejects_unknown_keys() -> None:  # [static_mapping_unknown_upstream]
    bad = StaticPartitionMapping({"u1": "d1", "u9": "d1"})
    with pytest.raises(InvalidInput, match=r"source keys \['u9'\] are not in the upstream"):
        bad.validate(UPS, DOWNS)
    with pytest.raises(InvalidInput, match="u9"):
        bad.upstream_partitions(DOWNS, ["d1"], UPS, NOW)
    with pytest.raises(InvalidInput, match=r"target keys \['d9'\] are not in the downstream"):
        StaticPartitionMapping({"u1": "d9"}).validate(UPS, DOWNS)
    with pytest.raises(InvalidInput, match="upstream partitions must be static"):
        STATIC.validate(DAILY, DOWNS)


def test_specific_partitions_are_fixed_upstream_keys() -> None:  # [specific_partitions]
    mapping = SpecificPartitionsPartitionMapping(["u3", "u1"])
    assert up(mapping.upstream_partitions(DOWNS, ["d1"], UPS, NOW)) == (("u1", "u3"), ())
    assert up(mapping.upstream_partitions(None, [], UPS, NOW)) == (("u1", "u3"), ())
    assert mapping.downstream_partitions(UPS, ["u1"], DOWNS, NOW) == ("d1", "d2")
    assert mapping.downstream_partitions(UPS, ["u2"], DOWNS, NOW) == ()
    mapping.validate(UPS, DOWNS)


def test_specific_partitions_not_yet_upstream_are_nonexistent() -> None:
    mapping = SpecificPartitionsPartitionMapping(["2024-01-09", "2024-01-20"])
    assert up(mapping.upstream_partitions(None, [], DAILY, NOW)) == (
        ("2024-01-09",),
        ("2024-01-20",),
    )
    mapping.validate(DAILY, None)
    with pytest.raises(InvalidInput, match=r"\['u9'\] can never be in the upstream"):
        SpecificPartitionsPartitionMapping(["u1", "u9"]).validate(UPS, DOWNS)


# --------------------------------------------------------------------------- multi

COLORS = StaticPartitionsDefinition(["red", "green"])
DAYS = DailyPartitionsDefinition("2024-01-01")
COLOR_DATE = MultiPartitionsDefinition({"date": DAYS, "color": COLORS})
SOON = utc(2024, 1, 4)  # dates 2024-01-01 .. 2024-01-03


def test_multi_to_single_upstream_multi() -> None:  # [multi_to_single_upstream_multi]
    mapping = MultiToSingleDimensionPartitionMapping()
    result = mapping.upstream_partitions(COLORS, ["red"], COLOR_DATE, SOON)
    assert up(result) == (("red|2024-01-01", "red|2024-01-02", "red|2024-01-03"), ())
    assert mapping.downstream_partitions(
        COLOR_DATE, ["green|2024-01-02", "red|2024-01-01"], COLORS, SOON
    ) == ("red", "green")
    mapping.validate(COLOR_DATE, COLORS)


def test_multi_to_single_downstream_multi() -> None:  # [multi_to_single_downstream_multi]
    mapping = MultiToSingleDimensionPartitionMapping("date")
    result = mapping.upstream_partitions(COLOR_DATE, ["green|2024-01-02"], DAYS, SOON)
    assert up(result) == (("2024-01-02",), ())
    assert mapping.downstream_partitions(DAYS, ["2024-01-03"], COLOR_DATE, SOON) == (
        "red|2024-01-03",
        "green|2024-01-03",
    )


def test_multi_to_single_infers_the_time_dimension_for_other_time_windows() -> None:
    hourly = HourlyPartitionsDefinition("2024-01-01-00:00")
    mapping = MultiToSingleDimensionPartitionMapping()
    result = mapping.upstream_partitions(hourly, ["2024-01-02-05:00"], COLOR_DATE, SOON)
    assert up(result) == (("red|2024-01-02", "green|2024-01-02"), ())
    assert default_partition_mapping(COLOR_DATE, hourly) == mapping


def test_multi_to_single_needs_a_name_when_several_dimensions_match() -> None:
    twice = MultiPartitionsDefinition({"a": COLORS, "b": COLORS})
    with pytest.raises(InvalidInput, match=r"must be given, dimensions \['a', 'b'\] all match"):
        MultiToSingleDimensionPartitionMapping().validate(twice, COLORS)
    mapping = MultiToSingleDimensionPartitionMapping("b")
    result = mapping.upstream_partitions(COLORS, ["red"], twice, SOON)
    assert up(result) == (("red|red", "green|red"), ())
    with pytest.raises(InvalidInput, match="dimension 'zzz' is not in"):
        MultiToSingleDimensionPartitionMapping("zzz").validate(twice, COLORS)
    with pytest.raises(InvalidInput, match="exactly one multi-partitioned side, got 0"):
        MultiToSingleDimensionPartitionMapping().validate(COLORS, COLORS)


MULTI_PREVIOUS_DAY = MultiPartitionMapping(
    {
        "color": DimensionPartitionMapping("color", IdentityPartitionMapping()),
        "date": DimensionPartitionMapping("date", TW(start_offset=-1, end_offset=-1)),
    }
)


def test_multi_mapping_composes_dimension_mappings() -> None:  # [multi_mapping_previous_day]
    now = utc(2024, 1, 10)
    result = MULTI_PREVIOUS_DAY.upstream_partitions(COLOR_DATE, ["red|2024-01-05"], COLOR_DATE, now)
    assert up(result) == (("red|2024-01-04",), ())
    result = MULTI_PREVIOUS_DAY.upstream_partitions(COLOR_DATE, ["red|2024-01-01"], COLOR_DATE, now)
    assert up(result) == ((), ())
    assert MULTI_PREVIOUS_DAY.downstream_partitions(
        COLOR_DATE, ["green|2024-01-04"], COLOR_DATE, now
    ) == ("green|2024-01-05",)
    MULTI_PREVIOUS_DAY.validate(COLOR_DATE, COLOR_DATE)


def test_multi_mapping_leaves_unnamed_dimensions_to_all() -> None:  # [multi_mapping_partial]
    by_date = MultiPartitionMapping({"date": DimensionPartitionMapping("date", TW())})
    result = by_date.upstream_partitions(COLOR_DATE, ["red|2024-01-02"], COLOR_DATE, SOON)
    assert up(result) == (("red|2024-01-02", "green|2024-01-02"), ())


def test_multi_mapping_reports_nonexistent_as_multi_keys() -> None:
    later = MultiPartitionsDefinition(
        {"date": DailyPartitionsDefinition("2024-01-03"), "color": COLORS}
    )
    same_day = MultiPartitionMapping(
        {
            "color": DimensionPartitionMapping("color", IdentityPartitionMapping()),
            "date": DimensionPartitionMapping("date", TW()),
        }
    )
    result = same_day.upstream_partitions(COLOR_DATE, ["red|2024-01-02"], later, SOON)
    assert up(result) == ((), ("red|2024-01-02",))


def test_multi_mapping_validation_names_the_bad_dimension() -> None:
    with pytest.raises(InvalidInput, match="upstream dimension 'colour' is not in"):
        MultiPartitionMapping(
            {"colour": DimensionPartitionMapping("color", IdentityPartitionMapping())}
        ).validate(COLOR_DATE, COLOR_DATE)
    ny = MultiPartitionsDefinition({"date": NY_DAILY, "color": COLORS})
    with pytest.raises(InvalidInput, match="Timezones America/New_York and UTC don't match"):
        MULTI_PREVIOUS_DAY.validate(ny, COLOR_DATE)
    with pytest.raises(InvalidInput, match="both map to downstream dimension 'date'"):
        MultiPartitionMapping(
            {
                "color": DimensionPartitionMapping("date", IdentityPartitionMapping()),
                "date": DimensionPartitionMapping("date", TW()),
            }
        )
    with pytest.raises(InvalidInput, match="downstream partitions must be multi"):
        MULTI_PREVIOUS_DAY.validate(COLOR_DATE, COLORS)


# --------------------------------------------------------------------------- default mapping

HOURLY = HourlyPartitionsDefinition("2024-01-01-00:00")


@pytest.mark.parametrize(
    ("upstream", "downstream", "expected"),
    [
        (DAILY, DAILY, TW()),  # [default_time_time]
        (HOURLY, DAILY, TW()),  # [default_time_time_different]
        (MonthlyPartitionsDefinition("2024-01-01"), DAILY, TW()),
        (COLOR_DATE, COLORS, MultiToSingleDimensionPartitionMapping()),  # [default_multi_single]
        (COLORS, COLOR_DATE, MultiToSingleDimensionPartitionMapping()),  # [default_single_multi]
        (DAYS, COLOR_DATE, MultiToSingleDimensionPartitionMapping()),
        (ABC, ABC, IdentityPartitionMapping()),  # [default_static_static]
        (ABC, DAILY, IdentityPartitionMapping()),  # [default_other]
        (COLOR_DATE, COLOR_DATE, IdentityPartitionMapping()),
        (ABC, COLOR_DATE, IdentityPartitionMapping()),  # no dimension matches
        (DynamicPartitionsDefinition("x"), ABC, IdentityPartitionMapping()),
        (DAILY, None, AllPartitionMapping()),  # [default_unpartitioned_downstream]
        (None, DAILY, AllPartitionMapping()),  # [default_unpartitioned_upstream]
        (None, None, AllPartitionMapping()),
    ],
)
def test_default_mapping_inference(
    upstream: PartitionsDefinition | None,
    downstream: PartitionsDefinition | None,
    expected: PartitionMapping,
) -> None:
    assert default_partition_mapping(upstream, downstream) == expected


# --------------------------------------------------------------------------- snapshots

EVERY_MAPPING: list[PartitionMapping] = [
    IdentityPartitionMapping(),
    TW(),
    TW(start_offset=-2, end_offset=1, allow_nonexistent_upstream_partitions=True),
    AllPartitionMapping(),
    LastPartitionMapping(),
    STATIC,
    SpecificPartitionsPartitionMapping(["u1", "u3"]),
    MultiToSingleDimensionPartitionMapping(),
    MultiToSingleDimensionPartitionMapping("date"),
    MULTI_PREVIOUS_DAY,
]


@pytest.mark.parametrize("mapping", EVERY_MAPPING, ids=lambda m: m.to_snapshot()["kind"])
def test_snapshot_round_trip(mapping: PartitionMapping) -> None:
    snapshot = mapping.to_snapshot()
    again = mapping_from_snapshot(snapshot)
    assert type(again) is type(mapping)
    assert again == mapping
    assert hash(again) == hash(mapping)
    assert again.to_snapshot() == snapshot


def test_snapshots_are_plain_json() -> None:
    assert STATIC.to_snapshot() == {"kind": "static", "mapping": {"u1": ["d1", "d2"], "u2": ["d2"]}}
    assert MULTI_PREVIOUS_DAY.to_snapshot() == {
        "kind": "multi",
        "mappings": {
            "color": {"dimension_name": "color", "partition_mapping": {"kind": "identity"}},
            "date": {
                "dimension_name": "date",
                "partition_mapping": {
                    "kind": "time_window",
                    "start_offset": -1,
                    "end_offset": -1,
                    "allow_nonexistent_upstream_partitions": False,
                },
            },
        },
    }
    assert len({m for m in EVERY_MAPPING}) == len(EVERY_MAPPING)


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        ({"kind": "nope"}, "unknown partition mapping kind 'nope'"),
        ({"kind": "static"}, "static partition mapping snapshot is missing 'mapping'"),
        ({"kind": "time_window", "start_offset": "x"}, "start_offset 'x' must be an int"),
        ({"kind": "multi", "mappings": {"a": {"dimension_name": "a"}}}, "'partition_mapping'"),
        ([1], "must be an object"),
    ],
)
def test_bad_snapshots_are_invalid_input(snapshot: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        mapping_from_snapshot(snapshot)
