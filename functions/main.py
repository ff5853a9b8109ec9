"""Cloud Functions entry points. Each only translates a request and calls one service.

    api        HTTP    the Arco HTTP API (state, settings, schedules, ...)
    compactor  HTTP    (Cloud Scheduler, bucket notifications): fold and publish
    timer      HTTP    (Cloud Tasks): run the controllers, then schedule the next timer call
    worker     HTTP    (Cloud Tasks): run one attempt of one task of a run and report it

Configuration comes from the environment once per instance (ARCO_STORE, ARCO_WORKSPACE,
ARCO_LOOKBACK_MS, ARCO_TIMER_*, ARCO_WORKER_QUEUE/URL, ARCO_DEFINITIONS). Heavy imports
(pyarrow) happen inside the handlers that need them, so the ingest entry points stay light.
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


def _forbidden() -> tuple[str, int, dict[str, str]]:
    return _json(
        {"error": {"code": "forbidden", "message": "calls must come from the configured queue"}},
        403,
    )


@functools.cache
def _worker_queue() -> Any:
    from arco.cloud.tasks import CloudTasksTimerQueue

    settings = _settings()
    return CloudTasksTimerQueue(
        settings.worker_queue, settings.timer_service_account, settings.tasks_emulator_host
    )


def _dispatcher() -> Any:
    """Task orders go to the worker function through Cloud Tasks (when it is configured)."""
    from arco.services.dispatch import CloudTasksDispatcher, NoWorkers

    settings = _settings()
    if settings.worker_queue and settings.worker_url:
        return CloudTasksDispatcher(_worker_queue(), settings.worker_url)
    return NoWorkers()


@functools.cache
def _definitions() -> Any:
    from arco.domain.errors import InvalidInput
    from arco.services.code_location import load_definitions

    reference = _settings().definitions
    if not reference:
        raise InvalidInput("the worker needs ARCO_DEFINITIONS (pkg.module:attr)")
    return load_definitions(reference)


@functions_framework.http
def worker(request: Request) -> tuple[str, int, dict[str, str]]:
    """Run one task order from Cloud Tasks. 200 once the attempt is reported (an asset that
    failed is a reported FAILURE, not a reason for the platform to redeliver); 400 for an order
    that can never run; 503 for transient trouble (the platform redelivers)."""
    from arco.domain.errors import ArcoError, InvalidInput, NotFound
    from arco.domain.run_controller import TaskOrder
    from arco.services.timer import from_expected_queue
    from arco.services.worker import execute_task

    settings = _settings()
    queue_header = request.headers.get("X-CloudTasks-QueueName")
    if not from_expected_queue(queue_header, settings.worker_queue):
        return _forbidden()
    try:
        order = TaskOrder.from_json(request.get_json(silent=True))
        result = execute_task(
            _workspace(order.workspace), _definitions(), order, settings.heartbeat_interval_s
        )
    except (InvalidInput, NotFound) as exc:
        body = {"error": {"code": type(exc).__name__, "message": str(exc)}}
        return _json(body, 400 if isinstance(exc, InvalidInput) else 404)
    except ArcoError as exc:
        return _error(exc)
    answer: dict[str, Any] = {"result": result.as_dict(), "nudge": None}
    if result.outcome != "STALE" and settings.timer_queue and settings.timer_url:
        # Ask for a timer call now, so what waits for this task is dispatched without waiting
        # for the next slot. Named per attempt: a redelivered order nudges once.
        task_id = f"nudge-{order.dispatch_name}"
        created = _timer_queue().schedule(
            task_id, settings.timer_url, None, {"workspace": order.workspace, "nudge": True}
        )
        answer["nudge"] = {"task": task_id, "created": created}
    return _json(answer, 200)


@functions_framework.http
def timer(request: Request) -> tuple[str, int, dict[str, str]]:
    """One timer call from Cloud Tasks: evaluate, append, then schedule the successor.

    Refuses (403) calls that do not come from the configured queue. The successor's task name
    is derived from the next time slot, so duplicate calls schedule it once.
    """
    from arco.clock import clock_now
    from arco.cloud.tasks import timer_task_id
    from arco.domain.errors import ArcoError
    from arco.services.timer import from_expected_queue, next_slot, run_timer

    settings = _settings()
    if not from_expected_queue(request.headers.get("X-CloudTasks-QueueName"), settings.timer_queue):
        return _forbidden()
    ws = _workspace(settings.workspace)
    now = clock_now(ws.clock)
    try:
        result = run_timer(ws, now, dispatcher=_dispatcher())
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
