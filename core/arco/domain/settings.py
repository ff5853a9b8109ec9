"""Per-workspace settings: switches operators flip, recorded as events.

The catalogue below is the list of settings that exist; a value is validated against its type
before it is written, and the fold keeps the latest change per setting (by event id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.canonical import canonical_json
from arco.domain.errors import InvalidInput
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import Column, TableSpec

SETTING_CHANGED = "workspace.setting_changed"


@dataclass(frozen=True, slots=True)
class SettingSpec:
    name: str
    type: type
    default: Any
    description: str


SETTINGS: dict[str, SettingSpec] = {
    s.name: s
    for s in (
        SettingSpec(
            "reconciliation.enabled",
            bool,
            False,
            "Let the timer execute reconciliation plans in this workspace.",
        ),
        SettingSpec(
            "reconciliation.dry_run",
            bool,
            True,
            "Record the runs reconciliation would launch instead of launching them.",
        ),
        SettingSpec(
            "reconciliation.max_runs_per_hour",
            int,
            10,
            "Rate limit for runs launched by reconciliation.",
        ),
        SettingSpec(
            "automation.dry_run",
            bool,
            False,
            "Record the runs declarative automation would request instead of requesting them.",
        ),
        SettingSpec(
            "automation.max_runs_per_hour",
            int,
            1000,
            "Rate limit for runs requested by declarative automation (0: no limit).",
        ),
        SettingSpec(
            "gc.enabled",
            bool,
            False,
            "Let the timer delete superseded manifests and table files (see `arco gc`).",
        ),
        SettingSpec(
            "gc.grace_minutes",
            int,
            60,
            "How long a superseded manifest and its files stay readable (readers inside it).",
        ),
        SettingSpec(
            "runs.max_in_flight",
            int,
            20,
            "Runs of this workspace allowed to be STARTING or STARTED at once.",
        ),
        SettingSpec(
            "runs.task_max_retries",
            int,
            0,
            "Retries of a failed task when its asset has no retry_policy (0, as Dagster).",
        ),
        SettingSpec(
            "runs.task_retry_delay_seconds",
            int,
            30,
            "First retry delay when the asset has no retry_policy; doubles per retry, max 900.",
        ),
        SettingSpec(
            "runs.heartbeat_timeout_seconds",
            int,
            300,
            "A started task whose worker has not reported for this long is failed (and retried).",
        ),
    )
}

WORKSPACE_SETTINGS = TableSpec(
    name="workspace_settings",
    key=("name",),
    columns=(
        Column("name", "string"),
        Column("value", "json"),
        Column("changed_at_ms", "int64"),
        Column("changed_by", "string"),
    ),
    description="The latest value of each workspace setting that was ever changed.",
)


class SettingChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    value: Any
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


def parse_setting_value(name: str, raw: Any) -> Any:
    """Check that `name` is a known setting; coerce `raw` (JSON value or CLI text) to its type."""
    spec = SETTINGS.get(name)
    if spec is None:
        raise InvalidInput(
            f"unknown setting {name!r}; known settings: {', '.join(sorted(SETTINGS))}"
        )
    if spec.type is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
    elif spec.type is int:
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
    raise InvalidInput(f"setting {name!r} needs a {spec.type.__name__} value, got {raw!r}")


def setting_idempotency_key(name: str, request_id: str) -> str:
    """One operator action: setting X changed by request R."""
    return f"setting:{name}:{request_id}"


def fold_setting_changed(ctx: FoldContext, event: SettingChanged) -> Outcome:
    if event.name not in SETTINGS:
        return ctx.reject(
            f"unknown setting {event.name!r}: this build does not know it (written by a newer "
            "build during an upgrade?)"
        )
    return ctx.put_if_newer(
        WORKSPACE_SETTINGS.name,
        {
            "name": event.name,
            "value": canonical_json(event.value).decode(),
            "changed_at_ms": ctx.time_ms,
            "changed_by": event.changed_by,
        },
    )


def install(registry: Registry) -> None:
    registry.add_table(WORKSPACE_SETTINGS)
    registry.add_event(
        EventType(
            name=SETTING_CHANGED,
            version=1,
            payload=SettingChanged,
            rule=fold_setting_changed,
            description="An operator changed a workspace setting.",
        )
    )
