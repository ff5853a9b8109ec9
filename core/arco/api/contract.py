"""The route table's machinery: one `Route` per operation, and from the table the Flask rules,
the request validation, the authorization check and the OpenAPI 3.1 document.

A route says who may call it (`access`), what it takes (path, query and body models), what it
answers (a response model and status codes) and which function does the work. Nothing about a
route is written twice: the document is generated from the same models the handler receives
and returns, so the contract cannot drift from the code.

Per request, in this order, before anything is read or written:
identify the caller (401/503), open the workspace (404), authorize the role (403), validate the
request models (400), then call the handler.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError

from arco.domain.access import Role
from arco.domain.errors import InvalidInput

P = TypeVar("P")
Q = TypeVar("Q")
B = TypeVar("B")


class Access(StrEnum):
    """Who may call a route that is not a workspace route (those name a `Role`)."""

    PUBLIC = "public"  # no identity asked: health and the contract itself
    SIGNED_IN = "signed_in"  # any verified identity
    DEPLOYMENT_ADMIN = "deployment_admin"  # a deployment admin (configured, or local dev)


class RequestModel(BaseModel):
    """Base of request models: unknown fields are an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseModel(BaseModel):
    """Base of response models: a handler cannot answer a field the contract does not name."""

    model_config = ConfigDict(extra="forbid")


class NoParams(RequestModel):
    """No query parameters / no body."""


class ErrorDetail(BaseModel):
    """What went wrong; `fields` names each invalid input (path and message) on a 400."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    fields: list[FieldError] | None = None


class FieldError(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer: `{"error": {"code": ..., "message": ...}}`."""

    error: ErrorDetail


ErrorDetail.model_rebuild()


_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,199}")


@dataclass(frozen=True)
class Req(Generic[P, Q, B]):
    """A validated request: the path, query and body models, and the headers a handler may
    consult (the Idempotency-Key), by lower-cased name (HTTP header names ignore case)."""

    path: P
    query: Q
    body: B
    headers: Mapping[str, str]
    admins: frozenset[str] = frozenset()  # the deployment's admins (for the access listing)

    def idempotency_key(self) -> str | None:
        """The Idempotency-Key header; a header that is sent must match its documented pattern
        (an empty or malformed key is refused, not replaced by a fresh one)."""
        value = self.headers.get("idempotency-key")
        if value is None:
            return None
        if not _IDEMPOTENCY_KEY.fullmatch(value):
            message = "header Idempotency-Key: use 1-200 characters from A-Z a-z 0-9 . _ = -"
            raise RequestInvalid(
                message, [FieldError(path="header.Idempotency-Key", message=message)]
            )
        return value


@dataclass(frozen=True)
class Route:
    """One operation, declared once.

    `access` is a workspace `Role` (the path has `{name}`; the handler gets the workspace) or an
    `Access` level (the handler gets the app's `Deployment`). The handler returns an instance of
    `response`, or `(instance, status)` where status is `status` or one of `other_statuses`.
    """

    method: str
    path: str
    access: Role | Access
    handler: Callable[..., Any]
    response: type[BaseModel]
    status: int = 200
    other_statuses: tuple[int, ...] = ()
    path_model: type[BaseModel] | None = None
    query: type[BaseModel] = NoParams
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    idempotency_header: bool = False
    # The response is not our model (the OpenAPI document itself): served as is.
    raw_response: bool = False
    tags: tuple[str, ...] = field(default=())
    # A larger body than the app's default bound (a backfill's explicit key list).
    max_body_bytes: int | None = None

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    @property
    def summary(self) -> str:
        doc = (self.handler.__doc__ or self.operation_id).strip()
        return doc.splitlines()[0]

    @property
    def workspace(self) -> bool:
        return isinstance(self.access, Role)

    @property
    def reads_its_own_writes(self) -> bool:
        """A route naming a run or backfill by id: one created a moment ago may be in the ledger
        and not yet in the published state, so a miss compacts once and looks again."""
        return self.workspace and bool(ID_PARAMS_CREATED_BY_WRITES & set(_params(self.path)))

    @property
    def flask_rule(self) -> str:
        """`/v1/workspaces/{name}/assets/{asset}` as a Flask rule; `asset` keys hold slashes."""
        return re.sub(
            r"\{(\w+)\}",
            lambda m: f"<path:{m[1]}>" if m[1] in PATH_PARAMS_WITH_SLASHES else f"<{m[1]}>",
            self.path,
        )

    def statuses(self) -> tuple[int, ...]:
        return (self.status, *self.other_statuses)


PATH_PARAMS_WITH_SLASHES = frozenset({"asset"})
ID_PARAMS_CREATED_BY_WRITES = frozenset({"run_id", "backfill_id"})


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def route(
    method: str,
    path: str,
    access: Role | Access,
    handler: Callable[..., Any],
    *,
    status: int = 200,
    also: tuple[int, ...] = (),
    errors: tuple[int, ...] = (),
    idempotency_header: bool = False,
    tag: str | None = None,
    max_body_bytes: int | None = None,
) -> Route:
    """A `Route` whose models are read from the handler's signature, where they are declared
    (and type-checked) once: `req: Req[PathModel, QueryModel, BodyModel]` (None for no path or
    no body) and the return annotation `ResponseModel` or `tuple[ResponseModel, int]`
    (`Any`: a document served as is)."""
    hints = get_type_hints(handler)
    path_model, query, body = get_args(hints["req"])
    answer = hints["return"]
    if get_origin(answer) is tuple:
        answer = get_args(answer)[0]
    raw = answer is Any
    return Route(
        method=method,
        path=path,
        access=access,
        handler=handler,
        response=ErrorBody if raw else answer,  # (unused for a raw answer)
        status=status,
        other_statuses=also,
        path_model=None if path_model is type(None) else path_model,
        query=query,
        body=None if body is type(None) else body,
        errors=errors,
        idempotency_header=idempotency_header,
        raw_response=raw,
        tags=(tag,) if tag else (),
        max_body_bytes=max_body_bytes,
    )


# -- validation --


def validation_message(exc: ValidationError, where: str) -> tuple[str, list[FieldError]]:
    """A pydantic error as one line naming each field ('body.partition_range.first: ...')."""
    fields = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in (where, *err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        fields.append(FieldError(path=loc, message=message))
    return "; ".join(f"{f.path}: {f.message}" for f in fields[:5]), fields


class RequestInvalid(InvalidInput):
    """A request that does not match its route's models: names every field at fault."""

    def __init__(self, message: str, fields: list[FieldError]) -> None:
        super().__init__(message)
        self.fields = fields


def validate_part(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message, fields = validation_message(exc, where)
        raise RequestInvalid(message, fields) from None


def is_list_field(model: type[BaseModel], name: str) -> bool:
    """True for a query parameter (by its name on the wire) that may repeat (`?a=1&a=2`)."""
    fields = {(f.alias or key): f for key, f in model.model_fields.items()}
    if name not in fields:
        return False
    annotation = fields[name].annotation
    for candidate in (annotation, *get_args(annotation)):
        if get_origin(candidate) in (list, tuple):
            return True
    return False


def query_input(model: type[BaseModel], args: Mapping[str, list[str]]) -> dict[str, Any]:
    """The query string as the model's input: repeatable fields as lists, others as the single
    value (a repeated single-valued parameter is refused by name)."""
    out: dict[str, Any] = {}
    for key, values in args.items():
        if is_list_field(model, key):
            out[key] = values
        elif len(values) > 1:
            raise RequestInvalid(
                f"query.{key}: given {len(values)} times; give it once",
                [FieldError(path=f"query.{key}", message="given more than once")],
            )
        else:
            out[key] = values[0]
    return out


# -- the OpenAPI document --

BEARER = "oidcBearer"
ROLE_TEXT = {
    Access.PUBLIC: "Public: no credentials needed.",
    Access.SIGNED_IN: "Any verified identity.",
    Access.DEPLOYMENT_ADMIN: "A deployment admin (named in the deployment's configuration).",
}
ERROR_TEXT = {
    400: "The request does not match this operation's models; `fields` names each invalid "
    "input. Nothing was written.",
    401: "No valid identity token (send `Authorization: Bearer <Google ID token>`).",
    403: "The caller's role in the workspace is too low for this operation.",
    404: "The workspace (or the named thing) does not exist.",
    409: "The request conflicts with what exists; the error says what with.",
    413: "The request body is too large.",
    422: "The request matches this operation's models but cannot be applied as sent (a "
    "selection naming an asset that is not deployed, a value this setting cannot take, a "
    "partition outside its definition); the message says what. Nothing was written.",
    415: "The body is not `application/json`.",
    500: "Auth is not configured (`auth_not_configured`) or an internal error.",
    503: "Transient trouble (storage, certificate fetch): retry later.",
}


class SchemaRegistry:
    """Component schemas, hoisted from each model's `$defs`; a name maps to one schema."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, model: type[BaseModel], mode: str = "serialization") -> dict[str, str]:
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}",
            mode=mode,  # type: ignore[arg-type]
        )
        for name, sub in schema.pop("$defs", {}).items():
            self._add(name, sub)
        self._add(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def _add(self, name: str, schema: Any) -> None:
        existing = self.schemas.setdefault(name, schema)
        if existing != schema:
            raise ValueError(f"two different schemas named {name!r} in the API contract")


def _parameters(route: Route, registry: SchemaRegistry) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for where, model in (("path", route.path_model), ("query", route.query)):
        if model is None:
            continue
        schema = model.model_json_schema(
            ref_template="#/components/schemas/{model}", mode="validation"
        )
        for name, sub in schema.pop("$defs", {}).items():
            registry._add(name, sub)
        required = set(schema.get("required", ()))
        for name, declared in schema.get("properties", {}).items():
            prop = _wire_schema(declared)
            description = prop.pop("description", None)
            param: dict[str, Any] = {
                "name": name,
                "in": where,
                "required": where == "path" or name in required,
                "schema": prop,
            }
            if description:
                param["description"] = description
            if where == "query" and is_list_field(model, name):
                param["style"] = "form"
                param["explode"] = True
            params.append(param)
    if route.idempotency_header:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes a retried request return the first answer.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$"},
            }
        )
    return params


def _wire_schema(prop: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema as it travels: text that is absent or present, never null (absent
    is how a parameter says None), without pydantic's titles."""
    prop = {k: v for k, v in prop.items() if k != "title"}
    options = [o for o in prop.get("anyOf", ()) if o != {"type": "null"}]
    if "anyOf" in prop and len(options) == 1:
        del prop["anyOf"]
        prop = {**options[0], **prop}
    if prop.get("default", 0) is None:
        del prop["default"]
    return prop


def _error_statuses(route: Route) -> list[int]:
    codes = set(route.errors)
    if route.access is not Access.PUBLIC:
        codes |= {401, 403, 500, 503}
    if route.workspace:
        codes |= {400, 404, 422}
    if route.body is not None:
        codes |= {400, 413, 415, 422}
    if route.query is not NoParams or route.path_model is not None:
        codes |= {400, 422}
    return sorted(codes)


def openapi_document(routes: list[Route], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of `routes`: every operation, its models, role and errors."""
    registry = SchemaRegistry()
    error_ref = registry.ref(ErrorBody)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        role = route.access.value
        role_text = (
            f"Requires the `{role}` role in the workspace."
            if route.workspace
            else f"Access `{role}`: {ROLE_TEXT[route.access]}"  # type: ignore[index]
        )
        doc = (route.handler.__doc__ or "").strip()
        operation: dict[str, Any] = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "description": f"{doc}\n\n{role_text}".strip(),
            "x-arco-role": role,
            "parameters": _parameters(route, registry),
            "responses": {},
        }
        if route.tags:
            operation["tags"] = list(route.tags)
        if route.access is Access.PUBLIC:
            operation["security"] = []
        else:
            operation["security"] = [{BEARER: []}]
        if route.body is not None:
            operation["requestBody"] = {
                "required": _body_required(route.body),
                "content": {"application/json": {"schema": registry.ref(route.body, "validation")}},
            }
        answer = {"type": "object"} if route.raw_response else registry.ref(route.response)
        for status in route.statuses():
            operation["responses"][str(status)] = {
                "description": _status_text(route, status),
                "content": {"application/json": {"schema": answer}},
            }
        for status in _error_statuses(route):
            operation["responses"][str(status)] = {
                "description": ERROR_TEXT.get(status, "Error."),
                "content": {"application/json": {"schema": error_ref}},
            }
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arco API",
            "version": version,
            "description": (
                "Arco's control-plane API. Every operation except `/healthz` and `/openapi.json`"
                " needs a Google-signed OIDC ID token (`Authorization: Bearer ...`) whose"
                " e-mail holds the operation's role in the workspace (`x-arco-role`): viewer <"
                " operator < admin. Writes answer 202 with the ledger object; they are visible"
                ' after the next compaction. Errors are `{"error": {"code", "message"}}`.'
            ),
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(registry.schemas.items())),
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Google-signed OIDC ID token (audience: the API's URL), e.g."
                    " `gcloud auth print-identity-token`; its verified e-mail is the principal.",
                }
            },
        },
    }


def _body_required(model: type[BaseModel]) -> bool:
    """A body is required when no body at all (taken as `{}`) would be valid."""
    try:
        model.model_validate_json(b"{}")
    except ValidationError:
        return True
    return False


def _status_text(route: Route, status: int) -> str:
    if status == 201:
        return "Created."
    if status == 202:
        return "Accepted: written to the ledger, visible after the next compaction."
    if route.status == 201 and status == 200:
        return "Already existed (the same request was made before): the existing one."
    return "OK."
