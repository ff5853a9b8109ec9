"""What a code location must satisfy as a whole, and how each node normalises what it is given
(mutation survivors of `domain/definitions.py`, issue 15)."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import pytest

from arco.domain.automation_conditions import AutomationCondition as AC  # noqa: N817
from arco.domain.canonical import canonical_json
from arco.domain.cron import CronSchedule
from arco.domain.definitions import (
    AssetDepNode,
    AssetNode,
    CheckNode,
    DefinitionsSnapshot,
    FreshnessPolicy,
    JobNode,
    RetryPolicy,
    ScheduleNode,
    SensorNode,
    validate_schedule_name,
)
from arco.domain.errors import InvalidInput
from arco.sdk import (
    AllPartitionMapping,
    AssetDep,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    MultiPartitionsDefinition,
    SpecificPartitionsPartitionMapping,
    StaticPartitionsDefinition,
)

UTC_DAYS = DailyPartitionsDefinition(start_date="2024-01-01")
BERLIN_DAYS = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")


def _refused(message: str) -> Any:
    return pytest.raises(InvalidInput, match=re.escape(message))


def _asset(key: str, **fields: Any) -> AssetNode:
    return AssetNode(key, compute=f"m:{key}", **fields)


def _snapshot(*assets: AssetNode, **nodes: Any) -> DefinitionsSnapshot:
    return DefinitionsSnapshot("loc", {a.key: a for a in assets}, **nodes)


def _schedule(name: str = "s", **fields: Any) -> ScheduleNode:
    return ScheduleNode(**{"name": name, "cron": "0 * * * *", "target": ("a",), **fields})


# --- the code location's name -------------------------------------------------------------


@pytest.mark.parametrize("name", ["", 5, "x" * 501, "bad\nname"])
def test_a_code_location_name_is_1_to_500_printable_characters(name: Any) -> None:
    with _refused("invalid code location name"):
        DefinitionsSnapshot(name, {})


def test_a_code_location_name_of_500_characters_is_accepted() -> None:
    assert DefinitionsSnapshot("x" * 500, {}).code_location == "x" * 500


# --- dependency cycles ------------------------------------------------------------------------


def test_a_cycle_is_found_past_assets_already_finished() -> None:
    """`a` is finished when the search reaches it again (from `b`, and as a root); the cycle
    between `c` and `d`, each of which depends on `a` first, is still found."""
    assets = (
        _asset("a"),
        _asset("b", deps=(AssetDepNode("a"),)),
        _asset("c", deps=(AssetDepNode("a"), AssetDepNode("d"))),
        _asset("d", deps=(AssetDepNode("a"), AssetDepNode("c"))),
    )
    with _refused("dependency cycle: c -> d -> c"):
        _snapshot(*assets)


def test_a_cycle_is_found_after_a_root_already_finished() -> None:
    """Root `a` finishes `b` (its upstream); root `b` is then skipped, and `c`/`d` still checked."""
    assets = (
        _asset("a", deps=(AssetDepNode("b"),)),
        _asset("b"),
        _asset("c", deps=(AssetDepNode("d"),)),
        _asset("d", deps=(AssetDepNode("c"),)),
    )
    with _refused("dependency cycle: c -> d -> c"):
        _snapshot(*assets)


def test_the_search_goes_on_from_where_it_was_after_finishing_an_asset() -> None:
    """From root `c`, its upstream `c_leaf` finishes first (upstreams are searched in key
    order); the search then goes on to `d` and finds the cycle from `c` (from root `d` it would
    be reported as d -> c -> d)."""
    assets = (
        _asset("c", deps=(AssetDepNode("d"), AssetDepNode("c_leaf"))),
        _asset("c_leaf"),
        _asset("d", deps=(AssetDepNode("c"),)),
    )
    with _refused("dependency cycle: c -> d -> c"):
        _snapshot(*assets)


# --- edges between the same two partitions definitions ----------------------------------------


def test_an_explicit_mapping_is_checked_after_an_implicit_edge_of_the_same_partitions() -> None:
    a = AssetSpec("a", partitions_def=UTC_DAYS)
    b = AssetSpec("b", deps=[a], partitions_def=UTC_DAYS)
    before_start = SpecificPartitionsPartitionMapping(["2023-12-31"])
    c = AssetSpec("c", deps=[AssetDep(a, partition_mapping=before_start)], partitions_def=UTC_DAYS)
    with _refused("dependency of 'c' on 'a'"):
        Definitions(assets=[a, b, c]).snapshot("loc")


def test_an_implicit_edge_is_checked_after_an_explicit_one_of_the_same_partitions() -> None:
    """Berlin days to UTC days: fine with an explicit all-partitions mapping, refused with the
    default time-window mapping."""
    z = AssetSpec("z", partitions_def=BERLIN_DAYS)
    b = AssetSpec(
        "b", deps=[AssetDep(z, partition_mapping=AllPartitionMapping())], partitions_def=UTC_DAYS
    )
    c = AssetSpec("c", deps=[z], partitions_def=UTC_DAYS)
    with _refused("dependency of 'c' on 'z': time-window partition timezones don't match"):
        Definitions(assets=[z, b, c]).snapshot("loc")


# --- schedules --------------------------------------------------------------------------------


def test_a_partitioned_schedule_may_not_target_an_unpartitioned_asset() -> None:
    assets = (_asset("a", partitions=UTC_DAYS), _asset("b"))
    schedule = _schedule(target=("a", "b"), partitioned=True, cron="0 0 * * *")
    with _refused("schedule 's' is partitioned but targets unpartitioned asset 'b'"):
        _snapshot(*assets, schedules={"s": schedule})


def test_a_schedule_runs_in_the_timezone_of_a_multi_partitions_time_dimension() -> None:
    by_day = MultiPartitionsDefinition(
        {"color": StaticPartitionsDefinition(["red"]), "date": BERLIN_DAYS}
    )
    schedule = _schedule(target=("a",), partitioned=True, cron="0 0 * * *")
    with _refused("schedule 's' runs in timezone UTC but the partitions of its targets are in"):
        _snapshot(_asset("a", partitions=by_day), schedules={"s": schedule})
    berlin = _schedule(target=("a",), partitioned=True, cron="0 0 * * *", timezone="Europe/Berlin")
    assert _snapshot(_asset("a", partitions=by_day), schedules={"s": berlin}).schedules["s"]


def test_a_schedules_run_config_is_checked_when_it_is_deployed() -> None:
    schedule = _schedule(run_config={"bogus": 1})
    with _refused("schedule 's': run config: unknown top-level key 'bogus'"):
        _snapshot(_asset("a"), schedules={"s": schedule})
    fine = _schedule(run_config={"ops": {}})
    assert _snapshot(_asset("a"), schedules={"s": fine}).schedules["s"].run_config == {"ops": {}}


def test_a_schedule_built_from_a_cron_string_holds_a_cron_schedule() -> None:
    schedule = _schedule(cron="15 * * * *")
    assert schedule.cron == CronSchedule.parse("15 * * * *")


def test_a_schedule_holds_its_tags_sorted_and_as_a_plain_dict() -> None:
    schedule = _schedule(tags=MappingProxyType({"z": "1", "a": "2"}))
    assert type(schedule.tags) is dict and list(schedule.tags) == ["a", "z"]


def test_the_partitions_of_a_schedule_are_those_its_targets_share() -> None:
    assets = (_asset("a", partitions=UTC_DAYS), _asset("b", partitions=UTC_DAYS), _asset("c"))
    schedules = {
        "days": _schedule("days", target=("a", "b"), partitioned=True, cron="0 0 * * *"),
        "plain": _schedule("plain", target=("c",)),
    }
    snapshot = _snapshot(*assets, schedules=schedules)
    assert snapshot.schedule_partitions("days") == UTC_DAYS
    assert snapshot.schedule_partitions("plain") is None


# --- sensors and jobs -------------------------------------------------------------------------


def _sensor(name: str = "s", **fields: Any) -> SensorNode:
    return SensorNode(**{"name": name, "kind": "asset", "target": ("a",), **fields})


def test_a_sensor_must_be_listed_under_its_own_name() -> None:
    with _refused("sensor 'x' is not a SensorNode listed under its own name"):
        _snapshot(_asset("a"), _asset("b"), sensors={"x": _sensor(monitored_assets=("b",))})


def test_a_sensor_referring_to_an_unknown_asset_is_named() -> None:
    with _refused("sensor 's' refers to unknown asset 'nope'"):
        _snapshot(_asset("a"), sensors={"s": _sensor(monitored_assets=("nope",))})


def test_an_asset_sensor_monitors_at_least_one_asset() -> None:
    with _refused("sensor 's': an asset sensor monitors at least one asset"):
        _sensor(monitored_assets=())


def test_two_push_sensors_may_not_share_a_subscription() -> None:
    def push(name: str) -> SensorNode:
        return _sensor(name, kind="push", subscription="projects/my-proj/subscriptions/orders")

    with _refused("sensor 'second' and sensor 'first' share the subscription 'orders'"):
        _snapshot(_asset("a"), sensors={"first": push("first"), "second": push("second")})


def test_a_job_must_be_listed_under_its_own_name() -> None:
    job = JobNode(name="j", selection="a", assets=("a",))
    with _refused("job 'x' is not a JobNode listed under its own name"):
        _snapshot(_asset("a"), jobs={"x": job})


def test_a_job_name_is_checked_as_a_job_name() -> None:
    with _refused("invalid job name 'no good'"):
        JobNode(name="no good", selection="a", assets=("a",))


def test_a_jobs_two_partitioned_assets_must_share_their_partitions() -> None:
    hours = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    assets = (_asset("a", partitions=UTC_DAYS), _asset("b", partitions=hours))
    job = JobNode(name="j", selection="a b", assets=("a", "b"))
    with _refused("job 'j': its partitioned assets do not share one partitions definition"):
        _snapshot(*assets, jobs={"j": job})


def test_every_schedule_naming_a_job_is_checked_after_one_that_names_none() -> None:
    schedules = {"a_plain": _schedule("a_plain"), "b_job": _schedule("b_job", job="missing")}
    with _refused("schedule 'b_job' targets unknown job 'missing'"):
        _snapshot(_asset("a"), schedules=schedules)


# --- names and policies -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a..b", "..", "x.."])
def test_a_schedule_name_may_not_hold_two_dots_in_a_row(name: str) -> None:
    with _refused("without '..'"):
        validate_schedule_name(name)
    assert validate_schedule_name("a.b.c") == "a.b.c"


@pytest.mark.parametrize(
    "build",
    [
        lambda: FreshnessPolicy(cron_schedule="* *"),
        lambda: FreshnessPolicy(maximum_lag_minutes=5, cron_timezone="Mars/Base"),
    ],
)
def test_a_freshness_policy_names_itself_first(build: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^freshness policy: "):
        build()


def test_a_freshness_snapshot_names_the_field_it_cannot_read() -> None:
    with pytest.raises(InvalidInput, match=r"^freshness: field 'cron_timezone' must be a str"):
        FreshnessPolicy.from_json({"maximum_lag_minutes": 5.0, "cron_timezone": 5})


def test_a_retry_delay_hashes_the_same_written_as_an_int_or_a_float() -> None:
    whole, real = RetryPolicy(max_retries=1, delay=2), RetryPolicy(max_retries=1, delay=2.0)
    assert canonical_json(whole.to_json()) == canonical_json(real.to_json())


def test_an_assets_checks_are_held_sorted_by_name() -> None:
    node = _asset("a", checks=(CheckNode("z_check"), CheckNode("a_check")))
    assert [c.name for c in node.checks] == ["a_check", "z_check"]


# --- automation conditions in the snapshot ---------------------------------------------------


def test_each_distinct_condition_is_written_once_and_named_by_index() -> None:
    eager = AC.eager()
    assets = [
        _asset("a"),
        _asset("b", automation_condition=eager),
        _asset("c", automation_condition=eager),
        _asset("d", automation_condition=AC.on_missing()),
    ]
    snapshot = _snapshot(*assets)
    data = snapshot.to_json()
    conditions = data["automation_conditions"]
    assert len(conditions) == 2
    by_key = {a["key"]: a.get("automation_condition") for a in data["assets"]}
    assert by_key["a"] is None and by_key["b"] == by_key["c"] != by_key["d"]
    assert AC.from_json(conditions[by_key["b"]]) == eager
    again = DefinitionsSnapshot.from_json(data)
    assert again == snapshot and again.content_hash == snapshot.content_hash
    assert again.assets["b"].automation_condition is again.assets["c"].automation_condition
    assert "automation_conditions" not in _snapshot(_asset("a")).to_json()


def test_a_snapshot_with_conditions_written_inline_still_reads() -> None:
    snapshot = _snapshot(_asset("b", automation_condition=AC.eager()))
    data = snapshot.to_json()
    inline = {k: v for k, v in data.items() if k != "automation_conditions"}
    inline["assets"] = [{**data["assets"][0], "automation_condition": AC.eager().to_json()}]
    assert DefinitionsSnapshot.from_json(inline).assets["b"].automation_condition == AC.eager()


@pytest.mark.parametrize(
    ("conditions", "reference", "message"),
    [
        ([], 0, "automation condition 0 is not in the snapshot"),
        ([{"kind": "missing"}], 1, "automation condition 1 is not in the snapshot"),
        ([{"kind": "missing"}], -1, "automation condition -1 is not in the snapshot"),
        (["missing"], 0, "automation condition #0 of the snapshot: it must be an object"),
        ([{"kind": "nope"}], 0, "automation condition #0 of the snapshot: unknown automation"),
    ],
)
def test_a_condition_reference_must_name_a_condition_of_the_snapshot(
    conditions: list[Any], reference: int, message: str
) -> None:
    data = _snapshot(_asset("b")).to_json()
    data["assets"][0]["automation_condition"] = reference
    data["automation_conditions"] = conditions
    with _refused(message):
        DefinitionsSnapshot.from_json(data)


def test_a_snapshot_says_format_2_only_when_it_uses_what_format_1_cannot_say() -> None:
    plain = _snapshot(_asset("a"))
    assert plain.to_json()["format"] == 1
    conditions = _snapshot(_asset("b", automation_condition=AC.eager()))
    assert conditions.to_json()["format"] == 2
    running = DefinitionsSnapshot("loc", {"a": _asset("a")}, automation_default_running=True)
    assert running.to_json()["format"] == 2
    assert DefinitionsSnapshot.from_json(running.to_json()) == running
    with _refused("definitions snapshot format 3 is not supported"):
        DefinitionsSnapshot.from_json({**plain.to_json(), "format": 3})
