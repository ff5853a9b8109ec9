"""The HTTP API: thin handlers over services, JSON errors that name the problem.

Status codes: 4xx for a request that can never succeed as sent (nothing is written),
5xx only for transient trouble (the caller may retry).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from arco import __version__
from arco.api.openapi import openapi_document
from arco.api.pagination import decode_cursor, encode_cursor, page_by_name, parse_limit
from arco.clock import clock_now
from arco.domain.backfills import BackfillStatus, PartitionSelection
from arco.domain.errors import ArcoError, ConflictError, InvalidInput, NotFound, Refused
from arco.domain.instants import parse_instant
from arco.domain.names import validate_workspace
from arco.services.settings import change_setting, list_settings
from arco.services.state_summary import state_summary
from arco.services.workspace import Workspace

WorkspaceFactory = Callable[[str], Workspace]


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), status


def create_app(workspaces: WorkspaceFactory) -> Flask:
    """Build the API over `workspaces(name) -> Workspace` (cached by the caller)."""
    app = Flask("arco")

    def ws(name: str) -> Workspace:
        return workspaces(validate_workspace(name))

    @app.errorhandler(ArcoError)
    def on_arco_error(exc: ArcoError) -> tuple[Response, int]:
        if isinstance(exc, InvalidInput):
            return _error(400, "invalid_input", str(exc))
        if isinstance(exc, NotFound):
            return _error(404, "not_found", str(exc))
        if isinstance(exc, Refused):
            body = {"error": {"code": "conflict", "message": str(exc), **exc.details}}
            return jsonify(body), 409
        if isinstance(exc, ConflictError):
            return _error(409, "conflict", str(exc))
        if exc.retryable:
            return _error(503, "unavailable", str(exc))
        return _error(500, type(exc).__name__, str(exc))

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        return _error(code, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")

    @app.get("/healthz")
    def health() -> Any:
        return {"status": "ok", "version": __version__}

    @app.get("/openapi.json")
    def openapi() -> Any:
        return openapi_document()

    @app.get("/v1/workspaces/<name>/state")
    def get_state(name: str) -> Any:
        return state_summary(ws(name))

    @app.get("/v1/workspaces/<name>/settings")
    def get_settings(name: str) -> Any:
        return {"settings": list_settings(ws(name))}

    @app.put("/v1/workspaces/<name>/settings/<setting>")
    def put_setting(name: str, setting: str) -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "value" not in body:
            raise InvalidInput('body must be a JSON object like {"value": ..., "request_id": ...}')
        unknown = set(body) - {"value", "request_id"}
        if unknown:
            raise InvalidInput(f"unknown fields in body: {sorted(unknown)}")
        request_id = body.get("request_id") or uuid.uuid4().hex
        if not isinstance(request_id, str):
            raise InvalidInput("request_id must be a string")
        result = change_setting(ws(name), setting, body["value"], request_id, "api")
        return result, 202

    register_automation_routes(app, ws)
    register_sensor_routes(app, ws)
    register_run_routes(app, ws)
    register_backfill_routes(app, ws)
    register_staleness_routes(app, ws)
    register_reconciliation_routes(app, ws)
    return app


def _now_arg(workspace: Workspace) -> datetime:
    """`?now=` (ISO 8601 with offset), or the workspace clock."""
    text = request.args.get("now")
    if text is None:
        return clock_now(workspace.clock)
    return parse_instant(text, "now")


def _json_body(allowed: set[str]) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInput(f"unknown fields in body: {sorted(unknown)}")
    return body


def register_automation_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """Assets, partitions and schedules."""
    from arco.services.assets import change_dynamic_partitions, list_assets, partition_report
    from arco.services.schedules import list_schedules, schedule_ticks, set_schedule_status

    @app.get("/v1/workspaces/<name>/assets")
    def get_assets(name: str) -> Any:
        return {"assets": list_assets(ws(name))}

    @app.get("/v1/workspaces/<name>/assets/<path:asset>/partitions")
    def get_partitions(name: str, asset: str) -> Any:
        workspace = ws(name)
        report = partition_report(workspace, asset, _now_arg(workspace))
        keys = [r["partition"] for r in report if r["partition"] is not None]
        limit = parse_limit(request.args.get("limit"), default=1000)
        position = decode_cursor(request.args.get("cursor"), ("offset",))
        offset = int(position["offset"]) if position else 0
        page = report[offset : offset + limit]
        more = offset + limit < len(report)
        return {
            "asset": asset,
            "count": len(keys),
            "keys": [r["partition"] for r in page if r["partition"] is not None],
            "partitions": page,
            "next_cursor": encode_cursor({"offset": offset + limit}) if more else None,
        }

    @app.post("/v1/workspaces/<name>/dynamic-partitions/<definition>")
    def post_dynamic_partitions(name: str, definition: str) -> Any:
        body = _json_body({"add", "remove", "request_id"})
        actions = [a for a in ("add", "remove") if a in body]
        if len(actions) != 1 or not isinstance(body[actions[0]], list):
            raise InvalidInput('body must hold exactly one of "add" or "remove": a list of keys')
        request_id = body.get("request_id") or uuid.uuid4().hex
        if not isinstance(request_id, str):
            raise InvalidInput("request_id must be a string")
        return change_dynamic_partitions(
            ws(name), definition, body[actions[0]], actions[0], request_id, "api"
        ), 202

    @app.get("/v1/workspaces/<name>/schedules")
    def get_schedules(name: str) -> Any:
        workspace = ws(name)
        rows = list_schedules(workspace, _now_arg(workspace))
        limit = parse_limit(request.args.get("limit"))
        page, next_cursor = page_by_name(rows, request.args.get("cursor"), limit)
        return {"schedules": page, "next_cursor": next_cursor}

    @app.get("/v1/workspaces/<name>/schedules/<schedule>/ticks")
    def get_ticks(name: str, schedule: str) -> Any:
        limit = parse_limit(request.args.get("limit"))
        position = decode_cursor(request.args.get("cursor"), ("before_ms",))
        before = int(position["before_ms"]) if position else None
        rows = schedule_ticks(ws(name), schedule, request.args.get("status"), limit + 1, before)
        page = rows[:limit]
        more = len(rows) > limit
        return {
            "ticks": page,
            "next_cursor": encode_cursor({"before_ms": page[-1]["tick_ms"]}) if more else None,
        }

    for verb, status in (("start", "RUNNING"), ("stop", "STOPPED")):

        def toggle(name: str, schedule: str, status: str = status) -> Any:
            body = _json_body({"request_id"})
            request_id = body.get("request_id") or uuid.uuid4().hex
            if not isinstance(request_id, str):
                raise InvalidInput("request_id must be a string")
            return set_schedule_status(ws(name), schedule, status, request_id, "api"), 202

        app.add_url_rule(
            f"/v1/workspaces/<name>/schedules/<schedule>/{verb}",
            endpoint=f"schedule_{verb}",
            view_func=toggle,
            methods=["POST"],
        )


def _request_id(body: dict[str, Any]) -> str:
    """The body's `request_id`, else the Idempotency-Key header, else a new id."""
    request_id = body.get("request_id") or request.headers.get("Idempotency-Key")
    if request_id is None or request_id == "":
        return uuid.uuid4().hex
    if not isinstance(request_id, str):
        raise InvalidInput("request_id must be a string")
    return request_id


def register_sensor_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """Sensors: list, tick history, start, stop, set or reset the cursor."""
    from arco.services.sensors import (
        list_sensors,
        sensor_ticks_page,
        set_sensor_cursor,
        set_sensor_status,
    )

    @app.get("/v1/workspaces/<name>/sensors")
    def get_sensors(name: str) -> Any:
        workspace = ws(name)
        rows = list_sensors(workspace, _now_arg(workspace))
        limit = parse_limit(request.args.get("limit"))
        page, next_cursor = page_by_name(rows, request.args.get("cursor"), limit)
        return {"sensors": page, "next_cursor": next_cursor}

    @app.get("/v1/workspaces/<name>/sensors/<sensor>/ticks")
    def get_sensor_ticks(name: str, sensor: str) -> Any:
        limit = parse_limit(request.args.get("limit"))
        position = decode_cursor(request.args.get("cursor"), ("before",))
        before = position["before"] if position else None
        if before is not None and not isinstance(before, str):
            raise InvalidInput(f"invalid cursor {request.args.get('cursor')!r}")
        page, last = sensor_ticks_page(
            ws(name), sensor, request.args.get("status") or None, limit, before
        )
        return {
            "ticks": page,
            "next_cursor": encode_cursor({"before": last}) if last else None,
        }

    for verb, status in (("start", "RUNNING"), ("stop", "STOPPED")):

        def toggle(name: str, sensor: str, status: str = status) -> Any:
            request_id = _request_id(_json_body({"request_id"}))
            return set_sensor_status(ws(name), sensor, status, request_id, "api"), 202

        app.add_url_rule(
            f"/v1/workspaces/<name>/sensors/<sensor>/{verb}",
            endpoint=f"sensor_{verb}",
            view_func=toggle,
            methods=["POST"],
        )

    @app.post("/v1/workspaces/<name>/sensors/<sensor>/cursor")
    def post_sensor_cursor(name: str, sensor: str) -> Any:
        body = _json_body({"cursor", "reset", "request_id"})
        given = [k for k in ("cursor", "reset") if k in body]
        if len(given) != 1:
            raise InvalidInput(
                'body must hold exactly one of "cursor" (a string) or "reset": true, '
                f"got {', '.join(repr(k) for k in given) or 'neither'}"
            )
        if given == ["reset"] and body["reset"] is not True:
            raise InvalidInput('"reset" must be true (to set a value, send "cursor")')
        if given == ["cursor"] and not isinstance(body["cursor"], str):
            raise InvalidInput('"cursor" must be a string (to clear it, send "reset": true)')
        value = body.get("cursor")
        request_id = _request_id(body)
        return set_sensor_cursor(ws(name), sensor, value, request_id, "api"), 202


def _string_field(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"body needs {name!r}")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name!r} must be a string")
    return value


def _tags_field(body: dict[str, Any]) -> dict[str, str]:
    tags = body.get("tags") or {}
    if not isinstance(tags, dict):
        raise InvalidInput("'tags' must be an object of strings")
    return tags


def _range_field(body: dict[str, Any]) -> tuple[str, str] | None:
    value = body.get("partition_range")
    if value is None:
        return None
    if isinstance(value, dict) and set(value) == {"start", "end"}:
        value = [value["start"], value["end"]]
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise InvalidInput('\'partition_range\' must be {"start": key, "end": key}')
    return (value[0], value[1])


def register_run_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """Launch, list, inspect, cancel and re-execute runs."""
    from arco.services.run_views import list_runs, read_logs, run_status
    from arco.services.runs import LaunchRequest, cancel_run, launch_run, rerun

    @app.post("/v1/workspaces/<name>/runs")
    def post_run(name: str) -> Any:
        body = _json_body({"selection", "partition", "partition_range", "run_key", "tags"})
        request_ = LaunchRequest(
            selection=_string_field(body, "selection", required=True) or "",
            partition=_string_field(body, "partition"),
            partition_range=_range_field(body),
            run_key=_string_field(body, "run_key"),
            tags=_tags_field(body),
        )
        result = launch_run(ws(name), request_, "api")
        return result.as_dict(), 201 if result.created else 200

    @app.get("/v1/workspaces/<name>/runs")
    def get_runs(name: str) -> Any:
        limit = parse_limit(request.args.get("limit"))
        position = decode_cursor(request.args.get("cursor"), ("after",))
        page = list_runs(
            ws(name), request.args.get("status"), limit, position["after"] if position else None
        )
        after = page.pop("next")
        page["next_cursor"] = encode_cursor({"after": after}) if after else None
        return page

    @app.get("/v1/workspaces/<name>/runs/<run_id>")
    def get_run(name: str, run_id: str) -> Any:
        return run_status(ws(name), run_id)

    @app.get("/v1/workspaces/<name>/runs/<run_id>/logs")
    def get_logs(name: str, run_id: str) -> Any:
        task = request.args.get("task")
        if task is not None and not task.isdigit():
            raise InvalidInput("'task' must be a task number")
        return {"logs": read_logs(ws(name), run_id, int(task) if task is not None else None)}

    @app.post("/v1/workspaces/<name>/runs/<run_id>/cancel")
    def post_cancel(name: str, run_id: str) -> Any:
        _json_body(set())
        return cancel_run(ws(name), run_id, "api"), 202

    @app.post("/v1/workspaces/<name>/runs/<run_id>/rerun")
    def post_rerun(name: str, run_id: str) -> Any:
        body = _json_body({"from_failure", "selection", "run_key", "tags"})
        from_failure = body.get("from_failure", False)
        if not isinstance(from_failure, bool):
            raise InvalidInput("'from_failure' must be true or false")
        result = rerun(
            ws(name),
            run_id,
            from_failure_=from_failure,
            selection=_string_field(body, "selection"),
            run_key=_string_field(body, "run_key"),
            tags=_tags_field(body),
            requested_by="api",
        )
        return result.as_dict(), 201 if result.created else 200


def _int_field(body: dict[str, Any], name: str, default: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name!r} must be an integer")
    return value


def _pydantic_message(exc: ValidationError) -> str:
    """A pydantic ValidationError in one line: 'where: what; ...'."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _partitions_field(body: dict[str, Any]) -> PartitionSelection | None:
    """The body's `partitions` as a PartitionSelection (None when absent or null)."""
    value = body.get("partitions")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(
            "'partitions' must be an object like "
            '{"kind": "range", "first": key, "last": key}, {"kind": "keys", "keys": [...]} '
            'or {"kind": "all"}'
        )
    try:
        return PartitionSelection.model_validate(value)
    except ValidationError as exc:
        raise InvalidInput(f"'partitions': {_pydantic_message(exc)}") from exc


def _backfill_status_arg() -> str | None:
    status = request.args.get("status") or None
    statuses = get_args(BackfillStatus)
    if status is not None and status not in statuses:
        raise InvalidInput(f"unknown backfill status {status!r}; one of {', '.join(statuses)}")
    return status


def register_backfill_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """Create, list, inspect, pause, resume, cancel and retry backfills."""
    from arco.services.backfills import (
        DEFAULT_CHUNK_SIZE,
        DEFAULT_MAX_CONCURRENT_RUNS,
        BackfillRequest,
        backfill_runs,
        change_backfill,
        create_backfill,
        list_backfills,
        retry_failed,
        show_backfill,
    )

    @app.post("/v1/workspaces/<name>/backfills")
    def post_backfill(name: str) -> Any:
        body = _json_body({"selection", "partitions", "chunk_size", "max_concurrent_runs", "tags"})
        request_ = BackfillRequest(
            selection=_string_field(body, "selection", required=True) or "",
            partitions=_partitions_field(body),
            chunk_size=_int_field(body, "chunk_size", DEFAULT_CHUNK_SIZE),
            max_concurrent_runs=_int_field(
                body, "max_concurrent_runs", DEFAULT_MAX_CONCURRENT_RUNS
            ),
            idempotency_key=request.headers.get("Idempotency-Key"),
            tags=_tags_field(body),
        )
        backfill, created = create_backfill(ws(name), request_, "api")
        return {**backfill, "created": created}, 201 if created else 200

    @app.get("/v1/workspaces/<name>/backfills")
    def get_backfills(name: str) -> Any:
        status = _backfill_status_arg()
        limit = parse_limit(request.args.get("limit"))
        position = decode_cursor(request.args.get("cursor"), ("created_ms", "backfill_id"))
        rows = list_backfills(ws(name), status)
        if position is not None:
            created_ms, backfill_id = position["created_ms"], position["backfill_id"]
            if isinstance(created_ms, bool) or not isinstance(created_ms, int):
                raise InvalidInput(f"invalid cursor {request.args.get('cursor')!r}")
            if not isinstance(backfill_id, str):
                raise InvalidInput(f"invalid cursor {request.args.get('cursor')!r}")
            # Newest first, ties by id: what sorts after the last item of the previous page.
            rows = [
                r
                for r in rows
                if (-int(r["created_ms"]), r["backfill_id"]) > (-created_ms, backfill_id)
            ]
        page = rows[:limit]
        more = len(rows) > limit
        last = page[-1] if page else None
        next_cursor = (
            encode_cursor({"created_ms": last["created_ms"], "backfill_id": last["backfill_id"]})
            if more and last
            else None
        )
        return {"backfills": page, "next_cursor": next_cursor}

    @app.get("/v1/workspaces/<name>/backfills/<backfill_id>")
    def get_backfill(name: str, backfill_id: str) -> Any:
        return show_backfill(ws(name), backfill_id)

    @app.get("/v1/workspaces/<name>/backfills/<backfill_id>/runs")
    def get_backfill_runs(name: str, backfill_id: str) -> Any:
        return {"runs": backfill_runs(ws(name), backfill_id)}

    for action in ("pause", "resume", "cancel"):

        def change(name: str, backfill_id: str, action: str = action) -> Any:
            allowed = {"request_id", "cancel_runs"} if action == "cancel" else {"request_id"}
            body = _json_body(allowed)
            cancel_runs = body.get("cancel_runs", False)
            if not isinstance(cancel_runs, bool):
                raise InvalidInput("'cancel_runs' must be true or false")
            request_id = _request_id(body)
            return change_backfill(
                ws(name), backfill_id, action, request_id, "api", cancel_runs=cancel_runs
            ), 202

        app.add_url_rule(
            f"/v1/workspaces/<name>/backfills/<backfill_id>/{action}",
            endpoint=f"backfill_{action}",
            view_func=change,
            methods=["POST"],
        )

    @app.post("/v1/workspaces/<name>/backfills/<backfill_id>/retry-failed")
    def post_retry_failed(name: str, backfill_id: str) -> Any:
        _json_body(set())
        backfill, created = retry_failed(ws(name), backfill_id, "api")
        return {**backfill, "created": created}, 201 if created else 200


def _list_arg(name: str) -> tuple[str, ...]:
    """A query parameter that may repeat or be comma-separated: ?status=STALE,MISSING."""
    return tuple(
        part.strip()
        for value in request.args.getlist(name)
        for part in value.split(",")
        if part.strip()
    )


def _partition_range_arg() -> tuple[str, str] | None:
    first, last = request.args.get("from") or None, request.args.get("to") or None
    if (first is None) != (last is None):
        raise InvalidInput("give both 'from' and 'to' for a partition range")
    return (first, last) if first is not None and last is not None else None


def _bool_arg(name: str) -> bool:
    value = request.args.get(name)
    if value is None or value == "":
        return False
    if value.lower() not in ("true", "false"):
        raise InvalidInput(f"{name!r} must be true or false, got {value!r}")
    return value.lower() == "true"


def register_staleness_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """The staleness report: partitions (paginated) and per-asset summaries."""
    from arco.services.staleness_views import StalenessQuery, staleness, staleness_summary

    def query(
        limit: int = 100, cursor: str | None = None, root_causes: bool = False
    ) -> StalenessQuery:
        """The filters both routes share, from the query string."""
        return StalenessQuery(
            selection=request.args.get("selection") or None,
            statuses=_list_arg("status"),
            reasons=_list_arg("reason"),
            partition_range=_partition_range_arg(),
            as_of=request.args.get("as_of") or None,
            limit=limit,
            cursor=cursor,
            root_causes=root_causes,
        )

    @app.get("/v1/workspaces/<name>/staleness")
    def get_staleness(name: str) -> Any:
        return staleness(
            ws(name),
            query(
                parse_limit(request.args.get("limit"), default=100),
                request.args.get("cursor") or None,
                _bool_arg("root_causes"),
            ),
        )

    @app.get("/v1/workspaces/<name>/staleness/summary")
    def get_staleness_summary(name: str) -> Any:
        extra = [p for p in ("limit", "cursor", "root_causes") if p in request.args]
        if extra:
            raise InvalidInput(
                f"the summary covers every asset: {', '.join(map(repr, extra))} does not apply"
            )
        return staleness_summary(ws(name), query())


def _int_arg(name: str, default: int) -> int:
    """An integer query parameter (range checks are the service's)."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name!r} must be an integer, got {value!r}") from None


def _bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"{name!r} must be true or false")
    return value


def register_reconciliation_routes(app: Flask, ws: Callable[[str], Workspace]) -> None:
    """The reconciliation plan, its gated execution, and the log of executions."""
    from arco.services.reconciliation import (
        PlanQuery,
        execute_plan,
        reconciliation_log,
        reconciliation_plan,
    )

    defaults = PlanQuery()

    @app.get("/v1/workspaces/<name>/reconciliation/plan")
    def get_reconciliation_plan(name: str) -> Any:
        query = PlanQuery(
            selection=request.args.get("selection") or None,
            include_missing=_bool_arg("include_missing"),
            max_runs=_int_arg("max_runs", defaults.max_runs),
            max_partitions=_int_arg("max_partitions", defaults.max_partitions),
            as_of=request.args.get("as_of") or None,
        )
        return reconciliation_plan(ws(name), query).as_dict()

    @app.post("/v1/workspaces/<name>/reconciliation/execute")
    def post_reconciliation_execute(name: str) -> Any:
        body = _json_body({"selection", "dry_run", "include_missing", "max_runs", "max_partitions"})
        query = PlanQuery(
            selection=_string_field(body, "selection") or None,
            include_missing=_bool_field(body, "include_missing"),
            max_runs=_int_field(body, "max_runs", defaults.max_runs),
            max_partitions=_int_field(body, "max_partitions", defaults.max_partitions),
        )
        dry_run = _bool_field(body, "dry_run")
        query.validate()  # before the service folds anything
        return execute_plan(ws(name), query, dry_run=dry_run, requested_by="api")

    @app.get("/v1/workspaces/<name>/reconciliation/log")
    def get_reconciliation_log(name: str) -> Any:
        limit = parse_limit(request.args.get("limit"), default=20)
        return {"log": reconciliation_log(ws(name), limit)}
