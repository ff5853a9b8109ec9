"""Cloud Functions entry points. Each only translates a request and calls one service.

    api        HTTP    the Arco HTTP API (state, settings, schedules, ...)
    compactor  HTTP    (Cloud Scheduler, bucket notifications): fold and publish
    timer      HTTP    (Cloud Tasks): run the controllers, then schedule the next timer call

Configuration comes from the environment once per instance (ARCO_STORE, ARCO_WORKSPACE,
ARCO_LOOKBACK_MS). Heavy imports (pyarrow) happen inside the handlers that need them, so the
ingest entry points added later stay light.
"""

from __future__ import annotations

import functools
import io
import json
from typing import Any

import functions_framework
from flask import Request, Response


def _json(body: Any, status: int) -> tuple[str, int, dict[str, str]]:
    return json.dumps(body), status, {"Content-Type": "application/json"}


def _error(exc: Any) -> tuple[str, int, dict[str, str]]:
    """A JSON error; 503 (the platform retries) only for retryable errors."""
    body = {"error": {"code": type(exc).__name__, "message": str(exc)}}
    return _json(body, 503 if exc.retryable else 500)


@functools.cache
def _settings() -> Any:
    from arco.services.config import Settings

    return Settings.from_env()


@functools.cache
def _workspace(name: str) -> Any:
    from arco.services.workspace import Workspace
    from arco.storage.url import open_store

    settings = _settings()
    return Workspace(
        open_store(settings.store_url), name, lookback_ms=settings.lookback_ms, source="functions"
    )


@functools.cache
def _api_app() -> Any:
    from arco.api.app import create_app

    return create_app(_workspace)


@functions_framework.http
def api(request: Request) -> Response:
    """The HTTP API, dispatched to the Flask app."""
    app = _api_app()
    # functions-framework reads the body again after we return, so hand the inner app its own
    # copy of the stream.
    body = request.get_data()
    environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    with app.request_context(environ):
        response: Response = app.full_dispatch_request()
        return response


@functions_framework.http
def compactor(request: Request) -> tuple[str, int, dict[str, str]]:
    """Compact the configured workspace until idle (bounded). 503 asks the caller to retry."""
    from arco.domain.errors import ArcoError

    try:
        results = _workspace(_settings().workspace).compactor.compact_until_idle(max_steps=20)
    except ArcoError as exc:
        return _error(exc)
    return _json({"steps": [r.as_dict() for r in results]}, 200)


@functools.cache
def _timer_queue() -> Any:
    from arco.cloud.tasks import CloudTasksTimerQueue

    settings = _settings()
    return CloudTasksTimerQueue(
        settings.timer_queue, settings.timer_service_account, settings.tasks_emulator_host
    )


@functions_framework.http
def timer(request: Request) -> tuple[str, int, dict[str, str]]:
    """One timer call from Cloud Tasks: evaluate, append, then schedule the successor.

    Refuses (403) calls that do not come from the configured queue. The successor's task name
    is derived from the next time slot, so duplicate calls schedule it once.
    """
    from datetime import UTC, datetime

    from arco.cloud.tasks import timer_task_id
    from arco.domain.errors import ArcoError
    from arco.services.timer import from_expected_queue, next_slot, run_timer

    settings = _settings()
    if not from_expected_queue(request.headers.get("X-CloudTasks-QueueName"), settings.timer_queue):
        return _json(
            {
                "error": {
                    "code": "forbidden",
                    "message": "timer calls must come from the configured queue",
                }
            },
            403,
        )
    ws = _workspace(settings.workspace)
    now = datetime.fromtimestamp(ws.clock.now_ms() / 1000, tz=UTC)
    try:
        result = run_timer(ws, now)
    except ArcoError as exc:
        return _error(exc)
    body: dict[str, Any] = {"timer": result.as_dict(), "next": None}
    if settings.timer_queue and settings.timer_url:
        slot = next_slot(int(now.timestamp()), settings.timer_interval_s)
        task_id = timer_task_id(settings.workspace, slot)
        created = _timer_queue().schedule(
            task_id, settings.timer_url, slot, {"workspace": settings.workspace, "slot": slot}
        )
        body["next"] = {"task": task_id, "fire_at": slot, "created": created}
    return _json(body, 200)
