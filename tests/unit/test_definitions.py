"""Definitions: the user API compiles to a canonical, validated, hashable snapshot."""

from __future__ import annotations

import enum
import importlib
import json
import re
import sys
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest

from arco.domain.canonical import canonical_json
from arco.domain.cron import CronSchedule
from arco.domain.definitions import (
    AssetDepNode,
    AssetNode,
    CatchUpPolicy,
    CheckNode,
    DefinitionsSnapshot,
    JobNode,
    RetryPolicy,
    ScheduleNode,
    SensorNode,
    validate_definitions,
)
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.partitions import TimeWindowPartitionsDefinition
from arco.sdk import (
    AllPartitionMapping,
    AssetDep,
    AssetIn,
    AssetKey,
    AssetSpec,
    CatchUp,
    Config,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    FreshnessPolicy,
    HourlyPartitionsDefinition,
    LastPartitionMapping,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    build_schedule_from_partitioned_assets,
)

LOCATIONS = "tests.fixtures.code_locations"


def load(name: str) -> Any:
    """Import an example code location afresh (broken ones may fail on import)."""
    module_name = f"{LOCATIONS}.{name}"
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


def compile_location(name: str) -> DefinitionsSnapshot:
    snapshot: DefinitionsSnapshot = load(name).defs.snapshot(f"{LOCATIONS}.{name}:defs")
    return snapshot


@pytest.fixture(scope="module")
def simple() -> DefinitionsSnapshot:
    return compile_location("simple")


# --- the valid example -------------------------------------------------------------------------


def test_simple_location_compiles(simple: DefinitionsSnapshot) -> None:
    assert sorted(simple.assets) == [
        "clean",
        "daily_events",
        "dashboard",
        "events",
        "raw",
        "region_stats",
        "report",
    ]
    raw = simple.assets["raw"]
    assert raw.compute == f"{LOCATIONS}.simple:raw"
    assert raw.code_version == "1"
    assert raw.group == "ingest"
    assert raw.owners == ("team:data",)
    assert raw.description == "Raw rows landed for one day."
    assert simple.assets["clean"].deps == (AssetDepNode("raw", None),)
    assert simple.assets["report"].tags == {"tier": "gold"}
    assert simple.assets["report"].freshness == FreshnessPolicy(maximum_lag_minutes=1440)
    assert simple.assets["dashboard"].reconcile is True
    assert simple.assets["dashboard"].partitions is None
    assert simple.assets["events"].kinds == ("gcs", "python")


def test_partitioned_schedule_derives_cron_and_timezone(simple: DefinitionsSnapshot) -> None:
    daily = simple.schedules["daily_report"]
    assert daily.cron.expressions == ("0 0 * * *",)
    assert daily.timezone == "UTC"
    assert daily.partitioned is True
    assert daily.default_status == "RUNNING"
    assert daily.target == ("clean", "raw", "report")
    hourly = simple.schedules["hourly_refresh"]
    assert hourly.cron.expressions == ("0 * * * *",)
    assert hourly.timezone == "America/New_York"
    assert hourly.partitioned is False
    assert hourly.default_status == "STOPPED"
    assert hourly.catch_up == CatchUpPolicy("latest", 0, 1)


def test_schedule_partitions(simple: DefinitionsSnapshot) -> None:
    pdef = simple.schedule_partitions("daily_report")
    assert isinstance(pdef, TimeWindowPartitionsDefinition)
    assert pdef == DailyPartitionsDefinition(start_date="2024-01-01")
    assert simple.schedule_partitions("hourly_refresh") is None
    with pytest.raises(NotFound, match="nope"):
        simple.schedule_partitions("nope")


def test_round_trip_keeps_equality_and_hash(simple: DefinitionsSnapshot) -> None:
    document = json.loads(canonical_json(simple.to_json()))
    again = DefinitionsSnapshot.from_json(document)
    assert again == simple
    assert again.content_hash == simple.content_hash
    assert again.to_json() == simple.to_json()
    assert len(simple.content_hash) == 64


def test_to_json_is_sorted_and_complete(simple: DefinitionsSnapshot) -> None:
    document = simple.to_json()
    assert document["format"] == 1
    assert [a["key"] for a in document["assets"]] == sorted(simple.assets)
    assert [s["name"] for s in document["schedules"]] == ["daily_report", "hourly_refresh"]
    clean = next(a for a in document["assets"] if a["key"] == "clean")
    assert set(clean) == {
        "key",
        "deps",
        "code_version",
        "group",
        "tags",
        "owners",
        "kinds",
        "description",
        "partitions",
        "freshness",
        "reconcile",
        "compute",
    }
    assert clean["partitions"]["kind"] == "time_window"


def test_hash_is_stable_across_declaration_order() -> None:
    def build(reverse: bool) -> DefinitionsSnapshot:
        tags = {"a": "1", "b": "2"}
        owners = ["x@example.com", "team:y"]

        @asset(
            tags=dict(reversed(tags.items())) if reverse else tags,
            owners=owners[::-1] if reverse else owners,
        )
        def up1() -> None: ...

        @asset
        def up2() -> None: ...

        @asset(deps=["up2", "up1"] if reverse else ["up1", "up2"])
        def down() -> None: ...

        s1 = ScheduleDefinition("s1", "0 0 * * *", [down, up1] if reverse else [up1, down])
        s2 = ScheduleDefinition(
            "s2", ["0 1 * * *", "0 0 * * *"] if reverse else ["0 0 * * *", "0 1 * * *"], [up2]
        )
        assets = [up1, up2, down]
        schedules = [s1, s2]
        return Definitions(
            assets=assets[::-1] if reverse else assets,
            schedules=schedules[::-1] if reverse else schedules,
        ).snapshot("loc")

    forward, backward = build(False), build(True)
    assert forward == backward
    assert forward.content_hash == backward.content_hash
    # A JSON document with shuffled object keys parses to the same snapshot.
    shuffled = {k: forward.to_json()[k] for k in reversed(list(forward.to_json()))}
    assert DefinitionsSnapshot.from_json(shuffled).content_hash == forward.content_hash


def test_hash_changes_with_content(simple: DefinitionsSnapshot) -> None:
    document = simple.to_json()
    for item in document["assets"]:
        if item["key"] == "clean":
            item["code_version"] = "3"
    assert DefinitionsSnapshot.from_json(document).content_hash != simple.content_hash


def test_graph_queries(simple: DefinitionsSnapshot) -> None:
    assert simple.upstream("clean") == ("raw",)
    assert simple.upstream("dashboard") == ("region_stats", "report")
    assert simple.upstream("raw") == ()
    assert simple.downstream("raw") == ("clean",)
    assert simple.downstream("report") == ("dashboard",)
    assert simple.downstream("dashboard") == ()
    with pytest.raises(NotFound, match="'missing'"):
        simple.upstream("missing")


def test_topological_order_is_deterministic(simple: DefinitionsSnapshot) -> None:
    order = simple.topological_order()
    assert order == (
        "events",
        "daily_events",
        "raw",
        "clean",
        "region_stats",
        "report",
        "dashboard",
    )
    position = {key: i for i, key in enumerate(order)}
    for key in simple.assets:
        assert all(position[up] < position[key] for up in simple.upstream(key))
    assert DefinitionsSnapshot.from_json(simple.to_json()).topological_order() == order


def test_default_and_explicit_mappings(simple: DefinitionsSnapshot) -> None:
    assert isinstance(simple.mapping_for("clean", "raw"), TimeWindowPartitionMapping)
    assert isinstance(simple.mapping_for("daily_events", "events"), TimeWindowPartitionMapping)
    assert isinstance(simple.mapping_for("dashboard", "report"), AllPartitionMapping)
    with pytest.raises(NotFound, match="does not depend"):
        simple.mapping_for("clean", "report")

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    previous = TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)

    @asset(partitions_def=daily)
    def a() -> None: ...

    @asset(partitions_def=daily, deps=[AssetDep(a, partition_mapping=previous)])
    def b() -> None: ...

    @asset(ins={"a": AssetIn(partition_mapping=LastPartitionMapping())})
    def c(a: None) -> None: ...

    snapshot = Definitions(assets=[a, b, c]).snapshot("loc")
    assert snapshot.mapping_for("b", "a") == previous
    assert isinstance(snapshot.mapping_for("c", "a"), LastPartitionMapping)
    assert DefinitionsSnapshot.from_json(snapshot.to_json()) == snapshot


# --- the user API ------------------------------------------------------------------------------


def test_parameters_name_upstream_assets() -> None:
    @asset
    def a() -> None: ...

    @asset(key_prefix=["warehouse"])
    def b() -> None: ...

    @asset(ins={"upstream_b": AssetIn(key=["warehouse", "b"])}, deps=["c", AssetKey("d")])
    def e(context: object, a: None, upstream_b: None) -> None: ...

    assert a.key == AssetKey(["a"])
    assert b.key.to_user_string() == "warehouse/b"
    assert e.node.dep_keys == ("a", "c", "d", "warehouse/b")
    assert e.node.compute == f"{__name__}:test_parameters_name_upstream_assets.<locals>.e"
    specs = [AssetSpec("c"), AssetSpec("d", deps=[a])]
    snapshot = Definitions(assets=[a, b, e, *specs]).snapshot("loc")
    assert snapshot.upstream("e") == ("a", "c", "d", "warehouse/b")
    assert snapshot.upstream("d") == ("a",)
    assert snapshot.assets["d"].compute is None


def test_ins_must_name_parameters() -> None:
    with pytest.raises(InvalidInput, match=r"asset 'f'.*'nope'"):

        @asset(ins={"nope": AssetIn("a")})
        def f(a: None) -> None: ...


def test_conflicting_mappings_for_one_upstream_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="asset 'f' depends on 'a' twice"):

        @asset(
            ins={"a": AssetIn(partition_mapping=AllPartitionMapping())},
            deps=[AssetDep("a", partition_mapping=LastPartitionMapping())],
        )
        def f(a: None) -> None: ...


def test_asset_key_forms() -> None:
    assert AssetKey(["a", "b"]).to_user_string() == "a/b"
    assert AssetKey("a/b") == AssetKey(["a", "b"]) == AssetKey.from_user_string("a/b")
    assert AssetKey("b").with_prefix("a") == AssetKey(["a", "b"])
    with pytest.raises(InvalidInput, match="invalid asset key 'a-b'"):
        AssetKey("a-b")
    with pytest.raises(InvalidInput, match="invalid asset key"):
        AssetKey(["a", ""])


def test_asset_function_is_callable_and_retrievable() -> None:
    module = load("simple")
    assert module.clean([3, 1, 3]) == [1, 3]
    function = module.defs.get_asset_function("clean")
    assert function([2, 2]) == [2]
    assert function is module.defs.get_asset_function(AssetKey("clean"))
    with pytest.raises(NotFound):
        module.defs.get_asset_function("nope")
    spec_only = Definitions(assets=[AssetSpec("x")])
    with pytest.raises(InvalidInput, match="AssetSpec"):
        spec_only.get_asset_function("x")


def test_catch_up_policies() -> None:
    assert CatchUp.latest() == CatchUpPolicy()
    policy = CatchUp.all(window=timedelta(hours=6), max_per_call=3)
    assert policy == CatchUpPolicy("all", 6 * 3600, 3)
    with pytest.raises(InvalidInput, match="positive window"):
        CatchUp.all(window=timedelta(0))
    with pytest.raises(InvalidInput, match="max_ticks_per_call"):
        CatchUp.all(window=timedelta(hours=1), max_per_call=0)

    @asset
    def a() -> None: ...

    schedule = ScheduleDefinition(
        "s", "@hourly", [a], catch_up=policy, default_status=DefaultScheduleStatus.RUNNING
    )
    snapshot = Definitions(assets=[a], schedules=[schedule]).snapshot("loc")
    assert snapshot.schedules["s"].catch_up == policy
    assert snapshot.schedules["s"].cron.expressions == ("0 * * * *",)
    assert DefinitionsSnapshot.from_json(snapshot.to_json()) == snapshot


def test_schedule_offsets_shift_the_partitions_cron() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")

    @asset(partitions_def=daily)
    def d() -> None: ...

    @asset(partitions_def=hourly)
    def h() -> None: ...

    shifted = build_schedule_from_partitioned_assets("d", [d], hour_of_day=2, minute_of_hour=30)
    assert shifted.node.cron.expressions == ("30 2 * * *",)
    assert shifted.node.timezone == "Europe/Berlin"
    with pytest.raises(InvalidInput, match="schedule 'h': hour_of_day does not apply"):
        build_schedule_from_partitioned_assets("h", [h], hour_of_day=2)
    with pytest.raises(InvalidInput, match="schedule 'h': minute_of_hour must be"):
        build_schedule_from_partitioned_assets("h", [h], minute_of_hour=60)


def test_partitioned_schedule_from_keys_resolves_in_definitions() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset(partitions_def=daily)
    def d() -> None: ...

    schedule = build_schedule_from_partitioned_assets("by_key", ["d"])
    with pytest.raises(InvalidInput, match="part of Definitions"):
        _ = schedule.node
    snapshot = Definitions(assets=[d], schedules=[schedule]).snapshot("loc")
    assert snapshot.schedules["by_key"].cron.expressions == ("0 0 * * *",)
    assert snapshot.schedule_partitions("by_key") == daily


def test_static_partitioned_schedule_needs_a_cron() -> None:
    @asset(partitions_def=StaticPartitionsDefinition(["eu", "us"]))
    def regions() -> None: ...

    with pytest.raises(InvalidInput, match=r"schedule 'r'.*pass cron_schedule"):
        build_schedule_from_partitioned_assets("r", [regions])
    schedule = build_schedule_from_partitioned_assets("r", [regions], cron_schedule="@daily")
    snapshot = Definitions(assets=[regions], schedules=[schedule]).snapshot("loc")
    assert snapshot.schedules["r"].partitioned
    assert snapshot.schedule_partitions("r") == StaticPartitionsDefinition(["eu", "us"])


def test_the_scheduling_fixture_compiles() -> None:
    module = importlib.import_module("tests.fixtures.scheduling")
    snapshot = module.defs.snapshot("tests.fixtures.scheduling:defs")
    assert snapshot.schedules["regions_daily"].partitioned
    assert snapshot.schedules["daily_partitioned"].cron.expressions == ("0 0 * * *",)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("cycle", r"dependency cycle: a -> b -> c -> a"),
        ("unknown_dep", r"asset 'b' depends on unknown asset 'x'"),
        ("bad_cron", r"schedule 'nightly': invalid cron string '0 0 30 2 \*'"),
        ("bad_tz", r"schedule 'nightly': unknown timezone 'Mars/Olympus_Mons'"),
        ("tz_mismatch", r"'downstream_utc' on 'upstream_ny'.*timezones"),
        ("duplicate_schedule", r"duplicate schedule name 'nightly'"),
        ("incompatible_mapping", r"dependency of 'sales_by_region' on 'daily_sales'"),
    ],
)
def test_broken_locations_name_the_culprit(location: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compile_location(location)


def test_duplicate_asset_keys() -> None:
    @asset
    def a() -> None: ...

    with pytest.raises(InvalidInput, match="duplicate asset key 'a'"):
        Definitions(assets=[a, AssetSpec("a")]).snapshot("loc")
    # The same object listed twice is one asset.
    assert list(Definitions(assets=[a, a]).snapshot("loc").assets) == ["a"]
    document = Definitions(assets=[a]).snapshot("loc").to_json()
    document["assets"] = document["assets"] * 2
    with pytest.raises(InvalidInput, match="duplicate asset key 'a'"):
        DefinitionsSnapshot.from_json(document)


@pytest.mark.parametrize("prefix", ["dagster/", "arco/"])
def test_reserved_tag_prefixes_are_rejected(prefix: str) -> None:
    with pytest.raises(InvalidInput, match=f"asset 'a': tag key '{prefix}kind' uses a reserved"):

        @asset(tags={f"{prefix}kind": "x"})
        def a() -> None: ...

    with pytest.raises(InvalidInput, match=f"schedule 's': tag key '{prefix}x' uses a reserved"):
        ScheduleDefinition("s", "@daily", ["a"], tags={f"{prefix}x": "1"})


def test_names_are_validated() -> None:
    with pytest.raises(InvalidInput, match="invalid asset key 'bad-name'"):
        AssetSpec("bad-name")
    with pytest.raises(InvalidInput, match="invalid schedule name 'bad name'"):
        ScheduleDefinition("bad name", "@daily", ["a"])
    with pytest.raises(InvalidInput, match="invalid schedule name"):
        ScheduleDefinition("x" * 201, "@daily", ["a"])
    with pytest.raises(InvalidInput, match="asset 'a': invalid group name 'my-group'"):
        AssetSpec("a", group_name="my-group")
    with pytest.raises(InvalidInput, match="asset 'a': invalid tag key"):
        AssetSpec("a", tags={"has space": "x"})
    ScheduleDefinition("ok.name-1_x", "@daily", ["a"])


def test_schedule_targets_are_checked() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    berlin = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")

    @asset(partitions_def=daily)
    def p() -> None: ...

    @asset(partitions_def=berlin)
    def q() -> None: ...

    @asset
    def u() -> None: ...

    def compile_with(schedule: ScheduleDefinition) -> DefinitionsSnapshot:
        return Definitions(assets=[p, q, u], schedules=[schedule]).snapshot("loc")

    with pytest.raises(InvalidInput, match="schedule 's' targets unknown asset 'ghost'"):
        compile_with(ScheduleDefinition("s", "@daily", ["u", "ghost"]))
    with pytest.raises(InvalidInput, match="schedule 's' targets partitioned asset 'p'"):
        compile_with(ScheduleDefinition("s", "@daily", [p]))
    with pytest.raises(InvalidInput, match=r"schedule 's'.*do not share one partitions"):
        compile_with(ScheduleDefinition("s", "@daily", [p, q], partitioned=True))
    with pytest.raises(InvalidInput, match=r"schedule 's'.*do not share one partitions"):
        build_schedule_from_partitioned_assets("s", [p, q])
    with pytest.raises(InvalidInput, match=r"schedule 's'.*'u' is not partitioned"):
        build_schedule_from_partitioned_assets("s", [p, u])
    with pytest.raises(InvalidInput, match=r"schedule 's' runs in timezone UTC.*Europe/Berlin"):
        compile_with(ScheduleDefinition("s", "@daily", [q], partitioned=True))
    with pytest.raises(InvalidInput, match="schedule 's' runs in timezone America/Chicago"):
        compile_with(
            build_schedule_from_partitioned_assets("s", [p], execution_timezone="America/Chicago")
        )


def test_explicit_mapping_on_an_unpartitioned_side_is_checked() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")

    @asset
    def plain() -> None: ...

    @asset(
        partitions_def=daily, deps=[AssetDep(plain, partition_mapping=TimeWindowPartitionMapping())]
    )
    def needs_windows() -> None: ...

    with pytest.raises(InvalidInput, match="dependency of 'needs_windows' on 'plain'"):
        Definitions(assets=[plain, needs_windows]).snapshot("loc")


def test_freshness_policy_is_validated_and_round_trips() -> None:
    with pytest.raises(InvalidInput, match="needs maximum_lag_minutes or cron_schedule"):
        FreshnessPolicy()
    with pytest.raises(InvalidInput, match="unknown timezone"):
        FreshnessPolicy(maximum_lag_minutes=5, cron_timezone="Nowhere/Else")
    with pytest.raises(InvalidInput, match="invalid cron string"):
        FreshnessPolicy(cron_schedule="61 * * * *")
    policy = FreshnessPolicy(
        maximum_lag_minutes=30, cron_schedule="0 9 * * *", cron_timezone="Europe/Paris"
    )
    snapshot = Definitions(assets=[AssetSpec("a", freshness_policy=policy)]).snapshot("loc")
    assert DefinitionsSnapshot.from_json(snapshot.to_json()).assets["a"].freshness == policy


def test_from_json_rejects_malformed_documents(simple: DefinitionsSnapshot) -> None:
    document = simple.to_json()
    with pytest.raises(InvalidInput, match="format 3 is not supported"):
        DefinitionsSnapshot.from_json({**document, "format": 3})
    missing_raw = {**document, "assets": [a for a in document["assets"] if a["key"] != "raw"]}
    with pytest.raises(InvalidInput, match="asset 'clean' depends on unknown asset 'raw'"):
        DefinitionsSnapshot.from_json(missing_raw)
    no_group = json.loads(json.dumps(document))
    del no_group["assets"][0]["group"]
    with pytest.raises(InvalidInput, match="missing field 'group'"):
        DefinitionsSnapshot.from_json(no_group)
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        DefinitionsSnapshot.from_json([])  # type: ignore[arg-type]


def test_nodes_can_be_built_directly() -> None:
    snapshot = DefinitionsSnapshot(
        code_location="direct",
        assets={
            "b": AssetNode("b", deps=(AssetDepNode("a"),)),
            "a": AssetNode("a", tags={"z": "1", "y": "2"}),
        },
        schedules={"s": ScheduleNode("s", cron=CronSchedule.parse("@daily"), target=("b", "a"))},
    )
    assert list(snapshot.assets) == ["a", "b"]
    assert snapshot.schedules["s"].target == ("a", "b")
    validate_definitions(snapshot)
    with pytest.raises(InvalidInput, match="listed under the key"):
        DefinitionsSnapshot("direct", {"x": AssetNode("a")})


def test_assets_sharing_a_partitions_definition_share_one_parsed_object() -> None:
    from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    other = DailyPartitionsDefinition(start_date="2024-02-01")
    defs = Definitions(
        assets=[
            AssetSpec("a", partitions_def=daily),
            AssetSpec("b", partitions_def=daily, deps=["a"]),
            AssetSpec("c", partitions_def=other, deps=["b"]),
        ]
    ).snapshot("t")
    parsed = DefinitionsSnapshot.from_json(defs.to_json())
    a, b, c = (parsed.assets[k].partitions for k in "abc")
    assert a is b  # built once (10,000 daily assets parse one definition)
    assert c is not a and c != a
    assert parsed == defs and parsed.content_hash == defs.content_hash


def test_a_broken_shared_partitions_snapshot_still_names_its_asset() -> None:
    from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions

    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    data = (
        Definitions(
            assets=[AssetSpec("a", partitions_def=daily), AssetSpec("b", partitions_def=daily)]
        )
        .snapshot("t")
        .to_json()
    )
    data["assets"][1]["partitions"] = {**data["assets"][1]["partitions"], "cron_schedule": "bad"}
    with pytest.raises(InvalidInput, match="asset 'b' partitions"):
        DefinitionsSnapshot.from_json(data)


FIXTURE_LOCATIONS = (
    "automation_graph",
    "backfill_graph",
    "backfill_mixed",
    "checks_location",
    "config_location",
    "function_sensors",
    "io_location",
    "multi_location",
    "observed_sources",
    "resources_location",
    "runs_graph",
    "scheduling",
    "sensors_graph",
    "stack_graph",
    "static_fan_in",
    "versions_graph",
    "examples.hackernews.definitions",
)


def _location(name: str) -> Any:
    return importlib.import_module(name if "." in name else f"tests.fixtures.{name}")


@pytest.mark.parametrize("name", FIXTURE_LOCATIONS)
def test_every_feature_of_a_location_survives_the_snapshot_round_trip(name: str) -> None:
    # Retry policies, checks, config schemas, ops, conditions, sensors, jobs, schedules...: the
    # snapshot is what the ledger stores, and what every function reads back.
    snapshot = _location(name).defs.snapshot(f"{name}:defs")
    document = json.loads(canonical_json(snapshot.to_json()))
    again = DefinitionsSnapshot.from_json(document)
    assert again == snapshot
    assert again.to_json() == document
    assert again.content_hash == snapshot.content_hash


def test_the_fixtures_hold_every_kind_of_node_and_policy() -> None:
    # (so the round trip above reads every field of the snapshot)
    documents = [_location(n).defs.snapshot(f"{n}:defs").to_json() for n in FIXTURE_LOCATIONS]
    assets = [a for d in documents for a in d["assets"]]
    fields = ("retry_policy", "metadata", "checks", "config_schema", "op", "automation_condition")
    assert [f for f in fields if not any(a.get(f) for a in assets)] == []
    assert any(d.get("sensors") for d in documents) and any(d.get("jobs") for d in documents)


class OrdersConfig(Config):
    limit: int = 100


def _everything() -> DefinitionsSnapshot:
    """A location with a schedule, a sensor and a job that set every setting."""
    from arco.sdk import SensorEvaluationContext, SkipReason, define_asset_job, sensor

    @asset
    def orders(config: OrdersConfig) -> None:
        """Orders."""

    job = define_asset_job("nightly", [orders], description="every order", tags={"t": "1"})

    @sensor(
        job=job,
        minimum_interval_seconds=120,
        default_status="RUNNING",
        tags={"team": "sales"},
        description="looks for new files",
    )
    def new_files(context: SensorEvaluationContext) -> SkipReason:
        return SkipReason("nothing")

    schedule = ScheduleDefinition(
        name="night",
        cron_schedule="0 2 * * *",
        job=job,
        tags={"team": "sales"},
        description="the nightly run",
        run_config={"ops": {"orders": {"config": {"limit": 5}}}},
        default_status=DefaultScheduleStatus.RUNNING,
    )
    return Definitions(
        assets=[orders], jobs=[job], sensors=[new_files], schedules=[schedule]
    ).snapshot("inline:defs")


def test_schedules_sensors_and_jobs_keep_every_setting_through_the_round_trip() -> None:
    snapshot = _everything()
    document = json.loads(canonical_json(snapshot.to_json()))
    [sensor_json], [schedule_json], [job_json] = (
        document["sensors"],
        document["schedules"],
        document["jobs"],
    )
    assert sensor_json["minimum_interval_seconds"] == 120
    assert (sensor_json["tags"], sensor_json["description"]) == (
        {"team": "sales"},
        "looks for new files",
    )
    assert (schedule_json["tags"], schedule_json["description"]) == (
        {"team": "sales"},
        "the nightly run",
    )
    assert schedule_json["run_config"] == {"ops": {"orders": {"config": {"limit": 5}}}}
    assert job_json["description"] == "every order"
    again = DefinitionsSnapshot.from_json(document)
    assert again == snapshot
    assert again.to_json() == document


def _broken(path: list[object], value: object) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(canonical_json(_everything().to_json()))
    node: Any = document
    for step in path[:-1]:
        node = node[step]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["format"], "1", "definitions snapshot: field 'format' must be a int"),
        (["assets", 0, "key"], ..., "asset: missing field 'key'"),
        (["assets", 0, "group"], ..., "asset 'orders': missing field 'group'"),
        (["schedules", 0, "name"], ..., "schedule: missing field 'name'"),
        (["schedules", 0, "cron"], 5, "schedule 'night': field 'cron' must be a list"),
        (["sensors", 0, "name"], ..., "sensor: missing field 'name'"),
        (["sensors", 0, "kind"], 5, "sensor 'new_files': field 'kind' must be a str"),
        (["jobs", 0, "name"], ..., "job: missing field 'name'"),
        (["jobs", 0, "selection"], 5, "job 'nightly': field 'selection' must be a str"),
    ],
)
def test_a_malformed_snapshot_names_the_node_and_field(
    path: list[object], value: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        DefinitionsSnapshot.from_json(_broken(path, value))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "a" * 501}, "invalid asset key"),
        ({"tags": {"team": "x" * 1001}}, "tag 'team' must have a string value of at most 1000"),
        ({"tags": {"team": 5}}, "tag 'team' must have a string value"),
        ({"description": "x" * 100_001}, "description must be a string of at most 100000"),
        ({"description": 5}, "description must be a string"),
        ({"owners": ("x" * 201,)}, "owners: invalid entry"),
        ({"owners": (5,)}, "owners: invalid entry"),
        ({"kinds": ("",)}, "kinds: invalid entry"),
    ],
)
def test_asset_fields_are_bounded_and_typed(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        AssetNode(**{"key": "a", "compute": "m:a", **fields})


def test_asset_fields_at_their_bounds_are_accepted() -> None:
    node = AssetNode(
        "a" * 500,
        compute="m:a",
        tags={"team": "x" * 1000},
        description="x" * 100_000,
        owners=("o" * 200,),
    )
    assert len(node.key) == 500 and node.owners == ("o" * 200,)


def test_tags_are_checked_in_key_order_whatever_their_types() -> None:
    with pytest.raises(InvalidInput, match="invalid tag key 1"):
        AssetNode("a", compute="m:a", tags={"b": "1", 1: "x"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RetryPolicy(max_retries=100), "max_retries must be an integer from 0 to 99"),
        (lambda: RetryPolicy(max_retries=1.0), "max_retries must be an integer"),
        (lambda: RetryPolicy(delay=900.5), "delay must be a number of seconds from 0 to 900"),
        (lambda: RetryPolicy(delay=True), "delay must be a number of seconds"),
        (lambda: RetryPolicy(backoff="cubic"), "backoff must be one of constant, linear"),
        (lambda: FreshnessPolicy(maximum_lag_minutes=-0.5), "must be finite and >= 0"),
        (lambda: FreshnessPolicy(maximum_lag_minutes=True), "maximum_lag_minutes must be a number"),
        (lambda: FreshnessPolicy(maximum_lag_minutes=float("inf")), "must be finite"),
        (lambda: CatchUpPolicy(window_seconds=-1), "window_seconds must be a non-negative"),
        (lambda: CatchUpPolicy(window_seconds=1.5), "window_seconds must be a non-negative"),
        (lambda: CatchUpPolicy(max_ticks_per_call=1001), "between 1 and 1000"),
        (lambda: CatchUpPolicy(max_ticks_per_call=0), "between 1 and 1000"),
    ],
)
def test_policies_are_bounded_and_typed(build: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build()


def test_policies_at_their_bounds_are_accepted() -> None:
    retry = RetryPolicy(max_retries=99, delay=900)
    assert (retry.max_retries, retry.delay, retry.backoff) == (99, 900.0, "constant")
    assert RetryPolicy(max_retries=0, delay=0).max_retries == 0
    assert FreshnessPolicy(maximum_lag_minutes=0).maximum_lag_minutes == 0.0
    assert CatchUpPolicy(max_ticks_per_call=1000).max_ticks_per_call == 1000
    assert CatchUpPolicy(mode="all", window_seconds=1).window_seconds == 1


def test_a_retry_policy_reads_its_backoff_from_an_enum_value() -> None:
    class Backoff(enum.Enum):
        LINEAR = "LINEAR"

    assert RetryPolicy(backoff=Backoff.LINEAR).backoff == "linear"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("version", "ok"), [("v" * 200, True), ("v" * 201, False), ("", False), (5, False)]
)
def test_a_code_version_is_1_to_200_characters(version: Any, ok: bool) -> None:
    if ok:
        assert AssetNode("a", compute="m:a", code_version=version).code_version == version
    else:
        with pytest.raises(
            InvalidInput, match=r"code_version must be a non-empty string \(<= 200\)"
        ):
            AssetNode("a", compute="m:a", code_version=version)


def test_a_retry_policy_snapshot_keeps_every_field() -> None:
    policy = RetryPolicy(max_retries=3, delay=2.5, backoff="exponential")
    assert RetryPolicy.from_json(policy.to_json()) == policy
    with pytest.raises(InvalidInput, match="retry_policy: missing field 'delay'"):
        RetryPolicy.from_json({"max_retries": 3, "backoff": "linear"})


def _sensor(**fields: Any) -> SensorNode:
    return SensorNode(
        **{"name": "s", "kind": "asset", "target": ("a",), "monitored_assets": ("b",), **fields}
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target": "a"}, "sensor 's' target must be a list of asset keys"),
        ({"monitored_assets": ("b c",)}, "sensor 's' monitored assets: invalid asset key 'b c'"),
        ({"minimum_interval_seconds": 0}, "minimum_interval_seconds must be a whole number from 1"),
        ({"minimum_interval_seconds": 86_401}, "from 1 to 86400"),
        ({"minimum_interval_seconds": 30.0}, "from 1 to 86400"),
        ({"tags": {"team": 5}}, "sensor 's': tag 'team' must have a string value"),
        (
            {"kind": "run_status", "monitored_assets": (), "run_statuses": ("BOGUS",)},
            "run_status must be one or more of",
        ),
        (
            {"kind": "push", "monitored_assets": (), "subscription": "x"},
            "a push sensor needs subscription=",
        ),
        ({"description": 5}, "sensor 's' description must be a string"),
        ({"job": "bad job"}, "invalid job name 'bad job'"),
    ],
)
def test_a_sensor_names_what_is_wrong_with_it(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message) if "(" not in message else message):
        _sensor(**fields)


def test_a_sensors_interval_may_be_1_to_86400_seconds() -> None:
    assert _sensor(minimum_interval_seconds=1).minimum_interval_seconds == 1
    assert _sensor(minimum_interval_seconds=86_400).minimum_interval_seconds == 86_400
    push = _sensor(
        kind="push", monitored_assets=(), subscription="projects/my-proj/subscriptions/orders"
    )
    assert push.subscription_name == "orders"


def _job(**fields: Any) -> JobNode:
    return JobNode(**{"name": "j", "selection": "a", "assets": ("a",), **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"selection": "x" * 10_001}, "job 'j': selection must be a selection string of 1-10000"),
        ({"selection": 5}, "job 'j': selection must be a selection string"),
        ({"selection": ""}, "job 'j': selection must be a selection string"),
        ({"assets": "a"}, "job 'j' assets must be a list of asset keys"),
        ({"tags": {"t": 5}}, "job 'j': tag 't' must have a string value"),
        ({"run_tags": {"t": 5}}, "job 'j' run tags: tag 't' must have a string value"),
        ({"description": 5}, "job 'j' description must be a string"),
    ],
)
def test_a_job_names_what_is_wrong_with_it(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        _job(**fields)


def test_a_job_selection_may_hold_10000_characters() -> None:
    assert len(_job(selection="a" + " " * 9_999).selection) == 10_000


def test_nodes_hold_their_collections_sorted_and_as_plain_values() -> None:
    # (the snapshot's equality and hash compare them; callers may pass lists and mappings)
    sensor = _sensor(target=["b", "a", "a"], monitored_assets=["d", "c"])
    assert (sensor.target, sensor.monitored_assets) == (("a", "b"), ("c", "d"))
    watcher = _sensor(kind="run_status", monitored_assets=(), run_statuses=["SUCCESS", "FAILURE"])
    assert watcher.run_statuses == ("FAILURE", "SUCCESS")
    job = _job(assets=["b", "a"], tags=MappingProxyType({"t": "1"}))
    assert job.assets == ("a", "b") and type(job.tags) is dict
    assert type(_job(run_tags=MappingProxyType({"t": "1"})).run_tags) is dict
    assert type(_sensor(tags=MappingProxyType({"t": "1"})).tags) is dict
    asset_node = AssetNode("a", compute="m:a", metadata=MappingProxyType({"m": 1}))
    assert type(asset_node.metadata) is dict
    assert type(AssetNode("a", compute="m:a", tags=MappingProxyType({"t": "1"})).tags) is dict
    snapshot = DefinitionsSnapshot(
        "loc",
        MappingProxyType({"a": AssetNode("a", compute="m:a")}),
        schedules=MappingProxyType({}),
        sensors=MappingProxyType({}),
        jobs=MappingProxyType({}),
    )
    assert [type(v) for v in (snapshot.schedules, snapshot.sensors, snapshot.jobs)] == [dict] * 3


def test_every_edge_is_checked_even_after_an_edge_of_the_same_partitions() -> None:
    # Edges between the same two partitions definitions are checked once; e's second edge
    # (from Berlin days to UTC days, which Dagster refuses) is not such an edge.
    utc = DailyPartitionsDefinition(start_date="2024-01-01")
    berlin = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Berlin")
    a = AssetSpec("a", partitions_def=utc)
    b = AssetSpec("b", deps=[a], partitions_def=utc)
    z = AssetSpec("z", partitions_def=berlin)
    e = AssetSpec("e", deps=[a, z], partitions_def=utc)
    with pytest.raises(InvalidInput, match="dependency of 'e' on 'z': time-window partition"):
        Definitions(assets=[a, b, z, e]).snapshot("loc")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CheckNode(5), "asset check name 5 must be a Python identifier"),  # type: ignore[arg-type]
        (
            lambda: CheckNode("not valid"),
            "asset check name 'not valid' must be a Python identifier",
        ),
        (
            lambda: AssetNode("a", compute="m:a", metadata={1: "x"}),
            "metadata must be a mapping with string keys",
        ),  # type: ignore[dict-item]
        (lambda: AssetNode("a", compute="m:a", metadata=[("k", 1)]), "metadata must be a mapping"),  # type: ignore[arg-type]
        (lambda: AssetNode("a", compute="m:a", op=5), "op name 5 must be a Python identifier"),  # type: ignore[arg-type]
        (lambda: AssetNode("a", compute="m:a", op="no good"), "op name 'no good' must be"),
        (lambda: AssetNode("a", compute=5), "compute 5 must look like"),  # type: ignore[arg-type]
        (lambda: AssetNode("a", compute="nocolon"), "compute 'nocolon' must look like"),
        (lambda: AssetNode("a", compute="m:a", code_version=5), "code_version must be a non-empty"),  # type: ignore[arg-type]
        (lambda: FreshnessPolicy(cron_schedule="* *"), "freshness policy"),
        (
            lambda: FreshnessPolicy(maximum_lag_minutes=5, cron_timezone="Mars/Base"),
            "freshness policy",
        ),
    ],
)
def test_nodes_and_policies_name_the_field_they_refuse(build: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        build()


@pytest.mark.parametrize(
    ("loader", "data", "message"),
    [
        (CatchUpPolicy.from_json, {"mode": 5}, "catch_up: field 'mode' must be a str"),
        (CheckNode.from_json, {"name": 5}, "asset check: field 'name' must be a str"),
    ],
)
def test_snapshot_readers_name_what_they_read(loader: Any, data: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        loader(data)
