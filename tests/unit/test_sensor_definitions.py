"""Sensors in the user API and the snapshot, and Dagster's rules for what a sensor returns."""

from __future__ import annotations

from typing import Any

import pytest

from arco.domain.definitions import DefinitionsSnapshot, SensorNode
from arco.domain.errors import InvalidInput
from arco.sdk import (
    AddDynamicPartitionsRequest,
    AssetKey,
    AssetObservation,
    DagsterRun,
    DailyPartitionsDefinition,
    Definitions,
    DeleteDynamicPartitionsRequest,
    PubSubMessage,
    PushSensorContext,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    asset_sensor,
    push_sensor,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)
from arco.sdk.sensor_state import SensorInstance
from arco.services.engines.sensor_evaluation import evaluate

daily = DailyPartitionsDefinition(start_date="2024-01-01")


@asset(partitions_def=daily)
def orders() -> None: ...


@asset(partitions_def=daily, deps=["orders"])
def revenue() -> None: ...


@asset
def alert() -> None: ...


def poll(fn: Any, target: Any = (orders,)) -> tuple[Any, SensorNode]:
    definition = sensor(target=list(target), name="s")(fn)
    node = Definitions(assets=[orders, revenue], sensors=[definition]).snapshot("t").sensors["s"]
    return definition, node


def run(fn: Any, cursor: str | None = None) -> Any:
    definition, node = poll(fn)
    deployed = {"orders": False, "revenue": False}  # deployed, unpartitioned
    return evaluate(definition, node, SensorEvaluationContext("s", cursor), None, deployed)


def test_a_snapshot_without_sensors_keeps_its_hash_and_one_with_sensors_round_trips() -> None:
    plain = Definitions(assets=[orders, revenue]).snapshot("loc")
    assert "sensors" not in plain.to_json()
    landed = push_sensor(
        "projects/my-project/subscriptions/landed", target=[orders], name="landed"
    )(lambda context: None)
    watch = asset_sensor(name="watch", monitored_assets=[orders], target=[revenue])
    failing = run_status_sensor(name="on_fail", run_status="FAILURE", target=["alert"])
    full = Definitions(assets=[orders, revenue, alert], sensors=[landed, watch, failing]).snapshot(
        "loc"
    )
    assert full.content_hash != plain.content_hash
    again = DefinitionsSnapshot.from_json(full.to_json())
    assert again == full and again.content_hash == full.content_hash
    assert again.sensors["landed"].subscription_name == "landed"
    assert again.sensors["watch"].monitored_assets == ("orders",)
    assert again.sensors["on_fail"].run_statuses == ("FAILURE",)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sensor(target=["nope"], name="s")(lambda: None), "unknown asset 'nope'"),
        (lambda: sensor(target=[orders], name="bad name!")(lambda: None), "sensor name"),
        (
            lambda: sensor(target=[orders], name="s", minimum_interval_seconds=0)(lambda: None),
            "minimum_interval_seconds",
        ),
        (lambda: push_sensor("x", target=[orders], name="p")(lambda c: None), "subscription"),
        (
            lambda: asset_sensor(name="a", monitored_assets=[], target=[orders]),
            "targets no assets",
        ),
        (
            lambda: run_status_sensor(name="r", run_status="EXPLODED", target=[orders]),
            "run_status must be",
        ),
        (lambda: sensor(target=[], name="s")(lambda: None), "targets no assets"),
    ],
)
def test_mistakes_name_the_sensor(make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Definitions(assets=[orders, revenue], sensors=[make()]).snapshot("t")


def test_two_push_sensors_cannot_share_a_subscription_nor_two_sensors_a_name() -> None:
    one = push_sensor("projects/my-project/subscriptions/landed", target=[orders], name="a")(
        lambda c: None
    )
    two = push_sensor("landed", target=[orders], name="b")(lambda c: None)
    with pytest.raises(InvalidInput, match="share the subscription"):
        Definitions(assets=[orders], sensors=[one, two]).snapshot("t")
    twin = sensor(target=[orders], name="a")(lambda: None)
    with pytest.raises(InvalidInput, match="duplicate sensor name"):
        Definitions(assets=[orders], sensors=[one, twin]).snapshot("t")
    with pytest.raises(InvalidInput, match="takes sensors"):
        Definitions(assets=[orders], sensors=["not a sensor"])  # type: ignore[list-item]


def test_results_follow_dagsters_rules() -> None:
    assert run(lambda: None).outcome == "SKIPPED"
    skipped = run(lambda: SkipReason("quiet"))
    assert (skipped.outcome, skipped.skip_reason) == ("SKIPPED", "quiet")
    one = run(lambda: RunRequest(run_key="k", partition_key="2024-01-02"))
    assert one.outcome == "REQUESTED" and one.run_requests[0].asset_selection == ["orders"]

    def generator(context: SensorEvaluationContext) -> Any:
        yield RunRequest(run_key="a")
        yield RunRequest(run_key="b")

    assert [r.run_key for r in run(generator).run_requests] == ["a", "b"]
    result = run(lambda: SensorResult(run_requests=[RunRequest(run_key="x")], cursor="c9"))
    assert (result.outcome, result.cursor_after) == ("REQUESTED", "c9")

    def updates(context: SensorEvaluationContext) -> SkipReason:
        context.update_cursor("c2")
        return SkipReason("nothing")

    assert run(updates, cursor="c1").cursor_after == "c2"


@pytest.mark.parametrize(
    ("fn", "error"),
    [
        (lambda: [RunRequest(), SkipReason("x")], "both RunRequests and a SkipReason"),
        (lambda: [SensorResult(), RunRequest()], "must be the only object"),
        (
            lambda: SensorResult(run_requests=[RunRequest()], skip_reason="x"),
            "both run_requests and a skip_reason",
        ),
        (lambda: 42, "returned a int"),
        (lambda: RunRequest(asset_selection=[AssetKey("revenue")]), "not in sensor 's'"),
        (lambda: RunRequest(tags={"arco/x": "1"}), "reserved prefix"),
        (lambda: RunRequest(run_key=""), "run_key"),
        (
            lambda: SensorResult(asset_events=[AssetObservation("nope", data_version="1")]),
            "AssetObservation of 'nope', which is not deployed",
        ),
        (
            lambda: SensorResult(asset_events=[AssetObservation("orders")]),
            "has no data version",
        ),
        (lambda: SensorResult(asset_events=["orders"]), "asset_events takes AssetObservation"),
        (
            lambda: SensorResult(
                dynamic_partitions_requests=[
                    AddDynamicPartitionsRequest("c", ["k"]),
                    DeleteDynamicPartitionsRequest("c", ["k"]),
                ]
            ),
            "both added and deleted",
        ),
        (
            lambda: SensorResult(
                dynamic_partitions_requests=[AddDynamicPartitionsRequest("c", [""])]
            ),
            "invalid partition key ''",
        ),
        (
            lambda: SensorResult(asset_events=[AssetObservation("orders", "p1", data_version="1")]),
            "it is not partitioned",
        ),
    ],
)
def test_misuse_is_a_failed_evaluation_naming_the_rule(fn: Any, error: str) -> None:
    result = run(fn)
    assert result.outcome == "FAILED" and error in (result.error or "")
    assert result.run_requests == []


def test_cursor_twice_and_an_exception_are_failures_that_keep_the_cursor() -> None:
    def both(context: SensorEvaluationContext) -> SensorResult:
        context.update_cursor("a")
        return SensorResult(cursor="b")

    assert "update_cursor" in (run(both).error or "")

    def boom(context: SensorEvaluationContext) -> None:
        context.update_cursor("moved")
        raise KeyError("missing")

    failed = run(boom, cursor="c1")
    assert failed.outcome == "FAILED" and failed.cursor_after is None
    assert "KeyError" in (failed.error or "")


def test_a_push_sensor_sees_the_message_and_has_no_cursor() -> None:
    seen: list[PubSubMessage] = []

    @push_sensor("landed", target=[orders], name="p")
    def landed(context: PushSensorContext) -> SensorResult:
        seen.append(context.message)
        return SensorResult(run_requests=[RunRequest()], cursor="no")

    node = Definitions(assets=[orders], sensors=[landed]).snapshot("t").sensors["p"]
    message = PubSubMessage(b'{"a": 1}', {"k": "v"}, "m1", "2024-01-01T00:00:00Z")
    result = evaluate(landed, node, PushSensorContext("p", message))
    assert result.outcome == "FAILED" and "push sensor has no cursor" in (result.error or "")
    assert seen[0].json() == {"a": 1} and seen[0].attributes == {"k": "v"}


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (
            lambda: run_status_sensor(name="rs", run_status="FAILURE", target=[revenue]),
            "a run-status sensor requests whole runs",
        ),
        (
            lambda: asset_sensor(name="as", monitored_assets=[alert], target=[revenue]),
            "partitioned differently",
        ),
        (
            lambda: asset_sensor(name="mix", monitored_assets=[orders], target=[revenue, alert]),
            "partitioned differently",
        ),
    ],
)
def test_sensors_whose_requests_could_never_run_are_refused_at_deploy(
    make: Any, needle: str
) -> None:
    """Found by its requests failing tick after tick once; now the deploy says why."""
    with pytest.raises(InvalidInput, match=needle):
        Definitions(assets=[orders, revenue, alert], sensors=[make()]).snapshot("loc")


class _Runs(SensorInstance):
    """A workspace whose ended runs the test sets."""

    lookback_ms = 60_000

    def __init__(self) -> None:
        self.ended: list[tuple[int, DagsterRun, str | None]] = []

    def end(self, at_ms: int, run_id: str) -> None:
        self.ended.append((at_ms, DagsterRun(run_id, "FAILURE"), f"{run_id} broke"))
        self.ended.sort(key=lambda e: (e[0], e[1].run_id))

    def runs_ended_since(self, statuses: Any, since_ms: int) -> list[Any]:
        return [e for e in self.ended if e[0] > since_ms and e[1].status in statuses]

    def last_run_end_ms(self) -> int | None:
        return max((e[0] for e in self.ended), default=None)


def test_a_run_failure_sensor_sees_a_run_whose_end_is_folded_late_and_each_run_once() -> None:
    seen: list[str] = []

    @run_failure_sensor(name="alert")
    def alert(context: Any) -> None:
        seen.append(context.dagster_run.run_id)

    node = Definitions(assets=[orders], sensors=[alert]).snapshot("t").sensors["alert"]
    runs = _Runs()
    runs.end(1_000_000, "old")  # before the sensor started: never alerted

    def evaluate_with(cursor: str | None) -> Any:
        return evaluate(alert, node, SensorEvaluationContext("alert", cursor, instance=runs))

    cursor = evaluate_with(None).cursor_after
    runs.end(1_100_000, "b")
    cursor = evaluate_with(cursor).cursor_after
    runs.end(1_090_000, "a")  # ended before b, folded after b was handled (within lookback)
    cursor = evaluate_with(cursor).cursor_after
    cursor = evaluate_with(cursor).cursor_after
    assert seen == ["b", "a"]
    runs.end(1_200_000, "c")
    assert evaluate_with(cursor).outcome == "SKIPPED" and seen == ["b", "a", "c"]
