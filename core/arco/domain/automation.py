"""Declarative automation state: tables, events and their fold rules.

The timer evaluates the assets' automation conditions (Dagster's
`default_automation_condition_sensor`) and records each evaluation that changed something as
one `automation.evaluated` event:

- `automation_state`: the operator's start/stop (None: the default, stopped as in Dagster), the
  compare-and-set version of the last evaluation, its time, and the materializations it saw
  (`watermark`, `recent`: what `newly_updated` compares with);
- `automation_memory`: per asset, what its condition remembers (`since`, `newly_true`, code
  versions) and the partitions it requested last;
- `automation_ticks`: every recorded evaluation: SUCCESS (runs requested), SKIPPED (nothing to
  request, dry run, held by the rate limit, or another evaluation won), FAILURE (with the error);
- `automation_evaluations`: per asset and tick, the evaluated condition tree (for `why`);
- new run requests go to `run_requests` (source "automation"), which the timer turns into runs.

Two timers evaluating at once read the same version: the fold applies the first and records the
other as a SKIPPED tick, so each run is requested once.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.schedules import RUN_REQUESTS
from arco.domain.sensors import apply_status, is_running
from arco.domain.tables import ROW_VERSION, Column, TableSpec

AUTOMATION_EVALUATED = "automation.evaluated"
AUTOMATION_STATUS_CHANGED = "automation.status_changed"

# Dagster's name for the evaluator every code location with conditions gets.
SENSOR_NAME = "default_automation_condition_sensor"
STALE = "stale: another evaluation won"
STOPPED = "automation is stopped"

AutomationStatus = Literal["RUNNING", "STOPPED"]
TickStatus = Literal["SUCCESS", "SKIPPED", "FAILURE"]

AUTOMATION_STATE = TableSpec(
    name="automation_state",
    key=("sensor",),
    columns=(
        Column("sensor", "string"),
        Column("status", "string"),
        Column("status_changed_by", "string"),
        Column("status_changed_ms", "int64"),
        Column("operator_version", "string"),
        Column("cursor_version", "string"),
        Column("last_evaluation_ms", "int64"),
        Column("last_tick_id", "string"),
        Column("last_tick_status", "string"),
        Column("watermark", "string"),
        Column("recent", "json"),
    ),
    description="The automation evaluator: start/stop, its version, the materializations seen.",
)

AUTOMATION_MEMORY = TableSpec(
    name="automation_memory",
    key=("asset",),
    columns=(
        Column("asset", "string"),
        Column("memory", "json"),
        Column("tick_id", "string"),
    ),
    description="Per asset: what its automation condition remembers between evaluations.",
)

AUTOMATION_TICKS = TableSpec(
    name="automation_ticks",
    key=("tick_id",),
    columns=(
        Column("tick_id", "string"),
        Column("status", "string"),
        Column("skip_reason", "string"),
        Column("error", "string"),
        Column("evaluated_ms", "int64"),
        Column("assets_evaluated", "int64"),
        Column("requested", "json"),
        Column("request_ids", "json"),
        Column("run_ids", "json"),
        Column("held", "json"),
        Column("dry_run", "bool"),
        Column("definitions_hash", "string"),
    ),
    description="Every recorded automation evaluation: runs requested, skipped or failed.",
)

AUTOMATION_EVALUATIONS = TableSpec(
    name="automation_evaluations",
    key=("asset", "tick_id"),
    columns=(
        Column("asset", "string"),
        Column("tick_id", "string"),
        Column("requested", "json"),
        Column("result", "json"),
        Column("evaluated_ms", "int64"),
    ),
    description="Per asset and tick: the evaluated condition, node by node (for `why`).",
)


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AutomationRunRequest(_Payload):
    """One run the evaluation requests: assets of one partition (or one range of them)."""

    assets: list[str] = Field(min_length=1, max_length=100_000)
    partition_key: str | None = None
    partition_range: tuple[str, str] | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class AssetEvaluated(_Payload):
    """What changed for one asset: its requested partitions, its new memory, and (when it
    requested something or is evaluated for the first time) its condition tree's results."""

    asset: str = Field(min_length=1, max_length=500)
    requested: list[str] = Field(default_factory=list)
    requested_count: int = 0
    memory: dict[str, Any]
    result: dict[str, Any] | None = None


class AutomationEvaluated(_Payload):
    """One evaluation of every asset with an automation condition.

    `cursor_read_version` is the version of `automation_state` it started from ("" before any):
    the fold applies it only if that is still the current one. `runs` are the runs to request;
    `held` those a dry run or the hourly limit kept back (their partitions stay unrequested in
    memory, so a later evaluation requests them). `forget` lists assets that no longer have a
    condition.
    """

    sensor: str = Field(default=SENSOR_NAME, min_length=1, max_length=200)
    cursor_read_version: str
    definitions_hash: str = ""
    default_running: bool = False
    outcome: Literal["EVALUATED", "FAILED"] = "EVALUATED"
    error: str | None = Field(default=None, max_length=20_000)
    assets_evaluated: int = 0
    assets: list[AssetEvaluated] = Field(default_factory=list)
    forget: list[str] = Field(default_factory=list)
    runs: list[AutomationRunRequest] = Field(default_factory=list)
    held: list[AutomationRunRequest] = Field(default_factory=list)
    held_reason: str | None = None
    # assets whose condition raised (nothing requested for them, their memory kept)
    asset_errors: dict[str, str] = Field(default_factory=dict)
    dry_run: bool = False
    watermark: str = ""
    recent: list[str] = Field(default_factory=list)


class AutomationStatusChanged(_Payload):
    sensor: str = Field(default=SENSOR_NAME, min_length=1, max_length=200)
    status: AutomationStatus
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


def evaluation_key(sensor: str, cursor_version: str, evaluation_id: str) -> str:
    """One evaluation from one version: racing evaluations have different ids, so the loser is
    folded and recorded as a SKIPPED tick; a redelivered evaluation reuses its id."""
    return f"automation_eval:{sensor}:{cursor_version}:{evaluation_id}"


def status_key(sensor: str, request_id: str) -> str:
    return f"automation_status:{sensor}:{request_id}"


def request_id(tick_id: str, index: int) -> str:
    return f"automation:{tick_id}:{index}"


def tick_of_request(request_id: str) -> str | None:
    parts = request_id.split(":")
    if len(parts) != 3 or parts[0] != "automation":
        return None
    return parts[1]


def _state(ctx: FoldContext, sensor: str) -> dict[str, Any]:
    row = ctx.get(AUTOMATION_STATE.name, sensor)
    if row is None:
        return {"sensor": sensor, "cursor_version": ""}
    return {k: v for k, v in row.items() if k != ROW_VERSION}


def fold_status_changed(ctx: FoldContext, event: AutomationStatusChanged) -> Outcome:
    return apply_status(ctx, AUTOMATION_STATE.name, event.sensor, event.status, event.changed_by)


def _requested_counts(event: AutomationEvaluated) -> dict[str, int]:
    return {a.asset: a.requested_count for a in event.assets if a.requested_count}


def fold_evaluated(ctx: FoldContext, event: AutomationEvaluated) -> Outcome:
    tick_id = ctx.event_id
    if ctx.get(AUTOMATION_TICKS.name, tick_id) is not None:
        return Outcome.SUPERSEDED
    state = _state(ctx, event.sensor)
    skip_reason: str | None = None
    error: str | None = None
    request_ids: list[str] = []
    requested: dict[str, int] = {}
    if event.cursor_read_version != (state.get("cursor_version") or ""):
        status: TickStatus = "SKIPPED"
        skip_reason = STALE
    elif not is_running(state, event.default_running):
        status, skip_reason = "SKIPPED", STOPPED
        state["cursor_version"] = tick_id
    elif event.outcome == "FAILED":
        status, error = "FAILURE", event.error or "automation evaluation failed"
        state["cursor_version"] = tick_id
    else:
        _remember(ctx, event, tick_id)
        request_ids = _request(ctx, event, tick_id)
        requested = _requested_counts(event)
        status = "SUCCESS" if request_ids else "SKIPPED"
        if not request_ids:
            skip_reason = event.held_reason if event.held else None
        if event.asset_errors:  # the others' requests stand; these failed alone
            error = "\n".join(
                f"{asset}: {message}" for asset, message in sorted(event.asset_errors.items())
            )
            if not request_ids:
                status = "FAILURE"
        state.update(
            cursor_version=tick_id,
            watermark=event.watermark or state.get("watermark"),
            recent=json.dumps(sorted(event.recent)),
        )
        last = state.get("last_evaluation_ms")
        if last is None or last < ctx.time_ms:
            state["last_evaluation_ms"] = ctx.time_ms
    ctx.put(
        AUTOMATION_TICKS.name,
        {
            "tick_id": tick_id,
            "status": status,
            "skip_reason": skip_reason,
            "error": error,
            "evaluated_ms": ctx.time_ms,
            "assets_evaluated": event.assets_evaluated,
            "requested": json.dumps(requested, sort_keys=True),
            "request_ids": json.dumps(request_ids),
            "run_ids": json.dumps([]),
            "held": json.dumps([h.model_dump(mode="json") for h in event.held]),
            "dry_run": event.dry_run,
            "definitions_hash": event.definitions_hash,
        },
    )
    if (state.get("last_tick_id") or "") < tick_id:
        state.update(last_tick_id=tick_id, last_tick_status=status)
    ctx.put(AUTOMATION_STATE.name, state)
    return Outcome.APPLIED


def _remember(ctx: FoldContext, event: AutomationEvaluated, tick_id: str) -> None:
    for asset in event.assets:
        ctx.put(
            AUTOMATION_MEMORY.name,
            {
                "asset": asset.asset,
                "memory": json.dumps(asset.memory, sort_keys=True),
                "tick_id": tick_id,
            },
        )
        if asset.result is not None:
            ctx.put(
                AUTOMATION_EVALUATIONS.name,
                {
                    "asset": asset.asset,
                    "tick_id": tick_id,
                    "requested": json.dumps(
                        {"count": asset.requested_count, "sample": asset.requested}
                    ),
                    "result": json.dumps(asset.result, sort_keys=True),
                    "evaluated_ms": ctx.time_ms,
                },
            )
    for asset_key in event.forget:
        if ctx.get(AUTOMATION_MEMORY.name, asset_key) is not None:
            ctx.delete(AUTOMATION_MEMORY.name, asset_key)


def _request(ctx: FoldContext, event: AutomationEvaluated, tick_id: str) -> list[str]:
    created: list[str] = []
    for index, run in enumerate(event.runs):
        rid = request_id(tick_id, index)
        tags = dict(run.tags)
        if run.partition_range is not None:
            # Dagster's range tags: the requests step plans one run over the range
            tags["arco/asset_partition_range_start"] = run.partition_range[0]
            tags["arco/asset_partition_range_end"] = run.partition_range[1]
        ctx.put(
            RUN_REQUESTS.name,
            {
                "request_id": rid,
                "source": "automation",
                "source_name": event.sensor,
                "tick_ms": ctx.time_ms,
                "run_key": None,
                "partition_key": run.partition_key,
                "asset_selection": json.dumps(run.assets),
                "tags": json.dumps(tags, sort_keys=True),
                "status": "REQUESTED",
                "run_config": None,
            },
        )
        created.append(rid)
    return created


def _tick_row(ctx: FoldContext, request: str) -> dict[str, Any] | None:
    tick_id = tick_of_request(request)
    row = ctx.get(AUTOMATION_TICKS.name, tick_id) if tick_id else None
    return None if row is None else {k: v for k, v in row.items() if k != ROW_VERSION}


def link_run(ctx: FoldContext, request: str, run_id: str) -> None:
    """List a run on the tick that requested it (called by the runs fold)."""
    tick = _tick_row(ctx, request)
    if tick is None:
        return
    tick["run_ids"] = json.dumps(sorted({*json.loads(tick["run_ids"]), run_id}))
    ctx.put(AUTOMATION_TICKS.name, tick)


def fail_request(ctx: FoldContext, request: str, error: str) -> None:
    """A request of the tick can never become a run: the tick is a FAILURE saying why."""
    tick = _tick_row(ctx, request)
    if tick is None:
        return
    reason = f"run request {request.rsplit(':', 1)[-1]} failed: {error}"
    previous = tick.get("error")
    tick.update(status="FAILURE", error=reason if not previous else f"{previous}\n{reason}")
    ctx.put(AUTOMATION_TICKS.name, tick)


def install(registry: Registry) -> None:
    """Register the automation tables and events (`run_requests` comes from schedules)."""
    for spec in (AUTOMATION_STATE, AUTOMATION_MEMORY, AUTOMATION_TICKS, AUTOMATION_EVALUATIONS):
        registry.add_table(spec)
    registry.add_event(
        EventType(
            name=AUTOMATION_EVALUATED,
            version=1,
            payload=AutomationEvaluated,
            rule=fold_evaluated,
            description="The timer evaluated the automation conditions: memory and runs.",
        )
    )
    registry.add_event(
        EventType(
            name=AUTOMATION_STATUS_CHANGED,
            version=1,
            payload=AutomationStatusChanged,
            rule=fold_status_changed,
            description="An operator started or stopped declarative automation.",
        )
    )
