"""The fold: ledger objects in, table changes out. Pure and deterministic.

Rules the engine guarantees for every registered capability:
- events are applied in event-id order (ties broken by object name and position);
- an event whose idempotency key was already taken into account is a no-op;
- a key is recorded only when its rule APPLIED or SUPERSEDED it, never when REJECTED;
- an unknown event type (or a version newer than this build) is a recorded no-op;
- an object that is not a valid batch for this workspace is quarantined whole, never applied
  in part and never silently dropped;
- an object name already folded is skipped, so re-listing is harmless;
- each object's row in `ledger_objects` names the fold call that took it (`FoldCall`), so the
  published state can be refolded call by call, exactly (`arco rebuild --verify`).

With last-writer-wins rules keyed on event ids, folding any permutation, duplication or
batching of the same events gives the same tables as one ordered pass, except for the known
order dependences listed in docs/design/runs.md (each pinned by a strict xfail in
tests/property/test_order_dependence.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from pydantic import BaseModel, ValidationError

from arco.domain.envelope import EventEnvelope, LedgerBatch, parse_time_ms
from arco.domain.registry import Outcome, Registry, UnsupportedEvent
from arco.domain.state import StagedState
from arco.domain.system_tables import IDEMPOTENCY_KEYS, LEDGER_OBJECTS, QUARANTINE
from arco.domain.tables import ROW_VERSION, Row, TableSpec


@dataclass(frozen=True, slots=True)
class LedgerObject:
    """A ledger object as read from the store: its name (a ULID) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True, slots=True)
class FoldCall:
    """Which fold call this is: the published manifest it folds over, and its number among the
    calls folding over that manifest (from 1). Calls are ordered by (after_manifest, number).
    The default, unnumbered call records nulls, as rows written before calls were recorded."""

    after_manifest: int | None = None
    number: int | None = None


@dataclass(slots=True)
class FoldReport:
    """What one fold did, for `arco compact` and the logs."""

    objects: int = 0
    objects_skipped: int = 0
    objects_quarantined: int = 0
    events_applied: int = 0
    events_superseded: int = 0
    events_duplicate: int = 0
    events_rejected: int = 0
    events_unsupported: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)

    @property
    def events_seen(self) -> int:
        return (
            self.events_applied
            + self.events_superseded
            + self.events_duplicate
            + self.events_rejected
            + self.events_unsupported
        )

    def add(self, other: FoldReport) -> None:
        """Count `other` (a later fold into the same staged state) in this report."""
        for counter in fields(self):
            if counter.type in (int, "int"):
                setattr(
                    self, counter.name, getattr(self, counter.name) + getattr(other, counter.name)
                )
        self.quarantined.extend(other.quarantined)

    def as_dict(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "objects_skipped": self.objects_skipped,
            "objects_quarantined": self.objects_quarantined,
            "events_applied": self.events_applied,
            "events_superseded": self.events_superseded,
            "events_duplicate": self.events_duplicate,
            "events_rejected": self.events_rejected,
            "events_unsupported": self.events_unsupported,
        }


class FoldContext:
    """What a fold rule sees: the event being applied and read/write access to the tables."""

    __slots__ = ("_registry", "_staged", "envelope", "event_id", "rejection")

    def __init__(self, staged: StagedState, registry: Registry, envelope: EventEnvelope) -> None:
        self._staged = staged
        self._registry = registry
        self.envelope = envelope
        self.event_id = envelope.event_id
        self.rejection: str | None = None

    def reject(self, reason: str) -> Outcome:
        """Refuse this event, saying why: it is quarantined with `reason`, not applied."""
        self.rejection = reason
        return Outcome.REJECTED

    @property
    def time_ms(self) -> int:
        """When the event was written (writer's clock), in epoch milliseconds."""
        return parse_time_ms(self.envelope.time)

    def get(self, table: str, *key: Any) -> Row | None:
        """The current row of `table` with this key, or None."""
        return self._staged.get(table, tuple(key))

    def put(self, table: str, row: Row, version: str | None = None) -> None:
        """Write `row` (missing columns become null), stamped with this event's id (or the
        row's current stamp, if that is newer).

        A rule whose rows merge several events commutatively passes `version` (for example the
        newest event id that contributed) so the stamp does not depend on arrival order either.
        """
        spec = self._registry.table(table)
        stamp = version or self.event_id
        if version is None:
            # The newest event that touched the row, whatever order events were folded in.
            current = self._staged.get(table, spec.key_of(row))
            if current is not None and current[ROW_VERSION] > stamp:
                stamp = current[ROW_VERSION]
        self._staged.put(spec, _complete_row(spec, row, stamp))

    def put_if_newer(self, table: str, row: Row) -> Outcome:
        """Last writer (by event id) wins: write unless the stored row is from a later event."""
        spec = self._registry.table(table)
        current = self._staged.get(table, spec.key_of(row))
        if current is not None and current[ROW_VERSION] >= self.event_id:
            return Outcome.SUPERSEDED
        self._staged.put(spec, _complete_row(spec, row, self.event_id))
        return Outcome.APPLIED

    def delete(self, table: str, *key: Any) -> None:
        self._staged.delete(self._registry.table(table), tuple(key))


def _complete_row(spec: TableSpec, row: Row, event_id: str) -> Row:
    unknown = set(row) - set(spec.column_names)
    if unknown:
        raise ValueError(f"table {spec.name}: unknown columns {sorted(unknown)}")
    full = {name: row.get(name) for name in spec.column_names}
    full[ROW_VERSION] = event_id
    return full


@dataclass(frozen=True, slots=True)
class _Pending:
    envelope: EventEnvelope
    payload: BaseModel | None  # None: unsupported type or version
    unsupported_reason: str
    object_name: str
    position: int


class _Quarantined(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _decode(obj: LedgerObject, workspace: str, registry: Registry) -> list[_Pending]:
    try:
        batch = LedgerBatch.model_validate_json(obj.data)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise _Quarantined("malformed_json", f"not JSON: {_short_errors(exc)}") from exc
        raise _Quarantined("invalid_batch", _short_errors(exc)) from exc
    foreign = {batch.workspace} | {e.workspace for e in batch.events}
    if foreign != {workspace}:
        raise _Quarantined(
            "wrong_workspace",
            f"belongs to workspace(s) {sorted(foreign)}, not {workspace!r}",
        )
    pending = []
    for position, envelope in enumerate(batch.events):
        try:
            payload = registry.decode_payload(envelope.type, envelope.version, envelope.payload)
            reason = ""
        except UnsupportedEvent as exc:
            payload, reason = None, str(exc)
        except ValidationError as exc:
            raise _Quarantined(
                "invalid_payload",
                f"event {position} ({envelope.type}, {envelope.event_id}): {_short_errors(exc)}",
            ) from exc
        pending.append(_Pending(envelope, payload, reason, obj.name, position))
    return pending


def _short_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def fold_objects(
    staged: StagedState,
    objects: Iterable[LedgerObject],
    registry: Registry,
    workspace: str,
    call: FoldCall = FoldCall(),
) -> FoldReport:
    """Fold ledger objects into `staged` as fold call `call`; return what happened."""
    report = FoldReport()
    pending: list[_Pending] = []
    seen: set[str] = set()
    for obj in objects:
        if obj.name in seen or staged.get(LEDGER_OBJECTS.name, (obj.name,)) is not None:
            report.objects_skipped += 1
            continue
        seen.add(obj.name)
        report.objects += 1
        try:
            decoded = _decode(obj, workspace, registry)
        except _Quarantined as q:
            report.objects_quarantined += 1
            report.quarantined.append((obj.name, q.reason))
            staged.put(
                QUARANTINE,
                {
                    "object_name": obj.name,
                    "event_id": "",
                    "kind": q.kind,
                    "reason": q.reason,
                    ROW_VERSION: obj.name,
                },
            )
            staged.put(
                LEDGER_OBJECTS,
                {
                    "object_name": obj.name,
                    "event_count": 0,
                    "status": "quarantined",
                    "fold_after_manifest": call.after_manifest,
                    "fold_call": call.number,
                    ROW_VERSION: obj.name,
                },
            )
            continue
        staged.put(
            LEDGER_OBJECTS,
            {
                "object_name": obj.name,
                "event_count": len(decoded),
                "status": "folded",
                "fold_after_manifest": call.after_manifest,
                "fold_call": call.number,
                ROW_VERSION: obj.name,
            },
        )
        pending.extend(decoded)

    pending.sort(key=lambda p: (p.envelope.event_id, p.object_name, p.position))
    for item in pending:
        _apply(staged, registry, item, report)
    return report


def _apply(staged: StagedState, registry: Registry, item: _Pending, report: FoldReport) -> None:
    envelope = item.envelope
    if item.payload is None:
        report.events_unsupported += 1
        staged.put(
            QUARANTINE,
            {
                "object_name": item.object_name,
                "event_id": envelope.event_id,
                "kind": "unsupported_event",
                "reason": item.unsupported_reason,
                ROW_VERSION: envelope.event_id,
            },
        )
        return
    if staged.get(IDEMPOTENCY_KEYS.name, (envelope.idempotency_key,)) is not None:
        report.events_duplicate += 1
        return
    rule = registry.events[envelope.type].rule
    staged.savepoint()
    ctx = FoldContext(staged, registry, envelope)
    try:
        outcome = rule(ctx, item.payload)
        staged.release()
    except Exception as exc:  # a bug in one rule must not stop the whole ledger
        staged.rollback()  # nothing of a failed rule stays, so a fixed build can refold it
        report.events_rejected += 1
        staged.put(
            QUARANTINE,
            {
                "object_name": item.object_name,
                "event_id": envelope.event_id,
                "kind": "fold_error",
                "reason": f"{type(exc).__name__}: {exc}",
                ROW_VERSION: envelope.event_id,
            },
        )
        return
    if outcome is Outcome.REJECTED:
        # Not applied, and never silently: the event stays in the ledger and is listed in the
        # quarantine with its reason, to be replayed (`arco quarantine replay`) once the state
        # or the build can take it.
        report.events_rejected += 1
        staged.put(
            QUARANTINE,
            {
                "object_name": item.object_name,
                "event_id": envelope.event_id,
                "kind": "rejected",
                "reason": ctx.rejection
                or f"{envelope.type} names something this state does not have",
                ROW_VERSION: envelope.event_id,
            },
        )
        return
    if outcome is Outcome.APPLIED:
        report.events_applied += 1
    else:
        report.events_superseded += 1
    staged.put(
        IDEMPOTENCY_KEYS,
        {
            "idempotency_key": envelope.idempotency_key,
            "event_id": envelope.event_id,
            "event_type": envelope.type,
            ROW_VERSION: envelope.event_id,
        },
    )
