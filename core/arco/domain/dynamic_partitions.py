"""Dynamic partitions: keys added and removed at run time, recorded as events.

Each key's row is a pure function of the set of events about it, whatever their arrival order:
it keeps the ids of the adds and the latest remove; `position` is the earliest add after that
remove (so adding an existing key keeps its first position, as in Dagster, and a late-arriving
older add never resurrects a removed key). A key is present when it has a position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import Column, Row, TableSpec

DYNAMIC_PARTITIONS_ADDED = "partitions.dynamic_added"
DYNAMIC_PARTITIONS_REMOVED = "partitions.dynamic_removed"
_BAD_KEY = re.compile(r"[\x00-\x1f]|\.\.\.")

DYNAMIC_PARTITIONS = TableSpec(
    name="dynamic_partitions",
    key=("definition", "partition_key"),
    columns=(
        Column("definition", "string"),
        Column("partition_key", "string"),
        Column("present", "bool"),
        Column("position", "string"),
        Column("adds", "json"),
        Column("removed_at", "string"),
    ),
    description="Keys of dynamic partitions definitions (removed keys kept as tombstones).",
)


class DynamicPartitionsChanged(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    definition: str = Field(min_length=1, max_length=200)
    keys: list[str] = Field(min_length=1, max_length=10_000)
    changed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)

    @field_validator("keys")
    @classmethod
    def _keys_are_safe(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not key or len(key) > 500 or _BAD_KEY.search(key):
                raise ValueError(f"invalid partition key {key!r}")
        return keys


def change_idempotency_key(definition: str, action: str, request_id: str) -> str:
    return f"dynamic_partitions:{definition}:{action}:{request_id}"


def _apply(ctx: FoldContext, event: DynamicPartitionsChanged, add: bool) -> Outcome:
    changed = False
    for index, key in enumerate(dict.fromkeys(event.keys)):
        row = ctx.get(DYNAMIC_PARTITIONS.name, event.definition, key) or {}
        adds: list[str] = json.loads(row.get("adds") or "[]")
        removed_at: str = row.get("removed_at") or ""
        if add:
            mark = f"{ctx.event_id}:{index:06d}"
            if mark in adds:
                continue
            adds = sorted([*adds, mark])
        else:
            if ctx.event_id <= removed_at:
                continue
            removed_at = ctx.event_id
        live = [a for a in adds if a > removed_at]
        ctx.put(
            DYNAMIC_PARTITIONS.name,
            {
                "definition": event.definition,
                "partition_key": key,
                "present": bool(live),
                "position": live[0] if live else None,
                "adds": json.dumps(adds),
                "removed_at": removed_at or None,
            },
        )
        changed = True
    return Outcome.APPLIED if changed else Outcome.SUPERSEDED


def apply_change(ctx: FoldContext, event: DynamicPartitionsChanged, add: bool) -> Outcome:
    """Add or remove keys as part of another event's fold (a sensor's evaluation)."""
    return _apply(ctx, event, add)


def fold_added(ctx: FoldContext, event: DynamicPartitionsChanged) -> Outcome:
    return _apply(ctx, event, add=True)


def fold_removed(ctx: FoldContext, event: DynamicPartitionsChanged) -> Outcome:
    return _apply(ctx, event, add=False)


def dynamic_keys(rows: Iterable[Row]) -> Mapping[str, list[str]]:
    """{definition name: present keys in insertion order} from `dynamic_partitions` rows."""
    by_definition: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        if row["present"]:
            by_definition.setdefault(row["definition"], []).append(
                (row["position"], row["partition_key"])
            )
    return {name: [key for _, key in sorted(items)] for name, items in by_definition.items()}


def install(registry: Registry) -> None:
    registry.add_table(DYNAMIC_PARTITIONS)
    registry.add_event(
        EventType(
            name=DYNAMIC_PARTITIONS_ADDED,
            version=1,
            payload=DynamicPartitionsChanged,
            rule=fold_added,
            description="Keys were added to a dynamic partitions definition.",
        )
    )
    registry.add_event(
        EventType(
            name=DYNAMIC_PARTITIONS_REMOVED,
            version=1,
            payload=DynamicPartitionsChanged,
            rule=fold_removed,
            description="Keys were removed from a dynamic partitions definition.",
        )
    )
