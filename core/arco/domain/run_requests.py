"""Turning a request (manual, or from a schedule tick or a sensor) into `run.requested`. Pure.

Manual launches and automation share this path, so a run looks the same whoever asked for it:
the selection is resolved against the deployed definitions, the partitions resolved and
validated, the plan built, the fingerprint computed, and the system tags added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.partitions import NO_DYNAMIC
from arco.domain.run_config import resolve_run_config
from arco.domain.run_identity import (
    keyed_run_id,
    request_fingerprint,
    schedule_scope,
    sensor_scope,
)
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
    # Per configurable asset, the config values the run gives it (validated).
    run_config: dict[str, dict[str, Any]] = field(default_factory=dict)


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
    run_config: Mapping[str, Any] | None = None,
) -> PreparedRun:
    """Resolve and validate everything about a request; InvalidInput names what is wrong."""
    if isinstance(selection, str):
        assets = select_assets(selection, defs)
    else:
        unknown = [key for key in selection if key not in defs.assets]
        if unknown:
            raise InvalidInput(f"unknown asset {unknown[0]!r}")
        wanted = set(selection)
        assets = tuple(k for k in defs.topological_order() if k in wanted)
    if not assets:
        raise InvalidInput(f"selection {selection!r} matches no asset")
    partitions = resolve_partitions(defs, assets, partition, partition_range, now, dynamic)
    plan = plan_run(defs, assets, partitions, now, dynamic)
    configured = resolve_run_config(defs, assets, run_config)
    given = {asset: values for asset, values in configured.items() if values}
    return PreparedRun(
        assets=assets,
        partitions=partitions,
        plan=plan,
        fingerprint=request_fingerprint(assets, partitions, tags, parent_run_id, given),
        retries=retry_specs(defs, assets, default_retry),
        run_config=given,
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


# Keyless automation requests get an id derived from the request itself (each request is one
# run, and every timer computes the same id for it).
KEYLESS_SCOPE = "request"


def automation_run_id(workspace: str, row: Row) -> tuple[str, str]:
    """(scope, run id) of an automation request row: schedules' keys guard their tick, sensors'
    keys guard the sensor forever (Dagster's rules); keyless requests are their own key."""
    source, name = row["source"], row["source_name"]
    scope = sensor_scope(name) if source == "sensor" else schedule_scope(name, row["tick_ms"])
    run_key = row.get("run_key")
    if run_key is None or source == "automation":
        return scope, keyed_run_id(workspace, KEYLESS_SCOPE, row["request_id"])
    return scope, keyed_run_id(workspace, scope, run_key)


def _range_of(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """A partition range asked for with Dagster's range tags (under Arco's prefix)."""
    start = tags.get("arco/asset_partition_range_start")
    end = tags.get("arco/asset_partition_range_end")
    return None if start is None or end is None else (start, end)


def automation_requests_to_events(
    workspace: str,
    defs: DefinitionsSnapshot,
    requests: Sequence[Row],
    existing_runs: frozenset[str],
    now: datetime,
    now_ms: int,
    default_retry: RetrySpec,
    dynamic: Dynamic = NO_DYNAMIC,
) -> list[NewEvent]:
    """A `run.requested` for every REQUESTED schedule or sensor request whose run does not exist
    yet, or a `run.request_failed` naming why it cannot run (the request is kept, never dropped).
    """
    events: list[NewEvent] = []
    for row in sorted(requests, key=lambda r: str(r["request_id"])):
        source = row.get("source")
        if row.get("status") != "REQUESTED" or source not in ("schedule", "sensor", "automation"):
            continue
        run_key = row["run_key"]
        scope, run_id = automation_run_id(workspace, row)
        if run_id in existing_runs:
            continue
        tags = dict(json.loads(row["tags"] or "{}"))
        selection = list(json.loads(row["asset_selection"] or "[]"))
        partition = row.get("partition_key")
        partition_range = _range_of(tags)
        run_config = json.loads(row.get("run_config") or "null")
        try:
            prepared = prepare_run(
                defs,
                selection,
                partition,
                partition_range,
                tags,
                now,
                default_retry,
                dynamic,
                run_config=run_config,
            )
        except Exception as exc:
            # One request that cannot be planned fails that request (and its tick), never the
            # timer call: a planning bug is reported with its type, bad input as it is.
            error = str(exc) if isinstance(exc, InvalidInput) else f"{type(exc).__name__}: {exc}"
            key = f"request_failed:{row['request_id']}"
            events.append(
                NewEvent(
                    RUN_REQUEST_FAILED,
                    RunRequestFailed(request_id=row["request_id"], error=error[:8000]),
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
            source=source,
            selection=" or ".join(f'key:"{k}"' for k in selection),
            partition=partition,
            partition_range=partition_range,
            tags={
                **defs.job_run_tags(source, row["source_name"]),
                **tags,
                **system_tags(partition, partition_range),
                **_source_tags(row),
            },
            request_id=row["request_id"],
            definitions_hash=defs.content_hash,
            plan=prepared.plan.to_json(),
            retries=prepared.retries,
            run_config=prepared.run_config or None,
        )
        key = run_requested_key(run_id)
        events.append(
            NewEvent(RUN_REQUESTED, payload, key, event_id=deterministic_ulid(now_ms, key))
        )
    return events


def _source_tags(row: Row) -> dict[str, str]:
    """Dagster's `dagster/sensor_name` and automation tags, under Arco's prefix (schedule ticks
    tag their own)."""
    if row["source"] == "sensor":
        return {"arco/sensor_name": row["source_name"]}
    if row["source"] == "automation":
        return {
            "arco/from_automation_condition": "true",
            "arco/asset_evaluation_id": str(row["request_id"]).split(":")[1],
        }
    return {}
