"""Tables the fold engine itself maintains, whatever capabilities are registered.

- `idempotency_keys`: every key whose event was taken into account (applied or superseded).
- `ledger_objects`: every ledger object folded, so an audit can prove nothing was missed, and
  the fold call that folded it, so `arco rebuild --verify` can refold in the same order.
- `quarantine`: ledger objects (or single events) the fold could not use, with the reason.
"""

from __future__ import annotations

from arco.domain.tables import Column, TableSpec

IDEMPOTENCY_KEYS = TableSpec(
    name="idempotency_keys",
    key=("idempotency_key",),
    columns=(
        Column("idempotency_key", "string"),
        Column("event_id", "string"),
        Column("event_type", "string"),
    ),
    description="Keys of events taken into account; a repeated key is a no-op.",
)

LEDGER_OBJECTS = TableSpec(
    name="ledger_objects",
    key=("object_name",),
    columns=(
        Column("object_name", "string"),
        Column("event_count", "int64"),
        Column("status", "string"),
        # Which fold call took the object: the published manifest it folded over, and the call
        # within that publication (from 1). Null in rows written before they were recorded.
        Column("fold_after_manifest", "int64"),
        Column("fold_call", "int64"),
    ),
    description="Every ledger object folded: 'folded' or 'quarantined', and by which fold call.",
)

QUARANTINE = TableSpec(
    name="quarantine",
    key=("object_name", "event_id"),
    columns=(
        Column("object_name", "string"),
        Column("event_id", "string"),
        Column("kind", "string"),
        Column("reason", "string"),
    ),
    description="Ledger objects or events that could not be folded, and why.",
)

SYSTEM_TABLES = (IDEMPOTENCY_KEYS, LEDGER_OBJECTS, QUARANTINE)
