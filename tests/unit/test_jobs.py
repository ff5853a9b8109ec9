"""Asset jobs (`define_asset_job`) and the schedules and sensors that run them, compiled into
the snapshot. Crons and timezones of `build_schedule_from_partitioned_job` are Dagster 1.13's
for the same partitions and offsets."""

from __future__ import annotations

from typing import Any

import pytest

from arco.domain.definitions import DefinitionsSnapshot, JobNode
from arco.domain.errors import InvalidInput
from arco.sdk import (
    AssetSelection,
    AssetSpec,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    RunStatus,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    UnresolvedAssetJobDefinition,
    WeeklyPartitionsDefinition,
    asset,
    asset_sensor,
    build_schedule_from_partitioned_job,
    define_asset_job,
    push_sensor,
    run_status_sensor,
    sensor,
)

S = AssetSelection


@asset(group_name="sales")
def orders() -> None: ...


@asset(group_name="sales")
def revenue(orders: None) -> None: ...


@asset(group_name="ops")
def audit(revenue: None) -> None: ...


LEDGER = AssetSpec("ledger", group_name="sales")  # no code: jobs leave it out
ASSETS = [orders, revenue, audit, LEDGER]
SALES = define_asset_job("sales_job", S.groups("sales"), tags={"team": "sales"})


def snapshot(**kwargs: Any) -> DefinitionsSnapshot:
    return Definitions(assets=kwargs.pop("assets", ASSETS), **kwargs).snapshot("jobs")


# --- define_asset_job --------------------------------------------------------------------------


def test_a_job_is_compiled_to_its_selection_and_the_assets_with_code_it_selects() -> None:
    job = snapshot(jobs=[SALES]).jobs["sales_job"]
    assert job == JobNode(
        name="sales_job",
        selection="group:sales",
        assets=("orders", "revenue"),
        tags={"team": "sales"},
        run_tags={"team": "sales"},
    )


def test_the_default_selection_is_every_asset_with_code() -> None:
    job = snapshot(jobs=[define_asset_job("everything")]).jobs["everything"]
    assert (job.selection, job.assets) == ("*", ("audit", "orders", "revenue"))


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("group:sales", ("orders", "revenue")),
        (["key:orders", "key:audit"], ("audit", "orders")),
        (["revenue*"], ("audit", "revenue")),  # Dagster's clause: revenue and below
        ([orders, revenue], ("orders", "revenue")),
        (S.assets("revenue").upstream(), ("orders", "revenue")),
        (S.all() - S.groups("ops"), ("orders", "revenue")),
    ],
)
def test_selections_are_coerced_as_dagster_coerces_them(selection: Any, expected: Any) -> None:
    job = define_asset_job("j", selection)
    assert snapshot(jobs=[job]).jobs["j"].assets == expected


def test_tags_are_run_tags_unless_run_tags_are_given() -> None:
    plain = define_asset_job("a", tags={"team": "x", "n": 3})
    assert (plain.tags, plain.run_tags) == ({"n": "3", "team": "x"}, {"n": "3", "team": "x"})
    split = define_asset_job("b", tags={"team": "x"}, run_tags={"priority": "high"})
    assert (split.tags, split.run_tags) == ({"team": "x"}, {"priority": "high"})
    empty = define_asset_job("c", tags={"team": "x"}, run_tags={})  # Dagster: {} means unset
    assert empty.run_tags == {"team": "x"}


def test_jobs_round_trip_through_json_and_snapshots_without_jobs_keep_their_form() -> None:
    with_jobs = snapshot(
        jobs=[SALES], schedules=[ScheduleDefinition(job=SALES, cron_schedule="0 * * * *")]
    )
    assert DefinitionsSnapshot.from_json(with_jobs.to_json()) == with_jobs
    assert with_jobs.to_json()["schedules"][0]["job"] == "sales_job"
    plain = snapshot(
        schedules=[ScheduleDefinition("hourly", "0 * * * *", target=[orders])],
        sensors=[asset_sensor(name="s", monitored_assets=[orders], target=[revenue])],
    )
    document = plain.to_json()
    assert "jobs" not in document  # so an existing snapshot's hash does not change
    assert "job" not in document["schedules"][0] and "job" not in document["sensors"][0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: [define_asset_job("j", "key:nope")], "job 'j': .*unknown asset 'nope'"),
        (lambda: [define_asset_job("j", S.assets("ledger"))], "job 'j' selects asset 'ledger'"),
        (lambda: [define_asset_job("j", S.groups("nothing"))], "job 'j': .*matches no asset"),
        (
            lambda: [SALES, define_asset_job("sales_job", S.groups("ops"))],
            "duplicate job name 'sales_job'",
        ),
        (lambda: ["sales_job"], "takes jobs made by define_asset_job"),
    ],
)
def test_bad_jobs_are_refused_naming_the_job(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        snapshot(jobs=make())


def test_the_same_job_listed_and_used_twice_is_one_job() -> None:
    again = define_asset_job("sales_job", S.groups("sales"), tags={"team": "sales"})
    schedule = ScheduleDefinition(job=again, cron_schedule="0 * * * *")
    assert list(snapshot(jobs=[SALES, SALES], schedules=[schedule]).jobs) == ["sales_job"]


def test_a_job_name_is_validated_like_a_schedule_name() -> None:
    with pytest.raises(InvalidInput, match="invalid job name 'bad name!'"):
        define_asset_job("bad name!")
    with pytest.raises(InvalidInput, match="reserved prefix"):
        define_asset_job("j", tags={"arco/x": "1"})


DAILY = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=DAILY)
def daily_a() -> None: ...


@asset(partitions_def=HourlyPartitionsDefinition(start_date="2024-01-01-00:00"))
def hourly_b() -> None: ...


@asset
def plain_c() -> None: ...


def test_a_job_shares_one_partitions_definition_and_matches_an_explicit_one() -> None:
    assets = [daily_a, hourly_b, plain_c]
    mixed = define_asset_job("mixed", [daily_a, hourly_b])
    with pytest.raises(InvalidInput, match=r"job 'mixed': .*do not share one partitions"):
        snapshot(assets=assets, jobs=[mixed])
    other = define_asset_job("other", [daily_a], partitions_def=MONTHLY)
    with pytest.raises(InvalidInput, match="job 'other': asset 'daily_a' is partitioned"):
        snapshot(assets=assets, jobs=[other])
    fine = define_asset_job("fine", [daily_a, plain_c], partitions_def=DAILY)
    assert snapshot(assets=assets, jobs=[fine]).jobs["fine"].assets == ("daily_a", "plain_c")


# --- schedules -----------------------------------------------------------------------------


def test_a_schedule_of_a_job_targets_its_assets_and_is_named_after_it() -> None:
    defs = snapshot(schedules=[ScheduleDefinition(job=SALES, cron_schedule="0 6 * * *")])
    node = defs.schedules["sales_job_schedule"]  # picked up though not in jobs=[...]
    assert (node.target, node.job) == (("orders", "revenue"), "sales_job")
    assert list(defs.jobs) == ["sales_job"]
    assert defs.job_run_tags("schedule", "sales_job_schedule") == {"team": "sales"}


def test_a_schedule_can_name_its_job_or_take_it_as_its_target() -> None:
    by_name = ScheduleDefinition("by_name", "0 * * * *", job_name="sales_job")
    as_target = ScheduleDefinition("as_target", "0 * * * *", target=SALES)
    defs = snapshot(jobs=[SALES], schedules=[by_name, as_target])
    assert {n: s.job for n, s in defs.schedules.items()} == {
        "as_target": "sales_job",
        "by_name": "sales_job",
    }
    assert by_name.job_name == as_target.job_name == "sales_job"
    assert as_target.job is SALES and by_name.job is None


def test_a_schedule_target_may_be_an_asset_selection() -> None:
    schedule = ScheduleDefinition(
        "up", "0 * * * *", target=S.assets("revenue").upstream(), partitioned=False
    )
    node = snapshot(schedules=[schedule]).schedules["up"]
    assert (node.target, node.job) == (("orders", "revenue"), None)
    with pytest.raises(InvalidInput, match="known once the schedule is part of Definitions"):
        _ = schedule.cron_schedule


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ScheduleDefinition(cron_schedule="0 * * * *", target=S.all()), "needs a name"),
        (lambda: ScheduleDefinition("s", "0 * * * *"), "exactly one of target=, job="),
        (
            lambda: ScheduleDefinition("s", "0 * * * *", target=[orders], job=SALES),
            "exactly one of",
        ),
        (lambda: ScheduleDefinition(job=SALES), "needs cron_schedule"),
        (lambda: ScheduleDefinition("s", "0 * * * *", job="sales_job"), "define_asset_job"),
        (lambda: ScheduleDefinition(job_name="bad name", cron_schedule="0 * * * *"), "job name"),
    ],
)
def test_bad_schedules_are_refused_where_they_are_written(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()


def test_a_schedule_naming_an_unknown_job_is_refused_naming_it() -> None:
    schedule = ScheduleDefinition("s", "0 * * * *", job_name="nope")
    with pytest.raises(InvalidInput, match="schedule 's' targets job 'nope', which these"):
        snapshot(jobs=[SALES], schedules=[schedule])


# Dagster 1.13, build_schedule_from_partitioned_job(define_asset_job(..., [asset]), **offsets)
MONTHLY = MonthlyPartitionsDefinition(start_date="2024-01-01")
PARTITIONED_CRONS = [
    (HourlyPartitionsDefinition("2024-01-01-00:00", timezone="Europe/Berlin"), {}, "0 * * * *"),
    (HourlyPartitionsDefinition("2024-01-01-00:00"), {"minute_of_hour": 15}, "15 * * * *"),
    (HourlyPartitionsDefinition("2024-01-01-00:00", minute_offset=15), {}, "15 * * * *"),
    (DailyPartitionsDefinition("2024-01-01", timezone="America/New_York"), {}, "0 0 * * *"),
    (DailyPartitionsDefinition("2024-01-01"), {"hour_of_day": 3}, "0 3 * * *"),
    (
        DailyPartitionsDefinition("2024-01-01"),
        {"minute_of_hour": 10, "hour_of_day": 4},
        "10 4 * * *",
    ),
    (DailyPartitionsDefinition("2024-01-01", minute_offset=30, hour_offset=2), {}, "30 2 * * *"),
    (
        DailyPartitionsDefinition("2024-01-01", minute_offset=30, hour_offset=2),
        {"hour_of_day": 3},
        "30 3 * * *",
    ),
    (WeeklyPartitionsDefinition("2024-01-07"), {}, "0 0 * * 0"),
    (WeeklyPartitionsDefinition("2024-01-07"), {"minute_of_hour": 15}, "15 0 * * 0"),
    (WeeklyPartitionsDefinition("2024-01-07"), {"day_of_week": 2}, "0 0 * * 2"),
    (WeeklyPartitionsDefinition("2024-01-03", day_offset=3), {"hour_of_day": 3}, "0 3 * * 3"),
    (MONTHLY, {}, "0 0 1 * *"),
    (MONTHLY, {"minute_of_hour": 10, "hour_of_day": 4}, "10 4 1 * *"),
    (MONTHLY, {"day_of_month": 10}, "0 0 10 * *"),
    (MonthlyPartitionsDefinition("2024-01-05", day_offset=5), {"hour_of_day": 3}, "0 3 5 * *"),
]


@pytest.mark.parametrize(("partitions", "offsets", "cron"), PARTITIONED_CRONS)
def test_a_partitioned_job_schedule_has_dagsters_cron_and_timezone(
    partitions: Any, offsets: dict[str, int], cron: str
) -> None:
    @asset(partitions_def=partitions)
    def part() -> None: ...

    job = define_asset_job("part_job", [part])
    defs = Definitions(
        assets=[part], schedules=[build_schedule_from_partitioned_job(job, **offsets)]
    )
    node = defs.snapshot("jobs").schedules["part_job_schedule"]
    assert node.cron.expressions == (cron,)
    assert node.timezone == partitions.timezone
    assert (node.partitioned, node.job, node.target) == (True, "part_job", ("part",))


REGIONS = StaticPartitionsDefinition(["eu", "us"])


@asset(partitions_def=REGIONS)
def regional() -> None: ...


@asset(partitions_def=MultiPartitionsDefinition({"day": DAILY, "region": REGIONS}))
def two_d() -> None: ...


def test_static_and_multi_partitioned_jobs_schedule_as_in_dagster() -> None:
    static = build_schedule_from_partitioned_job(
        define_asset_job("regional_job", [regional]),
        name="static",
        cron_schedule="0 5 * * *",
        default_status=DefaultScheduleStatus.RUNNING,
    )
    multi = build_schedule_from_partitioned_job(define_asset_job("two_d_job", [two_d]))
    defs = Definitions(assets=[regional, two_d], schedules=[static, multi]).snapshot("jobs")
    assert defs.schedules["static"].cron.expressions == ("0 5 * * *",)
    assert defs.schedules["static"].default_status == "RUNNING"
    assert defs.schedules["two_d_job_schedule"].cron.expressions == ("0 0 * * *",)


@pytest.mark.parametrize(
    ("assets", "make", "message"),
    [
        (
            [orders, revenue],
            lambda: build_schedule_from_partitioned_job(define_asset_job("j", [orders])),
            "schedule 'j_schedule' is built from job 'j', which has no partitioned assets",
        ),
        (
            [daily_a, plain_c],
            lambda: build_schedule_from_partitioned_job(define_asset_job("j", [daily_a, plain_c])),
            "job 'j', which has unpartitioned asset 'plain_c'",
        ),
        (
            [regional],
            lambda: build_schedule_from_partitioned_job(define_asset_job("j", [regional])),
            "schedule 'j_schedule': its targets have no time partitions, so pass cron_schedule",
        ),
        (
            [daily_a],
            lambda: build_schedule_from_partitioned_job(
                define_asset_job("j", [daily_a]), cron_schedule="0 5 * * *"
            ),
            "the cron schedule comes from the time partitions",
        ),
        (
            [hourly_b],
            lambda: build_schedule_from_partitioned_job(
                define_asset_job("j", [hourly_b]), hour_of_day=3
            ),
            "hour_of_day does not apply",
        ),
    ],
)
def test_a_partitioned_job_schedule_on_a_job_it_cannot_schedule_is_refused(
    assets: list[Any], make: Any, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Definitions(assets=assets, schedules=[make()]).snapshot("jobs")


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        ({"day_of_week": 1, "day_of_month": 2}, "not both"),
        ({"cron_schedule": "0 * * * *", "hour_of_day": 2}, "do not combine"),
        ({"execution_timezone": "UTC", "minute_of_hour": 2}, "do not combine"),
    ],
)
def test_partitioned_job_schedule_arguments_that_contradict_are_refused(
    offsets: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_schedule_from_partitioned_job(define_asset_job("j", [daily_a]), **offsets)


# --- sensors -------------------------------------------------------------------------------


def test_sensors_request_a_job_given_as_job_name_target_or_request_job() -> None:
    @sensor(job=SALES)
    def polled(context: Any) -> None: ...

    @sensor("sales_job", name="named")
    def named(context: Any) -> None: ...

    @push_sensor("landed", job=SALES, name="pushed")
    def pushed(context: Any) -> None: ...

    sensors = [
        polled,
        named,
        pushed,
        asset_sensor(name="after_audit", monitored_assets=[audit], job=SALES),
        run_status_sensor(name="on_fail", run_status=RunStatus.FAILURE, request_job=SALES),
        asset_sensor(name="as_target", monitored_assets=[audit], target=SALES),
    ]
    defs = snapshot(sensors=sensors)
    assert {n: (s.job, s.target) for n, s in defs.sensors.items()} == {
        name: ("sales_job", ("orders", "revenue"))
        for name in ("after_audit", "as_target", "named", "on_fail", "polled", "pushed")
    }
    assert defs.job_run_tags("sensor", "polled") == {"team": "sales"}
    assert (polled.job_name, named.job_name) == ("sales_job", "sales_job")


def test_a_sensor_target_may_be_an_asset_selection() -> None:
    @sensor(asset_selection=S.groups("sales"), name="grouped")
    def grouped(context: Any) -> None: ...

    watch = asset_sensor(name="watch", monitored_assets=[orders], target=S.assets("audit"))
    defs = snapshot(sensors=[grouped, watch])
    assert defs.sensors["grouped"].target == ("orders", "revenue")
    assert (defs.sensors["watch"].target, defs.sensors["watch"].job) == (("audit",), None)
    assert defs.job_run_tags("sensor", "watch") == {}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sensor(job=SALES, target=[orders], name="s")(lambda c: None), "exactly one of"),
        (lambda: sensor(name="s")(lambda c: None), "exactly one of target=, job="),
        (lambda: sensor(lambda c: None), "needs a target"),
        (
            lambda: run_status_sensor(name="r", run_status="FAILURE", request_job="sales_job"),
            "request_job= takes a job made by define_asset_job",
        ),
    ],
)
def test_bad_sensor_targets_are_refused_naming_the_sensor(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()


# --- the snapshot guards its jobs ----------------------------------------------------------


def test_a_tampered_snapshot_is_refused_naming_the_job_or_its_schedule() -> None:
    good = snapshot(
        jobs=[SALES], schedules=[ScheduleDefinition(job=SALES, cron_schedule="0 * * * *")]
    )
    document = good.to_json()
    document["schedules"][0]["target"] = ["orders"]
    with pytest.raises(
        InvalidInput, match="schedule 'sales_job_schedule' targets job 'sales_job' but"
    ):
        DefinitionsSnapshot.from_json(document)
    document = good.to_json()
    document["schedules"][0]["job"] = "other"
    with pytest.raises(InvalidInput, match="targets unknown job 'other'"):
        DefinitionsSnapshot.from_json(document)
    document = good.to_json()
    document["jobs"][0]["assets"] = ["orders", "ledger"]
    with pytest.raises(InvalidInput, match="job 'sales_job' selects asset 'ledger', which has no"):
        DefinitionsSnapshot.from_json(document)
    document = good.to_json()
    document["jobs"].append(document["jobs"][0])
    with pytest.raises(InvalidInput, match="duplicate job name 'sales_job'"):
        DefinitionsSnapshot.from_json(document)


def test_job_run_tags_are_empty_for_what_targets_no_job() -> None:
    defs = snapshot(schedules=[ScheduleDefinition("hourly", "0 * * * *", target=[orders])])
    assert defs.job_run_tags("schedule", "hourly") == {}
    assert defs.job_run_tags("schedule", "missing") == {}
    assert defs.job_run_tags("backfill", "hourly") == {}


def test_jobs_are_values_of_the_user_api() -> None:
    assert isinstance(SALES, UnresolvedAssetJobDefinition)
    assert repr(SALES) == "define_asset_job('sales_job', 'group:sales')"
