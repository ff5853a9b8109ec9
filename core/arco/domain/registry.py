"""The registration point: event types, projection tables and the fold rules that connect them.

Later capabilities add themselves here (`registry.add_table`, `registry.add_event`) without
touching the fold engine. Event types are stable strings, never import paths; an old payload
version is upgraded on read by pure `dict -> dict` upcasters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from arco.domain.tables import TableSpec

if TYPE_CHECKING:
    from arco.domain.fold import FoldContext


class Outcome(Enum):
    """What a fold rule did with an event.

    APPLIED and SUPERSEDED both consume the idempotency key: the event has been taken into
    account (a superseded last-writer-wins write is final). REJECTED does not: the event was not
    valid against the current state (an out-of-order transition) and may be delivered again.
    """

    APPLIED = "applied"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


FoldRule = Callable[["FoldContext", Any], Outcome]
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class EventType:
    """A registered event type: its payload model, its rule, and upcasters from old versions."""

    name: str
    version: int
    payload: type[BaseModel]
    rule: FoldRule
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)
    description: str = ""


class UnsupportedEvent(Exception):
    """An event type or version this build does not know: folded as a recorded no-op."""


class Registry:
    """Every table and event type the fold knows."""

    def __init__(self) -> None:
        self._tables: dict[str, TableSpec] = {}
        self._events: dict[str, EventType] = {}

    def add_table(self, spec: TableSpec) -> None:
        if spec.name in self._tables:
            raise ValueError(f"table {spec.name!r} registered twice")
        self._tables[spec.name] = spec

    def add_event(self, event_type: EventType) -> None:
        if event_type.name in self._events:
            raise ValueError(f"event type {event_type.name!r} registered twice")
        missing = [v for v in range(1, event_type.version) if v not in event_type.upcasters]
        if missing:
            raise ValueError(f"event type {event_type.name!r}: no upcaster from versions {missing}")
        self._events[event_type.name] = event_type

    def extend(self, installers: Iterable[Callable[[Registry], None]]) -> Registry:
        for install in installers:
            install(self)
        return self

    @property
    def tables(self) -> Mapping[str, TableSpec]:
        return self._tables

    @property
    def events(self) -> Mapping[str, EventType]:
        return self._events

    def table(self, name: str) -> TableSpec:
        return self._tables[name]

    def decode_payload(self, type_name: str, version: int, payload: dict[str, Any]) -> Any:
        """Validate `payload` into its model, upgrading it from older versions first.

        Raises UnsupportedEvent for an unknown type or a version newer than this build, and
        pydantic's ValidationError for a payload that does not match its model.
        """
        event_type = self._events.get(type_name)
        if event_type is None:
            raise UnsupportedEvent(f"unknown event type {type_name!r}")
        if version > event_type.version:
            raise UnsupportedEvent(
                f"{type_name} version {version} is newer than this build's {event_type.version}"
            )
        data = payload
        for from_version in range(version, event_type.version):
            data = event_type.upcasters[from_version](data)
        return event_type.payload.model_validate(data)
