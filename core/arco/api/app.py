"""The HTTP API: thin handlers over services, JSON errors that name the problem.

Status codes: 4xx for a request that can never succeed as sent (nothing is written),
5xx only for transient trouble (the caller may retry).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from arco import __version__
from arco.api.openapi import openapi_document
from arco.domain.errors import ArcoError, ConflictError, InvalidInput, NotFound
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

    return app
