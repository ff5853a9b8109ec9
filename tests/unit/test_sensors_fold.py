"""Fold rules of sensors: cursor compare-and-set, stopped sensors, run-key claims, ticks.

Unless a test says otherwise, every envelope is delivered in its own ledger object and fold
call, in the order written in the test.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from arco.domain import dynamic_partitions, schedules, sensors
from arco.domain.envelope import EventEnvelope, parse_time_ms
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.registry import Registry
from arco.domain.sensors import SensorEvaluated, SensorRunRequest
from arco.domain.state import FoldState, StagedState
from arco.domain.system_tables import SYSTEM_TABLES
from arco.domain.tables import ROW_VERSION, Row
from tests.factories import (
    BASE_MS,
    EnvelopeWriter,
    FoldProjection,
    batch_bytes,
    ledger_object,
    ulid_at,
)


def _install_system_tables(registry: Registry) -> None:
    for spec in SYSTEM_TABLES:
        registry.add_table(spec)


REG = Registry().extend(
    (_install_system_tables, schedules.install, dynamic_partitions.install, sensors.install)
)
STEP_MS = EnvelopeWriter.STEP_MS
S = "new_files"


# --- builders ----------------------------------------------------------------------------------


def req(run_key: str | None = None, **extra: Any) -> SensorRunRequest:
    return SensorRunRequest(run_key=run_key, asset_selection=["orders"], **extra)


class Writer(EnvelopeWriter):
    """Sensor events, built with the production idempotency keys."""

    def push(
        self,
        message_id: str,
        *requests: SensorRunRequest,
        outcome: str = "REQUESTED",
        sensor: str = S,
        default_running: bool = True,
        ms: int | None = None,
        **extra: Any,
    ) -> EventEnvelope:
        payload = SensorEvaluated(
            sensor=sensor,
            kind="push",
            outcome=outcome,  # type: ignore[arg-type,unused-ignore]
            message_id=message_id,
            run_requests=list(requests),
            default_running=default_running,
            **extra,
        )
        message = payload.message
        subscription = message.subscription if message else None
        fingerprint = sensors.message_fingerprint(message)
        key = sensors.push_evaluation_key(sensor, subscription, message_id, fingerprint)
        return self.envelope(sensors.SENSOR_EVALUATED, payload, key, ms=ms)

    def poll(
        self,
        read_version: str,
        *requests: SensorRunRequest,
        cursor_before: str | None = None,
        cursor_after: str | None = None,
        outcome: str = "REQUESTED",
        key: str | None = None,
        sensor: str = S,
        ms: int | None = None,
        **extra: Any,
    ) -> EventEnvelope:
        payload = SensorEvaluated(
            sensor=sensor,
            kind="poll",
            outcome=outcome,  # type: ignore[arg-type,unused-ignore]
            cursor_read_version=read_version,
            cursor_before=cursor_before,
            cursor_after=cursor_after,
            run_requests=list(requests),
            default_running=True,
            **extra,
        )
        key = key or sensors.poll_evaluation_key(sensor, read_version, "e1")
        return self.envelope(sensors.SENSOR_EVALUATED, payload, key, ms=ms)

    def status(self, status: str, request_id: str, sensor: str = S) -> EventEnvelope:
        payload = sensors.SensorStatusChanged(
            sensor=sensor,
            status=status,  # type: ignore[arg-type,unused-ignore]
            changed_by="alice",
            request_id=request_id,
        )
        key = sensors.status_idempotency_key(sensor, request_id)
        return self.envelope(sensors.SENSOR_STATUS_CHANGED, payload, key)

    def cursor(self, cursor: str | None, request_id: str, sensor: str = S) -> EventEnvelope:
        payload = sensors.SensorCursorSet(
            sensor=sensor, cursor=cursor, changed_by="alice", request_id=request_id
        )
        key = sensors.cursor_idempotency_key(sensor, request_id)
        return self.envelope(sensors.SENSOR_CURSOR_SET, payload, key)


class Projection(FoldProjection):
    def __init__(self) -> None:
        super().__init__(REG)

    def sensor(self, sensor: str = S) -> Row:
        return self.state.rows("sensor_state")[(sensor,)]

    def tick(self, event: EventEnvelope, sensor: str = S) -> Row:
        return self.state.rows("sensor_ticks")[(sensor, event.event_id)]

    def ticks(self) -> list[Row]:
        return [r for _, r in sorted(self.state.rows("sensor_ticks").items())]

    def claims(self) -> dict[tuple[str, str], str]:
        return {k: r["tick_id"] for k, r in self.state.rows("sensor_run_keys").items()}

    def requests(self) -> list[Row]:
        return [r for _, r in sorted(self.state.rows("run_requests").items())]


@pytest.fixture
def w() -> Writer:
    return Writer()


@pytest.fixture
def p() -> Projection:
    return Projection()


def keys(tick: Row) -> list[str]:
    return list(json.loads(tick["run_keys"]))


def rids(tick: Row) -> list[str]:
    return list(json.loads(tick["request_ids"]))


# --- registration and payloads -----------------------------------------------------------------


def test_install_registers_tables_and_events() -> None:
    assert {"sensor_state", "sensor_ticks", "sensor_run_keys", "run_requests"} <= set(REG.tables)
    assert {"sensor.evaluated", "sensor.status_changed", "sensor.cursor_set"} <= set(REG.events)


def test_idempotency_keys() -> None:
    assert sensors.push_evaluation_key("s", "sub", "m1", "f1") == "sensor_eval:s:msg:sub:m1:f1"
    assert sensors.push_evaluation_key("s", None, "m1", "f1") == "sensor_eval:s:msg:-:m1:f1"
    long = "projects/p/subscriptions/sub"
    assert sensors.push_evaluation_key("s", long, "m1", "f1") == "sensor_eval:s:msg:sub:m1:f1"
    assert sensors.poll_evaluation_key("s", "01V", "e1") == "sensor_eval:s:01V:e1"
    assert sensors.status_idempotency_key("s", "r1") == "sensor_status:s:r1"
    assert sensors.cursor_idempotency_key("s", "r1") == "sensor_cursor:s:r1"
    assert sensors.push_conflict_key("s", None, "m1", "f1") == "conflict:s:-:m1:f1"
    assert sensors.push_conflict_key("s", "sub", "m1", "f1") == "conflict:s:sub:m1:f1"
    assert sensors.push_quarantine_key("q/1") == "push_quarantine:q/1"
    assert sensors.request_id("s", "01T", 2) == "sensor:s:01T:2"
    assert sensors.tick_of_request("sensor:s:01T:2") == ("s", "01T")
    assert sensors.tick_of_request("schedule:s:01T:2") is None
    assert sensors.tick_of_request("sensor:s:01T") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "push"},  # no message id
        {"kind": "push", "message_id": "m", "cursor_read_version": ""},
        {"kind": "push", "message_id": "m", "cursor_after": "c"},
        {"kind": "poll"},  # no cursor version read
        {"kind": "asset", "cursor_read_version": "", "extra_field": 1},
    ],
)
def test_invalid_evaluation_payloads_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SensorEvaluated.model_validate({"sensor": S, "outcome": "SKIPPED", **fields})


# --- ticks and run requests --------------------------------------------------------------------


def test_a_push_with_requests_is_a_success_with_run_request_rows(w: Writer, p: Projection) -> None:
    event = w.push("m1", req("k1", partition_key="2024-01-01", tags={"b": "2", "a": "1"}))
    assert p.deliver(event) == ["applied"]

    tick = p.tick(event)
    assert (tick["status"], tick["skip_reason"], tick["error"]) == ("SUCCESS", None, None)
    assert (tick["kind"], tick["message_id"], tick["evaluated_ms"]) == ("push", "m1", w.ms)
    expected_id = f"sensor:{S}:{event.event_id}:0"
    assert keys(tick) == ["k1"] and rids(tick) == [expected_id]
    [row] = p.requests()
    assert {k: v for k, v in row.items() if k != ROW_VERSION} == {
        "request_id": expected_id,
        "source": "sensor",
        "source_name": S,
        "tick_ms": w.ms,
        "run_key": "k1",
        "partition_key": "2024-01-01",
        "asset_selection": '["orders"]',
        "tags": '{"a": "1", "b": "2"}',
        "status": "REQUESTED",
        "run_id": None,
        "error": None,
        "run_config": None,
    }
    assert row[ROW_VERSION] == event.event_id
    assert p.claims() == {(S, "k1"): event.event_id}
    state = p.sensor()
    assert (state["last_evaluation_ms"], state["last_tick_status"]) == (w.ms, "SUCCESS")
    assert state["cursor"] is None and state["cursor_version"] == ""  # push: no cursor


def test_skipped_and_empty_results(w: Writer, p: Projection) -> None:
    skipped = w.push("m1", outcome="SKIPPED", skip_reason="nothing new")
    empty = w.push("m2")  # REQUESTED nothing
    failed = w.push("m3", outcome="FAILED", error="boom")
    p.deliver(skipped, empty, failed)
    assert (p.tick(skipped)["status"], p.tick(skipped)["skip_reason"]) == (
        "SKIPPED",
        "nothing new",
    )
    assert (p.tick(empty)["status"], p.tick(empty)["skip_reason"]) == (
        "SKIPPED",
        "Sensor function returned an empty result",  # Dagster's words
    )
    assert (p.tick(failed)["status"], p.tick(failed)["error"]) == ("FAILURE", "boom")
    assert p.requests() == []
    assert p.sensor()["last_tick_status"] == "FAILURE"


def test_duplicate_keys_in_one_evaluation_give_one_request(w: Writer, p: Projection) -> None:
    event = w.push("m1", req("k1"), req("k1"), req("k2"), req("k1"))
    p.deliver(event)
    tick = p.tick(event)
    assert tick["status"] == "SUCCESS"
    assert keys(tick) == ["k1", "k2"]
    assert [r["run_key"] for r in p.requests()] == ["k1", "k2"]
    assert rids(tick) == [f"sensor:{S}:{event.event_id}:{i}" for i in (0, 2)]


def test_keyless_requests_always_create_requests(w: Writer, p: Projection) -> None:
    first = w.push("m1", req(), req())
    second = w.push("m2", req())
    p.deliver(first, second)
    assert [r["run_key"] for r in p.requests()] == [None, None, None]
    assert (p.tick(first)["status"], p.tick(second)["status"]) == ("SUCCESS", "SUCCESS")
    assert keys(p.tick(first)) == [] and len(rids(p.tick(first))) == 2
    assert p.claims() == {}


def test_a_run_key_is_claimed_forever(w: Writer, p: Projection) -> None:
    first = w.poll("", req("k1"), cursor_after="c1")
    p.deliver(first)
    second = w.poll(first.event_id, req("k1"), cursor_after="c2")
    p.deliver(second)

    tick = p.tick(second)
    assert (tick["status"], tick["skip_reason"]) == ("SKIPPED", None)
    assert keys(tick) == ["k1"] and rids(tick) == []
    assert len(p.requests()) == 1
    assert p.sensor()["cursor"] == "c2"  # a deduplicated tick still saves the cursor

    # A cursor reset does not clear the claims.
    reset = w.cursor(None, "op-1")
    p.deliver(reset)
    assert p.sensor()["cursor"] is None
    third = w.poll(reset.event_id, req("k1"), req("k2"))
    p.deliver(third)
    assert (p.tick(third)["status"], keys(p.tick(third))) == ("SUCCESS", ["k1", "k2"])
    assert [r["run_key"] for r in p.requests()] == ["k1", "k2"]
    assert p.claims() == {(S, "k1"): first.event_id, (S, "k2"): third.event_id}


def test_a_mix_of_claimed_and_new_keys_is_a_success(w: Writer, p: Projection) -> None:
    p.deliver(w.push("m1", req("k1")))
    event = w.push("m2", req("k1"), req("k2"))
    p.deliver(event)
    assert p.tick(event)["status"] == "SUCCESS"
    assert rids(p.tick(event)) == [f"sensor:{S}:{event.event_id}:1"]


def test_duplicate_delivery_of_a_push_message_folds_once(w: Writer, p: Projection) -> None:
    event = w.push("m1", req("k1"), req())
    redelivered = w.push("m1", req("k1"), req())  # the same message pushed again: new event id
    assert p.deliver(event, redelivered, event) == ["applied", "duplicate", "duplicate"]
    assert len(p.ticks()) == 1
    assert len(p.requests()) == 2


def _message(data: str, subscription: str = "projects/p/subscriptions/s") -> Any:
    return sensors.PushedMessage(data_b64=data, subscription=subscription)


def test_the_same_message_id_with_other_content_is_a_recorded_conflict(
    w: Writer, p: Projection
) -> None:
    """A forged (or id-reusing) message cannot pre-empt nor replace the real one: whichever is
    folded first is applied, the other is listed in push_quarantine with both tick ids."""
    real = w.push("m1", req("k1"), message=_message("cmVhbA=="))
    forged = w.push("m1", req("k2"), message=_message("Zm9yZ2Vk"))
    assert real.idempotency_key != forged.idempotency_key
    assert p.deliver(real, forged) == ["applied", "applied"]
    assert [t["tick_id"] for t in p.ticks()] == [real.event_id]
    assert [r["run_key"] for r in p.requests()] == ["k1"]
    [conflict] = p.state.rows("push_quarantine").values()
    assert conflict["http_status"] == 409 and conflict["message_id"] == "m1"
    assert conflict["object_key"].startswith(f"conflict:{S}:s:m1:")  # sensor, subscription
    assert conflict["subscription"] == "s"
    assert real.event_id in conflict["reason"] or "tick" in conflict["reason"]
    assert forged.event_id in conflict["reason"]
    # A redelivery of the real message (same content, a new event) is not a conflict.
    again = w.push("m1", req("k1"), message=_message("cmVhbA=="))
    assert p.deliver(again) == ["duplicate"]
    assert len(p.state.rows("push_quarantine")) == 1


def test_two_spellings_of_one_subscription_are_one_claim(w: Writer, p: Projection) -> None:
    """Routing goes by the subscription's short name: so does the claim, or a second project
    path naming the same subscription would apply the same message id twice."""
    real = w.push("m1", req("k1"), message=_message("YQ==", "projects/p/subscriptions/s"))
    other = w.push("m1", req("k2"), message=_message("Yg==", "projects/q/subscriptions/s"))
    p.deliver(real, other)
    assert len(p.ticks()) == 1 and len(p.state.rows("push_quarantine")) == 1


def test_one_message_id_on_two_subscriptions_is_two_messages(w: Writer, p: Projection) -> None:
    first = w.push("m1", req(), message=_message("YQ==", "projects/p/subscriptions/a"))
    second = w.push("m1", req(), message=_message("YQ==", "projects/p/subscriptions/b"))
    p.deliver(first, second)
    assert len(p.ticks()) == 2 and not p.state.rows("push_quarantine")


def test_same_object_refolded_is_skipped(w: Writer, p: Projection) -> None:
    obj = ledger_object([w.push("m1", req())])
    for _ in range(2):
        staged = StagedState(p.state)
        fold_objects(staged, [obj, obj], REG, "default")
        p.state = staged.commit()
    assert len(p.requests()) == 1


# --- cursor compare-and-set --------------------------------------------------------------------


def test_cursor_cas_one_winner_and_a_stale_loser(w: Writer, p: Projection) -> None:
    winner = w.poll("", req("k1"), cursor_after="c1")
    # A racing evaluation that read the same version (a distinct key reaches the rule).
    loser = w.poll("", req("k2"), cursor_after="c-loser", key="race-2")
    p.deliver(winner, loser)

    assert p.tick(winner)["status"] == "SUCCESS"
    tick = p.tick(loser)
    assert (tick["status"], tick["skip_reason"]) == (
        "SKIPPED",
        "stale cursor: another evaluation won",
    )
    assert rids(tick) == [] and keys(tick) == ["k2"]
    assert [r["run_key"] for r in p.requests()] == ["k1"]
    assert p.claims() == {(S, "k1"): winner.event_id}
    state = p.sensor()
    assert (state["cursor"], state["cursor_version"]) == ("c1", winner.event_id)
    assert state["last_tick_status"] == "SKIPPED"


def test_cursor_cas_loser_with_the_same_key_is_a_duplicate(w: Writer, p: Projection) -> None:
    winner = w.poll("", req("k1"), cursor_after="c1")
    loser = w.poll("", req("k2"), cursor_after="c2")
    assert p.deliver(winner, loser) == ["applied", "duplicate"]
    assert [r["run_key"] for r in p.requests()] == ["k1"]
    assert p.sensor()["cursor"] == "c1"


def test_cursor_chain_moves_version_and_cursor(w: Writer, p: Projection) -> None:
    first = w.poll("", cursor_after="c1", outcome="SKIPPED", skip_reason="waiting")
    p.deliver(first)
    state = p.sensor()
    assert (state["cursor"], state["cursor_version"]) == ("c1", first.event_id)
    second = w.poll(first.event_id, req("k"), cursor_before="c1", cursor_after="c2")
    p.deliver(second)
    assert (p.sensor()["cursor"], p.sensor()["cursor_version"]) == ("c2", second.event_id)
    tick = p.tick(second)
    assert (tick["cursor_before"], tick["cursor_after"]) == ("c1", "c2")


def test_cursor_is_kept_on_failure(w: Writer, p: Projection) -> None:
    first = w.poll("", cursor_after="c1", outcome="SKIPPED")
    failed = w.poll(
        first.event_id, cursor_before="c1", cursor_after="c9", outcome="FAILED", error="boom"
    )
    p.deliver(first, failed)
    tick = p.tick(failed)
    assert (tick["status"], tick["error"], tick["cursor_after"]) == ("FAILURE", "boom", "c1")
    state = p.sensor()
    assert state["cursor"] == "c1"
    # The version moves (the cursor does not) so the retry's idempotency key is fresh.
    assert state["cursor_version"] == failed.event_id
    retry = w.poll(failed.event_id, req("k1"), cursor_before="c1", cursor_after="c2")
    assert p.deliver(retry) == ["applied"]
    assert p.tick(retry)["status"] == "SUCCESS" and p.sensor()["cursor"] == "c2"


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_cursor_never_overwrites(w: Writer, p: Projection, empty: str | None) -> None:
    first = w.poll("", cursor_after="c1", outcome="SKIPPED")
    second = w.poll(first.event_id, req("k1"), cursor_before="c1", cursor_after=empty)
    p.deliver(first, second)
    assert p.tick(second)["status"] == "SUCCESS"
    assert (p.sensor()["cursor"], p.sensor()["cursor_version"]) == ("c1", second.event_id)
    assert p.tick(second)["cursor_after"] == "c1"


def test_operator_cursor_set_makes_an_older_read_lose(w: Writer, p: Projection) -> None:
    first = w.poll("", cursor_after="c1", outcome="SKIPPED")
    p.deliver(first)
    in_flight = w.poll(first.event_id, req("k1"), cursor_before="c1", cursor_after="c2")
    set_ = w.cursor("c-op", "op-1")
    p.deliver(set_)  # the operator's set is folded before the evaluation that read first's
    assert (p.sensor()["cursor"], p.sensor()["cursor_version"]) == ("c-op", set_.event_id)
    p.deliver(in_flight)
    assert p.tick(in_flight)["skip_reason"] == sensors.STALE_CURSOR
    assert p.requests() == []
    assert p.sensor()["cursor"] == "c-op"

    reset = w.cursor(None, "op-2")
    p.deliver(reset)
    assert (p.sensor()["cursor"], p.sensor()["cursor_version"]) == (None, reset.event_id)
    old = w.poll(set_.event_id, req("k1"), cursor_after="c3")
    p.deliver(old)
    assert p.tick(old)["skip_reason"] == sensors.STALE_CURSOR
    fresh = w.poll(reset.event_id, req("k1"), cursor_after="c3")
    p.deliver(fresh)
    assert p.tick(fresh)["status"] == "SUCCESS" and p.sensor()["cursor"] == "c3"


def test_an_older_operator_cursor_set_is_superseded(w: Writer, p: Projection) -> None:
    older = w.cursor("old", "op-1")
    newer = w.cursor("new", "op-2")
    assert p.deliver(newer, older) == ["applied", "superseded"]
    assert p.sensor()["cursor"] == "new"


# --- start / stop ------------------------------------------------------------------------------


def test_a_push_to_a_stopped_sensor_is_skipped(w: Writer, p: Projection) -> None:
    p.deliver(w.status("STOPPED", "op-1"))
    stopped = w.push("m1", req("k1"))
    p.deliver(stopped)
    tick = p.tick(stopped)
    assert (tick["status"], tick["skip_reason"]) == ("SKIPPED", "sensor is stopped")
    assert p.requests() == [] and p.claims() == {}

    p.deliver(w.status("RUNNING", "op-2"))
    running = w.push("m2", req("k1"))
    p.deliver(running)
    assert p.tick(running)["status"] == "SUCCESS"
    assert p.sensor()["status"] == "RUNNING" and p.sensor()["status_changed_by"] == "alice"


def test_the_definition_default_applies_until_an_operator_decides(w: Writer, p: Projection) -> None:
    default_stopped = w.push("m1", req("k1"), default_running=False)
    p.deliver(default_stopped)
    assert p.tick(default_stopped)["skip_reason"] == sensors.STOPPED
    p.deliver(w.status("RUNNING", "op-1"))
    started = w.push("m2", req("k1"), default_running=False)
    p.deliver(started)
    assert p.tick(started)["status"] == "SUCCESS"


def test_an_older_status_change_is_superseded(w: Writer, p: Projection) -> None:
    stop = w.status("STOPPED", "op-1")
    start = w.status("RUNNING", "op-2")
    assert p.deliver(start, stop) == ["applied", "superseded"]
    assert p.sensor()["status"] == "RUNNING"


def test_a_stopped_poll_evaluation_keeps_the_cursor_and_moves_the_version(
    w: Writer, p: Projection
) -> None:
    first = w.poll("", cursor_after="c1", outcome="SKIPPED")
    p.deliver(first, w.status("STOPPED", "op-1"))
    stopped = w.poll(first.event_id, req("k1"), cursor_after="c2")
    p.deliver(stopped)
    assert p.tick(stopped)["skip_reason"] == sensors.STOPPED
    assert (p.sensor()["cursor"], p.sensor()["cursor_version"]) == ("c1", stopped.event_id)
    assert p.requests() == []


# --- minimum interval --------------------------------------------------------------------------


def test_due_with_a_10s_timer_and_a_30s_interval(w: Writer, p: Projection) -> None:
    due_at = []
    for offset_s in (0, 10, 20, 30, 40):
        now = BASE_MS + offset_s * 1000
        states = p.state.rows("sensor_state")
        if sensors.is_due(states.get((S,)), 30, now):
            due_at.append(offset_s)
            version = states[(S,)]["cursor_version"] if (S,) in states else ""
            p.deliver(w.poll(version, outcome="SKIPPED", ms=now))
    assert due_at == [0, 30]
    assert p.sensor()["last_evaluation_ms"] == BASE_MS + 30_000


def test_due_uses_the_last_evaluation() -> None:
    assert sensors.is_due(None, 5, 0) and sensors.is_due({"last_evaluation_ms": None}, 5, 0)
    assert not sensors.is_due({"last_evaluation_ms": 1_000}, 5, 5_999)
    assert sensors.is_due({"last_evaluation_ms": 1_000}, 5, 6_000)


# --- property: order, duplication and batching of push evaluations -----------------------------

RUN_KEYS = [None, "k1", "k2", "k3", "k4"]


@st.composite
def push_streams(draw: st.DrawFn) -> tuple[list[EventEnvelope], list[list[list[EventEnvelope]]]]:
    """Push evaluations as written, and a delivery: shuffled, duplicated, in random batches."""
    w = Writer()
    written = []
    for i in range(draw(st.integers(1, 15))):
        run_keys = draw(st.lists(st.sampled_from(RUN_KEYS), max_size=4))
        outcome = draw(st.sampled_from(["REQUESTED", "REQUESTED", "SKIPPED", "FAILED"]))
        ms = BASE_MS + draw(st.integers(0, 20)) * 1000  # clock collisions on purpose
        written.append(w.push(f"m{i}", *(req(k) for k in run_keys), outcome=outcome, ms=ms))
    extra = draw(st.lists(st.sampled_from(written), max_size=5))
    delivery = written + extra
    random.Random(draw(st.integers(0, 2**32))).shuffle(delivery)
    calls: list[list[list[EventEnvelope]]] = []
    i = 0
    while i < len(delivery):
        objects = []
        for _ in range(draw(st.integers(1, 3))):
            size = draw(st.integers(1, 3))
            if i < len(delivery):
                objects.append(delivery[i : i + size])
            i += size
        calls.append(objects)
    return written, calls


def _fold(calls: list[list[list[EventEnvelope]]]) -> FoldState:
    state = FoldState()
    n = 0
    for objects in calls:
        ledger = []
        for events in objects:
            n += 1
            ledger.append(LedgerObject(ulid_at(BASE_MS + 100_000 + n, n), batch_bytes(events)))
        staged = StagedState(state)
        fold_objects(staged, ledger, REG, "default")
        state = staged.commit()
    return state


@settings(max_examples=150, deadline=None)
@given(push_streams())
def test_push_claims_and_requests_do_not_depend_on_delivery(
    stream: tuple[list[EventEnvelope], list[list[list[EventEnvelope]]]],
) -> None:
    written, calls = stream
    ordered = _fold([[written]])
    delivered = _fold(calls)

    def requested(state: FoldState) -> int:
        return sum(r["status"] == "REQUESTED" for r in state.rows("run_requests").values())

    assert set(delivered.rows("sensor_run_keys")) == set(ordered.rows("sensor_run_keys"))
    assert requested(delivered) == requested(ordered)
    assert set(delivered.rows("sensor_ticks")) == set(ordered.rows("sensor_ticks"))
    # Every claim points at a tick that created exactly the claimed key's request.
    for (sensor, key), claim in delivered.rows("sensor_run_keys").items():
        tick = delivered.rows("sensor_ticks")[(sensor, claim["tick_id"])]
        owners = [r for r in delivered.rows("run_requests").values() if r["run_key"] == key]
        assert len(owners) == 1 and owners[0]["request_id"] in json.loads(tick["request_ids"])
    # A keyless request is never deduplicated; each key is requested once.
    keyless = sum(
        1
        for e in written
        if e.payload["outcome"] == "REQUESTED"
        for r in e.payload["run_requests"]
        if r["run_key"] is None
    )
    assert requested(ordered) == keyless + len(ordered.rows("sensor_run_keys"))


def _runs_fold_calls(p: Projection, call: Any) -> None:
    """Apply what the runs fold does to a sensor's tick (as its own event would)."""
    from arco.domain.fold import FoldContext
    from arco.domain.state import StagedState

    staged = StagedState(p.state)
    envelope = Writer().status("RUNNING", "x")  # any envelope: only its id and time are used
    call(FoldContext(staged, REG, envelope))
    p.state = staged.commit()


def test_runs_made_from_a_ticks_requests_are_listed_on_it_once_and_sorted(
    w: Writer, p: Projection
) -> None:
    pushed = w.push("m1", req("k1"), req("k2"))
    p.deliver(pushed)
    first, second = rids(p.tick(pushed))
    _runs_fold_calls(p, lambda ctx: sensors.link_run(ctx, second, "run_b"))
    _runs_fold_calls(p, lambda ctx: sensors.link_run(ctx, first, "run_a"))
    _runs_fold_calls(p, lambda ctx: sensors.link_run(ctx, first, "run_a"))  # again: once
    assert json.loads(p.tick(pushed)["run_ids"]) == ["run_a", "run_b"]
    _runs_fold_calls(p, lambda ctx: sensors.link_run(ctx, "schedule:s:1:0", "run_c"))  # not ours
    assert json.loads(p.tick(pushed)["run_ids"]) == ["run_a", "run_b"]


def test_a_request_that_cannot_run_fails_its_tick_naming_each_reason(
    w: Writer, p: Projection
) -> None:
    pushed = w.push("m1", req("k1"), req("k2"))
    p.deliver(pushed)
    first, second = rids(p.tick(pushed))
    _runs_fold_calls(p, lambda ctx: sensors.fail_request(ctx, first, "unknown partition"))
    tick = p.tick(pushed)
    assert (tick["status"], tick["error"]) == ("FAILURE", "run request 0 failed: unknown partition")
    assert p.sensor()["last_tick_status"] == "FAILURE"  # it is the latest tick
    _runs_fold_calls(p, lambda ctx: sensors.fail_request(ctx, second, "bad config"))
    assert p.tick(pushed)["error"] == (
        "run request 0 failed: unknown partition\nrun request 1 failed: bad config"
    )
    later = w.push("m2", req("k3"))
    p.deliver(later)
    _runs_fold_calls(p, lambda ctx: sensors.fail_request(ctx, first, "again"))
    assert p.sensor()["last_tick_status"] == "SUCCESS"  # an older tick failing leaves it


def test_the_last_evaluation_time_never_moves_back(w: Writer, p: Projection) -> None:
    """An older evaluation folded after a newer one leaves the sensor's last evaluation time."""
    newer = w.push("m2", ms=BASE_MS + 2_000)
    older = w.push("m1", ms=BASE_MS + 1_000)
    p.deliver(newer, older)
    assert p.sensor()["last_evaluation_ms"] == BASE_MS + 2_000


def test_an_operator_status_change_records_who_and_when(w: Writer, p: Projection) -> None:
    stop = w.status("STOPPED", "op-1")
    p.deliver(stop)
    state = p.sensor()
    assert (state["status"], state["status_changed_by"]) == ("STOPPED", "alice")
    assert state["status_changed_ms"] == parse_time_ms(stop.time)


def present_keys(p: Projection) -> set[str]:
    return {k[1] for k, r in p.state.rows("dynamic_partitions").items() if r["present"]}


def test_dynamic_partition_requests_apply_when_the_evaluation_counts(
    w: Writer, p: Projection
) -> None:
    add = sensors.DynamicPartitionsRequest(definition="customers", add=True, keys=["a", "b"])
    drop = sensors.DynamicPartitionsRequest(definition="customers", add=False, keys=["a"])
    p.deliver(w.push("m1", dynamic_partitions=[add]))
    p.deliver(w.push("m2", dynamic_partitions=[drop]))
    assert present_keys(p) == {"b"}
    p.deliver(w.status("STOPPED", "op-1"))
    p.deliver(w.push("m3", dynamic_partitions=[add]))  # a stopped sensor's: not applied
    assert present_keys(p) == {"b"}
    p.deliver(w.status("RUNNING", "op-2"))
    p.deliver(w.push("m4", outcome="FAILED", error="boom", dynamic_partitions=[add]))
    assert present_keys(p) == {"b"}  # a failed evaluation's: not applied


def test_a_refused_push_is_listed_once_with_why(w: Writer, p: Projection) -> None:
    def refused(key: str, reason: str) -> EventEnvelope:
        payload = sensors.PushQuarantined(
            object_key="quarantine/push/abc", reason=reason, http_status=400, sensor=S
        )
        return w.envelope(sensors.SENSOR_PUSH_QUARANTINED, payload, key)

    assert p.deliver(refused("q1", "not JSON")) == ["applied"]
    assert p.deliver(refused("q2", "again")) == ["superseded"]  # the same object: listed once
    (row,) = p.state.rows("push_quarantine").values()
    assert (row["reason"], row["http_status"], row["sensor"]) == ("not JSON", 400, S)


def test_a_message_fingerprint_is_pinned() -> None:
    """Fingerprints are stored (push_messages): a redelivery after an upgrade must match the
    one written before. sha256 of the compact JSON [data, sorted attributes, ordering key]."""
    message = sensors.PushedMessage(
        data_b64="aGk=", attributes={"b": "2", "a": "1"}, ordering_key="k"
    )
    # json.dumps(['aGk=', [['a', '1'], ['b', '2']], 'k'], separators=(',', ':')), by hand:
    assert (
        sensors.message_fingerprint(message)
        == hashlib.sha256(b'["aGk=",[["a","1"],["b","2"]],"k"]').hexdigest()[:32]
    )
    assert sensors.message_fingerprint(None) == ""


def test_the_latest_tick_is_the_newest_whatever_the_folding_order(w: Writer, p: Projection) -> None:
    newer = w.push("m2", ms=BASE_MS + 2_000)
    older = w.push("m1", ms=BASE_MS + 1_000)
    p.deliver(newer, older)  # the older one folded last
    assert p.sensor()["last_tick_id"] == newer.event_id


def test_a_failed_evaluation_without_an_error_says_so(w: Writer, p: Projection) -> None:
    failed = w.push("m1", outcome="FAILED")
    p.deliver(failed)
    assert (p.tick(failed)["status"], p.tick(failed)["error"]) == (
        "FAILURE",
        "sensor evaluation failed",
    )
