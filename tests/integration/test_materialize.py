"""`dg.materialize` in a test: the real path, in memory, as Dagster's."""

from __future__ import annotations

import pytest

import arco as dg


class Multiplier(dg.ConfigurableResource):
    factor: int = 2


class Rows(dg.Config):
    count: int = 3


@dg.asset
def numbers(config: Rows) -> list[int]:
    return list(range(config.count))


@dg.asset
def doubled(numbers: list[int], multiplier: Multiplier) -> list[int]:
    return [n * multiplier.factor for n in numbers]


@dg.asset_check(asset=doubled)
def doubled_is_even(doubled: list[int]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=all(n % 2 == 0 for n in doubled))


def test_materialize_runs_assets_with_resources_config_and_checks() -> None:
    result = dg.materialize(
        [numbers, doubled, doubled_is_even],
        resources={"multiplier": Multiplier(factor=10)},
        run_config={"ops": {"numbers": {"config": {"count": 4}}}},
    )
    assert result.success
    assert result.asset_value("numbers") == [0, 1, 2, 3]
    assert result.asset_value("doubled") == [0, 10, 20, 30]
    assert {t["asset"] for t in result.get_asset_materialization_events()} == {
        "numbers",
        "doubled",
    }


def test_a_failure_raises_with_the_asset_and_its_error_unless_asked_not_to() -> None:
    @dg.asset
    def broken() -> None:
        raise ValueError("no data today")

    with pytest.raises(RuntimeError, match=r"(?s)broken: .*ValueError: no data today"):
        dg.materialize([broken])
    outcome = dg.materialize([broken], raise_on_error=False)
    assert outcome.success is False


def test_a_partition_is_materialized_by_key() -> None:
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")

    @dg.asset(partitions_def=daily)
    def day(context: dg.AssetExecutionContext) -> str:
        start, _ = context.partition_time_window
        return start.strftime("%A")

    assert dg.materialize([day], partition_key="2024-01-01").asset_value("day") == "Monday"


def test_an_asset_function_called_with_a_built_context() -> None:
    @dg.asset
    def tagged(context: dg.AssetExecutionContext, multiplier: Multiplier) -> str:
        return f"{context.partition_key}:{multiplier.factor}:{context.run.tags['team']}"

    context = dg.build_asset_context(
        resources={"multiplier": Multiplier(factor=5)},
        partition_key="2024-01-01",
        run_tags={"team": "data"},
    )
    assert tagged(context, context.resources.multiplier) == "2024-01-01:5:data"
