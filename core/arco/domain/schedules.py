"""Schedule state, tick history and run requests: tables, events and their fold rules.

- `schedule_state`: per schedule, when it was declared, whether an operator started or stopped
  it (which survives redeploys), since when it has been running, and its latest tick.
- `schedule_ticks`: every evaluated tick: TRIGGERED (with run keys), SKIPPED (with the reason)
  or FAILED (with the error). Keyed by (schedule, tick time): a tick evaluated twice is one row.
- `run_requests`: what ticks asked to run. The runs capability turns them into runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import ROW_VERSION, Column, TableSpec

SCHEDULE_TICKED = "schedule.ticked"
SCHEDULE_STATUS_CHANGED = "schedule.status_changed"
SCHEDULE_CATCH_UP_CAPPED = "schedule.catch_up_capped"
TickStatus = Literal["TRIGGERED", "SKIPPED", "FAILED"]
ScheduleStatus = Literal["RUNNING", "STOPPED"]

SCHEDULE_STATE = TableSpec(
    name="schedule_state",
    key=("schedule",),
    columns=(
        Column("schedule", "string"),
        Column("declared_since_ms", "int64"),
        Column("default_running_since_ms", "int64"),
        Column("operator_status", "string"),
        Column("operator_changed_at_ms", "int64"),
        Column("operator_changed_by", "string"),
        Column("operator_version", "string"),
        Column("last_tick_ms", "int64"),
        Column("capped_at_ms", "int64"),
    ),
    description="Per schedule: declaration, operator start/stop, latest tick.",
)

SCHEDULE_TICKS = TableSpec(
    name="schedule_ticks",
    key=("schedule", "tick_ms"),
    columns=(
        Column("schedule", "string"),
        Column("tick_ms", "int64"),
        Column("tick_time", "string"),
        Column("status", "string"),
        Column("skip_reason", "string"),
        Column("error", "string"),
        Column("run_keys", "json"),
        Column("run_ids", "json"),
        Column("partition_keys", "json"),
        Column("definitions_hash", "string"),
    ),
    description="Every evaluated schedule tick.",
)

RUN_REQUESTS = TableSpec(
    name="run_requests",
    key=("request_id",),
    columns=(
        Column("request_id", "string"),
        Column("source", "string"),
        Column("source_name", "string"),
        Column("tick_ms", "int64"),
        Column("run_key", "string"),
        Column("partition_key", "string"),
        Column("asset_selection", "json"),
        Column("tags", "json"),
        Column("status", "string"),
        Column("run_id", "string"),
        Column("error", "string"),
        Column("run_config", "json"),
    ),
    description="Runs requested by schedules (and later sensors, backfills, reconciliation).",
)


class RunRequestSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run_key: str = Field(min_length=1, max_length=500)
    partition_key: str | None = None
    asset_selection: list[str]
    tags: dict[str, str] = Field(default_factory=dict)
    run_config: dict[str, Any] | None = None


class ScheduleTicked(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: str
    tick_ms: int
    tick_time: str
    status: TickStatus
    skip_reason: str | None = None
    error: str | None = None
    run_requests: list[RunRequestSpec] = Field(default_factory=list)
    definitions_hash: str


class ScheduleStatusChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: str = Field(min_length=1, max_length=200)
    status: ScheduleStatus
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


class CatchUpCapped(BaseModel):
    """A catch-up evaluation hit its per-call cap at `now_ms`; later calls continue.

    Recorded so that running the timer again at the same `now` evaluates nothing new.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schedule: str
    now_ms: int


def capped_idempotency_key(schedule: str, now_ms: int) -> str:
    return f"catch_up_capped:{schedule}:{now_ms}"


def tick_idempotency_key(schedule: str, tick_ms: int) -> str:
    return f"tick:{schedule}:{tick_ms}"


def status_idempotency_key(schedule: str, request_id: str) -> str:
    return f"schedule_status:{schedule}:{request_id}"


def request_id(schedule: str, tick_ms: int, index: int) -> str:
    return f"schedule:{schedule}:{tick_ms}:{index}"


def _state(ctx: FoldContext, schedule: str) -> dict[str, Any]:
    row = ctx.get(SCHEDULE_STATE.name, schedule)
    if row is None:
        return {"schedule": schedule}
    return {k: v for k, v in row.items() if k != ROW_VERSION}


def on_deployed(ctx: FoldContext, snapshot: Mapping[str, Any]) -> None:
    """A deploy declares schedules; a default-RUNNING schedule runs from this deploy on."""
    for schedule in sorted(snapshot.get("schedules") or [], key=lambda s: str(s["name"])):
        name = str(schedule["name"])
        row = _state(ctx, name)
        changed = False
        if row.get("declared_since_ms") is None:
            row["declared_since_ms"] = ctx.time_ms
            changed = True
        default_running = schedule.get("default_status") == "RUNNING"
        if default_running and row.get("default_running_since_ms") is None:
            row["default_running_since_ms"] = ctx.time_ms
            changed = True
        elif not default_running and row.get("default_running_since_ms") is not None:
            row["default_running_since_ms"] = None
            changed = True
        if changed:
            ctx.put(SCHEDULE_STATE.name, row)


def fold_status_changed(ctx: FoldContext, event: ScheduleStatusChanged) -> Outcome:
    row = _state(ctx, event.schedule)
    if (row.get("operator_version") or "") >= ctx.event_id:
        return Outcome.SUPERSEDED
    if row.get("operator_status") == event.status == "RUNNING":
        changed_at = row["operator_changed_at_ms"]  # starting a running schedule changes nothing
    else:
        changed_at = ctx.time_ms
    row.update(
        operator_status=event.status,
        operator_changed_at_ms=changed_at,
        operator_changed_by=event.changed_by,
        operator_version=ctx.event_id,
    )
    ctx.put(SCHEDULE_STATE.name, row)
    return Outcome.APPLIED


def fold_ticked(ctx: FoldContext, event: ScheduleTicked) -> Outcome:
    if ctx.get(SCHEDULE_TICKS.name, event.schedule, event.tick_ms) is not None:
        return Outcome.SUPERSEDED
    ctx.put(
        SCHEDULE_TICKS.name,
        {
            "schedule": event.schedule,
            "tick_ms": event.tick_ms,
            "tick_time": event.tick_time,
            "status": event.status,
            "skip_reason": event.skip_reason,
            "error": event.error,
            "run_keys": json.dumps([r.run_key for r in event.run_requests]),
            "run_ids": json.dumps([]),
            "partition_keys": json.dumps(
                [r.partition_key for r in event.run_requests if r.partition_key is not None]
            ),
            "definitions_hash": event.definitions_hash,
        },
    )
    row = _state(ctx, event.schedule)
    if (row.get("last_tick_ms") or -1) < event.tick_ms:
        row["last_tick_ms"] = event.tick_ms
        ctx.put(SCHEDULE_STATE.name, row)
    for index, request in enumerate(event.run_requests):
        ctx.put(
            RUN_REQUESTS.name,
            {
                "request_id": request_id(event.schedule, event.tick_ms, index),
                "source": "schedule",
                "source_name": event.schedule,
                "tick_ms": event.tick_ms,
                "run_key": request.run_key,
                "partition_key": request.partition_key,
                "asset_selection": json.dumps(request.asset_selection),
                "tags": json.dumps(request.tags, sort_keys=True),
                "status": "REQUESTED",
                "run_config": json.dumps(request.run_config, sort_keys=True)
                if request.run_config
                else None,
            },
        )
    return Outcome.APPLIED


def fold_capped(ctx: FoldContext, event: CatchUpCapped) -> Outcome:
    row = _state(ctx, event.schedule)
    if (row.get("capped_at_ms") or -1) >= event.now_ms:
        return Outcome.SUPERSEDED
    row["capped_at_ms"] = event.now_ms
    ctx.put(SCHEDULE_STATE.name, row)
    return Outcome.APPLIED


def install(registry: Registry) -> None:
    for spec in (SCHEDULE_STATE, SCHEDULE_TICKS, RUN_REQUESTS):
        registry.add_table(spec)
    registry.add_event(
        EventType(
            name=SCHEDULE_TICKED,
            version=1,
            payload=ScheduleTicked,
            rule=fold_ticked,
            description="A schedule tick was evaluated: triggered, skipped or failed.",
        )
    )
    registry.add_event(
        EventType(
            name=SCHEDULE_STATUS_CHANGED,
            version=1,
            payload=ScheduleStatusChanged,
            rule=fold_status_changed,
            description="An operator started or stopped a schedule.",
        )
    )
    registry.add_event(
        EventType(
            name=SCHEDULE_CATCH_UP_CAPPED,
            version=1,
            payload=CatchUpCapped,
            rule=fold_capped,
            description="A catch-up evaluation reached its per-call cap.",
        )
    )
