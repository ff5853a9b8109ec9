"""The HTTP API: the route table (`arco.api.routes`) served by Flask, JSON errors that name the
problem.

Status codes: 4xx for a request that can never succeed as sent (nothing is written), 5xx only
for transient trouble (the caller may retry) and for a deployment without auth configuration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, UnsupportedMediaType

from arco.api.contract import (
    Access,
    ErrorBody,
    ErrorDetail,
    FieldError,
    Req,
    RequestInvalid,
    Route,
    query_input,
    validate_part,
    validation_message,
)
from arco.api.routes import Deployment, route_table
from arco.domain.errors import (
    ArcoError,
    AuthUnavailable,
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
    Unauthenticated,
)
from arco.services.auth import Caller, Gate, NotConfigured
from arco.services.workspace import Workspace
from arco.services.workspaces import WorkspaceDirectory

log = logging.getLogger(__name__)

# A generous bound: the largest body is a list of dynamic partition keys.
MAX_BODY_BYTES = 1 << 20


def _json(body: BaseModel | dict[str, Any], status: int, exclude_unset: bool = False) -> Response:
    text = (
        body.model_dump_json(exclude_unset=exclude_unset) if isinstance(body, BaseModel) else None
    )
    if text is None:
        from flask import json

        text = json.dumps(body)
    return Response(text, status=status, mimetype="application/json")


def error_response(
    status: int, code: str, message: str, extra: dict[str, Any] | None = None
) -> Response:
    detail = ErrorDetail.model_validate({"code": code, "message": message, **(extra or {})})
    return _json(ErrorBody(error=detail), status, exclude_unset=True)


class Unprocessable(ArcoError):
    """A request that matches its models but cannot be applied as sent (422)."""


def _arco_error(exc: ArcoError) -> Response:
    """The one mapping from Arco's error families to HTTP."""
    if isinstance(exc, RequestInvalid):
        fields = [f.model_dump() for f in exc.fields]
        return error_response(400, "invalid_input", str(exc), {"fields": fields})
    if isinstance(exc, Unprocessable):
        return error_response(422, "unprocessable", str(exc))
    if isinstance(exc, InvalidInput):
        return error_response(400, "invalid_input", str(exc))
    if isinstance(exc, Unauthenticated):
        response = error_response(401, "unauthenticated", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if isinstance(exc, Forbidden):
        return error_response(403, "forbidden", str(exc))
    if isinstance(exc, NotFound):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, Refused):
        return error_response(409, "conflict", str(exc), dict(exc.details))
    if isinstance(exc, ConflictError):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, AuthUnavailable):
        return error_response(503, "auth_unavailable", str(exc))
    if isinstance(exc, NotConfigured):
        return error_response(500, "auth_not_configured", str(exc))
    if exc.retryable:
        return error_response(503, "unavailable", str(exc))
    log.error("internal error: %s", exc, exc_info=exc)
    return error_response(500, type(exc).__name__, str(exc))


def _body(model: type[BaseModel]) -> BaseModel:
    """The JSON body, validated strictly (no body at all is `{}`)."""
    raw = request.get_data(cache=True)
    if raw and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"send the body as application/json, not {request.mimetype or 'untyped'}"
        )
    raw = raw or b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        message, fields = validation_message(exc, "body")
        raise RequestInvalid(message, fields) from None


def _fold_pending(ws: Workspace) -> bool:
    """Read-your-writes: compact the workspace once (what a caller just wrote, e.g. a run it
    launched, is in the ledger but maybe not yet published). True when something was folded.
    A compaction that fails says nothing about the request: the miss stands."""
    try:
        return ws.compactor.compact().published
    except ArcoError as exc:
        log.warning("read-your-writes compaction of %s failed: %s", ws.name, exc)
        return False


def _view(
    route: Route, directory: WorkspaceDirectory, gate: Gate, deployment: Deployment
) -> Callable[..., Response]:
    def view(**path_args: str) -> Response:
        # Who is calling, then which workspace, then may they: before anything is read or
        # written on the caller's behalf (a refused request writes nothing).
        identity = None
        if route.access is not Access.PUBLIC:
            identity = gate.identify(Caller.of(dict(request.headers.items()), request.remote_addr))
        target: Any = deployment
        if route.workspace:
            assert identity is not None and not isinstance(route.access, Access)
            try:
                target = directory.open(path_args["name"])
            except RequestInvalid:
                raise
            except InvalidInput as exc:  # a malformed name: the contract's pattern refuses it
                field = FieldError(path="path.name", message=str(exc))
                raise RequestInvalid(f"path.name: {exc}", [field]) from None
            gate.authorize(identity, target, route.access)
        elif route.access is Access.DEPLOYMENT_ADMIN:
            assert identity is not None
            if not deployment.is_admin(identity):
                raise Forbidden(
                    f"{identity.principal} is not a deployment admin (ARCO_ADMINS): "
                    "only a deployment admin creates workspaces"
                )
        path = validate_part(route.path_model, path_args, "path") if route.path_model else None
        query = validate_part(
            route.query, query_input(route.query, request.args.to_dict(flat=False)), "query"
        )
        if route.max_body_bytes is not None:
            request.max_content_length = route.max_body_bytes
        body = _body(route.body) if route.body is not None else None
        req = Req(
            path, query, body, {k.lower(): v for k, v in request.headers.items()}, deployment.admins
        )
        try:
            try:
                result = route.handler(target, identity, req)
            except NotFound:
                if not route.reads_its_own_writes or not _fold_pending(target):
                    raise
                result = route.handler(target, identity, req)
        except RequestInvalid:
            raise
        except InvalidInput as exc:
            # The request matched its models; what it asks cannot be applied to this workspace
            # (an asset not deployed, a value this setting cannot take): 422, not 400.
            raise Unprocessable(str(exc)) from exc
        status = route.status
        if isinstance(result, tuple):
            result, status = result
        if status not in route.statuses():
            raise TypeError(f"{route.operation_id} answered {status}, not in its contract")
        if route.raw_response:
            return _json(result, status)
        if not isinstance(result, route.response):
            raise TypeError(f"{route.operation_id} answered {type(result).__name__}")
        # Fields a service leaves out (optional ones, such as root causes when not asked for)
        # stay out: the schema marks them not required.
        return _json(result, status, exclude_unset=True)

    view.__name__ = route.operation_id
    return view


def create_app(
    directory: WorkspaceDirectory, gate: Gate, admins: frozenset[str] = frozenset()
) -> Flask:
    """The API over the workspaces `directory` serves, callers checked by `gate`; `admins` are
    the deployment admins (they create workspaces and administer every one)."""
    app = Flask("arco", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    routes = route_table()
    deployment = Deployment(directory, admins, routes)
    for route in routes:
        app.add_url_rule(
            route.flask_rule,
            endpoint=route.operation_id,
            view_func=_view(route, directory, gate, deployment),
            methods=[route.method],
            provide_automatic_options=False,
        )

    @app.errorhandler(ArcoError)
    def on_arco_error(exc: ArcoError) -> Response:
        return _arco_error(exc)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        response = error_response(
            code, (exc.name or "error").lower().replace(" ", "_"), exc.description or ""
        )
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return response

    @app.errorhandler(Exception)
    def on_unexpected(exc: Exception) -> Response:
        log.error("unhandled error: %s", exc, exc_info=exc)
        return error_response(500, "internal_error", f"{type(exc).__name__}: {exc}")

    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document (what `/openapi.json` serves)."""
    from arco import __version__
    from arco.api.contract import openapi_document as generate

    return generate(route_table(), __version__)


__all__ = ["MAX_BODY_BYTES", "create_app", "error_response", "openapi_document"]
