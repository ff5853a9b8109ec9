"""Cloud Functions entry points. Each only translates a request and calls one service.

    api        HTTP    the Arco HTTP API (state, settings, schedules, ...)
    compactor  HTTP    (Cloud Scheduler, bucket notifications): fold and publish
    timer      HTTP    (Cloud Tasks): run the controllers, then schedule the next timer call
    worker     HTTP    (Cloud Tasks): run one attempt of one task of a run and report it, or
                       evaluate one poll sensor
    sensor_push HTTP   (Pub/Sub push, Eventarc): evaluate a push sensor for one message

Configuration comes from the environment once per instance (ARCO_STORE, ARCO_WORKSPACE,
ARCO_LOOKBACK_MS, ARCO_TIMER_*, ARCO_WORKER_QUEUE/URL, ARCO_DEFINITIONS, ARCO_PUSH_*). Heavy imports
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
    body = request.get_json(silent=True)
    try:
        if isinstance(body, dict) and body.get("kind") == "sensor":
            return _evaluate_sensor(body)
        order = TaskOrder.from_json(body)
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


def _evaluate_sensor(body: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
    """A poll-sensor order: evaluate, append, and nudge the timer so its run requests become
    runs without waiting for the next slot."""
    from arco.domain.sensor_controller import SensorOrder
    from arco.services.sensor_poll import evaluate_poll_sensor

    settings = _settings()
    order = SensorOrder.from_json(body)
    result = evaluate_poll_sensor(_workspace(order.workspace), _definitions(), order)
    answer: dict[str, Any] = {"sensor": result.as_dict(), "nudge": None}
    if result.run_requests and settings.timer_queue and settings.timer_url:
        task_id = f"nudge-{order.dispatch_name}"
        created = _timer_queue().schedule(
            task_id, settings.timer_url, None, {"workspace": order.workspace, "nudge": True}
        )
        answer["nudge"] = {"task": task_id, "created": created}
    return _json(answer, 200)


@functools.cache
def _push_handler() -> Any:
    """Built once per instance: the store, a ledger writer, the code location, the verifier
    (whose certificate cache must outlive a request). Nothing here imports pyarrow."""
    import os

    from arco.clock import SystemClock
    from arco.cloud.push_auth import PushAuth
    from arco.domain.catalog import default_registry
    from arco.ledger.writer import LedgerWriter
    from arco.services.sensor_push import PushHandler
    from arco.storage.url import open_store

    settings = _settings()
    store = open_store(settings.store_url)
    writer = LedgerWriter(
        store,
        settings.workspace,
        default_registry(),
        SystemClock(),
        "sensor_push",
        settings.lookback_ms,
    )
    return PushHandler(store, writer, _definitions(), PushAuth.from_env(os.environ))


@functions_framework.http
def sensor_push(request: Request) -> tuple[str, int, dict[str, str]]:
    """One Pub/Sub push (envelope or CloudEvent): 200 once the evaluation is durable, 4xx
    (request quarantined) when it can never succeed, 503 when Pub/Sub should redeliver."""
    from arco.domain.errors import ArcoError

    try:
        handler = _push_handler()
    except ArcoError as exc:
        body = {"error": {"code": "misconfigured", "message": str(exc)}}
        return _json(body, 500)
    answer = handler.handle(request.get_data(), dict(request.headers), request.path)
    if answer.status == 200 and _fault("sensor_push_after_append"):
        return _json({"error": {"code": "injected", "message": "fault injection"}}, 500)
    return _json(answer.body, answer.status)


def _fault(name: str) -> bool:
    """Test-only fault injection: ARCO_FAULTS=name:count fails the first `count` calls of
    `name` in this process (how the tests make Pub/Sub redeliver a message already durable)."""
    import os

    spec = dict(
        item.split(":", 1) for item in (os.environ.get("ARCO_FAULTS") or "").split(",") if item
    )
    left = int(spec.get(name, 0)) - _FAULTS_FIRED.get(name, 0)
    if left <= 0:
        return False
    _FAULTS_FIRED[name] = _FAULTS_FIRED.get(name, 0) + 1
    return True


_FAULTS_FIRED: dict[str, int] = {}


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
