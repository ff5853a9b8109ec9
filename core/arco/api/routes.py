"""The route table: every operation of the API, declared once (see `arco.api.contract`).

Handlers are thin: models in, a service call with the caller's principal as the author of any
write, a response model out. A workspace route's handler gets `(ws, identity, req)`; the others
get `(deployment, identity, req)`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from arco import __version__
from arco.api import models as m
from arco.api.contract import Access, NoParams, Req, Route, route
from arco.api.pagination import decode_cursor, encode_cursor, page_by_name
from arco.clock import clock_now
from arco.domain.access import Identity, Role
from arco.domain.errors import ArcoError, InvalidInput, NotFound
from arco.services.commands.access import change_access
from arco.services.commands.backfills import (
    BackfillRequest,
    change_backfill,
    create_backfill,
    retry_failed,
)
from arco.services.commands.observations import observe_asset
from arco.services.commands.partitions import change_dynamic_partitions
from arco.services.commands.reconcile import execute_plan
from arco.services.commands.runs import LaunchRequest, cancel_run, launch_run, rerun
from arco.services.commands.schedules import set_schedule_status
from arco.services.commands.sensors import set_sensor_cursor, set_sensor_status
from arco.services.commands.settings import change_setting
from arco.services.queries.access import list_access, role_of
from arco.services.queries.assets import list_assets, partition_report
from arco.services.queries.backfills import backfill_runs, list_backfills, show_backfill
from arco.services.queries.reconciliation import PlanQuery, reconciliation_log, reconciliation_plan
from arco.services.queries.runs import list_runs, read_logs, run_status
from arco.services.queries.schedules import list_schedules, schedule_ticks
from arco.services.queries.sensors import list_sensors, sensor_ticks_page
from arco.services.queries.settings import list_settings
from arco.services.queries.staleness import StalenessQuery, staleness, staleness_summary
from arco.services.queries.state import state_summary
from arco.services.workspace import Workspace
from arco.services.workspaces import WorkspaceDirectory

VIEWER, OPERATOR, ADMIN = Role.VIEWER, Role.OPERATOR, Role.ADMIN


@dataclass(frozen=True)
class Deployment:
    """What the routes that are not about one workspace work on."""

    directory: WorkspaceDirectory
    admins: frozenset[str]
    routes: list[Route]
    # The generated document, built on the first request for it (not on the cold start).
    _document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def is_admin(self, identity: Identity) -> bool:
        return identity.local or identity.principal in self.admins


def _request_id(given: str | None, req: Req[Any, Any, Any] | None = None) -> str:
    """The body's request_id, else the Idempotency-Key header, else a new id."""
    return given or (req.idempotency_key() if req else None) or uuid.uuid4().hex


# -- deployment --


def health(dep: Deployment, who: Identity | None, req: Req[None, NoParams, None]) -> m.Health:
    """Liveness: the version serving."""
    return m.Health(status="ok", version=__version__)


def get_openapi(dep: Deployment, who: Identity | None, req: Req[None, NoParams, None]) -> Any:
    """This API's OpenAPI 3.1 document."""
    from arco.api.contract import openapi_document

    if not dep._document:
        dep._document.update(openapi_document(dep.routes, __version__))
    return dep._document


def list_workspaces(
    dep: Deployment, who: Identity, req: Req[None, NoParams, None]
) -> m.WorkspaceList:
    """The workspaces this deployment serves in which the caller holds a role (a deployment
    admin sees them all): a Google account with no role learns no workspace names."""
    names = dep.directory.names()
    if not dep.is_admin(who):
        names = [n for n in names if role_of(dep.directory.open(n).snapshot(), who.principal)]
    return m.WorkspaceList(workspaces=names)


def create_workspace(
    dep: Deployment, who: Identity, req: Req[None, NoParams, m.CreateWorkspaceBody]
) -> tuple[m.WorkspaceCreated, int]:
    """Create a workspace (201), or find it existing (200). Deployment admins only (checked by
    the route's access before this runs)."""
    created = dep.directory.create(req.body.name, who.principal, int(time.time() * 1000))
    return m.WorkspaceCreated(workspace=req.body.name, created=created), 201 if created else 200


# -- state, settings, access --


def get_state(ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, None]) -> m.State:
    """Manifest id, watermark and rows per table."""
    return m.State.model_validate(state_summary(ws))


def get_settings(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, None]
) -> m.SettingList:
    """Every workspace setting, its value and who changed it."""
    return m.SettingList.model_validate({"settings": list_settings(ws)})


def put_setting(
    ws: Workspace, who: Identity, req: Req[m.SettingPath, NoParams, m.SettingBody]
) -> tuple[m.SettingChanged, int]:
    """Change a workspace setting."""
    result = change_setting(
        ws, req.path.setting, req.body.value, _request_id(req.body.request_id), who.principal
    )
    return m.SettingChanged.model_validate(result), 202


def get_access(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, None]
) -> m.AccessList:
    """Who holds a role in the workspace (deployment admins, then grants and revokes)."""
    rows = list_access(ws, req.admins)
    return m.AccessList.model_validate({"access": rows})


def put_access(
    ws: Workspace, who: Identity, req: Req[m.PrincipalPath, NoParams, m.AccessBody]
) -> tuple[m.AccessChangedReply, int]:
    """Grant a principal a role in the workspace (replacing its previous role)."""
    result = change_access(
        ws, req.path.principal, req.body.role, _request_id(req.body.request_id), who.principal
    )
    _publish_access(ws)
    return m.AccessChangedReply.model_validate(result), 202


def delete_access(
    ws: Workspace, who: Identity, req: Req[m.PrincipalPath, NoParams, m.RequestIdBody]
) -> tuple[m.AccessChangedReply, int]:
    """Revoke every role a principal holds in the workspace."""
    result = change_access(
        ws, req.path.principal, None, _request_id(req.body.request_id), who.principal
    )
    _publish_access(ws)
    return m.AccessChangedReply.model_validate(result), 202


def _publish_access(ws: Workspace) -> None:
    """Roles are read from the published state: publish a grant or a revoke now rather than at
    the next timer call (a revoke must not wait for a stalled timer). A compaction that cannot
    run now is not an error: the change is durable and the next one publishes it."""
    try:
        ws.compactor.compact_until_idle(max_steps=4)
    except ArcoError as exc:
        if not exc.retryable:
            raise


# -- assets and partitions --


def get_assets(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, None]
) -> m.AssetList:
    """The deployed assets, in dependency order."""
    return m.AssetList.model_validate({"assets": list_assets(ws)})


def get_partitions(
    ws: Workspace, who: Identity, req: Req[m.AssetPath, m.PartitionsQuery, None]
) -> m.PartitionPage:
    """An asset's partitions: materialized, failed, in progress or missing."""
    report = partition_report(ws, req.path.asset, req.query.now or clock_now(ws.clock))
    keys = [r["partition"] for r in report if r["partition"] is not None]
    position = decode_cursor(req.query.cursor, ("offset",))
    offset = position["offset"] if position else 0
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
    limit = req.query.limit
    page = report[offset : offset + limit]
    more = offset + limit < len(report)
    return m.PartitionPage.model_validate(
        {
            "asset": req.path.asset,
            "count": len(keys),
            "keys": [r["partition"] for r in page if r["partition"] is not None],
            "partitions": page,
            "next_cursor": encode_cursor({"offset": offset + limit}) if more else None,
        }
    )


def post_observation(
    ws: Workspace, who: Identity, req: Req[m.AssetPath, NoParams, m.ObservationBody]
) -> tuple[m.AssetObserved, int]:
    """Record an observed data version of an asset (Dagster: report_runless_asset_event)."""
    body = req.body
    result = observe_asset(
        ws,
        req.path.asset,
        body.data_version,
        body.partition,
        _request_id(body.request_id, req),
        who.principal,
        clock_now(ws.clock),
        body.metadata,
    )
    return m.AssetObserved.model_validate(result), 202


def post_dynamic_partitions(
    ws: Workspace, who: Identity, req: Req[m.DefinitionPath, NoParams, m.DynamicPartitionsBody]
) -> tuple[m.DynamicPartitionsChanged, int]:
    """Add or remove keys of a dynamic partitions definition."""
    action = "add" if req.body.add is not None else "remove"
    keys = req.body.add if req.body.add is not None else req.body.remove
    assert keys is not None  # the model guarantees exactly one
    result = change_dynamic_partitions(
        ws, req.path.definition, keys, action, _request_id(req.body.request_id), who.principal
    )
    return m.DynamicPartitionsChanged.model_validate(result), 202


# -- schedules --


def get_schedules(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.NowPageQuery, None]
) -> m.SchedulePage:
    """Schedules: status, last and next tick."""
    rows = list_schedules(ws, req.query.now or clock_now(ws.clock))
    page, next_cursor = page_by_name(rows, req.query.cursor, req.query.limit)
    return m.SchedulePage.model_validate({"schedules": page, "next_cursor": next_cursor})


def get_schedule_ticks(
    ws: Workspace, who: Identity, req: Req[m.SchedulePath, m.ScheduleTicksQuery, None]
) -> m.ScheduleTickPage:
    """A schedule's tick history, newest first."""
    limit = req.query.limit
    position = decode_cursor(req.query.cursor, ("before_ms",))
    before = position["before_ms"] if position else None
    if before is not None and (isinstance(before, bool) or not isinstance(before, int)):
        raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
    page = schedule_ticks(ws, req.path.schedule, req.query.status, limit, before)
    # Whether a next page exists: one more tick before this page's last (the service caps a
    # page at the API's own maximum, so `limit + 1` cannot be asked for at the maximum).
    more = len(page) == limit and bool(
        schedule_ticks(ws, req.path.schedule, req.query.status, 1, page[-1]["tick_ms"])
    )
    return m.ScheduleTickPage.model_validate(
        {
            "ticks": page,
            "next_cursor": encode_cursor({"before_ms": page[-1]["tick_ms"]}) if more else None,
        }
    )


def _schedule_status(
    ws: Workspace, who: Identity, req: Req[m.SchedulePath, NoParams, m.RequestIdBody], status: str
) -> tuple[m.ScheduleStatusChanged, int]:
    result = set_schedule_status(
        ws, req.path.schedule, status, _request_id(req.body.request_id, req), who.principal
    )
    return m.ScheduleStatusChanged.model_validate(result), 202


def start_schedule(
    ws: Workspace, who: Identity, req: Req[m.SchedulePath, NoParams, m.RequestIdBody]
) -> tuple[m.ScheduleStatusChanged, int]:
    """Start a schedule (overrides its default status)."""
    return _schedule_status(ws, who, req, "RUNNING")


def stop_schedule(
    ws: Workspace, who: Identity, req: Req[m.SchedulePath, NoParams, m.RequestIdBody]
) -> tuple[m.ScheduleStatusChanged, int]:
    """Stop a schedule."""
    return _schedule_status(ws, who, req, "STOPPED")


# -- sensors --


def get_sensors(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.NowPageQuery, None]
) -> m.SensorPage:
    """Sensors: status, cursor, last and next evaluation."""
    rows = list_sensors(ws, req.query.now or clock_now(ws.clock))
    page, next_cursor = page_by_name(rows, req.query.cursor, req.query.limit)
    return m.SensorPage.model_validate({"sensors": page, "next_cursor": next_cursor})


def get_sensor_ticks(
    ws: Workspace, who: Identity, req: Req[m.SensorPath, m.SensorTicksQuery, None]
) -> m.SensorTickPage:
    """A sensor's evaluations, newest first."""
    position = decode_cursor(req.query.cursor, ("before",))
    before = position["before"] if position else None
    if before is not None and not isinstance(before, str):
        raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
    page, last = sensor_ticks_page(ws, req.path.sensor, req.query.status, req.query.limit, before)
    return m.SensorTickPage.model_validate(
        {"ticks": page, "next_cursor": encode_cursor({"before": last}) if last else None}
    )


# -- declarative automation --


def get_automation(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, None]
) -> m.AutomationStatus:
    """Declarative automation: started or stopped, its gates and last evaluation."""
    from arco.services.queries.automation import automation_status
    from arco.services.queries.definitions import current_definitions

    snapshot = ws.snapshot()
    return m.AutomationStatus.model_validate(
        automation_status(snapshot, current_definitions(snapshot))
    )


def get_automation_ticks(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.AutomationTicksQuery, None]
) -> m.AutomationTickPage:
    """Recorded automation evaluations, newest first."""
    from arco.services.queries.automation import automation_ticks

    position = decode_cursor(req.query.cursor, ("before",))
    before = position["before"] if position else None
    if before is not None and not isinstance(before, str):
        raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
    page = automation_ticks(ws.snapshot(), req.query.status, req.query.limit + 1, before)
    more = len(page) > req.query.limit
    page = page[: req.query.limit]
    return m.AutomationTickPage.model_validate(
        {
            "ticks": page,
            "next_cursor": encode_cursor({"before": page[-1]["tick_id"]}) if more else None,
        }
    )


def get_automation_why(
    ws: Workspace, who: Identity, req: Req[m.AssetPath, m.AutomationWhyQuery, None]
) -> m.AutomationWhy:
    """Why an asset is or is not requested: its condition evaluated now, node by node."""
    from arco.services.queries.automation import why
    from arco.services.queries.definitions import current_definitions

    snapshot = ws.snapshot()
    defs = current_definitions(snapshot)
    if defs is None:
        raise NotFound("nothing is deployed in this workspace")
    now = req.query.now or clock_now(ws.clock)
    result = why(snapshot, defs, req.path.asset, int(now.timestamp() * 1000), req.query.partition)
    return m.AutomationWhy.model_validate(result)


def _automation_status(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.RequestIdBody], status: str
) -> tuple[m.AutomationStatusChanged, int]:
    from arco.services.commands.automation import set_automation_status

    result = set_automation_status(ws, status, _request_id(req.body.request_id, req), who.principal)
    return m.AutomationStatusChanged.model_validate(result), 202


def start_automation(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.RequestIdBody]
) -> tuple[m.AutomationStatusChanged, int]:
    """Start declarative automation (stopped by default, as Dagster's automation sensor)."""
    return _automation_status(ws, who, req, "RUNNING")


def stop_automation(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.RequestIdBody]
) -> tuple[m.AutomationStatusChanged, int]:
    """Stop declarative automation."""
    return _automation_status(ws, who, req, "STOPPED")


def _sensor_status(
    ws: Workspace, who: Identity, req: Req[m.SensorPath, NoParams, m.RequestIdBody], status: str
) -> tuple[m.SensorStatusChanged, int]:
    result = set_sensor_status(
        ws, req.path.sensor, status, _request_id(req.body.request_id, req), who.principal
    )
    return m.SensorStatusChanged.model_validate(result), 202


def start_sensor(
    ws: Workspace, who: Identity, req: Req[m.SensorPath, NoParams, m.RequestIdBody]
) -> tuple[m.SensorStatusChanged, int]:
    """Start a sensor."""
    return _sensor_status(ws, who, req, "RUNNING")


def stop_sensor(
    ws: Workspace, who: Identity, req: Req[m.SensorPath, NoParams, m.RequestIdBody]
) -> tuple[m.SensorStatusChanged, int]:
    """Stop a sensor."""
    return _sensor_status(ws, who, req, "STOPPED")


def post_sensor_cursor(
    ws: Workspace, who: Identity, req: Req[m.SensorPath, NoParams, m.SensorCursorBody]
) -> tuple[m.SensorCursorChanged, int]:
    """Set (`cursor`) or reset (`reset: true`) a sensor's cursor."""
    result = set_sensor_cursor(
        ws, req.path.sensor, req.body.cursor, _request_id(req.body.request_id, req), who.principal
    )
    return m.SensorCursorChanged.model_validate(result), 202


# -- runs --


def post_run(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.LaunchRunBody]
) -> tuple[m.RunLaunched, int]:
    """Launch a run (201), or find the run of the same `run_key` (200)."""
    body = req.body
    prange = body.partition_range
    result = launch_run(
        ws,
        LaunchRequest(
            selection=body.selection,
            partition=body.partition,
            partition_range=(prange.first, prange.last) if prange else None,
            run_key=body.run_key,
            tags=body.tags,
            run_config=body.run_config,
        ),
        who.principal,
    )
    return m.RunLaunched.model_validate(result.as_dict()), 201 if result.created else 200


def get_runs(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.RunsQuery, None]
) -> m.RunPage:
    """Runs, newest first."""
    position = decode_cursor(req.query.cursor, ("after",))
    after = position["after"] if position else None
    if after is not None and not isinstance(after, str):
        raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
    page = list_runs(ws, req.query.status, req.query.limit, after)
    following = page.pop("next")
    page["next_cursor"] = encode_cursor({"after": following}) if following else None
    return m.RunPage.model_validate(page)


def get_checks(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.ChecksQuery, None]
) -> m.CheckList:
    """Asset checks, each with the result for every partition's latest materialization."""
    from arco.services.queries.checks import list_checks

    return m.CheckList.model_validate({"checks": list_checks(ws, req.query.asset)})


def get_run(ws: Workspace, who: Identity, req: Req[m.RunPath, NoParams, None]) -> m.RunDetail:
    """A run: its tasks, their attempts, and its lineage."""
    return m.RunDetail.model_validate(run_status(ws, req.path.run_id))


def get_logs(ws: Workspace, who: Identity, req: Req[m.RunPath, m.LogsQuery, None]) -> m.LogList:
    """What a run's asset functions logged, oldest first."""
    return m.LogList(logs=read_logs(ws, req.path.run_id, req.query.task))


def post_cancel(
    ws: Workspace, who: Identity, req: Req[m.RunPath, NoParams, m.EmptyBody]
) -> tuple[m.RunCanceled, int]:
    """Cancel a run: no new task starts; running tasks finish."""
    return m.RunCanceled.model_validate(cancel_run(ws, req.path.run_id, who.principal)), 202


def post_rerun(
    ws: Workspace, who: Identity, req: Req[m.RunPath, NoParams, m.RerunBody]
) -> tuple[m.RunLaunched, int]:
    """Re-execute a run (all of it, or from its failure)."""
    body = req.body
    result = rerun(
        ws,
        req.path.run_id,
        from_failure_=body.from_failure,
        selection=body.selection,
        run_key=body.run_key,
        tags=body.tags,
        requested_by=who.principal,
    )
    return m.RunLaunched.model_validate(result.as_dict()), 201 if result.created else 200


# -- backfills --


def post_backfill(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.BackfillBody]
) -> tuple[m.BackfillCreated, int]:
    """Create a backfill (201), or find the one of the same Idempotency-Key (200)."""
    body = req.body
    backfill, created = create_backfill(
        ws,
        BackfillRequest(
            selection=body.selection,
            partitions=m.partition_selection(body.partitions) if body.partitions else None,
            chunk_size=body.chunk_size,
            max_concurrent_runs=body.max_concurrent_runs,
            idempotency_key=req.idempotency_key(),
            tags=body.tags,
        ),
        who.principal,
    )
    reply = m.BackfillCreated.model_validate({**backfill, "created": created})
    return reply, 201 if created else 200


def get_backfills(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.BackfillsQuery, None]
) -> m.BackfillPage:
    """Backfills, newest first."""
    rows = list_backfills(ws, req.query.status)
    position = decode_cursor(req.query.cursor, ("created_ms", "backfill_id"))
    if position is not None:
        created_ms, backfill_id = position["created_ms"], position["backfill_id"]
        if isinstance(created_ms, bool) or not isinstance(created_ms, int):
            raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
        if not isinstance(backfill_id, str):
            raise InvalidInput(f"invalid cursor {req.query.cursor!r}")
        # Newest first, ties by id: what sorts after the last item of the previous page.
        rows = [
            r
            for r in rows
            if (-int(r["created_ms"]), r["backfill_id"]) > (-created_ms, backfill_id)
        ]
    limit = req.query.limit
    page = rows[:limit]
    last = page[-1] if page and len(rows) > limit else None
    next_cursor = (
        encode_cursor({"created_ms": last["created_ms"], "backfill_id": last["backfill_id"]})
        if last
        else None
    )
    return m.BackfillPage.model_validate({"backfills": page, "next_cursor": next_cursor})


def get_backfill(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, None]
) -> m.BackfillDetail:
    """A backfill with per-asset progress."""
    return m.BackfillDetail.model_validate(show_backfill(ws, req.path.backfill_id))


def get_backfill_runs(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, None]
) -> m.BackfillRuns:
    """The runs a backfill launched."""
    return m.BackfillRuns.model_validate({"runs": backfill_runs(ws, req.path.backfill_id)})


def _change(
    ws: Workspace,
    who: Identity,
    req: Req[m.BackfillPath, NoParams, Any],
    action: str,
    cancel_runs: bool = False,
) -> tuple[m.BackfillChanged, int]:
    result = change_backfill(
        ws,
        req.path.backfill_id,
        action,
        _request_id(req.body.request_id, req),
        who.principal,
        cancel_runs=cancel_runs,
    )
    return m.BackfillChanged.model_validate(result), 202


def pause_backfill(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, m.RequestIdBody]
) -> tuple[m.BackfillChanged, int]:
    """Pause a backfill: no new chunk is launched."""
    return _change(ws, who, req, "pause")


def resume_backfill(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, m.RequestIdBody]
) -> tuple[m.BackfillChanged, int]:
    """Resume a paused backfill."""
    return _change(ws, who, req, "resume")


def cancel_backfill(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, m.BackfillCancelBody]
) -> tuple[m.BackfillChanged, int]:
    """Cancel a backfill (and, with `cancel_runs`, its runs in flight)."""
    return _change(ws, who, req, "cancel", cancel_runs=req.body.cancel_runs)


def post_retry_failed(
    ws: Workspace, who: Identity, req: Req[m.BackfillPath, NoParams, m.EmptyBody]
) -> tuple[m.BackfillCreated, int]:
    """A new backfill over the partitions that failed (201), or the existing one (200)."""
    backfill, created = retry_failed(ws, req.path.backfill_id, who.principal)
    reply = m.BackfillCreated.model_validate({**backfill, "created": created})
    return reply, 201 if created else 200


# -- staleness --


def _staleness_query(
    filters: m.StalenessFilters, limit: int = 100, cursor: str | None = None, roots: bool = False
) -> StalenessQuery:
    # Two query parameters that go together: OpenAPI cannot say so, the service check does.
    if (filters.from_ is None) != (filters.to is None):
        raise InvalidInput("give both 'from' and 'to' for a partition range")
    return StalenessQuery(
        selection=filters.selection,
        statuses=tuple(filters.status),
        reasons=tuple(filters.reason),
        partition_range=(
            (filters.from_, filters.to) if filters.from_ is not None and filters.to else None
        ),
        as_of=filters.as_of,
        limit=limit,
        cursor=cursor,
        root_causes=roots,
    )


def get_staleness(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.StalenessQuery, None]
) -> m.StalenessReport:
    """What is stale, missing or fresh, per partition, and why (paginated)."""
    q = req.query
    return m.StalenessReport.model_validate(
        staleness(ws, _staleness_query(q, q.limit, q.cursor, q.root_causes))
    )


def get_staleness_summary(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.StalenessFilters, None]
) -> m.StalenessSummary:
    """Per asset: partitions FRESH, STALE and MISSING, since when, and why."""
    return m.StalenessSummary.model_validate(staleness_summary(ws, _staleness_query(req.query)))


# -- reconciliation --


def get_reconciliation_plan(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.PlanQueryParams, None]
) -> m.ReconciliationPlan:
    """The runs that would bring the selection back to FRESH, in dependency order."""
    q = req.query
    query = PlanQuery(
        selection=q.selection,
        include_missing=q.include_missing,
        max_runs=q.max_runs,
        max_partitions=q.max_partitions,
        max_partitions_per_run=q.max_partitions_per_run,
        as_of=q.as_of,
    )
    return m.ReconciliationPlan.model_validate(reconciliation_plan(ws, query).as_dict())


def post_reconciliation_execute(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, NoParams, m.ReconcileExecuteBody]
) -> m.ReconciliationExecution:
    """Execute the plan (gated by the `reconciliation.enabled` setting), or a dry run."""
    b = req.body
    query = PlanQuery(
        selection=b.selection,
        include_missing=b.include_missing,
        max_runs=b.max_runs,
        max_partitions=b.max_partitions,
        max_partitions_per_run=b.max_partitions_per_run,
    )
    query.validate()  # before the service folds anything
    result = execute_plan(ws, query, dry_run=b.dry_run, requested_by=who.principal)
    return m.ReconciliationExecution.model_validate(result)


def get_reconciliation_log(
    ws: Workspace, who: Identity, req: Req[m.WorkspacePath, m.LogLimitQuery, None]
) -> m.ReconciliationLog:
    """The latest reconciliation executions and dry runs, newest first."""
    return m.ReconciliationLog.model_validate({"log": reconciliation_log(ws, req.query.limit)})


# -- the table --

WS = "/v1/workspaces/{name}"
# A backfill may list up to a million keys (~20 MB of JSON); 32 MB is Cloud Functions' own
# bound on a request. Every other body keeps the app's 1 MB.
BACKFILL_BODY_BYTES = 32 << 20


def route_table() -> list[Route]:
    """Every operation of the API: method, path, who may call it, the handler (whose signature
    declares the request and response models), and the statuses it answers."""
    r = route
    # fmt: off
    return [
        r("GET", "/healthz", Access.PUBLIC, health, tag="meta"),
        r("GET", "/openapi.json", Access.PUBLIC, get_openapi, tag="meta"),
        r("GET", "/v1/workspaces", Access.SIGNED_IN, list_workspaces, tag="workspaces"),
        r(
            "POST", "/v1/workspaces", Access.DEPLOYMENT_ADMIN, create_workspace,
            status=201, also=(200,), tag="workspaces",
        ),
        r("GET", f"{WS}/state", VIEWER, get_state, tag="workspaces"),
        r("GET", f"{WS}/settings", VIEWER, get_settings, tag="settings"),
        r("PUT", f"{WS}/settings/{{setting}}", ADMIN, put_setting, status=202, tag="settings"),
        r("GET", f"{WS}/access", ADMIN, get_access, tag="access"),
        r("PUT", f"{WS}/access/{{principal}}", ADMIN, put_access, status=202, tag="access"),
        r("DELETE", f"{WS}/access/{{principal}}", ADMIN, delete_access, status=202, tag="access"),
        r("GET", f"{WS}/assets", VIEWER, get_assets, tag="assets"),
        r("GET", f"{WS}/assets/{{asset}}/partitions", VIEWER, get_partitions, tag="assets"),
        r(
            "POST", f"{WS}/assets/{{asset}}/observations", OPERATOR, post_observation,
            status=202, idempotency_header=True, tag="assets",
        ),
        r(
            "POST", f"{WS}/dynamic-partitions/{{definition}}", OPERATOR,
            post_dynamic_partitions, status=202, tag="assets",
        ),
        r("GET", f"{WS}/schedules", VIEWER, get_schedules, tag="schedules"),
        r("GET", f"{WS}/schedules/{{schedule}}/ticks", VIEWER, get_schedule_ticks, tag="schedules"),
        r(
            "POST", f"{WS}/schedules/{{schedule}}/start", OPERATOR, start_schedule,
            status=202, idempotency_header=True, tag="schedules",
        ),
        r(
            "POST", f"{WS}/schedules/{{schedule}}/stop", OPERATOR, stop_schedule,
            status=202, idempotency_header=True, tag="schedules",
        ),
        r("GET", f"{WS}/automation", VIEWER, get_automation, tag="automation"),
        r("GET", f"{WS}/automation/ticks", VIEWER, get_automation_ticks, tag="automation"),
        r(
            "GET", f"{WS}/assets/{{asset}}/automation", VIEWER, get_automation_why,
            tag="automation",
        ),
        r(
            "POST", f"{WS}/automation/start", OPERATOR, start_automation,
            status=202, idempotency_header=True, tag="automation",
        ),
        r(
            "POST", f"{WS}/automation/stop", OPERATOR, stop_automation,
            status=202, idempotency_header=True, tag="automation",
        ),
        r("GET", f"{WS}/sensors", VIEWER, get_sensors, tag="sensors"),
        r("GET", f"{WS}/sensors/{{sensor}}/ticks", VIEWER, get_sensor_ticks, tag="sensors"),
        r(
            "POST", f"{WS}/sensors/{{sensor}}/start", OPERATOR, start_sensor,
            status=202, idempotency_header=True, tag="sensors",
        ),
        r(
            "POST", f"{WS}/sensors/{{sensor}}/stop", OPERATOR, stop_sensor,
            status=202, idempotency_header=True, tag="sensors",
        ),
        r(
            "POST", f"{WS}/sensors/{{sensor}}/cursor", OPERATOR, post_sensor_cursor,
            status=202, idempotency_header=True, tag="sensors",
        ),
        r(
            "POST", f"{WS}/runs", OPERATOR, post_run,
            status=201, also=(200,), errors=(409,), tag="runs",
        ),
        r("GET", f"{WS}/runs", VIEWER, get_runs, tag="runs"),
        r("GET", f"{WS}/checks", VIEWER, get_checks, tag="checks"),
        r("GET", f"{WS}/runs/{{run_id}}", VIEWER, get_run, tag="runs"),
        r("GET", f"{WS}/runs/{{run_id}}/logs", VIEWER, get_logs, tag="runs"),
        r(
            "POST", f"{WS}/runs/{{run_id}}/cancel", OPERATOR, post_cancel,
            status=202, errors=(409,), tag="runs",
        ),
        r(
            "POST", f"{WS}/runs/{{run_id}}/rerun", OPERATOR, post_rerun,
            status=201, also=(200,), errors=(409,), tag="runs",
        ),
        r(
            "POST", f"{WS}/backfills", OPERATOR, post_backfill,
            status=201, also=(200,), errors=(409,), idempotency_header=True, tag="backfills",
            max_body_bytes=BACKFILL_BODY_BYTES,
        ),
        r("GET", f"{WS}/backfills", VIEWER, get_backfills, tag="backfills"),
        r("GET", f"{WS}/backfills/{{backfill_id}}", VIEWER, get_backfill, tag="backfills"),
        r(
            "GET", f"{WS}/backfills/{{backfill_id}}/runs", VIEWER, get_backfill_runs,
            tag="backfills",
        ),
        r(
            "POST", f"{WS}/backfills/{{backfill_id}}/pause", OPERATOR, pause_backfill,
            status=202, errors=(409,), idempotency_header=True, tag="backfills",
        ),
        r(
            "POST", f"{WS}/backfills/{{backfill_id}}/resume", OPERATOR, resume_backfill,
            status=202, errors=(409,), idempotency_header=True, tag="backfills",
        ),
        r(
            "POST", f"{WS}/backfills/{{backfill_id}}/cancel", OPERATOR, cancel_backfill,
            status=202, errors=(409,), idempotency_header=True, tag="backfills",
        ),
        r(
            "POST", f"{WS}/backfills/{{backfill_id}}/retry-failed", OPERATOR, post_retry_failed,
            status=201, also=(200,), errors=(409,), tag="backfills",
        ),
        r("GET", f"{WS}/staleness", VIEWER, get_staleness, tag="staleness"),
        r("GET", f"{WS}/staleness/summary", VIEWER, get_staleness_summary, tag="staleness"),
        r(
            "GET", f"{WS}/reconciliation/plan", VIEWER, get_reconciliation_plan,
            tag="reconciliation",
        ),
        r(
            "POST", f"{WS}/reconciliation/execute", OPERATOR, post_reconciliation_execute,
            errors=(409,), tag="reconciliation",
        ),
        r(
            "GET", f"{WS}/reconciliation/log", VIEWER, get_reconciliation_log,
            tag="reconciliation",
        ),
    ]
    # fmt: on
