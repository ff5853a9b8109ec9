"""Evaluating schedules: a pure function from (definitions, schedule state, now) to events.

For each schedule it finds the ticks due since it last ticked (or since it started running),
applies the schedule's catch-up policy, and decides each tick: TRIGGERED with its run requests,
SKIPPED with a reason (the schedule is stopped, no partition has closed yet), or FAILED with the
error. Event ids and idempotency keys derive from (schedule, tick time), so two timers firing at
once produce identical events and the fold keeps one tick with at most one set of run requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arco.domain.definitions import DefinitionsSnapshot, ScheduleNode
from arco.domain.envelope import NewEvent
from arco.domain.partitions import (
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.schedules import (
    SCHEDULE_CATCH_UP_CAPPED,
    SCHEDULE_TICKED,
    CatchUpCapped,
    RunRequestSpec,
    ScheduleStatus,
    ScheduleTicked,
    capped_idempotency_key,
    tick_idempotency_key,
)
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid

STOPPED_REASON = "schedule is stopped"


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def from_ms(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def effective_status(node: ScheduleNode, row: Row | None) -> ScheduleStatus:
    """The operator's last start/stop wins over the code's default (and survives redeploys)."""
    operator = row.get("operator_status") if row else None
    if operator == "RUNNING":
        return "RUNNING"
    if operator == "STOPPED":
        return "STOPPED"
    return node.default_status


def running_since_ms(node: ScheduleNode, row: Row | None) -> int | None:
    if row is None:
        return None
    if row.get("operator_status") == "RUNNING":
        return row.get("operator_changed_at_ms")
    if row.get("operator_status") is None and node.default_status == "RUNNING":
        return row.get("default_running_since_ms")
    return None


def due_ticks(node: ScheduleNode, row: Row | None, now: datetime) -> list[datetime]:
    """The ticks to evaluate now, oldest first, after the catch-up policy."""
    last = row.get("last_tick_ms") if row else None
    floor = -1 if last is None else last
    if effective_status(node, row) == "STOPPED":
        declared = row.get("declared_since_ms") if row else None
        latest = node.cron.latest_tick(now, node.timezone)
        if declared is None or latest is None:
            return []
        latest_ms = to_ms(latest)
        return [latest] if latest_ms > floor and latest_ms >= declared else []
    since = running_since_ms(node, row)
    if since is None:
        return []
    floor = max(floor, since - 1)  # a tick exactly at the start time is due
    policy = node.catch_up
    if policy.mode == "latest":
        latest = node.cron.latest_tick(now, node.timezone)
        return [latest] if latest is not None and to_ms(latest) > floor else []
    capped_at = row.get("capped_at_ms") if row else None
    if capped_at is not None and to_ms(now) <= capped_at:
        return []  # this `now` was already evaluated (and capped): a rerun changes nothing
    floor = max(floor, to_ms(now) - policy.window_seconds * 1000 - 1)
    return node.cron.ticks_between(
        from_ms(floor), now, node.timezone, limit=policy.max_ticks_per_call + 1
    )


def _time_partition_keys(
    pdef: PartitionsDefinition, tick: datetime, dynamic: Mapping[str, Sequence[str]]
) -> list[str]:
    """The partitions a tick at `tick` targets: the window that just closed, or every key."""
    if isinstance(pdef, TimeWindowPartitionsDefinition):
        key = pdef.last_key(tick)
        return [key] if key is not None else []
    if isinstance(pdef, MultiPartitionsDefinition):
        time_dims = [
            name
            for name, d in pdef.dimensions.items()
            if isinstance(d, TimeWindowPartitionsDefinition)
        ]
        keys = list(pdef.keys(tick, dynamic))
        if not time_dims:
            return keys
        dim = pdef.dimensions[time_dims[0]]
        assert isinstance(dim, TimeWindowPartitionsDefinition)
        latest = dim.last_key(tick)
        return [k for k in keys if pdef.dimension_keys(k)[time_dims[0]] == latest]
    return list(pdef.keys(tick, dynamic))


def _config(node: ScheduleNode) -> dict[str, Any] | None:
    return dict(node.run_config) if node.run_config else None


def run_requests_for(
    defs: DefinitionsSnapshot,
    node: ScheduleNode,
    tick: datetime,
    dynamic: Mapping[str, Sequence[str]],
) -> tuple[list[RunRequestSpec], str]:
    """Run requests of one tick, and the skip reason when there are none."""
    tags = {"arco/schedule_name": node.name, "arco/scheduled_execution_time": utc_iso(tick)}
    selection = sorted(node.target)
    if not node.partitioned:
        return [
            RunRequestSpec(
                run_key=f"{node.name}@{utc_iso(tick)}",
                asset_selection=selection,
                tags=tags,
                run_config=_config(node),
            )
        ], ""
    pdef = defs.schedule_partitions(node.name)
    if pdef is None:
        return [], "the schedule's targets are not partitioned"
    keys = _time_partition_keys(pdef, tick, dynamic)
    if not keys:
        if isinstance(pdef, DynamicPartitionsDefinition):
            return [], f"dynamic partitions '{pdef.name}' has no keys"
        return [], f"no partition of the target has closed by {tick.isoformat()}"
    requests = [
        RunRequestSpec(
            run_key=key,
            partition_key=key,
            asset_selection=selection,
            tags={**tags, "arco/partition": key},
            run_config=_config(node),
        )
        for key in keys
    ]
    return requests, ""


def tick_event(
    defs: DefinitionsSnapshot,
    node: ScheduleNode,
    row: Row | None,
    tick: datetime,
    dynamic: Mapping[str, Sequence[str]],
) -> NewEvent:
    """Decide one tick. Deterministic for (schedule, tick, definitions, partitions state)."""
    tick_ms = to_ms(tick)
    common: dict[str, Any] = {
        "schedule": node.name,
        "tick_ms": tick_ms,
        "tick_time": tick.isoformat(),
        "definitions_hash": defs.content_hash,
    }
    if effective_status(node, row) == "STOPPED":
        payload = ScheduleTicked(status="SKIPPED", skip_reason=STOPPED_REASON, **common)
    else:
        try:
            requests, reason = run_requests_for(defs, node, tick, dynamic)
            if requests:
                payload = ScheduleTicked(status="TRIGGERED", run_requests=requests, **common)
            else:
                payload = ScheduleTicked(status="SKIPPED", skip_reason=reason, **common)
        except Exception as exc:  # a tick that cannot be evaluated is recorded, not lost
            payload = ScheduleTicked(
                status="FAILED", error=f"{type(exc).__name__}: {exc}", **common
            )
    key = tick_idempotency_key(node.name, tick_ms)
    return NewEvent(SCHEDULE_TICKED, payload, key, event_id=deterministic_ulid(tick_ms, key))


def _failed_tick(
    defs: DefinitionsSnapshot, node: ScheduleNode, now: datetime, exc: Exception
) -> NewEvent:
    now_ms = to_ms(now)
    payload = ScheduleTicked(
        schedule=node.name,
        tick_ms=now_ms,
        tick_time=now.isoformat(),
        definitions_hash=defs.content_hash,
        status="FAILED",
        error=f"the timer could not compute this schedule's ticks: {type(exc).__name__}: {exc}",
    )
    key = tick_idempotency_key(node.name, now_ms)
    return NewEvent(SCHEDULE_TICKED, payload, key, event_id=deterministic_ulid(now_ms, key))


@dataclass(frozen=True, slots=True)
class ScheduleDecisions:
    events: tuple[NewEvent, ...]
    evaluated: int


def evaluate_schedules(
    defs: DefinitionsSnapshot,
    states: Mapping[str, Row],
    now: datetime,
    dynamic: Mapping[str, Sequence[str]] | None = None,
    only: Iterable[str] | None = None,
) -> ScheduleDecisions:
    """Every due tick of every schedule (or of `only`), as events to append."""
    dynamic = dynamic or {}
    names = sorted(only) if only is not None else sorted(defs.schedules)
    events: list[NewEvent] = []
    for name in names:
        node = defs.schedules[name]
        row = states.get(name)
        try:
            ticks = due_ticks(node, row, now)
        except Exception as exc:
            # One schedule's trouble is a FAILED tick of that schedule (at this call's time,
            # saying why); the other schedules are evaluated as usual.
            events.append(_failed_tick(defs, node, now, exc))
            continue
        if node.catch_up.mode == "all" and len(ticks) > node.catch_up.max_ticks_per_call:
            ticks = ticks[: node.catch_up.max_ticks_per_call]
            key = capped_idempotency_key(name, to_ms(now))
            events.append(
                NewEvent(
                    SCHEDULE_CATCH_UP_CAPPED,
                    CatchUpCapped(schedule=name, now_ms=to_ms(now)),
                    key,
                    event_id=deterministic_ulid(to_ms(now), key),
                )
            )
        for tick in ticks:
            events.append(tick_event(defs, node, row, tick, dynamic))
    return ScheduleDecisions(tuple(events), len(names))
