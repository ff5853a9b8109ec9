"""Sensor state, tick history and run-key claims: tables, events and their fold rules.

- `sensor_state`: per sensor, the operator's start/stop (None: the definition's default), the
  durable cursor with `cursor_version` (the id of the evaluation or operator event that last
  moved it; "" before any), and the latest evaluation.
- `sensor_ticks`: every evaluation, keyed by (sensor, tick id = the evaluation's event id):
  SUCCESS (at least one new run request), SKIPPED (with the reason, or none when every request
  was deduplicated by its run key) or FAILURE (with the error).
- `sensor_run_keys`: (sensor, run_key) claimed forever by the first tick that requested it.
- new run requests go to `run_requests` (source "sensor"); the runs capability turns them into
  runs with the scope `sensor:<name>`.

Decisions that need state (cursor compare-and-set, stopped sensors, run-key claims) are made
here, by the fold, deterministically, and recorded on the tick.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arco.domain.dynamic_partitions import DynamicPartitionsChanged, apply_change
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.schedules import RUN_REQUESTS
from arco.domain.tables import ROW_VERSION, Column, TableSpec

SENSOR_EVALUATED = "sensor.evaluated"
SENSOR_STATUS_CHANGED = "sensor.status_changed"
SENSOR_CURSOR_SET = "sensor.cursor_set"
SENSOR_PUSH_QUARANTINED = "sensor.push_quarantined"

SensorKind = Literal["push", "poll", "asset", "run_status"]
EvaluationOutcome = Literal["REQUESTED", "SKIPPED", "FAILED"]
SensorTickStatus = Literal["SUCCESS", "SKIPPED", "FAILURE"]
SensorStatus = Literal["RUNNING", "STOPPED"]

STALE_CURSOR = "stale cursor: another evaluation won"
STOPPED = "sensor is stopped"
EMPTY_RESULT = "Sensor function returned an empty result"

SENSOR_STATE = TableSpec(
    name="sensor_state",
    key=("sensor",),
    columns=(
        Column("sensor", "string"),
        Column("status", "string"),
        Column("status_changed_by", "string"),
        Column("status_changed_ms", "int64"),
        Column("operator_version", "string"),
        Column("cursor", "string"),
        Column("cursor_version", "string"),
        Column("last_evaluation_ms", "int64"),
        Column("last_tick_id", "string"),
        Column("last_tick_status", "string"),
    ),
    description="Per sensor: operator start/stop, durable cursor and its version, last tick.",
)

SENSOR_TICKS = TableSpec(
    name="sensor_ticks",
    key=("sensor", "tick_id"),
    columns=(
        Column("sensor", "string"),
        Column("tick_id", "string"),
        Column("kind", "string"),
        Column("status", "string"),
        Column("skip_reason", "string"),
        Column("error", "string"),
        Column("cursor_before", "string"),
        Column("cursor_after", "string"),
        Column("run_keys", "json"),
        Column("request_ids", "json"),
        Column("run_ids", "json"),
        Column("message_id", "string"),
        Column("evaluated_ms", "int64"),
    ),
    description="Every sensor evaluation: success, skipped (with the reason) or failure.",
)

PUSH_QUARANTINE = TableSpec(
    name="push_quarantine",
    key=("object_key",),
    columns=(
        Column("object_key", "string"),
        Column("reason", "string"),
        Column("http_status", "int64"),
        Column("sensor", "string"),
        Column("subscription", "string"),
        Column("message_id", "string"),
        Column("received_ms", "int64"),
    ),
    description="Push requests refused by sensor_push, kept whole in the named object.",
)

PUSH_MESSAGES = TableSpec(
    name="push_messages",
    key=("sensor", "subscription", "message_id"),
    columns=(
        Column("sensor", "string"),
        Column("subscription", "string"),
        Column("message_id", "string"),
        Column("fingerprint", "string"),
        Column("tick_id", "string"),
    ),
    description="Each pushed message applied once: its content's fingerprint and its tick.",
)

SENSOR_RUN_KEYS = TableSpec(
    name="sensor_run_keys",
    key=("sensor", "run_key"),
    columns=(
        Column("sensor", "string"),
        Column("run_key", "string"),
        Column("tick_id", "string"),
    ),
    description="Run keys a sensor has requested, claimed forever by the first tick.",
)


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SensorRunRequest(_Payload):
    run_key: str | None = Field(default=None, min_length=1, max_length=500)
    partition_key: str | None = None
    asset_selection: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    run_config: dict[str, Any] | None = None


class DynamicPartitionsRequest(_Payload):
    """Keys a sensor adds to (or deletes from) a dynamic partitions definition: Dagster's
    `AddDynamicPartitionsRequest` / `DeleteDynamicPartitionsRequest`."""

    definition: str = Field(min_length=1, max_length=200)
    add: bool
    keys: list[str] = Field(min_length=1, max_length=10_000)


class SensorObservation(_Payload):
    """An asset's data version a sensor observed (`SensorResult(asset_events=[AssetObservation
    (...)])`), recorded like `arco observe` when the evaluation counts."""

    asset: str = Field(min_length=1, max_length=500)
    partition: str | None = Field(default=None, min_length=1, max_length=500)
    data_version: str = Field(min_length=1, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict)


class PushedMessage(_Payload):
    """The Pub/Sub message a push evaluation was made for, kept whole in the ledger."""

    data_b64: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    publish_time: str | None = None
    ordering_key: str | None = None
    subscription: str | None = None


class SensorEvaluated(_Payload):
    """One evaluation of a sensor's function (or of the timer's built-in asset/run-status check).

    `outcome` is what the user code produced; the fold decides the tick status. Poll-like kinds
    name the cursor version they read (`cursor_read_version`, "" before any); push evaluations
    never read or write the cursor and carry the Pub/Sub message id instead.
    """

    sensor: str = Field(min_length=1, max_length=200)
    kind: SensorKind
    outcome: EvaluationOutcome
    skip_reason: str | None = None
    error: str | None = None
    cursor_read_version: str | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    message_id: str | None = None
    message: PushedMessage | None = None
    run_requests: list[SensorRunRequest] = Field(default_factory=list)
    # Applied before the run requests, when the evaluation counts (as Dagster does).
    dynamic_partitions: list[DynamicPartitionsRequest] = Field(default_factory=list)
    observations: list[SensorObservation] = Field(default_factory=list)
    # The deployed definition's default status, used while no operator has started/stopped it.
    default_running: bool = False

    @model_validator(mode="after")
    def _check_kind(self) -> SensorEvaluated:
        if self.kind == "push":
            if not self.message_id:
                raise ValueError("a push evaluation needs its message id")
            if self.cursor_read_version is not None or self.cursor_after is not None:
                raise ValueError("a push evaluation does not read or write the cursor")
        elif self.cursor_read_version is None:
            raise ValueError(f"a {self.kind} evaluation names the cursor version it read")
        return self


class PushQuarantined(_Payload):
    """`sensor_push` refused a request and kept it whole under `object_key`."""

    object_key: str = Field(min_length=1, max_length=1000)
    reason: str = Field(max_length=2000)
    http_status: int
    sensor: str | None = None
    subscription: str | None = None
    message_id: str | None = None


class SensorStatusChanged(_Payload):
    sensor: str = Field(min_length=1, max_length=200)
    status: SensorStatus
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


class SensorCursorSet(_Payload):
    """An operator set the cursor (`cursor=None`: reset). Run-key claims are not cleared."""

    sensor: str = Field(min_length=1, max_length=200)
    cursor: str | None = None
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


def message_fingerprint(message: PushedMessage | None) -> str:
    """What identifies a message's content: its data, attributes and ordering key (a Pub/Sub
    redelivery repeats all three; a forged message reusing the id does not)."""
    if message is None:
        return ""
    content = json.dumps(
        [message.data_b64, sorted(message.attributes.items()), message.ordering_key],
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def subscription_name(subscription: str | None) -> str:
    """A subscription as routing sees it: its short name (`projects/P/subscriptions/S` -> `S`),
    so two spellings of one subscription are one claim."""
    return (subscription or "").rsplit("/", 1)[-1]


def push_evaluation_key(
    sensor: str, subscription: str | None, message_id: str, fingerprint: str
) -> str:
    """One message on one subscription with one content. The same id with other content gets
    another key, so the fold sees it and records the conflict instead of dropping it."""
    short = subscription_name(subscription) or "-"
    return f"sensor_eval:{sensor}:msg:{short}:{message_id}:{fingerprint}"


def push_conflict_key(sensor: str, subscription: str | None, message_id: str, fp: str) -> str:
    """Where a conflicting delivery is listed in `push_quarantine` (it stays whole in its
    `sensor.evaluated` event)."""
    return f"conflict:{sensor}:{subscription or '-'}:{message_id}:{fp}"


def poll_evaluation_key(sensor: str, cursor_version: str, evaluation_id: str) -> str:
    """One evaluation from one cursor version. Racing evaluations have different ids, so the
    loser is folded (and recorded as a stale SKIPPED tick) rather than dropped as a duplicate;
    a redelivered evaluation reuses its id."""
    return f"sensor_eval:{sensor}:{cursor_version}:{evaluation_id}"


def push_quarantine_key(object_key: str) -> str:
    return f"push_quarantine:{object_key}"


def status_idempotency_key(sensor: str, request_id: str) -> str:
    return f"sensor_status:{sensor}:{request_id}"


def cursor_idempotency_key(sensor: str, request_id: str) -> str:
    return f"sensor_cursor:{sensor}:{request_id}"


def request_id(sensor: str, tick_id: str, index: int) -> str:
    return f"sensor:{sensor}:{tick_id}:{index}"


def tick_of_request(request_id: str) -> tuple[str, str] | None:
    """(sensor, tick id) of a sensor request id; None for another source's."""
    parts = request_id.split(":")
    if len(parts) != 4 or parts[0] != "sensor":
        return None
    return parts[1], parts[2]


def is_running(state: Mapping[str, Any] | None, default_running: bool) -> bool:
    """The operator's status if one was set, else the definition's default."""
    status = None if state is None else state.get("status")
    if status is None:
        return default_running
    return bool(status == "RUNNING")


def is_due(state: Mapping[str, Any] | None, interval_s: float, now_ms: int) -> bool:
    """Dagster's daemon rule: due when never evaluated, or when at least the minimum interval
    has passed since the last evaluation."""
    last = None if state is None else state.get("last_evaluation_ms")
    return last is None or now_ms - int(last) >= interval_s * 1000


def _state(ctx: FoldContext, sensor: str) -> dict[str, Any]:
    row = ctx.get(SENSOR_STATE.name, sensor)
    if row is None:
        return {"sensor": sensor, "cursor_version": ""}
    return {k: v for k, v in row.items() if k != ROW_VERSION}


def apply_status(ctx: FoldContext, table: str, sensor: str, status: str, by: str) -> Outcome:
    """An operator's start or stop of a sensor, or of a sensor-like evaluator (declarative
    automation), in `table`: the latest by event id wins."""
    found = ctx.get(table, sensor)
    row: dict[str, Any] = (
        {"sensor": sensor, "cursor_version": ""}
        if found is None
        else {k: v for k, v in found.items() if k != ROW_VERSION}
    )
    if (row.get("operator_version") or "") >= ctx.event_id:
        return Outcome.SUPERSEDED
    row.update(
        status=status,
        status_changed_by=by,
        status_changed_ms=ctx.time_ms,
        operator_version=ctx.event_id,
    )
    ctx.put(table, row)
    return Outcome.APPLIED


def fold_status_changed(ctx: FoldContext, event: SensorStatusChanged) -> Outcome:
    return apply_status(ctx, SENSOR_STATE.name, event.sensor, event.status, event.changed_by)


def fold_cursor_set(ctx: FoldContext, event: SensorCursorSet) -> Outcome:
    row = _state(ctx, event.sensor)
    if (row.get("cursor_version") or "") >= ctx.event_id:
        return Outcome.SUPERSEDED
    # Any evaluation that read the previous version now loses its compare-and-set.
    row.update(cursor=event.cursor, cursor_version=ctx.event_id)
    ctx.put(SENSOR_STATE.name, row)
    return Outcome.APPLIED


def _distinct_keys(requests: list[SensorRunRequest]) -> list[str]:
    keys: list[str] = []
    for request in requests:
        if request.run_key is not None and request.run_key not in keys:
            keys.append(request.run_key)
    return keys


def fold_evaluated(ctx: FoldContext, event: SensorEvaluated) -> Outcome:
    sensor, tick_id = event.sensor, ctx.event_id
    if ctx.get(SENSOR_TICKS.name, sensor, tick_id) is not None:
        return Outcome.SUPERSEDED
    if event.kind == "push" and not _first_delivery(ctx, event):
        return Outcome.APPLIED  # recorded as a conflict, or a redelivery: no second tick
    state = _state(ctx, sensor)
    polled = event.kind != "push"
    cursor_after = event.cursor_before
    request_ids: list[str] = []
    skip_reason: str | None = None
    error: str | None = None

    # A poll-like evaluation that passes the compare-and-set always moves `cursor_version` to
    # itself (even when it keeps the cursor), so the next evaluation reads a new version and
    # its idempotency key `sensor_eval:<sensor>:<version>` is fresh.
    if polled and event.cursor_read_version != (state.get("cursor_version") or ""):
        status: SensorTickStatus = "SKIPPED"
        skip_reason = STALE_CURSOR
    elif not is_running(state, event.default_running):
        status, skip_reason = "SKIPPED", STOPPED
        if polled:
            state["cursor_version"] = tick_id
    elif event.outcome == "FAILED":
        status, error = "FAILURE", event.error or "sensor evaluation failed"
        if polled:
            state["cursor_version"] = tick_id  # the cursor is kept
    else:
        _change_dynamic_partitions(ctx, event)
        _record_observations(ctx, event)
        if event.outcome == "REQUESTED":
            request_ids = _claim_and_request(ctx, event, tick_id)
        if request_ids:
            status = "SUCCESS"
        elif event.outcome == "REQUESTED" and event.run_requests:
            status = "SKIPPED"  # every request deduplicated by its run key: no reason (Dagster)
        else:
            status, skip_reason = "SKIPPED", event.skip_reason or EMPTY_RESULT
        if polled:
            if event.cursor_after:  # an empty cursor never overwrites
                state["cursor"] = event.cursor_after
                cursor_after = event.cursor_after
            state["cursor_version"] = tick_id

    ctx.put(
        SENSOR_TICKS.name,
        {
            "sensor": sensor,
            "tick_id": tick_id,
            "kind": event.kind,
            "status": status,
            "skip_reason": skip_reason,
            "error": error,
            "cursor_before": event.cursor_before,
            "cursor_after": cursor_after,
            "run_keys": json.dumps(_distinct_keys(event.run_requests)),
            "request_ids": json.dumps(request_ids),
            "run_ids": json.dumps([]),
            "message_id": event.message_id,
            "evaluated_ms": ctx.time_ms,
        },
    )
    if (state.get("last_tick_id") or "") < tick_id:
        state.update(last_tick_id=tick_id, last_tick_status=status)
    last = state.get("last_evaluation_ms")
    if last is None or last < ctx.time_ms:
        state["last_evaluation_ms"] = ctx.time_ms
    ctx.put(SENSOR_STATE.name, state)
    return Outcome.APPLIED


def _change_dynamic_partitions(ctx: FoldContext, event: SensorEvaluated) -> None:
    """The evaluation's dynamic partition requests, in order, as `arco partitions` changes."""
    for index, request in enumerate(event.dynamic_partitions):
        change = DynamicPartitionsChanged(
            definition=request.definition,
            keys=request.keys,
            changed_by=f"sensor:{event.sensor}",
            request_id=f"{ctx.event_id}:{index}",
        )
        apply_change(ctx, change, add=request.add)


def _record_observations(ctx: FoldContext, event: SensorEvaluated) -> None:
    # Imported here: observations write partition_status, whose module imports this one.
    from arco.domain.observations import record_observation

    for seen in event.observations:
        record_observation(ctx, seen.asset, seen.partition, seen.data_version, seen.metadata)


def _first_delivery(ctx: FoldContext, event: SensorEvaluated) -> bool:
    """Claim (sensor, subscription, message id) for this content. A later delivery with the
    same content is a redelivery (False); with other content it is a conflict, listed in
    `push_quarantine` with both fingerprints (False): never applied, never silently dropped."""
    assert event.message_id is not None  # push evaluations always carry it
    subscription = subscription_name(event.message.subscription if event.message else None)
    fingerprint = message_fingerprint(event.message)
    claimed = ctx.get(PUSH_MESSAGES.name, event.sensor, subscription, event.message_id)
    if claimed is None:
        ctx.put(
            PUSH_MESSAGES.name,
            {
                "sensor": event.sensor,
                "subscription": subscription,
                "message_id": event.message_id,
                "fingerprint": fingerprint,
                "tick_id": ctx.event_id,
            },
        )
        return True
    if claimed["fingerprint"] == fingerprint:
        return False
    ctx.put(
        PUSH_QUARANTINE.name,
        {
            "object_key": push_conflict_key(
                event.sensor, subscription, event.message_id, fingerprint
            ),
            "reason": (
                f"message id {event.message_id!r} was already applied with other content "
                f"(tick {claimed['tick_id']}); this delivery (event {ctx.event_id}, kept whole "
                "in the ledger) was not applied"
            ),
            "http_status": 409,
            "sensor": event.sensor,
            "subscription": subscription or None,
            "message_id": event.message_id,
            "received_ms": ctx.time_ms,
        },
    )
    return False


def _claim_and_request(ctx: FoldContext, event: SensorEvaluated, tick_id: str) -> list[str]:
    """Claim the evaluation's new run keys and write one run request per new or keyless one."""
    created: list[str] = []
    for index, request in enumerate(event.run_requests):
        key = request.run_key
        if key is not None:
            # A key claimed earlier, by another tick or by this one, creates no request.
            if ctx.get(SENSOR_RUN_KEYS.name, event.sensor, key) is not None:
                continue
            ctx.put(
                SENSOR_RUN_KEYS.name,
                {"sensor": event.sensor, "run_key": key, "tick_id": tick_id},
                version=tick_id,
            )
        rid = request_id(event.sensor, tick_id, index)
        ctx.put(
            RUN_REQUESTS.name,
            {
                "request_id": rid,
                "source": "sensor",
                "source_name": event.sensor,
                "tick_ms": ctx.time_ms,
                "run_key": key,
                "partition_key": request.partition_key,
                "asset_selection": json.dumps(request.asset_selection),
                "tags": json.dumps(request.tags, sort_keys=True),
                "status": "REQUESTED",
                "run_config": json.dumps(request.run_config, sort_keys=True)
                if request.run_config
                else None,
            },
            version=tick_id,
        )
        created.append(rid)
    return created


def fold_push_quarantined(ctx: FoldContext, event: PushQuarantined) -> Outcome:
    if ctx.get(PUSH_QUARANTINE.name, event.object_key) is not None:
        return Outcome.SUPERSEDED
    ctx.put(
        PUSH_QUARANTINE.name,
        {
            "object_key": event.object_key,
            "reason": event.reason,
            "http_status": event.http_status,
            "sensor": event.sensor,
            "subscription": event.subscription,
            "message_id": event.message_id,
            "received_ms": ctx.time_ms,
        },
    )
    return Outcome.APPLIED


def _requesting_tick(ctx: FoldContext, request_id: str) -> dict[str, Any] | None:
    """A copy of the sensor tick that made request `request_id`, if it is a sensor's."""
    found = tick_of_request(request_id)
    row = ctx.get(SENSOR_TICKS.name, *found) if found else None
    return None if row is None else {k: v for k, v in row.items() if k != ROW_VERSION}


def link_run(ctx: FoldContext, request_id: str, run_id: str) -> None:
    """List a run on the sensor tick that requested it (called by the runs fold)."""
    tick = _requesting_tick(ctx, request_id)
    if tick is None:
        return
    run_ids = sorted({*json.loads(tick.get("run_ids") or "[]"), run_id})
    tick["run_ids"] = json.dumps(run_ids)
    ctx.put(SENSOR_TICKS.name, tick)


def fail_request(ctx: FoldContext, request_id: str, error: str) -> None:
    """A request of this tick can never become a run: the tick is a FAILURE saying why (called
    by the runs fold)."""
    tick = _requesting_tick(ctx, request_id)
    if tick is None:
        return
    reason = f"run request {request_id.rsplit(':', 1)[-1]} failed: {error}"
    previous = tick.get("error")
    tick["status"] = "FAILURE"
    tick["error"] = reason if not previous else f"{previous}\n{reason}"
    ctx.put(SENSOR_TICKS.name, tick)
    state = ctx.get(SENSOR_STATE.name, tick["sensor"])
    if state is not None and state.get("last_tick_id") == tick["tick_id"]:
        updated = {k: v for k, v in state.items() if k != ROW_VERSION}
        updated["last_tick_status"] = "FAILURE"
        ctx.put(SENSOR_STATE.name, updated)


def install(registry: Registry) -> None:
    """Register the sensor tables and events. `run_requests` comes from `schedules.install`."""
    for spec in (SENSOR_STATE, SENSOR_TICKS, SENSOR_RUN_KEYS, PUSH_QUARANTINE, PUSH_MESSAGES):
        registry.add_table(spec)
    for name, payload, rule, description in (
        (
            SENSOR_EVALUATED,
            SensorEvaluated,
            fold_evaluated,
            "A sensor was evaluated: its requests, skip reason or error, and cursor.",
        ),
        (
            SENSOR_STATUS_CHANGED,
            SensorStatusChanged,
            fold_status_changed,
            "An operator started or stopped a sensor.",
        ),
        (
            SENSOR_CURSOR_SET,
            SensorCursorSet,
            fold_cursor_set,
            "An operator set or reset a sensor's cursor.",
        ),
        (
            SENSOR_PUSH_QUARANTINED,
            PushQuarantined,
            fold_push_quarantined,
            "sensor_push refused a request; the raw request is kept in an object.",
        ),
    ):
        registry.add_event(
            EventType(name=name, version=1, payload=payload, rule=rule, description=description)
        )
