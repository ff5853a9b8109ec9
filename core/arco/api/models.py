"""The API's request and response models: the contract the handlers receive and answer.

Request bodies are validated strictly from JSON (a `"5"` is not an integer); query parameters
arrive as text, so their types parse text explicitly (`true`/`false`, digits, ISO 8601 with an
offset) and refuse everything else. Response models forbid fields they do not name, so a handler
cannot answer outside the contract; the nested shapes that a service defines elsewhere and that
may grow (a task's metadata, a cause's details) are typed as JSON objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from arco.api.contract import RequestModel, ResponseModel
from arco.domain.access import Role, validate_principal
from arco.domain.backfills import (
    MAX_CHUNK_SIZE,
    MAX_CONCURRENT_RUNS,
    MAX_EXPLICIT_KEYS,
    BackfillStatus,
    PartitionSelection,
)
from arco.domain.errors import InvalidInput
from arco.domain.instants import RANGE_TEXT, YEAR_PATTERN, parse_instant
from arco.domain.run_identity import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS
from arco.domain.settings import SETTINGS
from arco.domain.staleness import REASONS
from arco.services.commands.backfills import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_CONCURRENT_RUNS
from arco.services.queries.runs import RUN_STATUSES

MAX_LIMIT = 1000
WORKSPACE_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$"
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$"
# As arco.domain.access validates a principal (an e-mail as Google puts it in an ID token).
PRINCIPAL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,63}$"


# -- query-string types: text in, typed out, anything else refused --


def _query_bool(value: object) -> object:
    if isinstance(value, str):
        if value in ("true", "false"):
            return value == "true"
        raise ValueError("must be true or false")
    return value


def _query_int(value: object) -> object:
    if isinstance(value, str):
        if re.fullmatch(r"-?[0-9]{1,18}", value):
            return int(value)
        raise ValueError("must be an integer")
    return value


def _query_instant(value: object) -> object:
    if isinstance(value, str):
        try:
            moment = parse_instant(value, "time")
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return moment
    return value


def _integral(value: object) -> object:
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema's "integer" says)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _setting_value(value: object) -> object:
    value = _integral(value)
    if not isinstance(value, int):  # bool is an int too
        raise ValueError("must be an integer or true/false (as the setting is)")
    return value


def _known_setting(name: str) -> str:
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}; known settings: {', '.join(sorted(SETTINGS))}")
    return name


def _comma_list(value: object) -> object:
    """`?status=STALE,MISSING` and `?status=STALE&status=MISSING` mean the same. An empty item
    (`?status=`) stays, so the item's enum refuses it: nothing given is not "no filter"."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [p.strip() for v in value if isinstance(v, str) for p in v.split(",")]
    return value


QueryBool = Annotated[bool, Strict(), BeforeValidator(_query_bool)]
Instant = Annotated[
    datetime,
    BeforeValidator(_query_instant),
    # ISO 8601 with an offset, within the range Arco computes with (`domain.instants`).
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": rf"^{YEAR_PATTERN}-"}),
]


# Integer query parameters: the bounds come before the text parsing, only then does pydantic
# put them in the JSON schema (as minimum/maximum).
Limit = Annotated[
    int, Strict(), Field(ge=1, le=MAX_LIMIT, description="Page size."), BeforeValidator(_query_int)
]
TaskNumber = Annotated[int, Strict(), Field(ge=0, le=100_000), BeforeValidator(_query_int)]
MaxRuns = Annotated[int, Strict(), Field(ge=1, le=1000), BeforeValidator(_query_int)]
MaxPartitions = Annotated[int, Strict(), Field(ge=1, le=100_000), BeforeValidator(_query_int)]
PartitionsPerRun = Annotated[
    int,
    Strict(),
    Field(ge=1, le=10_000, description="Consecutive keys one range run takes (1: one per key)."),
    BeforeValidator(_query_int),
]
Cursor = Annotated[
    str | None, Field(None, description="The previous page's next_cursor (empty: the first).")
]
RequestId = Annotated[
    str | None,
    Field(
        None,
        pattern=KEY_PATTERN,
        description="Makes a retried write idempotent (a new id when absent).",
    ),
]
# As arco.domain.run_identity validates user tags (the reserved prefixes are the service's).
Tags = Annotated[
    dict[
        Annotated[str, Field(min_length=1, max_length=MAX_TAG_KEY)],
        Annotated[str, Field(max_length=MAX_TAG_VALUE)],
    ],
    Field(default_factory=dict, max_length=MAX_TAGS),
]


# A manifest id, or an ISO 8601 time with an offset (from 1970 on).
AS_OF_PATTERN = (
    rf"^([0-9]{{1,18}}|{YEAR_PATTERN}-[0-9]{{2}}-[0-9]{{2}}"
    r"T[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2}))$"
)


def _as_of(value: str) -> str:
    """Refuses exactly what the schema's pattern refuses, with the services' words for why
    (whether the date exists is the service's check: a schema cannot say it)."""
    if re.fullmatch(AS_OF_PATTERN, value):
        return value
    if not value.isdigit():
        try:
            parse_instant(value, "as_of")
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"as_of {value!r} is a manifest id or one of the {RANGE_TEXT}")


AsOfParam = Annotated[
    str | None,
    AfterValidator(lambda v: None if v is None else _as_of(v)),
    WithJsonSchema({"type": "string", "pattern": AS_OF_PATTERN}),
    Field(description="Answer as of a manifest id or a time (ISO 8601 with an offset)."),
]


class QueryModel(RequestModel):
    """Query parameters: text converted by the field types above, never silently coerced."""


class BodyModel(RequestModel):
    """A JSON body: validated strictly from the JSON text."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- path parameters --

WorkspaceName = Annotated[str, Field(pattern=WORKSPACE_PATTERN, description="The workspace.")]


class WorkspacePath(RequestModel):
    name: WorkspaceName


class AssetPath(WorkspacePath):
    asset: Annotated[str, Field(min_length=1, description="An asset key (a/b/c).")]


class DefinitionPath(WorkspacePath):
    definition: Annotated[str, Field(min_length=1)]


class SchedulePath(WorkspacePath):
    schedule: Annotated[str, Field(pattern=KEY_PATTERN)]


class SensorPath(WorkspacePath):
    sensor: Annotated[str, Field(pattern=KEY_PATTERN)]


class RunPath(WorkspacePath):
    run_id: Annotated[str, Field(min_length=1)]


class BackfillPath(WorkspacePath):
    backfill_id: Annotated[str, Field(pattern=KEY_PATTERN)]


class SettingPath(WorkspacePath):
    setting: Annotated[
        str,
        AfterValidator(_known_setting),
        WithJsonSchema({"type": "string", "enum": sorted(SETTINGS)}),
    ]


def _principal(value: str) -> str:
    try:
        return validate_principal(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


class PrincipalPath(WorkspacePath):
    principal: Annotated[
        str,
        AfterValidator(_principal),
        WithJsonSchema({"type": "string", "pattern": PRINCIPAL_PATTERN}),
        Field(description="The e-mail of a user or service account."),
    ]


# -- query parameters --


class PageQuery(QueryModel):
    limit: Limit = 50
    cursor: Cursor = None


class NowPageQuery(PageQuery):
    now: Annotated[
        Instant | None, Field(description="Evaluate as of this time (default: the clock).")
    ] = None


class PartitionsQuery(QueryModel):
    limit: Limit = 1000
    cursor: Cursor = None
    now: Instant | None = None


class ScheduleTicksQuery(PageQuery):
    status: Literal["TRIGGERED", "SKIPPED", "FAILED"] | None = None


class SensorTicksQuery(PageQuery):
    status: Literal["SUCCESS", "SKIPPED", "FAILURE"] | None = None


class RunsQuery(PageQuery):
    status: Annotated[RunStatus | None, Field(description="Only runs in this status.")] = None


class LogsQuery(QueryModel):
    task: Annotated[TaskNumber | None, Field(description="Only this task's logs.")] = None


class BackfillsQuery(PageQuery):
    status: BackfillStatus | None = None


def _run_status(value: str) -> str:
    if value not in RUN_STATUSES:
        raise ValueError(f"unknown run status {value!r}; one of {', '.join(RUN_STATUSES)}")
    return value


RunStatus = Annotated[
    str, AfterValidator(_run_status), WithJsonSchema({"type": "string", "enum": list(RUN_STATUSES)})
]


def _reason(value: str) -> str:
    if value not in REASONS:
        raise ValueError(f"unknown reason {value!r}; use {', '.join(REASONS)}")
    return value


def _staleness_status(value: str) -> str:
    if value not in STALENESS_STATUSES:
        raise ValueError(f"unknown status {value!r}; use {', '.join(STALENESS_STATUSES)}")
    return value


STALENESS_STATUSES = ("FRESH", "STALE", "MISSING")
StalenessStatus = Annotated[
    str,
    AfterValidator(_staleness_status),
    WithJsonSchema({"type": "string", "enum": list(STALENESS_STATUSES)}),
]
StalenessReason = Annotated[
    str, AfterValidator(_reason), WithJsonSchema({"type": "string", "enum": list(REASONS)})
]


class StalenessFilters(QueryModel):
    selection: Annotated[str | None, Field(min_length=1)] = None
    status: Annotated[
        list[StalenessStatus],
        BeforeValidator(_comma_list),
        Field(description="Only these statuses (repeat it, or comma-separated)."),
    ] = []
    reason: Annotated[
        list[StalenessReason],
        BeforeValidator(_comma_list),
        Field(description="Only these reasons (repeat it, or comma-separated)."),
    ] = []
    from_: Annotated[
        str | None, Field(alias="from", min_length=1, description="First key (with `to`).")
    ] = None
    to: Annotated[str | None, Field(min_length=1, description="Last key (with `from`).")] = None
    as_of: AsOfParam = None


class StalenessQuery(StalenessFilters):
    limit: Limit = 100
    cursor: Cursor = None
    root_causes: QueryBool = False


class PlanQueryParams(QueryModel):
    selection: Annotated[str | None, Field(min_length=1)] = None
    include_missing: QueryBool = False
    max_runs: MaxRuns = 50
    max_partitions: MaxPartitions = 10_000
    max_partitions_per_run: PartitionsPerRun = 25
    as_of: AsOfParam = None


class LogLimitQuery(QueryModel):
    limit: Limit = 20


# -- bodies --


class PartitionRange(BodyModel):
    """An inclusive range of partition keys of the anchor asset: the one shape of a range
    (a backfill's `{"kind": "range", "first", "last"}` is this plus its kind)."""

    first: Annotated[str, Field(min_length=1)]
    last: Annotated[str, Field(min_length=1)]


StatusFilter = Annotated[
    Literal["missing", "failed"] | None,
    Field(description="Only partitions MISSING or FAILED when each chunk is planned."),
]


class RangeSelection(PartitionRange):
    """Every key from `first` to `last`, inclusive."""

    kind: Literal["range"]
    status: StatusFilter = None


class KeysSelection(BodyModel):
    """Exactly these keys."""

    kind: Literal["keys"]
    keys: Annotated[
        list[Annotated[str, Field(min_length=1)]],
        Field(min_length=1, max_length=MAX_EXPLICIT_KEYS),
    ]
    status: StatusFilter = None


class AllSelection(BodyModel):
    """Every key the anchor asset has."""

    kind: Literal["all"]
    status: StatusFilter = None


PartitionsBody = Annotated[
    RangeSelection | KeysSelection | AllSelection, Field(discriminator="kind")
]


def partition_selection(body: RangeSelection | KeysSelection | AllSelection) -> PartitionSelection:
    """The domain's selection (as the backfill service and its events take it)."""
    return PartitionSelection.model_validate(body.model_dump(exclude_none=True))


class SettingBody(BodyModel):
    # Every setting is an integer or a switch (arco.domain.settings); which one is the
    # setting's, checked by the service.
    value: Annotated[
        int | bool,
        BeforeValidator(_setting_value),
        WithJsonSchema({"type": ["integer", "boolean"]}),
    ]
    request_id: RequestId = None


class RequestIdBody(BodyModel):
    request_id: RequestId = None


class EmptyBody(BodyModel):
    """No fields (an empty object or no body)."""


PartitionKeys = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


def exactly_one(*names: str) -> tuple[Callable[[dict[str, Any]], None], Callable[[Any], Any]]:
    """A body that takes exactly one of `names`, each absent or a value (never null): its JSON
    schema (`oneOf` the required name) and its check, which says which to give."""

    def schema(out: dict[str, Any]) -> None:
        out["oneOf"] = [{"required": [n]} for n in names]
        for n in names:
            out["properties"][n].pop("default", None)

    def check(data: Any) -> Any:
        if isinstance(data, dict):
            given = [n for n in names if n in data]
            if len(given) != 1 or data[given[0]] is None:
                shown = " or ".join(f'"{n}"' for n in names)
                raise ValueError(f"give exactly one of {shown}")
        return data

    return schema, check


_ADD_OR_REMOVE = exactly_one("add", "remove")
_CURSOR_OR_RESET = exactly_one("cursor", "reset")


class ObservationBody(BodyModel):
    """An observed data version of an asset (a source Arco does not materialize)."""

    data_version: Annotated[str, Field(min_length=1, max_length=500)]
    partition: Annotated[str | None, Field(min_length=1, max_length=500)] = None
    metadata: Annotated[dict[str, Any], Field(default_factory=dict)]
    request_id: RequestId = None


class DynamicPartitionsBody(BodyModel):
    """Exactly one of `add` or `remove`: the keys."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra=_ADD_OR_REMOVE[0],  # type: ignore[typeddict-item]
    )

    add: PartitionKeys | SkipJsonSchema[None] = None
    remove: PartitionKeys | SkipJsonSchema[None] = None
    request_id: RequestId = None

    _one = model_validator(mode="before")(_ADD_OR_REMOVE[1])


class SensorCursorBody(BodyModel):
    """Exactly one of `cursor` (set it) or `reset: true` (clear it)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        json_schema_extra=_CURSOR_OR_RESET[0],  # type: ignore[typeddict-item]
    )

    cursor: Annotated[str, Field(min_length=1, max_length=10_000)] | SkipJsonSchema[None] = None
    reset: Literal[True] | SkipJsonSchema[None] = None
    request_id: RequestId = None

    _one = model_validator(mode="before")(_CURSOR_OR_RESET[1])


class LaunchRunBody(BodyModel):
    selection: Annotated[str, Field(min_length=1, description="An asset selection.")]
    partition: Annotated[str | None, Field(min_length=1)] = None
    partition_range: PartitionRange | None = None
    run_key: Annotated[str | None, Field(min_length=1)] = None
    tags: Tags
    run_config: Annotated[
        dict[str, Any] | None,
        Field(description='Dagster\'s shape: {"ops": {"<op>": {"config": {...}}}}.'),
    ] = None


class RerunBody(BodyModel):
    from_failure: bool = False
    selection: Annotated[str | None, Field(min_length=1)] = None
    run_key: Annotated[str | None, Field(min_length=1)] = None
    tags: Tags


# Integers in a JSON body: the bounds come before the parsing, then they reach the schema.
ChunkSize = Annotated[int, Strict(), Field(ge=1, le=MAX_CHUNK_SIZE), BeforeValidator(_integral)]
Concurrency = Annotated[
    int, Strict(), Field(ge=1, le=MAX_CONCURRENT_RUNS), BeforeValidator(_integral)
]


class BackfillBody(BodyModel):
    selection: Annotated[str, Field(min_length=1)]
    partitions: PartitionsBody | None = None
    chunk_size: ChunkSize = DEFAULT_CHUNK_SIZE
    max_concurrent_runs: Concurrency = DEFAULT_MAX_CONCURRENT_RUNS
    tags: Tags


class BackfillCancelBody(BodyModel):
    request_id: RequestId = None
    cancel_runs: bool = False


class ReconcileExecuteBody(BodyModel):
    selection: Annotated[str | None, Field(min_length=1)] = None
    dry_run: bool = False
    include_missing: bool = False
    max_runs: Annotated[int, Strict(), Field(ge=1, le=1000), BeforeValidator(_integral)] = 50
    max_partitions: Annotated[
        int, Strict(), Field(ge=1, le=100_000), BeforeValidator(_integral)
    ] = 10_000
    max_partitions_per_run: Annotated[
        int, Strict(), Field(ge=1, le=10_000), BeforeValidator(_integral)
    ] = 25


class AccessBody(BodyModel):
    role: Role
    request_id: RequestId = None


class CreateWorkspaceBody(BodyModel):
    name: WorkspaceName


# -- responses --

JsonObject = dict[str, Any]


class Health(ResponseModel):
    status: Literal["ok"]
    version: str


class WorkspaceList(ResponseModel):
    workspaces: list[str]


class WorkspaceCreated(ResponseModel):
    workspace: str
    created: bool


class TableSize(ResponseModel):
    rows: int
    files: int
    bytes: int


class State(ResponseModel):
    workspace: str
    store: str
    manifest_id: int
    published_at: str | None
    watermark: str | None
    watermark_time: str | None
    objects_folded: int
    events_folded: int
    tables: dict[str, TableSize]


class Setting(ResponseModel):
    name: str
    value: JsonValue
    default: JsonValue
    is_default: bool
    changed_by: str | None
    changed_at_ms: int | None
    description: str


class SettingList(ResponseModel):
    settings: list[Setting]


class SettingChanged(ResponseModel):
    name: str
    value: JsonValue
    request_id: str
    ledger_object: str | None
    event_id: str


class AccessEntry(ResponseModel):
    principal: str
    role: Role | None
    source: Literal["deployment", "grant"]
    changed_by: str | None
    changed_at_ms: int | None


class AccessList(ResponseModel):
    access: list[AccessEntry]


class AccessChangedReply(ResponseModel):
    principal: str
    role: Role | None
    request_id: str
    event_id: str


class Asset(ResponseModel):
    key: str
    group: str | None
    deps: list[str]
    code_version: str | None
    owners: list[str]
    kinds: list[str]
    tags: dict[str, str]
    description: str | None
    partitions: str | None
    partitions_definition: JsonObject | None


class AssetList(ResponseModel):
    assets: list[Asset]


class Materialization(ResponseModel):
    run_id: str | None
    time_ms: int | None
    code_version: str | None
    data_version: str | None


class Attempt(ResponseModel):
    run_id: str | None
    time_ms: int | None
    status: str | None
    error: str | None


class PartitionRow(ResponseModel):
    partition: str | None
    status: str
    last_materialization: Materialization | None
    last_attempt: Attempt | None


class PartitionPage(ResponseModel):
    asset: str
    count: int
    keys: list[str]
    partitions: list[PartitionRow]
    next_cursor: str | None


class AssetObserved(ResponseModel):
    asset: str
    partition: str | None
    data_version: str
    ledger_object: str | None


class DynamicPartitionsChanged(ResponseModel):
    definition: str
    action: Literal["add", "remove"]
    keys: list[str]
    ledger_object: str | None


class Schedule(ResponseModel):
    name: str
    cron: list[str]
    timezone: str
    target: list[str]
    status: str
    status_source: str
    partitioned: bool
    catch_up: str
    running_since: str | None
    last_tick: str | None
    next_tick: str | None


class SchedulePage(ResponseModel):
    schedules: list[Schedule]
    next_cursor: str | None


class ScheduleTick(ResponseModel):
    schedule: str
    tick_ms: int
    tick_time: str
    status: str
    run_ids: list[str]
    run_keys: list[str]
    partition_keys: list[str | None]
    skip_reason: str | None
    error: str | None


class ScheduleTickPage(ResponseModel):
    ticks: list[ScheduleTick]
    next_cursor: str | None


class ScheduleStatusChanged(ResponseModel):
    schedule: str
    status: str
    ledger_object: str | None


class Sensor(ResponseModel):
    name: str
    kind: str
    status: str
    status_source: str
    target: list[str]
    cursor: str | None
    minimum_interval_seconds: int | None
    monitored_assets: list[str]
    run_statuses: list[str]
    subscription: str | None
    last_evaluation: str | None
    last_tick_status: str | None
    next_evaluation: str | None


class SensorPage(ResponseModel):
    sensors: list[Sensor]
    next_cursor: str | None


class SensorTick(ResponseModel):
    tick_id: str
    sensor: str
    kind: str
    evaluated_at: str
    status: str
    cursor_before: str | None
    cursor_after: str | None
    run_ids: list[str]
    run_keys: list[str]
    skip_reason: str | None
    error: str | None
    message_id: str | None


class SensorTickPage(ResponseModel):
    ticks: list[SensorTick]
    next_cursor: str | None


class SensorStatusChanged(ResponseModel):
    sensor: str
    status: str
    ledger_object: str | None


class SensorCursorChanged(ResponseModel):
    sensor: str
    cursor: str | None
    ledger_object: str | None


class AutomationTicksQuery(PageQuery):
    status: Literal["SUCCESS", "SKIPPED", "FAILURE"] | None = None


class AutomationWhyQuery(QueryModel):
    partition: Annotated[
        str | None, Field(min_length=1, description="Mark each node's verdict on this partition.")
    ] = None
    now: Annotated[
        Instant | None, Field(description="Evaluate as of this time (default: the clock).")
    ] = None


class AutomationStatus(ResponseModel):
    name: str
    status: Literal["RUNNING", "STOPPED"]
    default_status: Literal["RUNNING", "STOPPED"]
    status_changed_by: str | None
    assets_with_conditions: int
    last_evaluation: str | None
    last_tick_id: str | None
    last_tick_status: str | None
    dry_run: bool
    max_runs_per_hour: int


class AutomationRun(ResponseModel):
    assets: list[str]
    partition_key: str | None = None
    partition_range: tuple[str, str] | None = None
    tags: dict[str, str] = {}


class AutomationTick(ResponseModel):
    tick_id: str
    status: str
    evaluated_at: str | None
    skip_reason: str | None
    error: str | None
    assets_evaluated: int
    requested: dict[str, int]
    request_ids: list[str]
    run_ids: list[str]
    held: list[AutomationRun]
    dry_run: bool


class AutomationTickPage(ResponseModel):
    ticks: list[AutomationTick]
    next_cursor: str | None


class ConditionNode(ResponseModel):
    name: str
    label: str | None = None
    true: int
    candidates: int
    sample: list[str]
    key: str | None = None
    holds: bool | None = None
    children: list[ConditionNode] = []


class RecordedEvaluation(ResponseModel):
    tick_id: str
    evaluated_at: str | None
    requested: dict[str, Any]
    tree: ConditionNode


class AutomationWhy(ResponseModel):
    asset: str
    partition: str | None
    condition: str
    automation_running: bool
    evaluated_at: str | None
    first_evaluation: bool
    would_request: list[str]
    would_request_count: int
    tree: ConditionNode
    last_recorded: RecordedEvaluation | None


class AutomationStatusChanged(ResponseModel):
    name: str
    status: str
    ledger_object: str | None


def _range_of(value: object) -> object:
    """The runs table stores a range as `[first, last]`; the API answers `{first, last}`."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"first": value[0], "last": value[1]}
    return value


class RangeReply(ResponseModel):
    first: str
    last: str


class TaskCounts(ResponseModel):
    total: int
    succeeded: int
    failed: int
    skipped: int
    canceled: int


class Run(ResponseModel):
    run_id: str
    status: str
    selection: str
    assets: list[str]
    partition: str | None
    partition_range: Annotated[RangeReply | None, BeforeValidator(_range_of)]
    run_key: str | None
    source: str
    tags: dict[str, str]
    fingerprint: str
    definitions_hash: str
    parent_run_id: str | None
    root_run_id: str
    created_ms: int
    launched_ms: int | None
    started_ms: int | None
    finished_ms: int | None
    cancel_requested_ms: int | None
    error: str | None = None  # why the timer failed the run, when it did
    tasks: TaskCounts


class ChecksQuery(QueryModel):
    asset: Annotated[str | None, Field(min_length=1, description="Only this asset's checks.")] = (
        None
    )


class CheckResult(ResponseModel):
    partition: str | None
    passed: bool
    severity: str
    metadata: dict[str, Any]
    description: str | None
    error: str | None
    run_id: str
    evaluated_ms: int


class AssetCheck(ResponseModel):
    asset: str
    name: str
    blocking: bool
    description: str | None
    results: list[CheckResult]


class CheckList(ResponseModel):
    checks: list[AssetCheck]


class RunPage(ResponseModel):
    runs: list[Run]
    next_cursor: str | None


class Task(ResponseModel):
    index: int
    asset: str
    partition: str | None
    status: str
    attempt: int
    max_attempts: int
    depends_on: list[int]
    retry_at_ms: int | None
    started_ms: int | None
    finished_ms: int | None
    error: JsonValue
    skipped_because: JsonValue
    metadata: JsonValue
    code_version: str | None
    data_version: str | None
    attempts: list[JsonObject]


class Lineage(ResponseModel):
    parent_run_id: str | None
    root_run_id: str
    children: list[str]


class RunDetail(Run):
    task_list: list[Task]
    lineage: Lineage


class LogList(ResponseModel):
    logs: list[JsonObject]


class RunLaunched(ResponseModel):
    run_id: str
    created: bool
    fingerprint: str
    tasks: int
    assets: list[str]
    ledger_object: str | None


class RunCanceled(ResponseModel):
    run_id: str
    status: str
    previous_status: str
    ledger_object: str | None


class ChunkCounts(ResponseModel):
    total: int
    planned: int
    done: int
    succeeded: int
    failed: int
    canceled: int


class PartitionSelectionReply(ResponseModel):
    kind: Literal["keys", "range", "all"]
    keys: list[str]  # empty: an explicit list is stored as its count (`key_ranges` lists it)
    first: str | None
    last: str | None
    status: Literal["missing", "failed"] | None
    key_count: int | None = None


class Backfill(ResponseModel):
    backfill_id: str
    status: str
    selection: str
    assets: list[str]
    anchor: str | None
    partitions: PartitionSelectionReply | None
    total_partitions: int
    chunk_size: int
    max_concurrent_runs: int
    chunks: ChunkCounts
    tags: dict[str, str]
    parent_backfill_id: str | None
    root_backfill_id: str
    created_ms: int
    status_changed_ms: int
    error: str | None = None  # why it FAILED (the timer could not process it)


class BackfillPage(ResponseModel):
    backfills: list[Backfill]
    next_cursor: str | None


class AssetProgress(ResponseModel):
    materialized: int
    failed: int
    in_progress: int
    canceled: int


class BackfillDetail(Backfill):
    key_ranges: list[tuple[str, str]]  # the first 100 targeted (first, last) anchor key ranges
    key_ranges_total: int
    anchor_partitions_planned: int
    anchor_partitions_not_started: int
    per_asset: dict[str, AssetProgress]


class BackfillCreated(ResponseModel):
    backfill_id: str
    status: str
    assets: list[str]
    anchor: str | None
    partitions: int
    chunk_size: int
    chunks: int
    max_concurrent_runs: int
    created: bool
    ledger_object: str | None = None


class BackfillRuns(ResponseModel):
    runs: list[Run]


class BackfillChanged(ResponseModel):
    backfill_id: str
    action: str
    previous_status: str
    ledger_object: str | None


class AsOf(ResponseModel):
    manifest_id: int
    time: str


class StalenessCounts(ResponseModel):
    partitions: int
    FRESH: int
    STALE: int
    MISSING: int
    by_reason: dict[str, int]


class StalenessItem(ResponseModel):
    asset: str
    partition: str | None
    status: str
    stale_since: str | None
    stale_since_ms: int | None
    causes: list[JsonObject]
    root_causes: list[JsonObject] | None = None


class StalenessReport(ResponseModel):
    as_of: AsOf
    items: list[StalenessItem]
    summary: StalenessCounts
    next_cursor: str | None


class AssetStaleness(ResponseModel):
    asset: str
    partitions: int
    FRESH: int
    STALE: int
    MISSING: int
    reasons: list[str]
    stale_since: str | None


class StalenessSummary(ResponseModel):
    as_of: AsOf
    assets: list[AssetStaleness]
    summary: StalenessCounts


class PlannedRun(ResponseModel):
    selection: str
    partition: str | None
    partition_range: tuple[str, str] | None  # (first, last) keys of a range run
    run_key: str
    assets: list[str]
    targets: list[JsonObject]
    opted_in: bool


class PlanSummary(ResponseModel):
    runs: int
    targets: int
    targets_total: int
    left_out_in_flight: int
    truncated: bool


class ReconciliationPlan(ResponseModel):
    as_of: AsOf
    plan_hash: str
    runs: list[PlannedRun]
    summary: PlanSummary


class ReconcileOutcome(ResponseModel):
    selection: str
    partition: str | None
    partition_range: tuple[str, str] | None = None
    run_key: str
    outcome: str
    run_id: str | None


class ReconciliationExecution(ResponseModel):
    mode: str
    enabled: bool
    plan: ReconciliationPlan
    outcomes: list[ReconcileOutcome]
    counts: dict[str, int]
    ledger_object: str | None


class ReconciliationLogEntry(ResponseModel):
    evaluation_id: str
    evaluated_ms: int
    trigger: str
    mode: str
    plan_hash: str
    would_launch: int
    launched: int
    held_by_rate_limit: int
    not_opted_in: int
    runs: list[JsonObject]
    row_version: str


class ReconciliationLog(ResponseModel):
    log: list[ReconciliationLogEntry]
