"""The pure schedule controller: due ticks, decisions, and deterministic events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from arco.domain import schedule_controller
from arco.domain.schedule_controller import evaluate_schedules, to_ms
from arco.domain.schedules import ScheduleTicked
from arco.sdk import AssetSpec, DefaultScheduleStatus, Definitions, ScheduleDefinition

DEPLOYED = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)


def snapshot():  # type: ignore[no-untyped-def]
    target = AssetSpec("t")
    return Definitions(
        assets=[target],
        schedules=[
            ScheduleDefinition(
                name="hourly",
                cron_schedule="0 * * * *",
                target=[target],
                default_status=DefaultScheduleStatus.RUNNING,
            ),
        ],
    ).snapshot("tests:defs")


def state() -> dict[str, dict[str, object]]:
    return {
        "hourly": {
            "schedule": "hourly",
            "declared_since_ms": to_ms(DEPLOYED),
            "default_running_since_ms": to_ms(DEPLOYED),
        }
    }


def test_a_tick_that_cannot_be_evaluated_is_recorded_as_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object) -> object:
        raise RuntimeError("partition service exploded")

    monkeypatch.setattr(schedule_controller, "run_requests_for", broken)
    (event,) = evaluate_schedules(
        snapshot(), state(), datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
    ).events
    assert isinstance(event.payload, ScheduleTicked)
    assert event.payload.status == "FAILED"
    assert event.payload.error == "RuntimeError: partition service exploded"
    assert event.payload.run_requests == []


def test_events_are_identical_for_two_timers_at_different_moments() -> None:
    defs = snapshot()
    first = evaluate_schedules(defs, state(), datetime(2024, 1, 1, 2, 0, 1, tzinfo=UTC)).events
    second = evaluate_schedules(defs, state(), datetime(2024, 1, 1, 2, 59, tzinfo=UTC)).events
    assert first == second  # same tick (02:00), same id, key and payload


def test_nothing_is_due_before_the_schedule_started() -> None:
    before = datetime(2024, 1, 1, 0, 59, tzinfo=UTC)
    assert evaluate_schedules(snapshot(), state(), before).events == ()


def test_run_requests_carry_the_schedule_tags() -> None:
    (event,) = evaluate_schedules(
        snapshot(), state(), datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
    ).events
    assert isinstance(event.payload, ScheduleTicked)
    (request,) = event.payload.run_requests
    assert request.tags == {
        "arco/schedule_name": "hourly",
        "arco/scheduled_execution_time": "2024-01-01T02:00:00Z",
    }
    assert request.run_key == "hourly@2024-01-01T02:00:00Z"
    assert request.asset_selection == ["t"]


def test_a_cron_change_does_not_replay_old_ticks() -> None:
    # Ticked hourly up to 09:00; the new cron fires at 08:30 daily: nothing is replayed at 10:00.
    target = AssetSpec("t")
    changed = Definitions(
        assets=[target],
        schedules=[
            ScheduleDefinition(
                name="hourly",
                cron_schedule="30 8 * * *",
                target=[target],
                default_status=DefaultScheduleStatus.RUNNING,
            ),
        ],
    ).snapshot("tests:defs")
    row = {**state()["hourly"], "last_tick_ms": to_ms(datetime(2024, 1, 1, 9, tzinfo=UTC))}
    assert (
        evaluate_schedules(changed, {"hourly": row}, datetime(2024, 1, 1, 10, 0, tzinfo=UTC)).events
        == ()
    )


def test_a_failed_tick_is_never_retried_and_the_next_one_goes_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A FAILED tick is final (no retry, as in Dagster with max_tick_retries=0). The 02:00 tick
    # really fails here, is folded, and the state the controller reads is the folded one.
    from arco.domain import schedules
    from arco.domain.registry import Registry
    from arco.domain.system_tables import SYSTEM_TABLES
    from tests.factories import EnvelopeWriter, FoldProjection

    def broken(*args: object) -> object:
        raise RuntimeError("partition service exploded")

    two = datetime(2024, 1, 1, 2, 0, tzinfo=UTC)
    with monkeypatch.context() as patch:
        patch.setattr(schedule_controller, "run_requests_for", broken)
        (failed,) = evaluate_schedules(snapshot(), state(), two).events
    assert isinstance(failed.payload, ScheduleTicked) and failed.payload.status == "FAILED"

    def tables(registry: Registry) -> None:
        for spec in SYSTEM_TABLES:
            registry.add_table(spec)

    projection = FoldProjection(Registry().extend((tables, schedules.install)))
    envelope = EnvelopeWriter().envelope(
        failed.type, failed.payload, failed.idempotency_key, ms=to_ms(two)
    )  # type: ignore[arg-type]
    assert projection.deliver(envelope) == ["applied"]
    tick = projection.state.rows("schedule_ticks")[("hourly", to_ms(two))]
    assert tick["status"] == "FAILED"
    row = projection.state.rows("schedule_state")[("hourly",)]
    # The declaration (a deploy, not folded here) plus what the fold wrote.
    folded = {**state()["hourly"], **{k: v for k, v in row.items() if v is not None}}
    assert folded["last_tick_ms"] == to_ms(two)

    # Later in the same hour: the failed 02:00 tick is not evaluated again.
    half_past = datetime(2024, 1, 1, 2, 30, tzinfo=UTC)
    assert evaluate_schedules(snapshot(), {"hourly": folded}, half_past).events == ()
    # At 03:00 only the 03:00 tick is due, and it goes ahead.
    (event,) = evaluate_schedules(
        snapshot(), {"hourly": folded}, datetime(2024, 1, 1, 3, 0, tzinfo=UTC)
    ).events
    assert isinstance(event.payload, ScheduleTicked)
    assert event.payload.status == "TRIGGERED"
    assert event.payload.tick_ms == to_ms(datetime(2024, 1, 1, 3, tzinfo=UTC))


def test_a_multi_partitioned_schedule_targets_every_key_of_the_closed_day() -> None:
    from arco.sdk import (
        DailyPartitionsDefinition,
        MultiPartitionsDefinition,
        StaticPartitionsDefinition,
        asset,
    )

    multi = MultiPartitionsDefinition(
        {
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
            "region": StaticPartitionsDefinition(["eu", "us"]),
        }
    )

    @asset(partitions_def=multi)
    def sales() -> None: ...

    defs = Definitions(
        assets=[sales],
        schedules=[
            ScheduleDefinition(
                name="daily_sales",
                cron_schedule="0 0 * * *",
                target=[sales],
                default_status=DefaultScheduleStatus.RUNNING,
                partitioned=True,
            ),
        ],
    ).snapshot("tests:defs")
    row = {
        "daily_sales": {
            "schedule": "daily_sales",
            "declared_since_ms": to_ms(DEPLOYED),
            "default_running_since_ms": to_ms(DEPLOYED),
        }
    }
    (event,) = evaluate_schedules(defs, row, datetime(2024, 1, 3, 0, 5, tzinfo=UTC)).events
    assert isinstance(event.payload, ScheduleTicked)
    assert [r.partition_key for r in event.payload.run_requests] == [
        "2024-01-02|eu",
        "2024-01-02|us",
    ]


def test_a_schedule_whose_ticks_cannot_be_computed_fails_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = AssetSpec("t")
    defs = Definitions(
        assets=[target],
        schedules=[
            ScheduleDefinition(
                name=name,
                cron_schedule="0 * * * *",
                target=[target],
                default_status=DefaultScheduleStatus.RUNNING,
            )
            for name in ("broken", "hourly")
        ],
    ).snapshot("tests:defs")
    real = schedule_controller.due_ticks

    def due(node: object, row: object, now: datetime) -> object:
        if getattr(node, "name", None) == "broken":
            raise RuntimeError("cron exploded")
        return real(node, row, now)  # type: ignore[arg-type]

    monkeypatch.setattr(schedule_controller, "due_ticks", due)
    states = {**state(), "broken": {**state()["hourly"], "schedule": "broken"}}
    events = evaluate_schedules(defs, states, datetime(2024, 1, 1, 2, 0, tzinfo=UTC)).events
    by_schedule = {e.payload.schedule: e.payload for e in events}  # type: ignore[union-attr]
    assert by_schedule["broken"].status == "FAILED"  # type: ignore[union-attr]
    assert "cron exploded" in by_schedule["broken"].error  # type: ignore[union-attr,operator]
    assert by_schedule["hourly"].status == "TRIGGERED"  # type: ignore[union-attr]
