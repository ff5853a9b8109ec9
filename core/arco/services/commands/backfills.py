"""Backfill commands: create (with an Idempotency-Key), pause, resume, cancel, retry-failed.
Nothing is written on bad input. The timer plans and follows backfills
(`domain/backfill_controller`); reading them back is `queries/backfills.py`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco.clock import clock_now
from arco.domain.backfills import (
    BACKFILL_CREATED,
    BACKFILL_CREATED_VERSION,
    BACKFILL_STATUS_CHANGED,
    BACKFILLS,
    MAX_CHUNK_SIZE,
    MAX_CONCURRENT_RUNS,
    MAX_EXPLICIT_KEYS,
    TERMINAL,
    BackfillCreated,
    BackfillStatusChanged,
    PartitionSelection,
    can,
    chunk_ranges,
    created_key,
    pack_ranges,
    resolve_selection,
    status_key,
    total,
    unpack_ranges,
)
from arco.domain.canonical import fingerprint as short_hash
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput, Refused
from arco.domain.names import validate_key_component
from arco.domain.partitions import TimeWindowPartitionsDefinition
from arco.domain.run_identity import validate_user_tags
from arco.domain.run_requests import prepare_run
from arco.domain.selection import select_assets
from arco.domain.tables import Row
from arco.domain.ulid import encode_ulid
from arco.ledger.writer import NewEvent
from arco.services.commands.reservations import reserve
from arco.services.commands.runs import default_retry
from arco.services.queries.backfills import anchor_of, backfill_row, tasks_of_backfill
from arco.services.queries.definitions import dynamic_partition_keys, require_definitions
from arco.services.workspace import Workspace

DEFAULT_CHUNK_SIZE = 25  # Dagster's DAGSTER_ASSET_BACKFILL_RUN_CHUNK_SIZE


DEFAULT_MAX_CONCURRENT_RUNS = 4


ACTIONS = ("pause", "resume", "cancel")


@dataclass(frozen=True)
class BackfillRequest:
    """What `arco backfill create` and `POST /backfills` ask for."""

    selection: str
    partitions: PartitionSelection | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    idempotency_key: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def create_backfill(
    ws: Workspace,
    request: BackfillRequest,
    requested_by: str = "unknown",
    parent: Row | None = None,
) -> tuple[dict[str, Any], bool]:
    """Validate, then append `backfill.created`: (the backfill, whether it is new). The same
    Idempotency-Key and body returns the existing backfill; another body is refused (409)."""
    snapshot = ws.snapshot()
    defs = require_definitions(ws)
    now = clock_now(ws.clock)
    dynamic = dynamic_partition_keys(snapshot)
    if not 1 <= request.chunk_size <= MAX_CHUNK_SIZE:
        raise InvalidInput(f"chunk size must be between 1 and {MAX_CHUNK_SIZE}")
    if not 1 <= request.max_concurrent_runs <= MAX_CONCURRENT_RUNS:
        raise InvalidInput(f"max concurrent runs must be between 1 and {MAX_CONCURRENT_RUNS}")
    tags = validate_user_tags(dict(request.tags))
    assets = select_assets(request.selection, defs)
    if not assets:
        raise InvalidInput(f"selection {request.selection!r} matches no asset")
    anchor = anchor_of(defs, assets)
    ranges: tuple[tuple[int, int], ...] = ()
    if anchor is None:
        if request.partitions is not None:
            raise InvalidInput(
                f"partitions were given but no selected asset is partitioned ({', '.join(assets)})"
            )
    else:
        if request.partitions is None:
            raise InvalidInput(
                f"{anchor!r} is partitioned: give partitions (a range, a list of keys, or all)"
            )
        pdef = defs.assets[anchor].partitions
        assert pdef is not None
        ranges = resolve_selection(request.partitions, pdef.key_space(dynamic), now)
        if not ranges:
            raise InvalidInput("the partition selection is empty")
        # The first chunk must plan: mappings that cannot resolve are refused now, not later.
        space = pdef.key_space(dynamic)
        first = chunk_ranges(ranges, request.chunk_size, 0)
        span = (space.key_at(first[0][0]), space.key_at(first[0][1] - 1))
        prepare_run(defs, assets, None, span, tags, now, default_retry(snapshot), dynamic)
    body = {
        "assets": list(assets),
        # (key_count, added later, only when set: keys reserved before keep their fingerprint)
        "partitions": request.partitions.model_dump(mode="json", exclude={"key_count"})
        if request.partitions
        else None,
        "chunk_size": request.chunk_size,
        "max_concurrent_runs": request.max_concurrent_runs,
        "tags": tags,
        "parent": parent["backfill_id"] if parent else None,
    }
    fingerprint = short_hash(body, 32)
    if request.idempotency_key is not None:
        key = request.idempotency_key
        if not key.strip() or len(key) > 500 or any(ord(c) < 32 for c in key):
            raise InvalidInput("Idempotency-Key must be 1-500 printable characters")
        digest = hashlib.sha256(f"{ws.name}\x00{key}".encode()).hexdigest()
        backfill_id = "bf_" + digest[:24]
        existing = reserve(
            ws.store,
            ws.layout.backfill_reservation_key(digest + ".json"),
            {"backfill_id": backfill_id, "fingerprint": fingerprint, "idempotency_key": key},
        )
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise Refused(
                    f"Idempotency-Key {key!r} was used for backfill {existing['backfill_id']} "
                    "with a different request",
                    {"backfill_id": existing["backfill_id"]},
                )
            folded = snapshot.rows(BACKFILLS.name).get((backfill_id,))
            status = folded["status"] if folded else "REQUESTED"  # not compacted yet
            return _summary(backfill_id, request, assets, anchor, ranges, status), False
    else:
        random = int.from_bytes(os.urandom(10), "big")
        backfill_id = "bf_" + encode_ulid(ws.clock.now_ms(), random).lower()
    payload = BackfillCreated(
        backfill_id=backfill_id,
        selection=request.selection,
        assets=list(assets),
        anchor=anchor,
        partitions=request.partitions.stored() if request.partitions else None,
        range_runs=pack_ranges(ranges),
        chunk_size=request.chunk_size,
        max_concurrent_runs=request.max_concurrent_runs,
        parent_backfill_id=parent["backfill_id"] if parent else None,
        root_backfill_id=parent["root_backfill_id"] if parent else None,
        idempotency_key=request.idempotency_key,
        fingerprint=fingerprint,
        tags=tags,
    )
    appended = ws.writer.append(
        [NewEvent(BACKFILL_CREATED, payload, created_key(backfill_id), BACKFILL_CREATED_VERSION)]
    )
    out = _summary(backfill_id, request, assets, anchor, ranges, "REQUESTED")
    out["ledger_object"] = appended.object_name
    return out, True


def _summary(
    backfill_id: str,
    request: BackfillRequest,
    assets: tuple[str, ...],
    anchor: str | None,
    ranges: tuple[tuple[int, int], ...],
    status: str,
) -> dict[str, Any]:
    count = total(ranges) if anchor else 0
    return {
        "backfill_id": backfill_id,
        "status": status,
        "assets": list(assets),
        "anchor": anchor,
        "partitions": count,
        "chunks": -(-count // request.chunk_size) if anchor else 1,
        "chunk_size": request.chunk_size,
        "max_concurrent_runs": request.max_concurrent_runs,
    }


def change_backfill(
    ws: Workspace,
    backfill_id: str,
    action: str,
    request_id: str,
    changed_by: str,
    cancel_runs: bool = False,
) -> dict[str, Any]:
    """Pause, resume or cancel. An illegal transition is refused (409) naming the status."""
    if action not in ACTIONS:
        raise InvalidInput(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    validate_key_component(request_id, "request id")
    row = backfill_row(ws.snapshot(), backfill_id)
    if not can(row["status"], action):
        raise Refused(
            f"cannot {action} backfill {backfill_id}: it is {row['status']}",
            {"backfill_id": backfill_id, "status": row["status"]},
        )
    payload = BackfillStatusChanged(
        backfill_id=backfill_id,
        action=action,  # type: ignore[arg-type]
        request_id=request_id,
        changed_by=changed_by,
        cancel_runs=cancel_runs,
    )
    appended = ws.writer.append(
        [NewEvent(BACKFILL_STATUS_CHANGED, payload, status_key(backfill_id, request_id))]
    )
    return {
        "backfill_id": backfill_id,
        "previous_status": row["status"],
        "action": action,
        "ledger_object": appended.object_name,
    }


def retry_failed(
    ws: Workspace, backfill_id: str, requested_by: str = "unknown"
) -> tuple[dict[str, Any], bool]:
    """A new backfill over exactly the anchor partitions that failed, were skipped or canceled,
    or were never launched; linked to this one (parent) and its root. Only from a terminal
    status; refused when there is nothing to retry."""
    snapshot = ws.snapshot()
    row = backfill_row(snapshot, backfill_id)
    if row["status"] not in TERMINAL:
        raise Refused(
            f"backfill {backfill_id} is {row['status']}: retry once it has finished",
            {"backfill_id": backfill_id, "status": row["status"]},
        )
    defs = require_definitions(ws)
    anchor = row["anchor"]
    if anchor is None:
        raise Refused(f"backfill {backfill_id} is not partitioned: launch a run instead", {})
    pdef = defs.assets[anchor].partitions
    assert pdef is not None
    space = pdef.key_space(dynamic_partition_keys(snapshot))
    ranges = unpack_ranges(json.loads(row["ranges"]))
    wanted = {key for lo, hi in ranges for key in space.keys_between(lo, hi)}
    succeeded: set[str] = set()
    failed: set[str] = set()
    for task in tasks_of_backfill(snapshot, backfill_id):
        keys = _anchor_keys(defs, pdef, anchor, task["asset"], task["partition"])
        (succeeded if task["status"] == "SUCCESS" else failed).update(keys)
    # Failed anywhere in its runs, or never succeeded at all (never launched, canceled).
    retry = sorted(k for k in wanted if k in failed or k not in succeeded)
    if not retry:
        raise Refused(f"nothing to retry: every partition of {backfill_id} materialized", {})
    if len(retry) > MAX_EXPLICIT_KEYS:
        raise InvalidInput(
            f"{len(retry)} partitions to retry; at most {MAX_EXPLICIT_KEYS} at once "
            "(create backfills over ranges with --status failed instead)"
        )
    request = BackfillRequest(
        selection=row["selection"],
        partitions=PartitionSelection(kind="keys", keys=tuple(retry)),
        chunk_size=int(row["chunk_size"]),
        max_concurrent_runs=int(row["max_concurrent_runs"]),
        idempotency_key=f"retry-failed:{backfill_id}",
        tags=json.loads(row["tags"] or "{}"),
    )
    return create_backfill(ws, request, requested_by, parent=row)


def _anchor_keys(
    defs: DefinitionsSnapshot, anchor_def: Any, anchor: str, asset: str, partition: str | None
) -> list[str]:
    """The anchor keys a task's partition belongs to (time windows overlapping it)."""
    if partition is None or partition == "":
        return []
    if asset == anchor:
        return [partition]
    own = defs.assets[asset].partitions
    if isinstance(own, TimeWindowPartitionsDefinition) and isinstance(
        anchor_def, TimeWindowPartitionsDefinition
    ):
        window = own.time_window_for_key(partition)
        lo, hi = anchor_def.index_range_overlapping(window.start, window.end)
        return [anchor_def.key_at(i) for i in range(lo, hi)]
    return [partition] if own == anchor_def else []
