"""Run plans: tasks per asset x partition, edges that follow partition mappings (reference §6),
and Dagster's re-execution from failure (reference §13). Every `now` is fixed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.run_plan import (
    PlannedTask,
    RunPlan,
    TaskKey,
    from_failure,
    plan_run,
    resolve_partitions,
)
from arco.domain.selection import select_assets
from arco.sdk import (
    AssetDep,
    AssetSpec,
    DailyPartitionsDefinition,
    Definitions,
    HourlyPartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    WeeklyPartitionsDefinition,
    asset,
)

NOW = datetime(2024, 3, 1, tzinfo=UTC)  # the last daily partition is 2024-02-29
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
COLORS = StaticPartitionsDefinition(["red", "green", "blue", "yellow"])
WEEK = ("2024-01-01", "2024-01-07")


def days(first: str, count: int) -> list[str]:
    start = date.fromisoformat(first)
    return [(start + timedelta(days=i)).isoformat() for i in range(count)]


def hours(day: str) -> list[str]:
    return [f"{day}-{h:02d}:00" for h in range(24)]


def snapshot(*assets: Any) -> DefinitionsSnapshot:
    return Definitions(assets=list(assets)).snapshot("tests:defs")


def plan_for(
    defs: DefinitionsSnapshot,
    assets: list[str] | str,
    partition: str | None = None,
    partition_range: tuple[str, str] | None = None,
) -> RunPlan:
    keys = select_assets(assets, defs) if isinstance(assets, str) else assets
    parts = resolve_partitions(defs, keys, partition, partition_range, NOW, {})
    return plan_run(defs, keys, parts, NOW, {})


def edges(plan: RunPlan) -> dict[str, list[str]]:
    return {str(t.key): [str(d) for d in t.depends_on] for t in plan.tasks}


def tk(text: str) -> TaskKey:
    if "[" in text:
        name, part = text.rstrip("]").split("[", 1)
        return TaskKey(name, part)
    return TaskKey(text)


def tks(*texts: str) -> set[TaskKey]:
    return {tk(t) for t in texts}


@asset(partitions_def=DAILY)
def raw() -> None:
    """Layer one."""


@asset(partitions_def=DAILY)
def clean(raw: Any) -> None:
    """Layer two."""


@asset(partitions_def=DAILY)
def report(clean: Any) -> None:
    """Layer three."""


CHAIN = snapshot(raw, clean, report)


# --------------------------------------------------------------------------- task keys


def test_task_keys_print_as_asset_and_partition() -> None:
    assert str(TaskKey("raw", "2024-01-01")) == "raw[2024-01-01]"
    assert str(TaskKey("summary")) == "summary"
    assert str(TaskKey("a/b", None)) == "a/b"
    assert sorted([TaskKey("b", "1"), TaskKey("a", "2"), TaskKey("a", "1")]) == [
        TaskKey("a", "1"),
        TaskKey("a", "2"),
        TaskKey("b", "1"),
    ]


@pytest.mark.parametrize(("asset_key", "partition"), [("", None), ("a", ""), ("a", 3)])
def test_task_keys_are_checked(asset_key: str, partition: Any) -> None:
    with pytest.raises(InvalidInput):
        TaskKey(asset_key, partition)


# --------------------------------------------------------------------------- planning


def test_three_daily_layers_over_a_week() -> None:
    plan = plan_for(CHAIN, "+key:report", partition_range=WEEK)
    week = days("2024-01-01", 7)
    assert plan.keys == tuple(TaskKey(a, d) for a in ("raw", "clean", "report") for d in week)
    assert len(plan) == 21
    graph = edges(plan)
    for day in week:
        assert graph[f"raw[{day}]"] == []
        assert graph[f"clean[{day}]"] == [f"raw[{day}]"]
        assert graph[f"report[{day}]"] == [f"clean[{day}]"]


def test_a_single_partition() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition="2024-02-29")
    assert edges(plan) == {
        "raw[2024-02-29]": [],
        "clean[2024-02-29]": ["raw[2024-02-29]"],
        "report[2024-02-29]": ["clean[2024-02-29]"],
    }


def test_assets_come_in_topological_order_whatever_the_request_order() -> None:
    plan = plan_for(CHAIN, ["report", "raw", "clean", "raw"], partition="2024-01-03")
    assert [t.key.asset for t in plan.tasks] == ["raw", "clean", "report"]


def test_selecting_an_asset_never_pulls_in_its_upstreams() -> None:
    plan = plan_for(CHAIN, ["clean", "report"], partition_range=("2024-01-01", "2024-01-02"))
    assert edges(plan) == {
        "clean[2024-01-01]": [],
        "clean[2024-01-02]": [],
        "report[2024-01-01]": ["clean[2024-01-01]"],
        "report[2024-01-02]": ["clean[2024-01-02]"],
    }
    skip = plan_for(CHAIN, ["raw", "report"], partition="2024-01-01")
    assert edges(skip) == {"raw[2024-01-01]": [], "report[2024-01-01]": []}


def test_start_offset_minus_one_adds_the_previous_day_clamped_at_the_first() -> None:
    rolling = AssetSpec(
        "rolling",
        deps=[AssetDep("raw", partition_mapping=TimeWindowPartitionMapping(start_offset=-1))],
        partitions_def=DAILY,
    )
    defs = snapshot(raw, rolling)
    plan = plan_for(defs, ["raw", "rolling"], partition_range=("2024-01-01", "2024-01-04"))
    graph = edges(plan)
    # 2024-01-01 is the first partition: the offset is clamped, nothing is missing.
    assert graph["rolling[2024-01-01]"] == ["raw[2024-01-01]"]
    assert graph["rolling[2024-01-02]"] == ["raw[2024-01-01]", "raw[2024-01-02]"]
    assert graph["rolling[2024-01-04]"] == ["raw[2024-01-03]", "raw[2024-01-04]"]
    # Mid-range: the previous day exists upstream but is not in the plan, so no edge.
    later = plan_for(defs, ["raw", "rolling"], partition_range=("2024-01-10", "2024-01-11"))
    assert edges(later)["rolling[2024-01-10]"] == ["raw[2024-01-10]"]
    assert edges(later)["rolling[2024-01-11]"] == ["raw[2024-01-10]", "raw[2024-01-11]"]


def test_hourly_to_daily_each_day_waits_for_its_24_hours() -> None:
    events = AssetSpec("events", partitions_def=HOURLY)
    daily_totals = AssetSpec("daily_totals", deps=[events], partitions_def=DAILY)
    defs = snapshot(events, daily_totals)
    plan = plan_for(
        defs, ["daily_totals", "events"], partition_range=("2024-01-01-00:00", "2024-01-07-23:00")
    )
    week = days("2024-01-01", 7)
    assert len(plan) == 168 + 7
    assert plan.keys[:168] == tuple(TaskKey("events", h) for d in week for h in hours(d))
    assert plan.keys[168:] == tuple(TaskKey("daily_totals", d) for d in week)
    graph = edges(plan)
    for day in week:
        assert graph[f"daily_totals[{day}]"] == [f"events[{h}]" for h in hours(day)]


def test_hourly_partial_day_gives_the_day_with_only_its_hours_in_the_plan() -> None:
    events = AssetSpec("events", partitions_def=HOURLY)
    daily_totals = AssetSpec("daily_totals", deps=[events], partitions_def=DAILY)
    defs = snapshot(events, daily_totals)
    parts = resolve_partitions(
        defs, ["events", "daily_totals"], None, ("2024-01-01-22:00", "2024-01-02-01:00"), NOW, {}
    )
    assert parts["daily_totals"] == ("2024-01-01", "2024-01-02")
    plan = plan_run(defs, ["events", "daily_totals"], parts, NOW, {})
    assert edges(plan)["daily_totals[2024-01-01]"] == [
        "events[2024-01-01-22:00]",
        "events[2024-01-01-23:00]",
    ]


def test_daily_to_hourly_maps_each_day_to_its_hours() -> None:
    days_asset = AssetSpec("days_asset", partitions_def=DAILY)
    by_hour = AssetSpec("by_hour", deps=[days_asset], partitions_def=HOURLY)
    defs = snapshot(days_asset, by_hour)
    plan = plan_for(defs, ["days_asset", "by_hour"], partition_range=WEEK)
    assert len(plan) == 7 + 168
    graph = edges(plan)
    assert graph["by_hour[2024-01-03-05:00]"] == ["days_asset[2024-01-03]"]
    assert [k.partition for k in plan.keys if k.asset == "by_hour"][:2] == [
        "2024-01-01-00:00",
        "2024-01-01-01:00",
    ]


def test_an_upstream_with_other_partitions_is_resolved_through_its_downstream() -> None:
    # `a_daily` is the anchor (first in topological order); `b_hourly` only reaches it through
    # `c_daily`, which shares the anchor's definition: upstream direction.
    a_daily = AssetSpec("a_daily", partitions_def=DAILY)
    b_hourly = AssetSpec("b_hourly", partitions_def=HOURLY)
    c_daily = AssetSpec("c_daily", deps=[b_hourly], partitions_def=DAILY)
    defs = snapshot(a_daily, b_hourly, c_daily)
    parts = resolve_partitions(
        defs, ["a_daily", "b_hourly", "c_daily"], "2024-01-02", None, NOW, {}
    )
    assert parts == {
        "a_daily": ("2024-01-02",),
        "b_hourly": tuple(hours("2024-01-02")),
        "c_daily": ("2024-01-02",),
    }


def test_partitions_resolve_through_two_mappings_in_a_row() -> None:
    # `b_weekly` comes before `c_hourly` in the selection's order but only reaches the anchor
    # through it: it is resolved on a second pass, once `c_hourly` is.
    a_daily = AssetSpec("a_daily", partitions_def=DAILY)
    b_weekly = AssetSpec(
        "b_weekly", partitions_def=WeeklyPartitionsDefinition(start_date="2024-01-01")
    )
    c_hourly = AssetSpec("c_hourly", deps=[a_daily, b_weekly], partitions_def=HOURLY)
    defs = snapshot(a_daily, b_weekly, c_hourly)
    parts = resolve_partitions(
        defs, ["a_daily", "b_weekly", "c_hourly"], "2024-01-10", None, NOW, {}
    )
    assert parts == {
        "a_daily": ("2024-01-10",),
        "b_weekly": ("2024-01-07",),  # the week (from Sunday) holding the 10th's hours
        "c_hourly": tuple(hours("2024-01-10")),
    }


def test_unpartitioned_downstream_waits_for_every_partition_in_the_plan() -> None:
    summary = AssetSpec("summary", deps=["report"])
    defs = snapshot(raw, clean, report, summary)
    plan = plan_for(defs, ["report", "summary"], partition_range=("2024-01-01", "2024-01-03"))
    assert plan.keys[-1] == TaskKey("summary")
    assert edges(plan)["summary"] == [f"report[{d}]" for d in days("2024-01-01", 3)]


def test_partitioned_downstream_of_an_unpartitioned_asset_waits_for_its_single_task() -> None:
    lookup = AssetSpec("lookup")
    enriched = AssetSpec("enriched", deps=[lookup], partitions_def=DAILY)
    defs = snapshot(lookup, enriched)
    parts = resolve_partitions(defs, ["lookup", "enriched"], None, WEEK, NOW, {})
    assert parts["lookup"] == (None,)
    plan = plan_run(defs, ["lookup", "enriched"], parts, NOW, {})
    assert plan.keys[0] == TaskKey("lookup", None)
    for day in days("2024-01-01", 7):
        assert edges(plan)[f"enriched[{day}]"] == ["lookup"]


def test_an_unpartitioned_run_needs_no_partition() -> None:
    a = AssetSpec("a")
    b = AssetSpec("b", deps=[a])
    defs = snapshot(a, b)
    assert resolve_partitions(defs, ["b", "a"], None, None, NOW, {}) == {
        "a": (None,),
        "b": (None,),
    }
    assert edges(plan_for(defs, ["a", "b"])) == {"a": [], "b": ["a"]}


def test_static_partition_ranges_follow_definition_order() -> None:
    paint = AssetSpec("paint", partitions_def=COLORS)
    dry = AssetSpec("dry", deps=[paint], partitions_def=COLORS)
    defs = snapshot(paint, dry)
    parts = resolve_partitions(defs, ["paint", "dry"], None, ("green", "yellow"), NOW, {})
    assert parts["paint"] == ("green", "blue", "yellow")
    plan = plan_run(defs, ["paint", "dry"], parts, NOW, {})
    assert edges(plan)["dry[blue]"] == ["paint[blue]"]
    with pytest.raises(InvalidInput, match=r"'yellow'\.\.'green' is reversed"):
        resolve_partitions(defs, ["paint"], None, ("yellow", "green"), NOW, {})


def test_plan_run_puts_given_partitions_in_definition_order() -> None:
    plan = plan_run(CHAIN, ["raw"], {"raw": ["2024-01-03", "2024-01-01", "2024-01-03"]}, NOW, {})
    assert plan.keys == (TaskKey("raw", "2024-01-01"), TaskKey("raw", "2024-01-03"))


def test_static_partitions_given_out_of_order_run_in_definition_order() -> None:
    # red, green, blue, yellow: not the alphabetical order
    defs = snapshot(AssetSpec("paint", partitions_def=COLORS))
    plan = plan_run(defs, ["paint"], {"paint": ["yellow", "blue", "red"]}, NOW, {})
    assert [k.partition for k in plan.keys] == ["red", "blue", "yellow"]


def test_a_static_range_from_a_key_to_itself_is_that_key() -> None:
    defs = snapshot(AssetSpec("paint", partitions_def=COLORS))
    parts = resolve_partitions(defs, ["paint"], None, ("blue", "blue"), NOW, {})
    assert parts == {"paint": ("blue",)}


def test_thirty_days_of_three_layers() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-30"))
    assert len(plan) == 90
    assert plan.ready(set()) == tuple(TaskKey("raw", d) for d in days("2024-01-01", 30))


# --------------------------------------------------------------------------- plan questions


def test_ready_progresses_layer_by_layer() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-02"))
    assert set(plan.ready(set())) == tks("raw[2024-01-01]", "raw[2024-01-02]")
    done = tks("raw[2024-01-01]")
    assert plan.ready(done) == (TaskKey("raw", "2024-01-02"), TaskKey("clean", "2024-01-01"))
    done |= tks("raw[2024-01-02]", "clean[2024-01-01]")
    assert plan.ready(done) == (TaskKey("clean", "2024-01-02"), TaskKey("report", "2024-01-01"))
    done = set(plan.keys)
    assert plan.ready(done) == ()
    # Done keys from elsewhere are ignored; a list works as well as a set.
    assert plan.ready([TaskKey("other", "x")]) == plan.ready(set())


def test_downstream_of_is_transitive_and_inside_the_plan() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-02"))
    assert plan.downstream_of([tk("raw[2024-01-01]")]) == tks(
        "clean[2024-01-01]", "report[2024-01-01]"
    )
    assert plan.downstream_of([tk("report[2024-01-02]")]) == frozenset()
    assert plan.downstream_of([tk("raw[2024-01-01]"), tk("clean[2024-01-01]")]) == tks(
        "clean[2024-01-01]", "report[2024-01-01]"
    )
    with pytest.raises(InvalidInput, match=r"task 'raw\[2023-12-31\]' is not in this run plan"):
        plan.downstream_of([tk("raw[2023-12-31]")])


def test_subset_keeps_the_edges_among_the_kept_tasks() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-02"))
    sub = plan.subset(tks("clean[2024-01-02]", "report[2024-01-02]", "raw[2024-01-01]"))
    assert edges(sub) == {
        "raw[2024-01-01]": [],
        "clean[2024-01-02]": [],
        "report[2024-01-02]": ["clean[2024-01-02]"],
    }
    assert plan.subset(set()) == RunPlan(())
    with pytest.raises(InvalidInput, match="not in this run plan"):
        plan.subset(tks("raw[2024-01-05]"))


def test_a_plan_checks_its_own_shape() -> None:
    a, b = TaskKey("a"), TaskKey("b")
    with pytest.raises(InvalidInput, match="appears more than once"):
        RunPlan((PlannedTask(a), PlannedTask(a)))
    with pytest.raises(InvalidInput, match="depends on 'b', which is not an earlier task"):
        RunPlan((PlannedTask(a, (b,)), PlannedTask(b)))
    assert RunPlan((PlannedTask(a), PlannedTask(b, (a,)))).task(b).depends_on == (a,)
    assert a in RunPlan((PlannedTask(a),))


# --------------------------------------------------------------------------- re-execution


def test_from_failure_reruns_a_failed_middle_task_and_its_downstream_only() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-03"))
    failed = tk("clean[2024-01-02]")
    never_started = tk("report[2024-01-02]")
    succeeded = set(plan.keys) - {failed, never_started}
    retry = from_failure(plan, succeeded)
    assert edges(retry) == {
        "clean[2024-01-02]": [],
        "report[2024-01-02]": ["clean[2024-01-02]"],
    }


def test_from_failure_includes_never_started_and_interrupted_tasks() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition_range=("2024-01-01", "2024-01-03"))
    # raw[01-01] failed; raw[01-03] was interrupted (started, no result); everything else of
    # 01-01 and 01-03 never started; 01-02 all succeeded, as did the other raw.
    succeeded = tks("raw[2024-01-02]", "clean[2024-01-02]", "report[2024-01-02]")
    retry = from_failure(plan, succeeded)
    assert retry.keys == (
        tk("raw[2024-01-01]"),
        tk("raw[2024-01-03]"),
        tk("clean[2024-01-01]"),
        tk("clean[2024-01-03]"),
        tk("report[2024-01-01]"),
        tk("report[2024-01-03]"),
    )
    assert edges(retry)["clean[2024-01-03]"] == ["raw[2024-01-03]"]


def test_from_failure_reruns_downstream_tasks_even_if_they_succeeded() -> None:
    plan = plan_for(CHAIN, ["raw", "clean", "report"], partition="2024-01-01")
    retry = from_failure(plan, tks("clean[2024-01-01]", "report[2024-01-01]"))
    assert retry == plan


def test_from_failure_with_nothing_to_retry_is_an_error() -> None:
    plan = plan_for(CHAIN, ["raw"], partition="2024-01-01")
    with pytest.raises(InvalidInput, match="nothing to re-execute"):
        from_failure(plan, set(plan.keys))


# --------------------------------------------------------------------------- JSON


def test_json_round_trip_is_compact() -> None:
    events = AssetSpec("events", partitions_def=HOURLY)
    daily_totals = AssetSpec("daily_totals", deps=[events], partitions_def=DAILY)
    summary = AssetSpec("summary", deps=[daily_totals])
    defs = snapshot(events, daily_totals, summary)
    plan = plan_for(
        defs,
        ["events", "daily_totals", "summary"],
        partition_range=("2024-01-01-00:00", "2024-01-02-23:00"),
    )
    data = plan.to_json()
    assert data["format"] == 1
    assert data["assets"] == ["events", "daily_totals", "summary"]
    assert data["tasks"][0] == [0, "2024-01-01-00:00", []]
    assert data["tasks"][48] == [1, "2024-01-01", [[0, 23]]]
    assert data["tasks"][50] == [2, None, [48, 49]]
    text = json.dumps(data)
    assert RunPlan.from_json(json.loads(text)) == plan
    assert RunPlan.from_json(RunPlan(()).to_json()) == RunPlan(())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": 2, "assets": [], "tasks": []}, "format 2 is not supported"),
        ({"format": 1, "assets": [1], "tasks": []}, "'assets' must be a list"),
        ({"format": 1, "assets": ["a"], "tasks": {}}, "'tasks' must be a list"),
        ({"format": 1, "assets": ["a"], "tasks": [[1, None, []]]}, "task 0 must be"),
        ({"format": 1, "assets": ["a"], "tasks": [[0, None, [0]]]}, "bad dependency 0"),
        (
            {"format": 1, "assets": ["a"], "tasks": [[0, "x", []], [0, "y", [[0, 1]]]]},
            "task 1 has a bad dependency",
        ),
        (
            {"format": 1, "assets": ["a"], "tasks": [[0, "x", []], [0, "x", []]]},
            "more than once",
        ),
        ({"format": 1, "assets": ["a"], "tasks": [[0, 5, []]]}, "partition must be"),
        ([], "must be a JSON object"),
    ],
)
def test_malformed_json_is_rejected(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        RunPlan.from_json(data)


# --------------------------------------------------------------------------- errors


def test_a_partition_key_not_in_the_definition() -> None:
    with pytest.raises(InvalidInput, match=r"asset 'raw': partition key '2023-12-31' is not in"):
        resolve_partitions(CHAIN, ["raw", "clean"], "2023-12-31", None, NOW, {})
    with pytest.raises(InvalidInput, match="partition key '2024-03-01' is not in"):
        resolve_partitions(CHAIN, ["raw"], "2024-03-01", None, NOW, {})  # not closed yet


def test_a_reversed_range() -> None:
    with pytest.raises(InvalidInput, match=r"'2024-01-07'\.\.'2024-01-01' is reversed"):
        resolve_partitions(CHAIN, ["raw"], None, ("2024-01-07", "2024-01-01"), NOW, {})


def test_a_range_outside_the_definition() -> None:
    with pytest.raises(InvalidInput, match=r"asset 'raw': partition key '2023-12-25' is not in"):
        resolve_partitions(CHAIN, ["raw"], None, ("2023-12-25", "2024-01-02"), NOW, {})
    with pytest.raises(InvalidInput, match="partition key '2024-03-05' is not in"):
        resolve_partitions(CHAIN, ["raw"], None, ("2024-02-25", "2024-03-05"), NOW, {})


def test_a_partition_for_unpartitioned_assets() -> None:
    a = AssetSpec("a")
    defs = snapshot(a)
    with pytest.raises(
        InvalidInput, match="partition '2024-01-01' was given but no selected asset is partitioned"
    ):
        resolve_partitions(defs, ["a"], "2024-01-01", None, NOW, {})
    with pytest.raises(InvalidInput, match="no selected asset is partitioned"):
        resolve_partitions(defs, ["a"], None, WEEK, NOW, {})


def test_no_partition_for_a_partitioned_asset() -> None:
    lookup = AssetSpec("lookup")
    defs = snapshot(lookup, raw)
    with pytest.raises(
        InvalidInput, match="asset 'raw' is partitioned: give --partition or --from/--to"
    ):
        resolve_partitions(defs, ["lookup", "raw"], None, None, NOW, {})


def test_both_a_partition_and_a_range() -> None:
    with pytest.raises(InvalidInput, match="not both"):
        resolve_partitions(CHAIN, ["raw"], "2024-01-01", WEEK, NOW, {})


def test_the_anchor_decides_which_definition_the_request_names() -> None:
    events = AssetSpec("events", partitions_def=HOURLY)
    daily_totals = AssetSpec("daily_totals", deps=[events], partitions_def=DAILY)
    defs = snapshot(events, daily_totals)
    # The hourly asset comes first, so a day is not a key of the request's definition.
    with pytest.raises(InvalidInput, match="asset 'events': partition key '2024-01-01' is not"):
        resolve_partitions(defs, ["events", "daily_totals"], "2024-01-01", None, NOW, {})


def test_an_asset_with_other_partitions_and_no_mapping_path() -> None:
    paint = AssetSpec("paint", partitions_def=COLORS)
    defs = snapshot(raw, paint)
    with pytest.raises(
        InvalidInput,
        match=r"asset 'raw' has other partitions .* than 'paint'.*run 'raw' separately",
    ):
        resolve_partitions(defs, ["raw", "paint"], "red", None, NOW, {})


def test_a_path_through_an_unpartitioned_asset_does_not_carry_partitions() -> None:
    middle = AssetSpec("middle", deps=["raw"])
    paint = AssetSpec("paint", deps=[middle], partitions_def=COLORS)
    defs = snapshot(raw, middle, paint)
    with pytest.raises(InvalidInput, match="asset 'paint' has other partitions"):
        resolve_partitions(defs, ["raw", "middle", "paint"], "2024-01-01", None, NOW, {})


def test_a_mapping_that_reaches_no_partition() -> None:
    events = AssetSpec("events", partitions_def=HOURLY)
    daily_totals = AssetSpec("daily_totals", deps=[events], partitions_def=DAILY)
    defs = snapshot(events, daily_totals)
    late = datetime(2024, 1, 5, 12, tzinfo=UTC)  # 2024-01-05 has not closed yet
    with pytest.raises(InvalidInput, match="asset 'daily_totals': none of its partitions map"):
        resolve_partitions(defs, ["events", "daily_totals"], "2024-01-05-03:00", None, late, {})


def test_unknown_and_empty_selections() -> None:
    with pytest.raises(InvalidInput, match="unknown asset 'nope'"):
        resolve_partitions(CHAIN, ["raw", "nope"], "2024-01-01", None, NOW, {})
    with pytest.raises(InvalidInput, match="no assets selected"):
        resolve_partitions(CHAIN, [], "2024-01-01", None, NOW, {})
    with pytest.raises(InvalidInput, match="list of asset keys"):
        resolve_partitions(CHAIN, "raw", "2024-01-01", None, NOW, {})
    with pytest.raises(InvalidInput, match="timezone-aware"):
        resolve_partitions(CHAIN, ["raw"], "2024-01-01", None, datetime(2024, 3, 1), {})


@pytest.mark.parametrize(
    ("partitions", "message"),
    [
        ({"raw": ["2024-01-01"]}, "no partitions given for selected asset 'clean'"),
        (
            {"raw": ["2024-01-01"], "clean": ["2024-01-01"], "report": ["2024-01-01"]},
            "partitions given for asset 'report', which is not selected",
        ),
        ({"raw": ["2024-01-01"], "clean": []}, "asset 'clean': no partitions to run"),
        ({"raw": ["2024-01-01"], "clean": [None]}, "asset 'clean' is partitioned"),
        ({"raw": ["2024-01-01"], "clean": "2024-01-01"}, "must be a list of partition keys"),
        (
            {"raw": ["2024-01-01"], "clean": ["2023-01-01"]},
            "asset 'clean': partition key '2023-01-01' is not in",
        ),
    ],
)
def test_plan_run_checks_the_partitions_it_is_given(
    partitions: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        plan_run(CHAIN, ["raw", "clean"], partitions, NOW, {})


def test_plan_run_rejects_partitions_for_an_unpartitioned_asset() -> None:
    a = AssetSpec("a")
    defs = snapshot(a)
    with pytest.raises(InvalidInput, match="asset 'a' is unpartitioned"):
        plan_run(defs, ["a"], {"a": ["x"]}, NOW, {})
    with pytest.raises(InvalidInput, match="asset 'a' is unpartitioned"):
        plan_run(defs, ["a"], {"a": []}, NOW, {})


# --------------------------------------------------------------------------- mutation survivors


def test_a_plan_given_a_list_of_tasks_is_the_plan_given_a_tuple() -> None:
    as_list = RunPlan([PlannedTask(TaskKey("a"))])  # type: ignore[arg-type]
    assert as_list == RunPlan((PlannedTask(TaskKey("a")),))
    assert isinstance(as_list.tasks, tuple)
    assert hash(as_list) == hash(RunPlan((PlannedTask(TaskKey("a")),)))


@pytest.mark.parametrize(
    "task",
    [("a", ()), PlannedTask("a")],  # type: ignore[arg-type]
)
def test_a_plan_refuses_tasks_that_are_not_planned_tasks_with_task_keys(task: Any) -> None:
    with pytest.raises(InvalidInput, match="tasks must be PlannedTask values with a TaskKey"):
        RunPlan((task,))


def _chain_plan(deps: list[list[int]]) -> RunPlan:
    keys = [TaskKey("a", str(i)) for i in range(len(deps))]
    return RunPlan(
        tuple(PlannedTask(k, tuple(keys[d] for d in ds)) for k, ds in zip(keys, deps, strict=True))
    )


def test_the_json_writes_runs_of_three_or_more_positions_as_first_last_pairs() -> None:
    # The ledger format of a plan's edges (run.requested): single positions, and inclusive
    # [first, last] pairs for three or more consecutive ones.
    deps = [[], [], [], [], [], [], [], [0, 1], [0, 1, 2], [0, 2, 3, 4, 6], [1, 2, 3, 4, 5, 6]]
    plan = _chain_plan(deps)
    assert [t[2] for t in plan.to_json()["tasks"]] == [
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [0, 1],
        [[0, 2]],
        [0, [2, 4], 6],
        [[1, 6]],
    ]
    assert RunPlan.from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("dependency", "expected"),
    [([1, 1], [1]), ([0, 2], [0, 1, 2])],
)
def test_a_hand_written_range_of_positions_is_read_inclusively(
    dependency: list[int], expected: list[int]
) -> None:
    data = {"format": 1, "assets": ["a"], "tasks": [[0, str(i), []] for i in range(3)]}
    data["tasks"].append([0, "3", [dependency]])
    plan = RunPlan.from_json(data)
    assert [k.partition for k in plan.tasks[3].depends_on] == [str(i) for i in expected]


@pytest.mark.parametrize("dependency", [[2, 1], [-1, 1], ["x", 1], [0, "1"], [0, 1, 2]])
def test_a_bad_range_of_positions_is_refused(dependency: list[Any]) -> None:
    data = {"format": 1, "assets": ["a"], "tasks": [[0, str(i), []] for i in range(3)]}
    data["tasks"].append([0, "3", [dependency]])
    with pytest.raises(InvalidInput, match="task 3 has a bad dependency"):
        RunPlan.from_json(data)


@pytest.mark.parametrize("partition_range", ["ab", ["a", "b", "c"], ("red", 1), ("red",)])
def test_a_partition_range_must_be_a_pair_of_keys(partition_range: Any) -> None:
    defs = snapshot(AssetSpec("paint", partitions_def=COLORS))
    with pytest.raises(InvalidInput, match="partition range must be a"):
        resolve_partitions(defs, ["paint"], None, partition_range, NOW, {})


def test_a_range_for_unpartitioned_assets_is_named_in_the_refusal() -> None:
    defs = snapshot(AssetSpec("a"))
    with pytest.raises(InvalidInput, match=r"partition \('x', 'y'\) was given but no selected"):
        resolve_partitions(defs, ["a"], None, ("x", "y"), NOW, {})


def test_partitions_given_for_unselected_assets_of_any_key_type_are_named() -> None:
    given: dict[Any, Any] = {"raw": ["2024-01-01"], 1: [], "zz": []}
    with pytest.raises(InvalidInput, match="partitions given for asset 1, which is not selected"):
        plan_run(CHAIN, ["raw"], given, NOW, {})


def test_an_unpartitioned_asset_takes_none_only_and_a_partitioned_one_keys_only() -> None:
    defs = snapshot(AssetSpec("a"), AssetSpec("paint", partitions_def=COLORS))
    with pytest.raises(InvalidInput, match="asset 'a' is unpartitioned"):
        plan_run(defs, ["a"], {"a": [None, "x"]}, NOW, {})
    with pytest.raises(InvalidInput, match="asset 'paint' is partitioned"):
        plan_run(defs, ["paint"], {"paint": ["red", None]}, NOW, {})


def test_an_unselected_upstream_does_not_hide_a_selected_one() -> None:
    # c's upstreams are a (not selected) and b (selected): c waits for b.
    a, b = AssetSpec("a"), AssetSpec("b")
    c = AssetSpec("c", deps=[a, b])
    defs = snapshot(a, b, c)
    plan = plan_run(defs, ["b", "c"], {"b": [None], "c": [None]}, NOW, {})
    assert edges(plan)["c"] == ["b"]


def test_a_task_waits_for_its_upstream_tasks_in_plan_order() -> None:
    # COLORS' order is red, green, blue, yellow (not alphabetical): an unpartitioned
    # downstream lists its upstream tasks in that order.
    paint = AssetSpec("paint", partitions_def=COLORS)
    mix = AssetSpec("mix", deps=[paint])
    defs = snapshot(paint, mix)
    colors = ["red", "green", "blue", "yellow"]
    plan = plan_run(defs, ["paint", "mix"], {"paint": colors, "mix": [None]}, NOW, {})
    assert edges(plan)["mix"] == [f"paint[{c}]" for c in colors]


def test_two_keys_given_out_of_order_are_planned_in_definition_order() -> None:
    defs = snapshot(AssetSpec("paint", partitions_def=COLORS))
    plan = plan_run(defs, ["paint"], {"paint": ["green", "red"]}, NOW, {})
    assert [k.partition for k in plan.keys] == ["red", "green"]
