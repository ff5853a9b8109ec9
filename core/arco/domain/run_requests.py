"""Turning a request (manual, or from a schedule tick) into a `run.requested` event. Pure.

Manual launches and automation share this path, so a run looks the same whoever asked for it:
the selection is resolved against the deployed definitions, the partitions resolved and
validated, the plan built, the fingerprint computed, and the system tags added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.partitions import NO_DYNAMIC
from arco.domain.run_identity import keyed_run_id, request_fingerprint, schedule_scope
from arco.domain.run_plan import RunPlan, plan_run, resolve_partitions
from arco.domain.runs import (
    RUN_REQUEST_FAILED,
    RUN_REQUESTED,
    RetrySpec,
    RunRequested,
    RunRequestFailed,
    run_requested_key,
)
from arco.domain.selection import select_assets
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid

Dynamic = Mapping[str, Sequence[str]]


@dataclass(frozen=True, slots=True)
class PreparedRun:
    """A validated request, ready to become a `run.requested` event once it has an id."""

    assets: tuple[str, ...]
    partitions: dict[str, tuple[str | None, ...]]
    plan: RunPlan
    fingerprint: str
    retries: dict[str, RetrySpec]


def retry_specs(
    defs: DefinitionsSnapshot, assets: Sequence[str], default: RetrySpec
) -> dict[str, RetrySpec]:
    """Each asset's retry policy, or the workspace default when it declares none."""
    out: dict[str, RetrySpec] = {}
    for key in assets:
        policy = defs.assets[key].retry_policy
        out[key] = (
            default
            if policy is None
            else RetrySpec(
                max_attempts=policy.max_retries + 1,
                delay_ms=round(policy.delay * 1000),
                backoff=policy.backoff,  # type: ignore[arg-type]
            )
        )
    return out


def prepare_run(
    defs: DefinitionsSnapshot,
    selection: str | Sequence[str],
    partition: str | None,
    partition_range: tuple[str, str] | None,
    tags: Mapping[str, str],
    now: datetime,
    default_retry: RetrySpec,
    dynamic: Dynamic = NO_DYNAMIC,
    parent_run_id: str | None = None,
) -> PreparedRun:
    """Resolve and validate everything about a request; InvalidInput names what is wrong."""
    if isinstance(selection, str):
        assets = select_assets(selection, defs)
    else:
        unknown = [key for key in selection if key not in defs.assets]
        if unknown:
            raise InvalidInput(f"unknown asset {unknown[0]!r}")
        assets = tuple(k for k in defs.topological_order() if k in set(selection))
    if not assets:
        raise InvalidInput(f"selection {selection!r} matches no asset")
    partitions = resolve_partitions(defs, assets, partition, partition_range, now, dynamic)
    plan = plan_run(defs, assets, partitions, now, dynamic)
    return PreparedRun(
        assets=assets,
        partitions=partitions,
        plan=plan,
        fingerprint=request_fingerprint(assets, partitions, tags, parent_run_id),
        retries=retry_specs(defs, assets, default_retry),
    )


def system_tags(partition: str | None, partition_range: tuple[str, str] | None) -> dict[str, str]:
    """Dagster's partition tags, under Arco's prefix."""
    if partition is not None:
        return {"arco/partition": partition}
    if partition_range is not None:
        return {
            "arco/asset_partition_range_start": partition_range[0],
            "arco/asset_partition_range_end": partition_range[1],
        }
    return {}


def schedule_requests_to_events(
    workspace: str,
    defs: DefinitionsSnapshot,
    requests: Sequence[Row],
    existing_runs: frozenset[str],
    now: datetime,
    now_ms: int,
    default_retry: RetrySpec,
    dynamic: Dynamic = NO_DYNAMIC,
) -> list[NewEvent]:
    """A `run.requested` for every REQUESTED schedule request whose run does not exist yet, or a
    `run.request_failed` naming why it cannot run (the request is kept, never dropped).

    The run_key only guards its tick (`schedule:<name>:<tick ms>` scope), as in Dagster.
    """
    events: list[NewEvent] = []
    for row in sorted(requests, key=lambda r: str(r["request_id"])):
        if row.get("status") != "REQUESTED" or row.get("source") != "schedule":
            continue
        scope = schedule_scope(row["source_name"], row["tick_ms"])
        run_key = row["run_key"]
        run_id = keyed_run_id(workspace, scope, run_key)
        if run_id in existing_runs:
            continue
        tags = dict(json.loads(row["tags"] or "{}"))
        selection = list(json.loads(row["asset_selection"] or "[]"))
        partition = row.get("partition_key")
        try:
            prepared = prepare_run(
                defs, selection, partition, None, tags, now, default_retry, dynamic
            )
        except InvalidInput as exc:
            key = f"request_failed:{row['request_id']}"
            events.append(
                NewEvent(
                    RUN_REQUEST_FAILED,
                    RunRequestFailed(request_id=row["request_id"], error=str(exc)),
                    key,
                    event_id=deterministic_ulid(now_ms, key),
                )
            )
            continue
        payload = RunRequested(
            run_id=run_id,
            run_key=run_key,
            scope=scope,
            fingerprint=prepared.fingerprint,
            source="schedule",
            selection=" or ".join(f'key:"{k}"' for k in selection),
            partition=partition,
            tags={**tags, **system_tags(partition, None)},
            request_id=row["request_id"],
            definitions_hash=defs.content_hash,
            plan=prepared.plan.to_json(),
            retries=prepared.retries,
        )
        key = run_requested_key(run_id)
        events.append(
            NewEvent(RUN_REQUESTED, payload, key, event_id=deterministic_ulid(now_ms, key))
        )
    return events
