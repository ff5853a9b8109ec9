"""Cloud Functions entry points: each translates its request and hands it to the instance.

    api          the Arco HTTP API (identities and workspace roles)
    timer        Cloud Tasks / Cloud Scheduler: controllers, then the next timer call
    worker       Cloud Tasks: one dispatched task attempt, or one poll-sensor evaluation
    sensor_push  Pub/Sub push / Eventarc: one push-sensor evaluation
    compactor    Cloud Scheduler / bucket notifications: fold and publish

Everything is built once per instance by `arco.bootstrap` from the environment (see
docs/security.md and docs/operations.md for the variables). Heavy imports (pyarrow) happen
inside the engines that need them, so the ingest entry points stay light.
"""

from __future__ import annotations

import io
import json

import functions_framework
from flask import Request, Response

from arco.bootstrap import Entry, instance
from arco.function_endpoints import Answer, HttpCall, error


def _respond(answer: Answer) -> Response:
    return Response(
        json.dumps(answer.body),
        answer.status,
        {"Content-Type": "application/json", **answer.headers},
    )


def _engine(entry: Entry, request: Request) -> Response:
    try:
        endpoints = instance(entry).endpoints
    except Exception as exc:  # a bad environment: say so on every call instead of crashing
        return _respond(error(500, "misconfigured", f"{type(exc).__name__}: {exc}"))
    headers = dict(request.headers.items())
    call = HttpCall.of(request.get_data(), headers, request.path, request.remote_addr)
    return _respond(endpoints.call(entry, call))


@functions_framework.http
def api(request: Request) -> Response:
    """The HTTP API, dispatched to its Flask app."""
    try:
        app = instance("api").api_app
    except Exception as exc:
        return _respond(error(500, "misconfigured", f"{type(exc).__name__}: {exc}"))
    # functions-framework reads the body again after we return: give the app its own copy.
    body = request.get_data()
    environ = {**request.environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    with app.request_context(environ):
        response: Response = app.full_dispatch_request()
        return response


@functions_framework.http
def timer(request: Request) -> Response:
    return _engine("timer", request)


@functions_framework.http
def worker(request: Request) -> Response:
    return _engine("worker", request)


@functions_framework.http
def compactor(request: Request) -> Response:
    return _engine("compactor", request)


@functions_framework.http
def sensor_push(request: Request) -> Response:
    return _engine("sensor_push", request)
