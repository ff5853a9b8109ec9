"""Simulated ledgers for the fold properties: valid histories of every event family, and the
deliveries a compactor can see of them.

A `World` writes a ledger the way production does: operators through the commands (with the
production payload models and idempotency keys), a timer that runs the real controllers
(`evaluate_schedules`, `evaluate_sensors`, `automation_requests_to_events`,
`advance_backfills`, `advance_runs`) over what it has folded, workers that follow
`execute_task`'s rules (stale orders, claims, cancel before start, heartbeats, silence,
reports that land late), poll-sensor workers and Pub/Sub pushes. A live compactor folds what
has landed, so readers act on a lagging view, and objects may land late (a slow writer), be
written twice (a writer retry under a fresh name) or hold the same events as another object
(two timers deciding the same thing).

What a compactor can do with such a ledger (`deliveries`): it folds what it lists, and a
listing holds every object that has landed, so an object is never folded before one that
landed earlier (the timer folds what has landed before it decides, then its own decisions).
Within that, fold calls are cut anywhere, objects are delivered again (by name), and the
staged state is committed after any call. Objects that land late (a slow writer) are what
makes the order of folding differ from the order of event ids.

Everything here is deterministic given hypothesis' draws (no global counters), so a fixed-seed
profile replays the same ledgers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from arco.domain import (
    access,
    automation,
    backfills,
    dynamic_partitions,
    reconciliation,
    runs,
    schedules,
)
from arco.domain import sensors as sensors_domain
from arco.domain import settings as settings_domain
from arco.domain.automation_controller import (
    AutomationInputs,
    asset_facts,
    evaluate_conditions,
    watched_assets,
)
from arco.domain.backfill_controller import BackfillView, advance_backfills
from arco.domain.canonical import canonical_json, fingerprint
from arco.domain.catalog import default_registry
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.deployments import (
    CURRENT,
    DEFINITIONS_DEPLOYED,
    DefinitionsDeployed,
    deploy_idempotency_key,
)
from arco.domain.dynamic_partitions import dynamic_keys
from arco.domain.envelope import EventEnvelope, NewEvent, format_time_ms
from arco.domain.fold import LedgerObject, fold_objects
from arco.domain.run_controller import RunPolicy, TaskOrder, advance_runs
from arco.domain.run_identity import keyed_run_id
from arco.domain.run_plan import PlannedTask, RunPlan, TaskKey
from arco.domain.run_requests import automation_requests_to_events
from arco.domain.schedule_controller import evaluate_schedules
from arco.domain.sensor_controller import SensorInputs, SensorOrder, evaluate_sensors
from arco.domain.state import FoldState, StagedState
from arco.domain.tables import Key, Row
from arco.domain.ulid import deterministic_ulid, encode_ulid, ulid_time_ms
from arco.sdk import (
    AutomationCondition,
    CatchUp,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    ScheduleDefinition,
    StaticPartitionsDefinition,
    asset,
    asset_sensor,
    push_sensor,
    sensor,
)
from tests.factories import BASE_MS, batch_bytes

REG = default_registry()
WS = "default"

# --- what is written ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """One ledger object: its name, its events, who wrote it, and when it landed (`land`: its
    rank among landings; a compactor lists what has landed, so it never folds an object
    before one that landed earlier)."""

    index: int
    name: str
    events: tuple[EventEnvelope, ...]
    writer: str
    land: int = -1

    @cached_property
    def obj(self) -> LedgerObject:
        return LedgerObject(self.name, batch_bytes(list(self.events)))

    def __repr__(self) -> str:
        kinds = ", ".join(f"{e.type}[{e.idempotency_key}]@{e.event_id[:12]}" for e in self.events)
        return f"#{self.index} (landed {self.land}) {self.writer}: {kinds}"


@dataclass(frozen=True)
class Ledger:
    objects: tuple[Written, ...]
    features: frozenset[str] = frozenset()
    """What happened while it was written (`timeout`, `late_report`, ...): for `event()`."""
    marks: dict[str, int] = field(default_factory=dict)
    """Objects a script named (e.g. the timeout it made happen), by what they are."""

    def events(self) -> Iterable[tuple[Written, EventEnvelope]]:
        for written in self.objects:
            for event in written.events:
                yield written, event

    def of_type(self, type_: str) -> list[tuple[Written, EventEnvelope]]:
        return [(w, e) for w, e in self.events() if e.type == type_]

    def __repr__(self) -> str:
        return "Ledger(\n  " + "\n  ".join(map(repr, self.objects)) + "\n)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


# --- deliveries ----------------------------------------------------------------------------------

Edge = tuple[int, int]
"""(a, b): object a is folded in a fold call no later than object b."""


@dataclass(frozen=True)
class Delivery:
    """Fold calls (batches of objects, duplicates included) and after which calls the staged
    state is committed (the others fold on into the same staged state)."""

    calls: tuple[tuple[LedgerObject, ...], ...]
    commit_after: tuple[bool, ...]
    apart: bool = True
    """Whether every `apart` pair asked for was folded in two calls, in that order."""

    def first_call(self) -> dict[str, int]:
        """The call that first folds each object, by name."""
        first: dict[str, int] = {}
        for number, batch in enumerate(self.calls):
            for obj in batch:
                first.setdefault(obj.name, number)
        return first

    def __repr__(self) -> str:
        return "Delivery(" + " | ".join(" ".join(o.name[-4:] for o in c) for c in self.calls) + ")"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def call_numbers(
    draw: st.DrawFn, ledger: Ledger, extra: Iterable[Edge] = (), apart: Iterable[Edge] = ()
) -> tuple[list[int], bool]:
    """A fold call for every object. A compactor folds what has landed, so calls cut the
    landing order into runs (cuts drawn); `extra` edges then move objects later (and what
    landed after them with them) until each edge holds. Each `apart` pair (a, b) then gets a
    cut between a and b if it has none; whether that could be done is returned too."""
    by_land = sorted(ledger.objects, key=lambda w: w.land)
    call = [0] * len(ledger.objects)
    current = 0
    for written in by_land:
        if draw(st.integers(0, 2), label="cut before") == 0:
            current += 1
        call[written.index] = current
    edges = [(a, b) for a, b in extra if a != b]

    def settle() -> None:
        changed = True
        while changed:
            changed = False
            for a, b in edges:
                if call[b] < call[a]:
                    call[b] = call[a]
                    changed = True
            highest = 0
            for written in by_land:
                if call[written.index] < highest:
                    call[written.index] = highest
                    changed = True
                highest = call[written.index]

    settle()
    for a, b in apart:
        if call[a] >= call[b]:
            bump = call[a] - call[b] + 1
            for written in by_land[ledger.objects[b].land :]:
                call[written.index] += bump
            settle()
    return call, all(call[a] < call[b] for a, b in apart)


@st.composite
def deliveries(
    draw: st.DrawFn, ledger: Ledger, extra: Iterable[Edge] = (), apart: Iterable[Edge] = ()
) -> Delivery:
    """Every object folded at least once, in fold calls that follow the landing order; some
    delivered again (the same name, in the same or a later call); batches shuffled; the
    staged state committed after some calls and folded on after the others."""
    numbers, apart_ok = call_numbers(draw, ledger, extra, apart)
    calls = max(numbers) + 1
    batches: list[list[LedgerObject]] = [[] for _ in range(calls)]
    for written, number in zip(ledger.objects, numbers, strict=True):
        batches[number].append(written.obj)
    for _ in range(draw(st.integers(0, 3), label="redeliveries")):
        index = draw(st.integers(0, len(ledger.objects) - 1))
        batches[draw(st.integers(numbers[index], calls - 1))].append(ledger.objects[index].obj)
    shuffled = tuple(tuple(draw(st.permutations(b))) for b in batches)
    commits = (*(draw(st.booleans(), label="commit") for _ in batches[:-1]), True)
    return Delivery(shuffled, commits, apart_ok)


def out_of_order(ledger: Ledger, delivery: Delivery) -> int:
    """Pairs of objects the delivery folds in two calls against the order of their events'
    ids (some event of the later-folded one is older than some event of the other)."""
    first = delivery.first_call()
    spans = [
        (first[w.name], min(e.event_id for e in w.events), max(e.event_id for e in w.events))
        for w in ledger.objects
    ]
    return sum(
        1
        for a_call, a_min, _ in spans
        for b_call, _, b_max in spans
        if b_call < a_call and a_min < b_max
    )


# --- folding -------------------------------------------------------------------------------------

Tables = dict[str, dict[Key, Row]]


def tables(state: FoldState) -> Tables:
    """Every non-empty table, system tables included."""
    return {name: dict(rows) for name, rows in sorted(state.tables.items()) if rows}


def ordered_pass(ledger: Ledger) -> FoldState:
    """A rebuild: every object in one fold call (events applied in id order)."""
    staged = StagedState(FoldState())
    fold_objects(staged, [w.obj for w in ledger.objects], REG, WS)
    return staged.commit()


def fold_delivery(delivery: Delivery, state: FoldState | None = None) -> FoldState:
    state = state or FoldState()
    staged = StagedState(state)
    for batch, commit in zip(delivery.calls, delivery.commit_after, strict=True):
        fold_objects(staged, batch, REG, WS)
        if commit:
            state = staged.commit()
            staged = StagedState(state)
    return state


def assert_same_tables(got: Tables, expected: Tables) -> None:
    """Equal tables, or an error naming the rows (and columns) that differ."""
    if got == expected:
        return
    lines = []
    for table in sorted(set(got) | set(expected)):
        mine, theirs = got.get(table, {}), expected.get(table, {})
        for key in sorted(set(mine) | set(theirs), key=repr):
            a, b = mine.get(key), theirs.get(key)
            if a == b:
                continue
            if a is None or b is None:
                lines.append(f"{table}{key}: {'only in the rebuild' if a is None else 'extra'}")
                continue
            columns = sorted(c for c in set(a) | set(b) if a.get(c) != b.get(c))
            diff = {c: (a.get(c), b.get(c)) for c in columns}
            lines.append(f"{table}{key}: (here, rebuild) {diff}")
    raise AssertionError("tables differ from the rebuild:\n  " + "\n  ".join(lines[:20]))


def snapshot_state(state: FoldState) -> Tables:
    """A deep enough copy to notice any change to committed rows (rows are flat dicts)."""
    return {name: {k: dict(r) for k, r in rows.items()} for name, rows in state.tables.items()}


# --- code locations ------------------------------------------------------------------------------

PARTS = StaticPartitionsDefinition(["p1", "p2", "p3"])
SUBSCRIPTION = "landed"


def _nothing(*_: Any) -> None:
    return None


@cache
def code_location(version: int) -> DefinitionsSnapshot:
    """Two versions of one code location: five assets (a, b, e partitioned; c, d not; d and e
    with automation conditions), schedules, and a sensor of each kind the timer or a worker
    evaluates. Version 2 changes a code version, a dependency, a condition and drops a schedule
    (what a deploy changes in the tables)."""

    @asset(name="a", partitions_def=PARTS, code_version=f"a{version}")
    def a() -> None: ...

    @asset(name="b", partitions_def=PARTS, deps=["a"])
    def b() -> None: ...

    @asset(name="c", deps=["b"] if version == 1 else ["a", "b"])
    def c() -> None: ...

    @asset(name="d", deps=["c"], automation_condition=AutomationCondition.eager())
    def d() -> None: ...

    @asset(
        name="e",
        partitions_def=PARTS,
        deps=["b"],
        automation_condition=AutomationCondition.eager()
        if version == 1
        else AutomationCondition.on_missing(),
    )
    def e() -> None: ...

    every_minute = ScheduleDefinition(
        "every_minute",
        "* * * * *",
        target=["c"],
        default_status=DefaultScheduleStatus.RUNNING,
        catch_up=CatchUp.all(timedelta(minutes=3), max_per_call=2),
    )
    per_partition = ScheduleDefinition(
        "per_partition",
        "*/2 * * * *",
        target=["a"],
        partitioned=True,
        default_status=DefaultScheduleStatus.RUNNING,
    )
    poll = sensor(target=["c"], name="poll", minimum_interval_seconds=30)(_nothing)
    poll_on = sensor(
        target=["c"],
        name="poll",
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
    )(_nothing)
    push = push_sensor(
        SUBSCRIPTION, target=["c"], name="push", default_status=DefaultSensorStatus.RUNNING
    )(_nothing)
    on_a = asset_sensor(
        name="on_a",
        monitored_assets=["a"],
        target=["b"],
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
    )
    return Definitions(
        assets=[a, b, c, d, e],
        schedules=[every_minute, per_partition] if version == 1 else [every_minute],
        sensors=[poll_on if version == 1 else poll, push, on_a],
    ).snapshot("prop")


def deploy_payload(version: int, parent: str | None) -> DefinitionsDeployed:
    defs = code_location(version)
    return DefinitionsDeployed(
        content_hash=defs.content_hash,
        parent_hash=parent,
        code_location=defs.code_location,
        snapshot=json.loads(canonical_json(defs.to_json())),
        deployed_by="prop",
    )


# --- the world -----------------------------------------------------------------------------------

POLICY = RunPolicy(
    max_in_flight=20,
    heartbeat_timeout_ms=30_000,
    dispatch_timeout_ms=90_000,
    redispatch_after_ms=20_000,
)
DEFAULT_RETRY = runs.RetrySpec(max_attempts=2, delay_ms=5_000, backoff="constant")
RUN_STATUSES_OPEN = frozenset({"QUEUED", "STARTING", "STARTED", "CANCELING"})


@dataclass
class Running:
    """A worker holding an attempt (it claimed it and reported it started)."""

    order: TaskOrder


@dataclass
class World:
    """A ledger being written, and the live compactor's view of it."""

    draw: st.DrawFn
    families: frozenset[str]
    now: int = BASE_MS
    serial: int = 0
    objects: list[Written] = field(default_factory=list)
    live: FoldState = field(default_factory=FoldState)
    folded: set[int] = field(default_factory=set)
    landed: list[int] = field(default_factory=list)
    waiting: dict[int, int] = field(default_factory=dict)
    lands: dict[int, int] = field(default_factory=dict)
    on_time: bool = False  # while set, objects land at once and are written once
    marks: dict[str, int] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    # workers
    orders: list[TaskOrder] = field(default_factory=list)
    claimed: set[tuple[str, int, int]] = field(default_factory=set)
    running: list[Running] = field(default_factory=list)
    sensor_orders: list[SensorOrder] = field(default_factory=list)
    keyed_plans: dict[str, tuple[RunPlan, dict[str, runs.RetrySpec]]] = field(default_factory=dict)

    # -- writing --

    def new_ulid(self) -> str:
        """A writer's fresh ULID now: random order among writers within a millisecond."""
        self.serial += 1
        noise = self.draw(st.integers(0, 3), label="ulid noise")
        return encode_ulid(self.now, (noise << 40) | self.serial)

    def envelope(self, event: NewEvent) -> EventEnvelope:
        payload = event.payload
        return EventEnvelope(
            event_id=event.event_id or self.new_ulid(),
            type=event.type,
            version=event.version,
            workspace=WS,
            idempotency_key=event.idempotency_key,
            time=format_time_ms(self.now),
            source="prop",
            payload=payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload,
        )

    def write(
        self,
        writer: str,
        events: Sequence[NewEvent],
        *,
        at_once: bool = False,
        late_by: int | None = None,
    ) -> int:
        """Append one object. `at_once`: the timer folds it into its session now. `late_by`:
        it lands after that many compactions, and is written once (else drawn: mostly at
        once, sometimes late, sometimes written again under another name)."""
        envelopes = tuple(self.envelope(e) for e in events)
        index = self._add(writer, envelopes, at_once=at_once, late_by=late_by)
        if (
            not at_once
            and late_by is None
            and not self.on_time
            and self.draw(st.integers(0, 9), label="writer retry") == 0
        ):
            # The writer retried after half the lookback under a fresh name: both landed.
            self.features.add("writer_retry")
            self._add(writer + " (retry)", envelopes)
        return index

    def _add(
        self,
        writer: str,
        events: tuple[EventEnvelope, ...],
        at_once: bool = False,
        late_by: int | None = None,
    ) -> int:
        index = len(self.objects)
        self.objects.append(Written(index, self.new_ulid(), events, writer))
        if late_by is None and not at_once and not self.on_time:
            late = self.draw(st.integers(0, 4), label="lands late") == 0
            late_by = self.draw(st.integers(1, 3), label="late by") if late else None
        if at_once:
            self._land(index)
            self._fold([index])
        elif late_by:
            self.waiting[index] = late_by
            self.features.add("late_object")
        else:
            self._land(index)
            self.landed.append(index)
        return index

    def _land(self, index: int) -> None:
        self.lands[index] = len(self.lands)

    # -- the live compactor --

    def _fold(self, indexes: list[int]) -> None:
        staged = StagedState(self.live)
        fold_objects(staged, [self.objects[i].obj for i in indexes], REG, WS)
        self.live = staged.commit()
        self.folded.update(indexes)

    def compact(self) -> None:
        """Fold what has landed; late objects get one step closer to landing."""
        for index, left in sorted(self.waiting.items()):
            if left <= 1:
                del self.waiting[index]
                self._land(index)
                self.landed.append(index)
            else:
                self.waiting[index] = left - 1
        if self.landed:
            self._fold(self.landed)
            self.landed = []

    def rows(self, table: str) -> dict[Key, Row]:
        return self.live.rows(table)

    def setting(self, name: str) -> Any:
        row = self.rows(settings_domain.WORKSPACE_SETTINGS.name).get((name,))
        return json.loads(row["value"]) if row else settings_domain.SETTINGS[name].default

    def definitions(self) -> DefinitionsSnapshot | None:
        row = self.rows("current_deployment").get((CURRENT,))
        if row is None:
            return None
        for version in (1, 2):
            if code_location(version).content_hash == row["content_hash"]:
                return code_location(version)
        raise AssertionError("unknown deployment")

    def dynamic(self) -> dict[str, list[str]]:
        return dict(dynamic_keys(self.rows("dynamic_partitions").values()))

    def pick(self, items: Sequence[Any], label: str) -> Any:
        return items[self.draw(st.integers(0, len(items) - 1), label=label)]

    def ledger(self) -> Ledger:
        """The ledger once every late object has landed."""
        for index, _ in sorted(self.waiting.items(), key=lambda item: (item[1], item[0])):
            self._land(index)
        self.waiting.clear()
        objects = tuple(replace(w, land=self.lands[w.index]) for w in self.objects)
        return Ledger(objects, frozenset(self.features), dict(self.marks))


# --- operators (the commands) --------------------------------------------------------------------

SETTING_NAMES = (
    "runs.max_in_flight",
    "reconciliation.enabled",
    "runs.heartbeat_timeout_seconds",
    "no.such.setting",  # REJECTED: written by a newer build
)
PRINCIPALS = ("ann@example.com", "bob@example.com")


def op_setting(w: World) -> None:
    name = w.pick(SETTING_NAMES, "setting")
    rid = f"req{w.serial}"
    payload = settings_domain.SettingChanged(
        name=name, value=w.draw(st.integers(0, 3)), changed_by="op", request_id=rid
    )
    key = settings_domain.setting_idempotency_key(name, rid)
    w.write("settings", [NewEvent(settings_domain.SETTING_CHANGED, payload, key)])


def op_access(w: World) -> None:
    principal = w.pick(PRINCIPALS, "principal")
    role = w.pick([None, *access.Role], "role")
    rid = f"req{w.serial}"
    payload = access.AccessChanged(principal=principal, role=role, changed_by="op", request_id=rid)
    key = access.access_idempotency_key(principal, rid)
    w.write("access", [NewEvent(access.ACCESS_CHANGED, payload, key)])


def op_dynamic(w: World) -> None:
    action = w.pick(["add", "remove"], "dynamic action")
    keys = w.draw(st.lists(st.sampled_from(["k1", "k2", "k3"]), min_size=1, max_size=3))
    rid = f"req{w.serial}"
    payload = dynamic_partitions.DynamicPartitionsChanged(
        definition="dyn", keys=keys, changed_by="op", request_id=rid
    )
    type_ = (
        dynamic_partitions.DYNAMIC_PARTITIONS_ADDED
        if action == "add"
        else dynamic_partitions.DYNAMIC_PARTITIONS_REMOVED
    )
    key = dynamic_partitions.change_idempotency_key("dyn", action, rid)
    w.write("dynamic partitions", [NewEvent(type_, payload, key)])


def op_deploy(w: World) -> None:
    """`arco deploy`: nothing when the published hash is already this one."""
    version = w.pick([1, 2], "code version")
    current = w.rows("current_deployment").get((CURRENT,))
    parent = None if current is None else current["content_hash"]
    payload = deploy_payload(version, parent)
    if payload.content_hash == parent:
        return
    key = deploy_idempotency_key(payload.content_hash, parent)
    w.write("deploy", [NewEvent(DEFINITIONS_DEPLOYED, payload, key)])


def op_schedule_status(w: World) -> None:
    defs = w.definitions()
    if defs is None or not defs.schedules:
        return
    name = w.pick(sorted(defs.schedules), "schedule")
    rid = f"req{w.serial}"
    payload = schedules.ScheduleStatusChanged(
        schedule=name, status=w.pick(["RUNNING", "STOPPED"], "status"), request_id=rid
    )
    key = schedules.status_idempotency_key(name, rid)
    w.write("schedule status", [NewEvent(schedules.SCHEDULE_STATUS_CHANGED, payload, key)])


def op_automation_status(w: World) -> None:
    rid = f"req{w.serial}"
    payload = automation.AutomationStatusChanged(
        status=w.pick(["RUNNING", "RUNNING", "STOPPED"], "automation status"), request_id=rid
    )
    key = automation.status_key(automation.SENSOR_NAME, rid)
    w.write("automation status", [NewEvent(automation.AUTOMATION_STATUS_CHANGED, payload, key)])


def op_automation_start(w: World) -> None:
    rid = f"req{w.serial}"
    payload = automation.AutomationStatusChanged(status="RUNNING", request_id=rid)
    key = automation.status_key(automation.SENSOR_NAME, rid)
    w.write("automation start", [NewEvent(automation.AUTOMATION_STATUS_CHANGED, payload, key)])


def op_sensor_status(w: World) -> None:
    defs = w.definitions()
    if defs is None:
        return
    name = w.pick(sorted(defs.sensors), "sensor")
    rid = f"req{w.serial}"
    if w.draw(st.booleans(), label="cursor (else status)"):
        cursor = w.pick([None, "0", str(w.now)], "cursor")
        payload: BaseModel = sensors_domain.SensorCursorSet(
            sensor=name, cursor=cursor, request_id=rid
        )
        key = sensors_domain.cursor_idempotency_key(name, rid)
        type_ = sensors_domain.SENSOR_CURSOR_SET
    else:
        payload = sensors_domain.SensorStatusChanged(
            sensor=name, status=w.pick(["RUNNING", "STOPPED"], "status"), request_id=rid
        )
        key = sensors_domain.status_idempotency_key(name, rid)
        type_ = sensors_domain.SENSOR_STATUS_CHANGED
    w.write("sensor operator", [NewEvent(type_, payload, key)])


def op_backfill(w: World) -> None:
    """Create a backfill, or pause / resume / cancel one (refused unless the view allows it)."""
    defs = w.definitions()
    if defs is None:
        return
    rows = sorted(w.rows(backfills.BACKFILLS.name).values(), key=lambda r: r["backfill_id"])
    if rows and w.draw(st.booleans(), label="change (else create)"):
        row = w.pick(rows, "backfill")
        action = w.pick(["pause", "resume", "cancel"], "action")
        if not backfills.can(row["status"], action):
            return  # 409
        rid = f"req{w.serial}"
        change = backfills.BackfillStatusChanged(
            backfill_id=row["backfill_id"],
            action=action,
            request_id=rid,
            changed_by="op",
            cancel_runs=w.draw(st.booleans(), label="cancel runs"),
        )
        key = backfills.status_key(row["backfill_id"], rid)
        w.write("backfill status", [NewEvent(backfills.BACKFILL_STATUS_CHANGED, change, key)])
        w.features.add(f"backfill_{action}")
        return
    selection = w.pick(
        [
            backfills.PartitionSelection(kind="all"),
            backfills.PartitionSelection(kind="keys", keys=("p3", "p1")),
            backfills.PartitionSelection(kind="range", first="p2", last="p3", status="missing"),
            backfills.PartitionSelection(kind="all", status="failed"),
        ],
        "partitions",
    )
    space = PARTS.key_space({})
    ranges = backfills.resolve_selection(
        selection, space, datetime.fromtimestamp(w.now / 1000, UTC)
    )
    backfill_id = f"bf_{w.serial}"
    payload = backfills.BackfillCreated(
        backfill_id=backfill_id,
        selection='key:"a" or key:"b"',
        assets=["a", "b"],
        anchor="a",
        partitions=selection,
        range_runs=backfills.pack_ranges(ranges),
        chunk_size=w.draw(st.integers(1, 2), label="chunk size"),
        max_concurrent_runs=w.draw(st.integers(1, 2), label="max concurrent runs"),
        fingerprint=f"fp{w.serial}",
    )
    key = backfills.created_key(backfill_id)
    version = backfills.BACKFILL_CREATED_VERSION
    w.write("backfill create", [NewEvent(backfills.BACKFILL_CREATED, payload, key, version)])


def _plan(w: World, partition: str = "p1") -> tuple[RunPlan, dict[str, runs.RetrySpec]]:
    """A plan over a (p1), b (p1, waits for a) and c (waits for b), or a subset."""
    a, b, c = TaskKey("a", partition), TaskKey("b", partition), TaskKey("c")
    shape = w.pick(["a", "a b", "a b c", "a b | a c"], "plan")
    tasks = {
        "a": (PlannedTask(a),),
        "a b": (PlannedTask(a), PlannedTask(b, (a,))),
        "a b c": (PlannedTask(a), PlannedTask(b, (a,)), PlannedTask(c, (b,))),
        "a b | a c": (PlannedTask(a), PlannedTask(b, (a,)), PlannedTask(c, (a,))),
    }[shape]
    retries = {
        t.key.asset: runs.RetrySpec(
            max_attempts=w.draw(st.integers(1, 3), label="max attempts"),
            delay_ms=w.pick([0, 5_000, 60_000], "retry delay"),
            backoff="constant",
        )
        for t in tasks
    }
    return RunPlan(tasks), retries


def op_request_run(w: World) -> None:
    """A manual run request, with or without a run key (the API reserves a key first: a
    second request with the same key and fingerprint appends the same run again)."""
    run_key = w.pick([None, "k1", "k2"], "run key")
    run_id = f"run_{w.serial}" if run_key is None else keyed_run_id(WS, "manual", run_key)
    if run_key is not None and (run_id,) in w.rows(runs.RUNS.name):
        return  # the run is published: the API answers with it and writes nothing
    if run_key in w.keyed_plans:  # reserved with this fingerprint: the same plan again
        plan, retries = w.keyed_plans[run_key]
        w.features.add("run_requested_twice")
    else:
        plan, retries = _plan(w)
        if run_key is not None:
            w.keyed_plans[run_key] = (plan, retries)
    request_run(w, run_id, run_key, plan, retries)


def request_run(
    w: World,
    run_id: str,
    run_key: str | None,
    plan: RunPlan,
    retries: dict[str, runs.RetrySpec],
    **write: Any,
) -> int:
    payload = runs.RunRequested(
        run_id=run_id,
        run_key=run_key,
        scope="manual",
        fingerprint="fp",
        source="manual",
        tags={"arco/requested_by": w.pick(PRINCIPALS, "requested by")},
        definitions_hash="defs",
        plan=plan.to_json(),
        retries=retries,
    )
    key = runs.run_requested_key(run_id)
    return w.write("request run", [NewEvent(runs.RUN_REQUESTED, payload, key)], **write)


def op_cancel(w: World) -> None:
    open_runs = sorted(
        r["run_id"] for r in w.rows(runs.RUNS.name).values() if r["status"] not in runs.TERMINAL_RUN
    )
    if not open_runs:
        return
    run_id = w.pick(open_runs, "run to cancel")
    payload = runs.RunCancelRequested(run_id=run_id, requested_by="op")
    w.write("cancel", [NewEvent(runs.RUN_CANCEL_REQUESTED, payload, f"cancel:{run_id}")])
    w.features.add("cancel")


def op_reconcile(w: World) -> None:
    """A reconciliation record (dry run or execution) over a small plan."""
    keys = w.draw(st.lists(st.sampled_from(["r1", "r2"]), unique=True, max_size=2))
    outcome = w.pick(["would_launch", "held_by_rate_limit", "not_opted_in", "existing"], "outcome")
    outcomes = [
        reconciliation.RunOutcome(run_key=k, selection='key:"c"', outcome=outcome) for k in keys
    ]
    plan_hash = fingerprint(keys, 24)
    mode = w.pick(["dry_run", "execute"], "mode")
    trigger = w.pick(["manual", "timer"], "trigger")
    payload = reconciliation.ReconciliationEvaluated(
        trigger=trigger, mode=mode, plan_hash=plan_hash, runs=outcomes
    )
    key = reconciliation.evaluated_key(
        plan_hash, mode, trigger, fingerprint([o.model_dump() for o in outcomes])
    )
    w.write("reconcile", [NewEvent(reconciliation.RECONCILIATION_EVALUATED, payload, key)])


# --- the timer -----------------------------------------------------------------------------------


def timer(w: World) -> None:
    """One timer call: fold what landed, then each step on the view so far, its decisions
    written and folded at once (the timer's session), as `run_timer` does."""
    w.compact()
    first = len(w.objects)
    now_ms = w.now
    runs_ms = now_ms + 1
    defs = w.definitions()
    if defs is not None:
        if "schedules" in w.families:
            _schedules_step(w, defs, now_ms)
        if "sensors" in w.families:
            _sensors_step(w, defs, now_ms)
        if "automation" in w.families:
            _automation_step(w, defs, now_ms)
        if w.families & {"schedules", "sensors", "automation"}:
            _requests_step(w, defs, runs_ms)
        if "backfills" in w.families:
            for _ in range(2):
                if not _backfills_step(w, defs, runs_ms):
                    break
                runs_ms += 2
    _runs_step(w, runs_ms)
    # Publishing takes longer than the 1-2 ms the timer stamps its decisions ahead: whatever
    # is written after reading them is later than them.
    stamped = [ulid_time_ms(e.event_id) for o in w.objects[first:] for e in o.events]
    w.now = max([w.now, *(t + 1 for t in stamped)])


def _timer_write(w: World, name: str, events: Sequence[NewEvent]) -> None:
    if not events:
        return
    w.write(f"timer {name}", events, at_once=True)
    if not w.on_time and w.draw(st.integers(0, 9), label="second timer") == 0:
        # Another timer, at the same instant over the same view, wrote the same events.
        w.features.add("same_events_twice")
        w._add(f"timer {name} (twin)", w.objects[-1].events)


def _schedules_step(w: World, defs: DefinitionsSnapshot, now_ms: int) -> None:
    states = {k[0]: row for k, row in w.rows(schedules.SCHEDULE_STATE.name).items()}
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    decisions = evaluate_schedules(defs, states, now, w.dynamic())
    _timer_write(w, "schedules", decisions.events)


def _sensors_step(w: World, defs: DefinitionsSnapshot, now_ms: int) -> None:
    states = {k[0]: row for k, row in w.rows(sensors_domain.SENSOR_STATE.name).items()}
    status = w.rows(runs.PARTITION_STATUS.name).values()
    inputs = SensorInputs(
        materializations=[r for r in status if r["asset"] == "a"],
        claimed={
            "on_a": frozenset(
                r["run_key"]
                for r in w.rows(sensors_domain.SENSOR_RUN_KEYS.name).values()
                if r["sensor"] == "on_a"
            )
        },
    )
    decisions = evaluate_sensors(WS, defs, states, inputs, now_ms, 60_000)
    _timer_write(w, "sensors", decisions.events)
    w.sensor_orders.extend(decisions.orders)


def _automation_step(w: World, defs: DefinitionsSnapshot, now_ms: int) -> None:
    state = w.rows(automation.AUTOMATION_STATE.name).get((automation.SENSOR_NAME,))
    memory = {k[0]: r["memory"] for k, r in w.rows(automation.AUTOMATION_MEMORY.name).items()}
    live = {k[0] for k, r in w.rows(runs.RUNS.name).items() if r["status"] not in runs.TERMINAL_RUN}
    running: dict[str, set[str]] = {}
    for task in w.rows(runs.TASKS.name).values():
        if task["run_id"] in live:
            running.setdefault(task["asset"], set()).add(task["partition"] or "")
    assets = watched_assets(defs)
    facts, run_ids = asset_facts(assets, w.rows(runs.PARTITION_STATUS.name).values(), running, {})
    run_rows = w.rows(runs.RUNS.name)
    targets = {
        r: frozenset(json.loads(run_rows[(r,)]["assets"] or "[]"))
        for r in run_ids
        if (r,) in run_rows
    }
    inputs = AutomationInputs(
        state=None if state is None else dict(state),
        memory=memory,
        facts=facts,
        run_targets=targets,
        dynamic=w.dynamic(),
    )
    _timer_write(w, "automation", evaluate_conditions(defs, inputs, now_ms, lookback_ms=60_000))


def _requests_step(w: World, defs: DefinitionsSnapshot, runs_ms: int) -> None:
    requests = [
        r for r in w.rows(schedules.RUN_REQUESTS.name).values() if r["status"] == "REQUESTED"
    ]
    if not requests:
        return
    events = automation_requests_to_events(
        WS,
        defs,
        requests,
        frozenset(k[0] for k in w.rows(runs.RUNS.name)),
        datetime.fromtimestamp(runs_ms / 1000, UTC),
        runs_ms,
        DEFAULT_RETRY,
        w.dynamic(),
    )
    _timer_write(w, "requests", events)


def _backfills_step(w: World, defs: DefinitionsSnapshot, runs_ms: int) -> bool:
    views = []
    run_rows = w.rows(runs.RUNS.name)
    for row in sorted(w.rows(backfills.BACKFILLS.name).values(), key=lambda r: r["backfill_id"]):
        if row["status"] in backfills.TERMINAL:
            continue
        chunks = sorted(
            (
                c
                for c in w.rows(backfills.BACKFILL_CHUNKS.name).values()
                if c["backfill_id"] == row["backfill_id"]
            ),
            key=lambda c: int(c["chunk"]),
        )
        run_ids = [r for c in chunks for r in json.loads(c["run_ids"] or "[]")]
        statuses = {r: run_rows[(r,)]["status"] for r in run_ids if (r,) in run_rows}
        anchor: dict[str, str] = {}
        if row["status_filter"] and row["status"] == "REQUESTED":
            for p in w.rows(runs.PARTITION_STATUS.name).values():
                if p["asset"] != "a":
                    continue
                if row["status_filter"] == "missing" and p.get("materialized_run_id"):
                    anchor[p["partition"]] = "MATERIALIZED"
                elif (
                    row["status_filter"] == "failed"
                    and p.get("attempt_status") == "FAILURE"
                    and ((p.get("attempt_version") or "") > (p.get("materialized_version") or ""))
                ):
                    anchor[p["partition"]] = "FAILED"
        views.append(
            BackfillView(row=row, chunks=chunks, run_status=statuses, anchor_status=anchor)
        )
    if not views:
        return False
    decisions = advance_backfills(
        WS, defs, views, datetime.fromtimestamp(runs_ms / 1000, UTC), runs_ms, DEFAULT_RETRY
    )
    _timer_write(w, "backfills", decisions.events)
    return bool(decisions.events)


def _runs_step(w: World, runs_ms: int) -> None:
    active = [r for r in w.rows(runs.RUNS.name).values() if r["status"] in RUN_STATUSES_OPEN]
    if not active:
        return
    by_run: dict[str, list[Row]] = {}
    for row in w.rows(runs.TASKS.name).values():
        by_run.setdefault(row["run_id"], []).append(row)
    policy = RunPolicy(
        max_in_flight=int(w.setting("runs.max_in_flight")),
        heartbeat_timeout_ms=POLICY.heartbeat_timeout_ms,
        dispatch_timeout_ms=POLICY.dispatch_timeout_ms,
        redispatch_after_ms=POLICY.redispatch_after_ms,
    )
    decisions = advance_runs(WS, active, by_run, runs_ms, policy)
    if decisions.timed_out:
        w.features.add("timeout")
    if decisions.redispatched:
        w.features.add("redispatch")
    _timer_write(w, "runs", decisions.events)
    w.orders.extend(decisions.dispatches)


def timer_fails_a_run(w: World) -> None:
    """`run.failed`: the timer could not decide on a run (a corrupt row, a bug)."""
    active = sorted(
        r["run_id"] for r in w.rows(runs.RUNS.name).values() if r["status"] in RUN_STATUSES_OPEN
    )
    if not active or w.draw(st.integers(0, 2), label="the timer fails a run") != 0:
        return
    w.compact()
    run_id = w.pick(active, "run to fail")
    payload = runs.RunFailed(run_id=run_id, error="the timer could not advance this run")
    key = f"fail:{run_id}"
    event = NewEvent(runs.RUN_FAILED, payload, key, event_id=deterministic_ulid(w.now + 1, key))
    _timer_write(w, "run failed", [event])
    w.features.add("run_failed")
    w.now += 2


# --- workers -------------------------------------------------------------------------------------


def _report(
    order: TaskOrder, kind: str, type_: str, payload: BaseModel, suffix: str = ""
) -> NewEvent:
    key = runs.task_report_key(kind, order.run_id, order.task, order.attempt) + suffix
    return NewEvent(type_, payload, key)


def worker_delivery(w: World) -> None:
    """Cloud Tasks delivers a task order (at least once: it may stay queued), and the worker
    does what `execute_task` does."""
    if not w.orders:
        return
    index = w.draw(st.integers(0, len(w.orders) - 1), label="order")
    order = w.orders[index]
    if w.draw(st.integers(0, 3), label="redelivered later") != 0:
        del w.orders[index]
    else:
        w.features.add("order_redelivered")
    execute(w, order)


def execute(w: World, order: TaskOrder) -> None:
    """What the worker does with an order (`execute_task`)."""
    task = _dispatched_task(w, order)
    if task is None:
        w.compact()  # the projection may lag the dispatch: fold what is pending, look again
        task = _dispatched_task(w, order)
        if task is None:
            return  # stale, or refused
    run = w.rows(runs.RUNS.name)[(order.run_id,)]
    report = {"run_id": order.run_id, "task": order.task, "attempt": order.attempt}
    if run["cancel_requested_ms"] is not None:
        payload = runs.TaskFinished(
            **report, outcome="CANCELED", error="run was canceled before the task started"
        )
        w.write("worker", [_report(order, "finished", runs.TASK_FINISHED, payload)])
        w.features.add("canceled_before_start")
        return
    claim = (order.run_id, order.task, order.attempt)
    if claim in w.claimed:
        return  # another delivery holds the attempt
    w.claimed.add(claim)
    started = runs.TaskStarted(**report, worker=f"w{w.serial}")
    w.write("worker", [_report(order, "started", runs.TASK_STARTED, started)])
    w.running.append(Running(order))


def _dispatched_task(w: World, order: TaskOrder) -> Row | None:
    if (order.run_id,) not in w.rows(runs.RUNS.name):
        return None
    task = w.rows(runs.TASKS.name).get((order.run_id, order.task))
    if task is None or task["status"] in runs.FINAL_TASK or task["attempt"] > order.attempt:
        return None
    if task["attempt"] != order.attempt or task["dispatch_name"] != order.dispatch_name:
        return None
    return task


def worker_progress(w: World) -> None:
    """A running attempt heartbeats, finishes, or its worker dies. The clock runs on, so an
    attempt that does not beat for long enough is timed out by the timer (and its worker's
    late report, if it ever comes, is about an attempt the timer gave up on)."""
    if not w.running:
        return
    index = w.draw(st.integers(0, len(w.running) - 1), label="running worker")
    held = w.running[index]
    order = held.order
    report = {"run_id": order.run_id, "task": order.task, "attempt": order.attempt}
    what = w.pick(["beat", "succeed", "fail", "die", "succeed, slowly"], "worker does")
    if what == "beat":
        payload: BaseModel = runs.TaskHeartbeat(**report, at_ms=w.now)
        event = _report(order, "heartbeat", runs.TASK_HEARTBEAT, payload, f":{w.now}")
        w.write("worker", [event])
        return
    del w.running[index]
    if what == "die":
        w.features.add("worker_died")
        return
    if what == "succeed, slowly":  # its report lands after a few compactions
        finish(w, order, ok=True, late_by=w.draw(st.integers(2, 4), label="late by"))
        return
    finish(w, order, ok=what == "succeed")


def finish(w: World, order: TaskOrder, ok: bool, late_by: int | None = None) -> int:
    """The worker reports how its attempt ended."""
    task = w.rows(runs.TASKS.name).get((order.run_id, order.task))
    if task is not None and (
        task["attempt"] != order.attempt or task["status"] not in ("DISPATCHED", "STARTED")
    ):
        w.features.add("late_report")  # the timer gave up on this attempt (as far as it knows)
    payload = runs.TaskFinished(
        run_id=order.run_id,
        task=order.task,
        attempt=order.attempt,
        outcome="SUCCESS" if ok else "FAILURE",
        error=None if ok else f"boom {order.task}.{order.attempt}",
        data_version=f"v{order.task}.{order.attempt}" if ok else None,
        code_version="c1" if ok else None,
    )
    event = _report(order, "finished", runs.TASK_FINISHED, payload)
    return w.write("worker", [event], late_by=late_by)


def poll_sensor_delivery(w: World) -> None:
    """A worker evaluates a poll sensor for an order (nothing if the cursor moved on)."""
    if not w.sensor_orders:
        return
    index = w.draw(st.integers(0, len(w.sensor_orders) - 1), label="sensor order")
    order = w.sensor_orders.pop(index)
    state = w.rows(sensors_domain.SENSOR_STATE.name).get((order.sensor,)) or {}
    if str(state.get("cursor_version") or "") != order.cursor_version:
        return  # STALE
    outcome = w.pick(["REQUESTED", "SKIPPED", "FAILED"], "poll outcome")
    requests = []
    if outcome == "REQUESTED":
        keys = w.draw(st.lists(st.sampled_from([None, "x1", "x2"]), min_size=1, max_size=2))
        requests = [sensors_domain.SensorRunRequest(run_key=k, asset_selection=["c"]) for k in keys]
    payload = sensors_domain.SensorEvaluated(
        sensor=order.sensor,
        kind="poll",
        outcome=outcome,
        skip_reason="nothing new" if outcome == "SKIPPED" else None,
        error="boom" if outcome == "FAILED" else None,
        cursor_read_version=order.cursor_version,
        cursor_before=state.get("cursor"),
        cursor_after=str(w.now) if outcome == "REQUESTED" else None,
        run_requests=requests,
        default_running=True,
    )
    key = sensors_domain.poll_evaluation_key(
        order.sensor, order.cursor_version, order.dispatch_name
    )
    w.write("poll sensor", [NewEvent(sensors_domain.SENSOR_EVALUATED, payload, key)])


def push_delivery(w: World) -> None:
    """Pub/Sub pushes a message to `sensor_push` (which reads no projection)."""
    message_id = w.pick(["m1", "m2"], "message id")
    data = w.pick(["ZGF0YQ==", "b3RoZXI="], "message data")
    message = sensors_domain.PushedMessage(data_b64=data, subscription=SUBSCRIPTION)
    outcome = "REQUESTED" if data == "ZGF0YQ==" else "SKIPPED"
    payload = sensors_domain.SensorEvaluated(
        sensor="push",
        kind="push",
        outcome=outcome,
        skip_reason=None if outcome == "REQUESTED" else "not for us",
        message_id=message_id,
        message=message,
        run_requests=(
            [sensors_domain.SensorRunRequest(run_key=f"msg-{message_id}", asset_selection=["c"])]
            if outcome == "REQUESTED"
            else []
        ),
        default_running=True,
    )
    key = sensors_domain.push_evaluation_key(
        "push", SUBSCRIPTION, message_id, sensors_domain.message_fingerprint(message)
    )
    w.write("push", [NewEvent(sensors_domain.SENSOR_EVALUATED, payload, key)])


def compactor(w: World) -> None:
    w.compact()


# --- ledgers -------------------------------------------------------------------------------------

Action = Callable[[World], None]
# Actions repeat to weigh them: the run of a task takes several steps, a cancel one.
FAMILY_ACTIONS: dict[str, tuple[Action, ...]] = {
    "settings": (op_setting,),
    "access": (op_access,),
    "dynamic_partitions": (op_dynamic,),
    "deployments": (op_deploy,),
    "reconciliation": (op_reconcile,),
    "runs": (
        *(timer, worker_delivery, worker_progress) * 3,
        worker_progress,
        op_request_run,
        op_cancel,
        timer_fails_a_run,
    ),
    "schedules": (
        *(timer, worker_delivery, worker_progress) * 2,
        op_schedule_status,
        op_deploy,
    ),
    "sensors": (
        *(timer, worker_delivery, worker_progress) * 2,
        op_sensor_status,
        poll_sensor_delivery,
        poll_sensor_delivery,
        push_delivery,
        op_deploy,
    ),
    "backfills": (
        *(timer, worker_delivery, worker_progress) * 2,
        op_backfill,
        op_backfill,
        op_cancel,
        op_deploy,
    ),
    "automation": (
        *(timer, worker_delivery, worker_progress) * 2,
        op_request_run,
        op_automation_status,
        op_deploy,
    ),
}
FAMILIES = tuple(FAMILY_ACTIONS)
PAUSES_MS = (1, 2_000, 12_000, 31_000, 100_000)
"""How long the clock runs between two actions (30 s is the heartbeat timeout)."""
SEEDS: dict[str, tuple[Action, ...]] = {
    "settings": (op_setting,),
    "access": (op_access,),
    "dynamic_partitions": (op_dynamic,),
    "deployments": (op_deploy,),
    "reconciliation": (op_reconcile,),
    "runs": (op_request_run,),
    "schedules": (op_deploy,),
    "sensors": (op_deploy, compactor, push_delivery),
    "backfills": (op_deploy, compactor, op_backfill),
    "automation": (op_deploy, op_automation_start, compactor, op_request_run),
}


Script = Callable[[World], None]


@st.composite
def ledgers(
    draw: st.DrawFn,
    families: Iterable[str],
    min_steps: int = 5,
    max_steps: int = 40,
    script: Script | None = None,
) -> Ledger:
    """A ledger written by the actors of `families`, interleaved, with the clock running.
    Each family starts with what makes the rest possible (a deployment, a run, ...); a
    `script` then makes something happen for sure, before the random steps."""
    chosen = frozenset(families)
    w = World(draw, chosen)
    actions: list[Action] = [compactor]
    for family in sorted(chosen):
        actions.extend(FAMILY_ACTIONS[family])
    if len(chosen) > 1:  # one copy of each shared action per family is enough
        actions = [*sorted(set(actions), key=actions.index), worker_progress, timer]
    w.on_time = True
    for family in sorted(chosen):
        for seed in SEEDS[family]:
            seed(w)
            w.now += 1
    w.compact()
    w.on_time = False
    if script is not None:
        script(w)
    for _ in range(draw(st.integers(min_steps, max_steps), label="steps")):
        w.now += draw(st.sampled_from(PAUSES_MS), label="ms later")
        action = draw(st.sampled_from(actions), label="action")
        action(w)
    return w.ledger()


def late_finish_on_the_last_attempt(w: World) -> None:
    """The documented case (docs/design/runs.md): a run whose first task has one attempt; its
    worker starts it, goes silent, and reports SUCCESS just before the timer gives up, in an
    object that lands only after the timer has folded its timeout. Marks `timeout` and
    `finish`: the objects of the two events."""
    plan, retries = _plan(w, partition="p3")  # a partition no other run of `runs` touches
    first = plan.tasks[0].key.asset
    retries[first] = runs.RetrySpec(max_attempts=1, delay_ms=0, backoff="constant")
    run_id = "run_late_finish"
    request_run(w, run_id, None, plan, retries, late_by=0)
    w.now += 1_000
    timer(w)
    order = next(o for o in w.orders if (o.run_id, o.task) == (run_id, 0))
    w.orders.remove(order)
    w.now += 1_000
    execute(w, order)
    for _ in range(w.draw(st.integers(0, 2), label="heartbeats")):
        w.now += 10_000
        payload = runs.TaskHeartbeat(run_id=run_id, task=0, attempt=1, at_ms=w.now)
        w.write("worker", [_report(order, "heartbeat", runs.TASK_HEARTBEAT, payload, f":{w.now}")])
    w.now += POLICY.dispatch_timeout_ms  # silent for longer than any timeout
    w.running = [r for r in w.running if r.order != order]
    w.marks["finish"] = finish(w, order, ok=True, late_by=2)
    w.now += 1
    timer(w)
    w.marks["timeout"] = next(
        o.index
        for o in w.objects
        for e in o.events
        if e.type == runs.TASK_TIMED_OUT and (e.payload["run_id"], e.payload["task"]) == (run_id, 0)
    )
    w.compact()
