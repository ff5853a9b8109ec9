"""`@observable_source_asset`: what its function may return, and its observation schedule."""

from __future__ import annotations

import pytest

from arco import DataVersion, Definitions, ObserveResult, observable_source_asset
from arco.domain.errors import InvalidInput
from arco.sdk.observations import observe_cron
from arco.testing import materialize


def test_an_observe_result_records_its_version_and_metadata() -> None:
    @observable_source_asset
    def feed() -> ObserveResult:
        return ObserveResult(data_version=DataVersion("v7"), metadata={"rows": 3})

    (task,) = materialize([feed]).get_asset_materialization_events()
    assert task["data_version"] == "v7" and task["metadata"] == {"rows": 3}


def test_anything_else_fails_the_observation_saying_what_to_return() -> None:
    @observable_source_asset
    def feed() -> int:
        return 42

    with pytest.raises(RuntimeError, match="return a DataVersion or ObserveResult"):
        materialize([feed])


@pytest.mark.parametrize(
    ("minutes", "cron"),
    [(1, "* * * * *"), (15, "*/15 * * * *"), (60, "0 * * * *"), (360, "0 */6 * * *"),
     (1440, "0 0 * * *")],
)  # fmt: skip
def test_intervals_become_crons(minutes: int, cron: str) -> None:
    assert observe_cron(minutes, "t") == cron


@pytest.mark.parametrize("minutes", [7, 90, 2.5, 0, -5, True])
def test_an_interval_no_cron_can_keep_is_refused(minutes: float) -> None:
    with pytest.raises(InvalidInput, match="auto_observe_interval_minutes"):
        observable_source_asset(auto_observe_interval_minutes=minutes)


def test_an_interval_adds_a_running_schedule_named_after_the_asset() -> None:
    @observable_source_asset(key=["raw", "feed"], auto_observe_interval_minutes=30)
    def feed() -> DataVersion:
        return DataVersion("v")

    (schedule,) = Definitions(assets=[feed]).snapshot("t").schedules.values()
    assert (schedule.name, schedule.target, schedule.default_status) == (
        "raw__feed_auto_observe", ("raw/feed",), "RUNNING",
    )  # fmt: skip
