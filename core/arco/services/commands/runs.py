"""Launching, canceling and re-executing runs.

A launch validates everything before it writes anything; with a run_key it reserves the key with
a create-if-absent object first, so concurrent identical triggers make one run and a different
request under the same key is refused (and recorded) instead of silently merged.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from arco.clock import clock_now
from arco.domain.errors import InvalidInput, NotFound, Refused
from arco.domain.run_identity import (
    MANUAL_SCOPE,
    keyed_run_id,
    request_fingerprint,
    reservation_name,
    validate_run_key,
    validate_user_tags,
)
from arco.domain.run_plan import PlannedTask, RunPlan, TaskKey, from_failure
from arco.domain.run_requests import PreparedRun, prepare_run, retry_specs, system_tags
from arco.domain.runs import (
    RUN_CANCEL_REQUESTED,
    RUN_KEY_CONFLICTED,
    RUN_REQUESTED,
    TERMINAL_RUN,
    RetrySpec,
    RunCancelRequested,
    RunKeyConflicted,
    RunRequested,
    run_requested_key,
)
from arco.domain.ulid import encode_ulid
from arco.ledger.writer import NewEvent
from arco.projections.cache import Snapshot
from arco.services.commands.reservations import reserve
from arco.services.queries.definitions import dynamic_partition_keys, require_definitions
from arco.services.queries.runs import find_run, tasks_of
from arco.services.queries.settings import setting_value
from arco.services.workspace import Workspace


@dataclass(frozen=True)
class LaunchRequest:
    """What `arco run` and `POST /runs` ask for."""

    selection: str
    partition: str | None = None
    partition_range: tuple[str, str] | None = None
    run_key: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Dagster's shape: {"ops": {"<op>": {"config": {...}}}} (checked at launch).
    run_config: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class LaunchResult:
    run_id: str
    created: bool  # False: a repeated run_key returned the existing run
    fingerprint: str
    tasks: int
    assets: tuple[str, ...]
    ledger_object: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "created": self.created,
            "fingerprint": self.fingerprint,
            "tasks": self.tasks,
            "assets": list(self.assets),
            "ledger_object": self.ledger_object,
        }


def default_retry(snapshot: Snapshot) -> RetrySpec:
    """The retry policy of assets without their own (workspace settings)."""
    return RetrySpec(
        max_attempts=int(setting_value(snapshot, "runs.task_max_retries")) + 1,
        delay_ms=min(int(setting_value(snapshot, "runs.task_retry_delay_seconds")), 900) * 1000,
        backoff="exponential",
    )


def _now(ws: Workspace) -> datetime:
    return clock_now(ws.clock)


def _new_run_id(ws: Workspace) -> str:
    return "run_" + encode_ulid(ws.clock.now_ms(), int.from_bytes(os.urandom(10), "big")).lower()


def launch_run(
    ws: Workspace,
    request: LaunchRequest,
    requested_by: str = "unknown",
    *,
    scope: str = MANUAL_SCOPE,
    source: str = "manual",
    snapshot: Snapshot | None = None,
) -> LaunchResult:
    """Validate, reserve the run_key (if any) in `scope`, and append `run.requested`.

    Operators launch in the manual scope; reconciliation launches in its own, so its run keys
    never collide with an operator's. `snapshot`: the state to decide on (a timer call's
    staged state), else the published one."""
    snapshot = snapshot or ws.snapshot()
    defs = require_definitions(ws, snapshot)
    tags = validate_user_tags(dict(request.tags))
    run_key = validate_run_key(request.run_key) if request.run_key is not None else None
    prepared = prepare_run(
        defs,
        request.selection,
        request.partition,
        request.partition_range,
        tags,
        _now(ws),
        default_retry(snapshot),
        dynamic_partition_keys(snapshot),
        run_config=request.run_config,
    )
    all_tags = {
        **tags,
        **system_tags(request.partition, request.partition_range),
        "arco/requested_by": requested_by,
    }
    if run_key is not None:
        all_tags["arco/run_key"] = run_key
    return _request(
        ws,
        snapshot,
        prepared,
        selection=request.selection,
        scope=scope,
        run_key=run_key,
        source=source,
        tags=all_tags,
        partition=request.partition,
        partition_range=request.partition_range,
        definitions_hash=defs.content_hash,
    )


def _request(
    ws: Workspace,
    snapshot: Snapshot,
    prepared: PreparedRun,
    *,
    selection: str,
    scope: str,
    run_key: str | None,
    source: str,
    tags: dict[str, str],
    partition: str | None,
    partition_range: tuple[str, str] | None,
    definitions_hash: str,
    parent: Mapping[str, Any] | None = None,
) -> LaunchResult:
    run_id = keyed_run_id(ws.name, scope, run_key) if run_key is not None else _new_run_id(ws)
    existing: dict[str, Any] | None = None
    if run_key is not None:
        existing = _reserve(ws, scope, run_key, run_id, prepared.fingerprint)
        if existing is not None:
            if existing["fingerprint"] != prepared.fingerprint:
                _refuse(ws, scope, run_key, prepared.fingerprint, existing)
            if find_run(snapshot, run_id) is not None:
                return LaunchResult(
                    run_id, False, prepared.fingerprint, len(prepared.plan), prepared.assets, None
                )
            # The reservation exists but its run is not published yet (in flight, or the first
            # writer crashed after reserving): appending again is harmless, the fold keeps one.
    payload = RunRequested(
        run_id=run_id,
        run_key=run_key,
        scope=scope,
        fingerprint=prepared.fingerprint,
        source=source,
        selection=selection,
        partition=partition,
        partition_range=partition_range,
        tags=tags,
        parent_run_id=parent["run_id"] if parent else None,
        root_run_id=(parent["root_run_id"] or parent["run_id"]) if parent else None,
        definitions_hash=definitions_hash,
        plan=prepared.plan.to_json(),
        retries=prepared.retries,
        run_config=prepared.run_config or None,
    )
    appended = ws.writer.append([NewEvent(RUN_REQUESTED, payload, run_requested_key(run_id))])
    created = existing is None
    return LaunchResult(
        run_id,
        created,
        prepared.fingerprint,
        len(prepared.plan),
        prepared.assets,
        appended.object_name,
    )


def _reserve(
    ws: Workspace, scope: str, run_key: str, run_id: str, fingerprint: str
) -> dict[str, Any] | None:
    """Create the run_key's reservation; None if we made it, else the existing reservation."""
    key = ws.layout.run_key_reservation_key(reservation_name(scope, run_key))
    body = {"scope": scope, "run_key": run_key, "run_id": run_id, "fingerprint": fingerprint}
    return reserve(ws.store, key, body)


def _refuse(
    ws: Workspace, scope: str, run_key: str, fingerprint: str, existing: Mapping[str, Any]
) -> None:
    event = RunKeyConflicted(
        scope=scope,
        run_key=run_key,
        fingerprint=fingerprint,
        existing_run_id=existing["run_id"],
        existing_fingerprint=existing["fingerprint"],
    )
    ws.writer.append(
        [NewEvent(RUN_KEY_CONFLICTED, event, f"conflict:{scope}:{run_key}:{fingerprint}")]
    )
    raise Refused(
        f"run_key {run_key!r} is already used by run {existing['run_id']} for a different "
        f"request (fingerprint {existing['fingerprint']}, this request {fingerprint})",
        {
            "run_key": run_key,
            "existing_run_id": existing["run_id"],
            "existing_fingerprint": existing["fingerprint"],
            "fingerprint": fingerprint,
        },
    )


def cancel_run(ws: Workspace, run_id: str, requested_by: str = "unknown") -> dict[str, Any]:
    """Ask for a run to stop: QUEUED runs cancel at once, started ones are CANCELING."""
    run = find_run(ws.snapshot(), run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r} in workspace {ws.name!r}")
    if run["status"] in TERMINAL_RUN:
        raise Refused(
            f"run {run_id} already finished ({run['status']}); nothing to cancel",
            {"run_id": run_id, "status": run["status"]},
        )
    event = RunCancelRequested(run_id=run_id, requested_by=requested_by)
    appended = ws.writer.append([NewEvent(RUN_CANCEL_REQUESTED, event, f"cancel:{run_id}")])
    return {
        "run_id": run_id,
        "previous_status": run["status"],
        "status": "CANCELED" if run["status"] == "QUEUED" else "CANCELING",
        "ledger_object": appended.object_name,
    }


def rerun(
    ws: Workspace,
    run_id: str,
    *,
    from_failure_: bool = False,
    selection: str | None = None,
    run_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    requested_by: str = "unknown",
) -> LaunchResult:
    """Re-execute a finished run: from failure (failed, interrupted and never-started tasks and
    what is downstream of them) or a selection over the parent's partitions."""
    if from_failure_ == (selection is not None):
        raise InvalidInput("give exactly one of --from-failure or --selection")
    snapshot = ws.snapshot()
    parent = find_run(snapshot, run_id)
    if parent is None:
        raise NotFound(f"no run {run_id!r} in workspace {ws.name!r}")
    if parent["status"] not in TERMINAL_RUN:
        raise Refused(
            f"run {run_id} is {parent['status']}; re-execute it once it has finished",
            {"run_id": run_id, "status": parent["status"]},
        )
    defs = require_definitions(ws)
    user_tags = validate_user_tags(dict(tags or {}))
    key = validate_run_key(run_key) if run_key is not None else None
    partition = parent["partition"]
    prange = json.loads(parent["partition_range"]) if parent["partition_range"] else None
    partition_range = (prange[0], prange[1]) if prange else None
    retry = default_retry(snapshot)
    if from_failure_:
        if parent["status"] == "SUCCESS":
            raise Refused(
                f"run {run_id} succeeded: nothing to re-execute from failure",
                {"run_id": run_id, "status": parent["status"]},
            )
        rows = tasks_of(snapshot, run_id)
        plan = _plan_of(rows)
        succeeded = {TaskKey(r["asset"], r["partition"]) for r in rows if r["status"] == "SUCCESS"}
        retry_plan = from_failure(plan, succeeded)
        assets = tuple(dict.fromkeys(k.asset for k in retry_plan.keys))
        missing = [a for a in assets if a not in defs.assets]
        if missing:
            raise InvalidInput(
                f"asset {missing[0]!r} of run {run_id} is no longer defined; rerun a selection"
            )
        partitions: dict[str, tuple[str | None, ...]] = {}
        for task_key in retry_plan.keys:
            partitions.setdefault(task_key.asset, ())
            partitions[task_key.asset] += (task_key.partition,)
        prepared = PreparedRun(
            assets=assets,
            partitions=partitions,
            plan=retry_plan,
            fingerprint=request_fingerprint(assets, partitions, user_tags, run_id),
            retries=retry_specs(defs, assets, retry),
        )
        kind, shown = "from_failure", "from failure"
    else:
        assert selection is not None
        prepared = prepare_run(
            defs,
            selection,
            partition,
            partition_range,
            user_tags,
            _now(ws),
            retry,
            dynamic_partition_keys(snapshot),
            parent_run_id=run_id,
        )
        kind, shown = "selection", selection
    root = parent["root_run_id"] or run_id
    all_tags = {
        **user_tags,
        **system_tags(partition, partition_range),
        "arco/parent_run_id": run_id,
        "arco/root_run_id": root,
        "arco/reexecution": kind,
        "arco/requested_by": requested_by,
    }
    return _request(
        ws,
        snapshot,
        prepared,
        selection=shown if kind == "selection" else f"{parent['selection']} ({shown})",
        scope=MANUAL_SCOPE,
        run_key=key,
        source="rerun",
        tags=all_tags,
        partition=partition,
        partition_range=partition_range,
        definitions_hash=defs.content_hash,
        parent=parent,
    )


def _plan_of(rows: list[dict[str, Any]]) -> RunPlan:
    """A run's plan, rebuilt from its task rows (positions are the plan's)."""
    ordered = sorted(rows, key=lambda r: r["index"])
    keys = [TaskKey(r["asset"], r["partition"]) for r in ordered]
    return RunPlan(
        tuple(
            PlannedTask(keys[i], tuple(keys[d] for d in json.loads(r["depends_on"] or "[]")))
            for i, r in enumerate(ordered)
        )
    )
