"""Resources and definition metadata in the user API: what Definitions accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest

import arco as dg
from arco.domain.errors import InvalidInput
from arco.sdk.resources import resources_for_execution


class Client(dg.ConfigurableResource):
    url: str = "https://x"


def test_an_annotated_parameter_is_a_resource_not_an_upstream_asset() -> None:
    @dg.asset
    def raw() -> None: ...

    @dg.asset
    def items(raw: Any, client: Client, cache: dg.ResourceParam[dict[str, int]]) -> None: ...

    assert items.required_resource_keys == {"client", "cache"}
    defs = dg.Definitions(assets=[raw, items], resources={"client": Client(), "cache": {}})
    assert defs.snapshot("t").assets["items"].dep_keys == ("raw",)


def test_an_unknown_resource_is_refused_at_deploy_naming_asset_and_resource() -> None:
    @dg.asset
    def items(client: Client) -> None: ...

    with pytest.raises(
        InvalidInput, match=r"asset 'items' needs resource 'client'.*provides: none"
    ):
        dg.Definitions(assets=[items]).snapshot("t")

    @dg.asset(required_resource_keys={"db"})
    def other() -> None: ...

    with pytest.raises(InvalidInput, match=r"asset 'other' needs resource 'db'.*provides: client"):
        dg.Definitions(assets=[other], resources={"client": Client()}).snapshot("t")


def test_a_sensor_needing_an_unknown_resource_is_refused() -> None:
    @dg.asset
    def items() -> None: ...

    @dg.sensor(target=[items])
    def watch(context: dg.SensorEvaluationContext, client: Client) -> None: ...

    with pytest.raises(InvalidInput, match="sensor 'watch' needs resource 'client'"):
        dg.Definitions(assets=[items], sensors=[watch]).snapshot("t")
    dg.Definitions(assets=[items], sensors=[watch], resources={"client": Client()}).snapshot("t")


def test_resource_mistakes_name_the_culprit() -> None:
    with pytest.raises(InvalidInput, match="resource key 'not ok' must be a Python identifier"):
        dg.Definitions(resources={"not ok": Client()})
    with pytest.raises(InvalidInput, match="ins names 'client', which is a resource parameter"):

        @dg.asset(ins={"client": dg.AssetIn("raw")})
        def items(client: Client) -> None: ...

    with pytest.raises(InvalidInput, match="required_resource_keys is a set of names"):

        @dg.asset(required_resource_keys="db")  # type: ignore[arg-type]
        def other() -> None: ...


def test_env_vars_are_read_when_the_resource_is_prepared(monkeypatch: pytest.MonkeyPatch) -> None:
    class Secretive(dg.ConfigurableResource):
        token: str = dg.EnvVar("ARCO_UNIT_TOKEN")

    resource = Secretive()
    assert resource.token == "ARCO_UNIT_TOKEN"  # nothing read at definition time
    monkeypatch.setenv("ARCO_UNIT_TOKEN", "t0k")
    with resources_for_execution({"s": resource, "plain": 3}) as ready:
        assert ready["s"].token == "t0k"  # type: ignore[attr-defined]
        assert ready["plain"] == 3
    monkeypatch.delenv("ARCO_UNIT_TOKEN")
    with (
        pytest.raises(InvalidInput, match="resource 's': field 'token' reads environment"),
        resources_for_execution({"s": resource}),
    ):
        pass


def test_teardown_runs_in_reverse_order_even_when_the_task_fails() -> None:
    seen: list[str] = []

    class Tracked(dg.ConfigurableResource):
        name: str

        def setup_for_execution(self, context: dg.InitResourceContext) -> None:
            seen.append(f"up {self.name}")

        def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
            seen.append(f"down {self.name}")

    with (
        pytest.raises(RuntimeError),
        resources_for_execution({"a": Tracked(name="a"), "b": Tracked(name="b")}),
    ):
        raise RuntimeError("the asset failed")
    assert seen == ["up a", "up b", "down b", "down a"]


def test_definition_metadata_is_json_and_absent_when_empty() -> None:
    @dg.asset(metadata={"url": dg.MetadataValue.url("https://w"), "n": dg.MetadataValue.int(3)})
    def documented() -> None: ...

    @dg.asset
    def plain() -> None: ...

    snapshot = dg.Definitions(assets=[documented, plain]).snapshot("t")
    assert snapshot.assets["documented"].metadata == {"url": "https://w", "n": 3}
    # an asset without metadata serialises as before (snapshot hashes do not move)
    assert "metadata" not in snapshot.assets["plain"].to_json()
    assert "metadata" in snapshot.assets["documented"].to_json()


def test_the_time_window_unpacks_like_dagsters_named_tuple() -> None:
    window = dg.DailyPartitionsDefinition(start_date="2024-01-01").time_window_for_key("2024-01-02")
    start, end = window
    assert (start.isoformat(), end.isoformat()) == (
        "2024-01-02T00:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    )
    assert window[0] == window.start and len(window) == 2


def test_dagster_113_freshness_constructors_map_to_the_policy_arco_evaluates() -> None:
    from datetime import timedelta

    window = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=24))
    assert window == dg.FreshnessPolicy(maximum_lag_minutes=1440)
    deadline = dg.FreshnessPolicy.cron("0 10 * * *", timedelta(hours=1), timezone="Europe/Paris")
    assert deadline == dg.FreshnessPolicy(
        maximum_lag_minutes=60, cron_schedule="0 10 * * *", cron_timezone="Europe/Paris"
    )
