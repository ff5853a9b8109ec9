"""The schedule controller rule by rule (found by mutation testing): who decides the status,
from when a schedule runs, which ticks are due under each catch-up policy, what each tick
requests, and the deterministic identity of every event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.schedule_controller import (
    STOPPED_REASON,
    due_ticks,
    effective_status,
    evaluate_schedules,
    from_ms,
    run_requests_for,
    running_since_ms,
    tick_event,
    to_ms,
    utc_iso,
)
from arco.domain.schedules import (
    SCHEDULE_CATCH_UP_CAPPED,
    SCHEDULE_TICKED,
    CatchUpCapped,
    ScheduleTicked,
)
from arco.domain.ulid import deterministic_ulid
from arco.sdk import (
    AssetSpec,
    CatchUp,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    Definitions,
    DynamicPartitionsDefinition,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    asset,
)

H = 3_600_000
DEPLOYED = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
T = AssetSpec("t")


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def defs(
    default: DefaultScheduleStatus = DefaultScheduleStatus.RUNNING,
    cron_schedule: str = "0 * * * *",
    **options: Any,
) -> DefinitionsSnapshot:
    return Definitions(
        assets=[T],
        schedules=[
            ScheduleDefinition(
                name="hourly",
                cron_schedule=cron_schedule,
                target=[T],
                default_status=default,
                **options,
            )
        ],
    ).snapshot("tests:defs")


def row(**fields: Any) -> dict[str, Any]:
    return {"schedule": "hourly", "declared_since_ms": to_ms(DEPLOYED), **fields}


def ticked(event: Any) -> ScheduleTicked:
    assert isinstance(event.payload, ScheduleTicked)
    return event.payload


# --- time conversions ------------------------------------------------------------------------


def test_time_conversions_are_exact() -> None:
    assert to_ms(datetime(2024, 1, 1, tzinfo=UTC)) == 1_704_067_200_000
    assert to_ms(datetime(2024, 1, 1, 0, 0, 0, 1500, tzinfo=UTC)) == 1_704_067_200_002
    assert from_ms(1_704_067_200_000) == datetime(2024, 1, 1, tzinfo=UTC)
    assert from_ms(1_704_067_200_250).tzinfo is UTC
    assert from_ms(1_704_067_200_250).microsecond == 250_000
    assert utc_iso(datetime(2024, 1, 1, 2, 0, 5, tzinfo=UTC)) == "2024-01-01T02:00:05Z"


# --- status and start time -------------------------------------------------------------------


def test_the_operator_status_wins_over_the_default_and_none_means_the_default() -> None:
    running, stopped = defs().schedules["hourly"], defs(DefaultScheduleStatus.STOPPED)
    stopped_node = stopped.schedules["hourly"]
    assert effective_status(running, None) == "RUNNING"
    assert effective_status(stopped_node, None) == "STOPPED"
    assert effective_status(stopped_node, row(operator_status="RUNNING")) == "RUNNING"
    assert effective_status(running, row(operator_status="STOPPED")) == "STOPPED"
    assert effective_status(running, row(operator_status=None)) == "RUNNING"
    assert effective_status(stopped_node, row(operator_status=None)) == "STOPPED"


def test_a_schedule_runs_since_the_operator_started_it_or_since_its_default_began() -> None:
    running = defs().schedules["hourly"]
    stopped = defs(DefaultScheduleStatus.STOPPED).schedules["hourly"]
    assert running_since_ms(running, None) is None
    started = row(operator_status="RUNNING", operator_changed_at_ms=5, default_running_since_ms=1)
    assert running_since_ms(running, started) == 5
    assert running_since_ms(stopped, started) == 5
    assert running_since_ms(running, row(default_running_since_ms=1)) == 1
    assert running_since_ms(stopped, row(default_running_since_ms=1)) is None
    halted = row(operator_status="STOPPED", default_running_since_ms=1)
    assert running_since_ms(running, halted) is None


# --- due ticks -------------------------------------------------------------------------------


def test_a_tick_exactly_at_the_start_time_is_due() -> None:
    node = defs().schedules["hourly"]
    started = row(default_running_since_ms=to_ms(at(1)))
    assert due_ticks(node, started, at(1)) == [at(1)]
    assert due_ticks(node, started, at(1, 30)) == [at(1)]
    late = row(default_running_since_ms=to_ms(at(1)) + 1)
    assert due_ticks(node, late, at(1, 30)) == []
    assert (
        due_ticks(
            node, row(default_running_since_ms=to_ms(at(1)), last_tick_ms=to_ms(at(1))), at(1, 30)
        )
        == []
    )


def test_a_stopped_schedule_records_its_latest_tick_as_skipped_once() -> None:
    stopped = defs(DefaultScheduleStatus.STOPPED)
    node = stopped.schedules["hourly"]
    assert due_ticks(node, row(), at(2, 10)) == [at(2)]
    assert due_ticks(node, row(last_tick_ms=to_ms(at(2))), at(2, 10)) == []
    assert due_ticks(node, row(last_tick_ms=to_ms(at(1))), at(2, 10)) == [at(2)]
    assert due_ticks(node, None, at(2, 10)) == []  # never declared
    assert due_ticks(node, row(declared_since_ms=to_ms(at(2))), at(2, 10)) == [at(2)]
    assert due_ticks(node, row(declared_since_ms=to_ms(at(2)) + 1), at(2, 10)) == []
    assert due_ticks(node, row(), at(0, 10)) == []  # no tick since the deploy (00:30)
    (event,) = evaluate_schedules(stopped, {"hourly": row()}, at(2, 10)).events
    payload = ticked(event)
    assert (payload.status, payload.skip_reason) == ("SKIPPED", "schedule is stopped")
    assert payload.skip_reason == STOPPED_REASON and payload.run_requests == []
    assert payload.tick_ms == to_ms(at(2))
    # An operator's stop does the same to a default-running schedule.
    halted = row(operator_status="STOPPED", default_running_since_ms=to_ms(DEPLOYED))
    (event,) = evaluate_schedules(defs(), {"hourly": halted}, at(2, 10)).events
    assert (ticked(event).status, ticked(event).skip_reason) == ("SKIPPED", STOPPED_REASON)


def test_a_stopped_schedule_with_no_tick_yet_records_nothing() -> None:
    leap = defs(DefaultScheduleStatus.STOPPED, cron_schedule="0 0 29 2 *")  # Feb 29 only
    node = leap.schedules["hourly"]
    assert due_ticks(node, row(declared_since_ms=0), datetime(1970, 2, 1, tzinfo=UTC)) == []


def test_the_latest_policy_evaluates_only_the_most_recent_missed_tick() -> None:
    node = defs().schedules["hourly"]
    started = row(default_running_since_ms=to_ms(DEPLOYED), last_tick_ms=to_ms(at(1)))
    assert due_ticks(node, started, at(5, 59)) == [at(5)]


def test_the_all_policy_replays_the_window_a_few_ticks_per_call() -> None:
    catch_up = CatchUp.all(timedelta(hours=3), max_per_call=2)
    snapshot = defs(catch_up=catch_up)
    node = snapshot.schedules["hourly"]
    started = row(default_running_since_ms=to_ms(DEPLOYED), last_tick_ms=to_ms(at(1)))
    # Window: ticks after 06:00 - 3 h = 03:00 (inclusive), up to 06:00; at most 2 + 1 listed.
    assert due_ticks(node, started, at(6)) == [at(3), at(4), at(5)]
    assert due_ticks(node, started, at(3, 30)) == [at(2), at(3)]
    events = evaluate_schedules(snapshot, {"hourly": started}, at(6)).events
    capped, *ticks = events
    assert capped.type == SCHEDULE_CATCH_UP_CAPPED
    assert capped.payload == CatchUpCapped(schedule="hourly", now_ms=to_ms(at(6)))
    key = f"catch_up_capped:hourly:{to_ms(at(6))}"
    assert (capped.idempotency_key, capped.event_id) == (key, deterministic_ulid(to_ms(at(6)), key))
    assert [ticked(e).tick_ms for e in ticks] == [to_ms(at(3)), to_ms(at(4))]
    # Exactly max_per_call due ticks: no cap.
    two = evaluate_schedules(snapshot, {"hourly": started}, at(3, 30)).events
    assert [e.type for e in two] == [SCHEDULE_TICKED, SCHEDULE_TICKED]
    # A `now` already evaluated and capped changes nothing when asked again.
    capped_row = {**started, "capped_at_ms": to_ms(at(6))}
    assert due_ticks(node, capped_row, at(6)) == []
    assert due_ticks(node, capped_row, at(6, 0) - timedelta(milliseconds=1)) == []
    # Later: the window has moved on (after 03:00:00.001), 06:00 is due too.
    assert due_ticks(node, capped_row, at(6) + timedelta(milliseconds=1)) == [at(4), at(5), at(6)]


def test_the_latest_policy_is_never_capped() -> None:
    started = row(default_running_since_ms=to_ms(DEPLOYED), last_tick_ms=to_ms(at(1)))
    events = evaluate_schedules(defs(), {"hourly": started}, at(9)).events
    assert [e.type for e in events] == [SCHEDULE_TICKED]


# --- what a tick requests --------------------------------------------------------------------


daily = DailyPartitionsDefinition(start_date="2024-01-01")
regions = DynamicPartitionsDefinition(name="regions")


@asset(partitions_def=daily)
def events_daily() -> None: ...


@asset(partitions_def=regions)
def per_region() -> None: ...


@asset(partitions_def=StaticPartitionsDefinition(["a", "b"]))
def lettered() -> None: ...


def partitioned(target: Any, cron: str = "0 0 * * *") -> DefinitionsSnapshot:
    return Definitions(
        assets=[target],
        schedules=[
            ScheduleDefinition(
                name="p",
                cron_schedule=cron,
                target=[target],
                default_status=DefaultScheduleStatus.RUNNING,
                partitioned=True,
            )
        ],
    ).snapshot("tests:defs")


def test_a_partitioned_tick_requests_the_window_that_just_closed_with_its_tags() -> None:
    snapshot = partitioned(events_daily)
    node = snapshot.schedules["p"]
    tick = datetime(2024, 1, 3, tzinfo=UTC)
    requests, reason = run_requests_for(snapshot, node, tick, {})
    assert reason == ""
    assert [(r.run_key, r.partition_key, r.asset_selection) for r in requests] == [
        ("2024-01-02", "2024-01-02", ["events_daily"])
    ]
    assert requests[0].tags == {
        "arco/schedule_name": "p",
        "arco/scheduled_execution_time": "2024-01-03T00:00:00Z",
        "arco/partition": "2024-01-02",
    }
    none, why = run_requests_for(snapshot, node, datetime(2024, 1, 1, tzinfo=UTC), {})
    assert (
        none == [] and why == "no partition of the target has closed by 2024-01-01T00:00:00+00:00"
    )


def test_dynamic_and_static_partitioned_ticks_request_every_key() -> None:
    snapshot = partitioned(per_region)
    node = snapshot.schedules["p"]
    tick = datetime(2024, 1, 3, tzinfo=UTC)
    assert run_requests_for(snapshot, node, tick, {}) == (
        [],
        "dynamic partitions 'regions' has no keys",
    )
    requests, reason = run_requests_for(snapshot, node, tick, {"regions": ["eu", "us"]})
    assert reason == "" and [r.partition_key for r in requests] == ["eu", "us"]
    row_ = {"schedule": "p", "declared_since_ms": 0, "default_running_since_ms": to_ms(tick)}
    (event,) = evaluate_schedules(snapshot, {"p": row_}, tick, {"regions": ["eu"]}).events
    assert [r.partition_key for r in ticked(event).run_requests] == ["eu"]
    (skipped,) = evaluate_schedules(snapshot, {"p": row_}, tick).events  # no dynamic state
    assert (ticked(skipped).status, ticked(skipped).skip_reason) == (
        "SKIPPED",
        "dynamic partitions 'regions' has no keys",
    )
    static = partitioned(lettered)
    requests, _ = run_requests_for(static, static.schedules["p"], tick, {})
    assert [r.partition_key for r in requests] == ["a", "b"]


def test_events_carry_deterministic_ids_and_keys() -> None:
    snapshot = defs()
    node = snapshot.schedules["hourly"]
    event = tick_event(snapshot, node, row(), at(2), {})
    key = f"tick:hourly:{to_ms(at(2))}"
    assert (event.type, event.idempotency_key) == (SCHEDULE_TICKED, key)
    assert event.event_id == deterministic_ulid(to_ms(at(2)), key)
    payload = ticked(event)
    assert payload.tick_time == "2024-01-01T02:00:00+00:00"
    assert payload.definitions_hash == snapshot.content_hash
    assert payload.status == "TRIGGERED" and payload.skip_reason is None


def test_a_schedule_whose_ticks_cannot_be_computed_fails_with_a_deterministic_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from arco.domain import schedule_controller

    def broken(*args: object) -> object:
        raise RuntimeError("cron exploded")

    monkeypatch.setattr(schedule_controller, "due_ticks", broken)
    now = at(2, 7)
    (event,) = evaluate_schedules(defs(), {"hourly": row()}, now).events
    key = f"tick:hourly:{to_ms(now)}"
    assert (event.idempotency_key, event.event_id) == (key, deterministic_ulid(to_ms(now), key))
    payload = ticked(event)
    assert payload.status == "FAILED" and payload.tick_ms == to_ms(now)
    assert payload.error == (
        "the timer could not compute this schedule's ticks: RuntimeError: cron exploded"
    )


def test_only_the_named_schedules_are_evaluated() -> None:
    started = row(default_running_since_ms=to_ms(DEPLOYED))
    decisions = evaluate_schedules(defs(), {"hourly": started}, at(2), only=[])
    assert decisions.events == () and decisions.evaluated == 0
    assert evaluate_schedules(defs(), {"hourly": started}, at(2)).evaluated == 1


# --- start/stop as folded: a restart never replays its stopped period --------------------------


def test_a_restarted_catch_up_schedule_runs_from_its_restart_not_its_first_start() -> None:
    from arco.domain import schedules
    from arco.domain.registry import Registry
    from arco.domain.schedules import ScheduleStatusChanged, status_idempotency_key
    from arco.domain.system_tables import SYSTEM_TABLES
    from tests.factories import EnvelopeWriter, FoldProjection

    def tables(registry: Registry) -> None:
        for spec in SYSTEM_TABLES:
            registry.add_table(spec)

    projection = FoldProjection(Registry().extend((tables, schedules.install)))
    writer = EnvelopeWriter()

    def change(status: str, request_id: str, moment: datetime) -> None:
        payload = ScheduleStatusChanged(schedule="hourly", status=status, request_id=request_id)
        key = status_idempotency_key("hourly", request_id)
        envelope = writer.envelope(
            schedules.SCHEDULE_STATUS_CHANGED, payload, key, ms=to_ms(moment)
        )
        assert projection.deliver(envelope) == ["applied"]

    def state() -> dict[str, Any]:
        folded = projection.state.rows("schedule_state")[("hourly",)]
        return {**row(), **{k: v for k, v in folded.items() if v is not None}}

    change("RUNNING", "r1", at(1, 10))
    assert state()["operator_changed_at_ms"] == to_ms(at(1, 10))
    change("STOPPED", "r2", at(2, 10))
    change("RUNNING", "r3", at(5, 10))  # restarted: runs since 05:10, not 01:10
    assert state()["operator_changed_at_ms"] == to_ms(at(5, 10))
    change("RUNNING", "r4", at(6, 10))  # starting a running schedule changes nothing
    assert state()["operator_changed_at_ms"] == to_ms(at(5, 10))
    snapshot = defs(DefaultScheduleStatus.STOPPED, catch_up=CatchUp.all(timedelta(hours=12), 20))
    node = snapshot.schedules["hourly"]
    assert running_since_ms(node, state()) == to_ms(at(5, 10))
    # At 07:30 only the ticks after the restart are due: 06:00 and 07:00 (none of 02:00..05:00).
    assert due_ticks(node, state(), at(7, 30)) == [at(6), at(7)]


def test_a_tick_at_the_epoch_itself_is_due_for_a_stopped_schedule() -> None:
    node = defs(DefaultScheduleStatus.STOPPED, cron_schedule="0 0 1 1 *").schedules["hourly"]
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert due_ticks(node, row(declared_since_ms=0), datetime(1970, 6, 1, tzinfo=UTC)) == [epoch]


def test_a_running_schedule_without_a_start_time_has_nothing_due() -> None:
    node = defs().schedules["hourly"]
    assert due_ticks(node, row(), at(5)) == []  # default RUNNING, but never deployed as such
    started = row(operator_status="RUNNING")  # no operator time recorded
    assert due_ticks(node, started, at(5)) == []


def test_a_multi_partitioned_schedule_without_a_time_dimension_requests_every_key() -> None:
    from arco.sdk import MultiPartitionsDefinition

    multi = MultiPartitionsDefinition(
        {
            "color": StaticPartitionsDefinition(["red", "blue"]),
            "size": StaticPartitionsDefinition(["s"]),
        }
    )

    @asset(partitions_def=multi)
    def shirts() -> None: ...

    snapshot = partitioned(shirts)
    requests, reason = run_requests_for(snapshot, snapshot.schedules["p"], at(1, day=3), {})
    assert reason == ""
    assert sorted(r.partition_key for r in requests) == ["blue|s", "red|s"]
