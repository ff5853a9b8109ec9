"""The OpenAPI document of the HTTP API. A test checks it against the app's routes."""

from __future__ import annotations

from typing import Any, get_args

from arco import __version__
from arco.domain.staleness import REASONS, Status

_ERROR = {"$ref": "#/components/schemas/Error"}
_WS = {
    "name": "ws",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Workspace name.",
}


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": description,
    }


_NOW = {
    "name": "now",
    "in": "query",
    "schema": {"type": "string", "format": "date-time"},
    "description": "Evaluate as of this time (default: now).",
}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
}
_CURSOR = {
    "name": "cursor",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Opaque cursor from the previous page's next_cursor.",
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document() -> dict[str, Any]:
    errors = {
        "400": _json(_ERROR, "Bad input; nothing was written."),
        "404": _json(_ERROR, "Not found."),
        "503": _json(_ERROR, "The store is unavailable; retry."),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arco API",
            "version": __version__,
            "description": "Operate an Arco workspace: state, settings, and more.",
        },
        "paths": {
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "responses": {"200": _json({"type": "object"}, "Alive.")},
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
                }
            },
            "/v1/workspaces/{ws}/state": {
                "get": {
                    "operationId": "getState",
                    "summary": "Published state: manifest id, watermark, rows per table",
                    "parameters": [_WS],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/State"}, "State."),
                        **errors,
                    },
                }
            },
            "/v1/workspaces/{ws}/settings": {
                "get": {
                    "operationId": "listSettings",
                    "summary": "Every setting and its value",
                    "parameters": [_WS],
                    "responses": {"200": _json({"type": "object"}, "Settings."), **errors},
                }
            },
            "/v1/workspaces/{ws}/settings/{name}": {
                "put": {
                    "operationId": "changeSetting",
                    "summary": "Change a setting (appends an event; visible after compaction)",
                    "parameters": [
                        _WS,
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["value"],
                                    "additionalProperties": False,
                                    "properties": {"value": {}, "request_id": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"202": _json({"type": "object"}, "Recorded."), **errors},
                }
            },
            **_automation_paths(errors),
            **_sensor_paths(errors),
            **_run_paths(errors),
            **_backfill_paths(errors),
            **_staleness_paths(errors),
            **_reconciliation_paths(errors),
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "State": {
                    "type": "object",
                    "required": ["workspace", "manifest_id", "tables"],
                    "properties": {
                        "workspace": {"type": "string"},
                        "manifest_id": {"type": "integer"},
                        "watermark": {"type": ["string", "null"]},
                        "tables": {"type": "object"},
                    },
                },
                **_STALENESS_SCHEMAS,
                **_RECONCILIATION_SCHEMAS,
            }
        },
    }


_STATUS = {
    "name": "status",
    "in": "query",
    "schema": {"type": "string", "enum": ["TRIGGERED", "SKIPPED", "FAILED"]},
}


def _automation_paths(errors: dict[str, Any]) -> dict[str, Any]:
    ok = {"200": _json({"type": "object"}, "OK."), **errors}
    accepted = {"202": _json({"type": "object"}, "Recorded (visible after compaction)."), **errors}
    schedule = _path("schedule", "Schedule name.")
    return {
        "/v1/workspaces/{ws}/assets": {
            "get": {
                "operationId": "listAssets",
                "summary": "Deployed assets in dependency order",
                "parameters": [_WS],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/assets/{asset}/partitions": {
            "get": {
                "operationId": "listPartitions",
                "summary": "An asset's partitions with their status (MATERIALIZED, FAILED, "
                "IN_PROGRESS, MISSING), last materialization and last attempt, paginated",
                "parameters": [_WS, _path("asset", "Asset key, e.g. a/b."), _NOW, _LIMIT, _CURSOR],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/dynamic-partitions/{definition}": {
            "post": {
                "operationId": "changeDynamicPartitions",
                "summary": "Add or remove keys of a dynamic partitions definition",
                "parameters": [_WS, _path("definition", "Dynamic partitions name.")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "add": {"type": "array", "items": {"type": "string"}},
                                    "remove": {"type": "array", "items": {"type": "string"}},
                                    "request_id": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": accepted,
            }
        },
        "/v1/workspaces/{ws}/schedules": {
            "get": {
                "operationId": "listSchedules",
                "summary": "Schedules with status, last and next tick, ordered by name",
                "parameters": [_WS, _NOW, _LIMIT, _CURSOR],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/schedules/{schedule}/ticks": {
            "get": {
                "operationId": "listScheduleTicks",
                "summary": "A schedule's ticks, newest first (an unknown schedule has none)",
                "parameters": [_WS, schedule, _STATUS, _LIMIT, _CURSOR],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/schedules/{schedule}/start": {
            "post": {
                "operationId": "startSchedule",
                "summary": "Start a schedule (kept across deploys)",
                "parameters": [_WS, schedule],
                "responses": accepted,
            }
        },
        "/v1/workspaces/{ws}/schedules/{schedule}/stop": {
            "post": {
                "operationId": "stopSchedule",
                "summary": "Stop a schedule (kept across deploys)",
                "parameters": [_WS, schedule],
                "responses": accepted,
            }
        },
    }


_SENSOR_TICK_STATUS = {
    "name": "status",
    "in": "query",
    "schema": {"type": "string", "enum": ["SUCCESS", "SKIPPED", "FAILURE"]},
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {"type": "string"},
    "description": "Request id (when the body has no request_id): the same id applies once.",
}
_REQUEST_ID_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"request_id": {"type": "string"}},
            }
        }
    },
}


def _sensor_paths(errors: dict[str, Any]) -> dict[str, Any]:
    ok = {"200": _json({"type": "object"}, "OK."), **errors}
    accepted = {"202": _json({"type": "object"}, "Recorded (visible after compaction)."), **errors}
    sensor = _path("sensor", "Sensor name.")
    return {
        "/v1/workspaces/{ws}/sensors": {
            "get": {
                "operationId": "listSensors",
                "summary": "Sensors with kind, status, cursor, last tick and next evaluation, "
                "ordered by name",
                "parameters": [_WS, _NOW, _LIMIT, _CURSOR],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/sensors/{sensor}/ticks": {
            "get": {
                "operationId": "listSensorTicks",
                "summary": "A sensor's ticks (evaluations), newest first: status, skip reason "
                "or error, cursor before and after, run keys and runs",
                "parameters": [_WS, sensor, _SENSOR_TICK_STATUS, _LIMIT, _CURSOR],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/sensors/{sensor}/start": {
            "post": {
                "operationId": "startSensor",
                "summary": "Start a sensor (kept across deploys)",
                "parameters": [_WS, sensor, _IDEMPOTENCY_KEY],
                "requestBody": _REQUEST_ID_BODY,
                "responses": accepted,
            }
        },
        "/v1/workspaces/{ws}/sensors/{sensor}/stop": {
            "post": {
                "operationId": "stopSensor",
                "summary": "Stop a sensor (kept across deploys)",
                "parameters": [_WS, sensor, _IDEMPOTENCY_KEY],
                "requestBody": _REQUEST_ID_BODY,
                "responses": accepted,
            }
        },
        "/v1/workspaces/{ws}/sensors/{sensor}/cursor": {
            "post": {
                "operationId": "setSensorCursor",
                "summary": "Set or reset the cursor of a poll, asset or run-status sensor "
                "(push sensors have none)",
                "parameters": [_WS, sensor, _IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "required": ["cursor"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "cursor": {
                                                "type": "string",
                                                "minLength": 1,
                                                "maxLength": 10000,
                                            },
                                            "request_id": {"type": "string"},
                                        },
                                    },
                                    {
                                        "type": "object",
                                        "required": ["reset"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "reset": {"const": True},
                                            "request_id": {"type": "string"},
                                        },
                                    },
                                ]
                            }
                        }
                    },
                },
                "responses": accepted,
            }
        },
    }


_RUN_STATUS = {
    "name": "status",
    "in": "query",
    "schema": {
        "type": "string",
        "enum": ["QUEUED", "STARTING", "STARTED", "CANCELING", "SUCCESS", "FAILURE", "CANCELED"],
    },
}
_CONFLICT = {
    "409": _json(
        {"$ref": "#/components/schemas/Error"},
        "Refused: the run_key is used by another request (the body names the existing run and "
        "both fingerprints), or the run is in the wrong state.",
    )
}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _run_paths(errors: dict[str, Any]) -> dict[str, Any]:
    run = _path("run_id", "Run id.")
    tags = {"type": "object", "additionalProperties": {"type": "string"}}
    launched = {
        "201": _json({"type": "object"}, "A new run was requested."),
        "200": _json({"type": "object"}, "The run_key was used by the same request: that run."),
        **errors,
        **_CONFLICT,
    }
    return {
        "/v1/workspaces/{ws}/runs": {
            "post": {
                "operationId": "launchRun",
                "summary": "Launch a run of an asset selection, for a partition or a range",
                "parameters": [_WS],
                "requestBody": _body(
                    {
                        "selection": {"type": "string", "description": "Dagster syntax."},
                        "partition": {"type": "string"},
                        "partition_range": {
                            "type": "object",
                            "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
                        },
                        "run_key": {"type": "string"},
                        "tags": tags,
                    },
                    ["selection"],
                ),
                "responses": launched,
            },
            "get": {
                "operationId": "listRuns",
                "summary": "Runs, newest first",
                "parameters": [_WS, _RUN_STATUS, _LIMIT, _CURSOR],
                "responses": {"200": _json({"type": "object"}, "OK."), **errors},
            },
        },
        "/v1/workspaces/{ws}/runs/{run_id}": {
            "get": {
                "operationId": "getRun",
                "summary": "One run: tasks, attempts, timings, errors, lineage",
                "parameters": [_WS, run],
                "responses": {"200": _json({"type": "object"}, "OK."), **errors},
            }
        },
        "/v1/workspaces/{ws}/runs/{run_id}/logs": {
            "get": {
                "operationId": "getRunLogs",
                "summary": "What the run's asset functions logged, oldest first",
                "parameters": [
                    _WS,
                    run,
                    {"name": "task", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json({"type": "object"}, "OK."), **errors},
            }
        },
        "/v1/workspaces/{ws}/runs/{run_id}/cancel": {
            "post": {
                "operationId": "cancelRun",
                "summary": "Cancel a run (queued: at once; started: once its workers stop)",
                "parameters": [_WS, run],
                "responses": {
                    "202": _json({"type": "object"}, "Recorded."),
                    **errors,
                    **_CONFLICT,
                },
            }
        },
        "/v1/workspaces/{ws}/runs/{run_id}/rerun": {
            "post": {
                "operationId": "rerunRun",
                "summary": "Re-execute a finished run from failure, or a selection of it",
                "parameters": [_WS, run],
                "requestBody": _body(
                    {
                        "from_failure": {"type": "boolean"},
                        "selection": {"type": "string"},
                        "run_key": {"type": "string"},
                        "tags": tags,
                    }
                ),
                "responses": launched,
            }
        },
    }


_BACKFILL_STATUS = {
    "name": "status",
    "in": "query",
    "schema": {
        "type": "string",
        "enum": [
            "REQUESTED",
            "PAUSED",
            "CANCELING",
            "CANCELED",
            "COMPLETED_SUCCESS",
            "COMPLETED_FAILED",
        ],
    },
}
_BACKFILL_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "schema": {"type": "string", "minLength": 1, "maxLength": 500},
    "description": "The same key and body return the existing backfill (200); the same key "
    "with another body is refused (409).",
}
_PARTITION_SELECTION = {
    "type": ["object", "null"],
    "description": "Which partitions of the anchor (the first partitioned asset selected); "
    "null for unpartitioned selections.",
    "required": ["kind"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": ["keys", "range", "all"]},
        "keys": {"type": "array", "items": {"type": "string"}, "maxItems": 10000},
        "first": {"type": "string", "description": "First key of a range (inclusive)."},
        "last": {"type": "string", "description": "Last key of a range (inclusive)."},
        "status": {
            "type": ["string", "null"],
            "enum": ["missing", "failed", None],
            "description": "Only partitions missing (never materialized) or failed when "
            "each chunk is planned.",
        },
    },
}


def _backfill_paths(errors: dict[str, Any]) -> dict[str, Any]:
    backfill = _path("backfill_id", "Backfill id.")
    ok = {"200": _json({"type": "object"}, "OK."), **errors}
    conflict = {
        "409": _json(
            {"$ref": "#/components/schemas/Error"},
            "Refused: the backfill's current status (in the body) does not allow it.",
        )
    }
    changed = {
        "202": _json({"type": "object"}, "Recorded (visible after compaction)."),
        **errors,
        **conflict,
    }
    created = {
        "201": _json({"type": "object"}, "A new backfill was created."),
        "200": _json({"type": "object"}, "The existing backfill (same request)."),
        **errors,
    }
    change_body = {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"request_id": {"type": "string"}},
                }
            }
        },
    }
    cancel_body = {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "request_id": {"type": "string"},
                        "cancel_runs": {
                            "type": "boolean",
                            "description": "Also cancel the backfill's runs in flight.",
                        },
                    },
                }
            }
        },
    }
    paths: dict[str, Any] = {
        "/v1/workspaces/{ws}/backfills": {
            "post": {
                "operationId": "createBackfill",
                "summary": "Backfill an asset selection over a partition selection, in chunks "
                "of runs (validated before anything is written)",
                "parameters": [_WS, _BACKFILL_IDEMPOTENCY_KEY],
                "requestBody": _body(
                    {
                        "selection": {"type": "string", "description": "Dagster syntax."},
                        "partitions": _PARTITION_SELECTION,
                        "chunk_size": {"type": "integer", "minimum": 1, "maximum": 10000},
                        "max_concurrent_runs": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1000,
                        },
                        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                    ["selection"],
                ),
                "responses": {
                    **created,
                    "409": _json(
                        {"$ref": "#/components/schemas/Error"},
                        "Refused: the Idempotency-Key was used with another body (the body "
                        "names that backfill).",
                    ),
                },
            },
            "get": {
                "operationId": "listBackfills",
                "summary": "Backfills, newest first",
                "parameters": [_WS, _BACKFILL_STATUS, _LIMIT, _CURSOR],
                "responses": ok,
            },
        },
        "/v1/workspaces/{ws}/backfills/{backfill_id}": {
            "get": {
                "operationId": "getBackfill",
                "summary": "One backfill: status, chunks, per-asset counts, partitions not started",
                "parameters": [_WS, backfill],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/backfills/{backfill_id}/runs": {
            "get": {
                "operationId": "listBackfillRuns",
                "summary": "The runs a backfill launched, oldest first",
                "parameters": [_WS, backfill],
                "responses": ok,
            }
        },
        "/v1/workspaces/{ws}/backfills/{backfill_id}/retry-failed": {
            "post": {
                "operationId": "retryFailedBackfill",
                "summary": "A new backfill over the partitions a finished one did not "
                "materialize (once per backfill)",
                "parameters": [_WS, backfill],
                "responses": {
                    **created,
                    "409": _json(
                        {"$ref": "#/components/schemas/Error"},
                        "Refused: the backfill has not finished, or nothing failed.",
                    ),
                },
            }
        },
    }
    for action, summary in (
        ("pause", "Pause a backfill: no new chunks until resumed (runs in flight go on)"),
        ("resume", "Resume a paused backfill"),
        ("cancel", "Cancel a backfill: no new chunks; optionally cancel its runs"),
    ):
        paths[f"/v1/workspaces/{{ws}}/backfills/{{backfill_id}}/{action}"] = {
            "post": {
                "operationId": f"{action}Backfill",
                "summary": summary,
                "parameters": [_WS, backfill, _IDEMPOTENCY_KEY],
                "requestBody": cancel_body if action == "cancel" else change_body,
                "responses": changed,
            }
        }
    return paths


_STALENESS_STATUSES = list(get_args(Status))
_STALENESS_FILTERS: list[dict[str, Any]] = [
    {
        "name": "selection",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Asset selection (Dagster syntax); default: every asset.",
    },
    {
        "name": "status",
        "in": "query",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": _STALENESS_STATUSES}},
        "description": "Only partitions with these statuses (repeat it, or comma-separate).",
    },
    {
        "name": "reason",
        "in": "query",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "enum": list(REASONS)}},
        "description": "Only partitions with a cause of these codes (repeat it, or "
        "comma-separate).",
    },
    {
        "name": "from",
        "in": "query",
        "schema": {"type": "string"},
        "description": "First partition key of a range (inclusive; needs 'to'). Assets "
        "without both keys are left out.",
    },
    {
        "name": "to",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Last partition key of a range (inclusive; needs 'from').",
    },
    {
        "name": "as_of",
        "in": "query",
        "schema": {"type": "string"},
        "description": "Reproduce an earlier answer: a manifest id (that published state, at "
        "its publication time) or an ISO 8601 time (the newest manifest published by then, "
        "at that time). Default: the current state, now.",
    },
]
_ROOT_CAUSES = {
    "name": "root_causes",
    "in": "query",
    "schema": {"type": "boolean", "default": False},
    "description": "Also give each STALE partition's root causes: follow stale upstreams to "
    "where each change began.",
}
_STALENESS_LIMIT = {
    "name": "limit",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
}
_AS_OF = {
    "type": "object",
    "required": ["manifest_id", "time"],
    "properties": {
        "manifest_id": {"type": "integer"},
        "time": {"type": "string", "format": "date-time"},
    },
}
_COUNTS = {
    "type": "object",
    "required": ["partitions", *_STALENESS_STATUSES, "by_reason"],
    "properties": {
        "partitions": {"type": "integer"},
        **{s: {"type": "integer"} for s in _STALENESS_STATUSES},
        "by_reason": {
            "type": "object",
            "description": "Partitions with a cause of each code.",
            "additionalProperties": {"type": "integer"},
        },
    },
}
_CAUSE = {
    "type": "object",
    "required": ["code", "since", "since_ms"],
    "properties": {
        "code": {"type": "string", "enum": list(REASONS)},
        "since": {"type": "string", "format": "date-time"},
        "since_ms": {"type": "integer"},
        "upstream_asset": {"type": "string"},
        "upstream_partition": {"type": ["string", "null"]},
        "recorded": {"type": "string", "description": "The version recorded (evidence)."},
        "current": {"type": "string", "description": "The version now (evidence)."},
        "materialization": {"type": "string", "description": "The upstream run that changed."},
    },
}
_STALENESS_SCHEMAS = {
    "StalenessCause": _CAUSE,
    "StalenessReport": {
        "type": "object",
        "required": ["as_of", "summary", "items", "next_cursor"],
        "properties": {
            "as_of": _AS_OF,
            "summary": _COUNTS,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "asset",
                        "partition",
                        "status",
                        "stale_since",
                        "stale_since_ms",
                        "causes",
                    ],
                    "properties": {
                        "asset": {"type": "string"},
                        "partition": {"type": ["string", "null"]},
                        "status": {"type": "string", "enum": _STALENESS_STATUSES},
                        "stale_since": {"type": ["string", "null"], "format": "date-time"},
                        "stale_since_ms": {"type": ["integer", "null"]},
                        "causes": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/StalenessCause"},
                        },
                        "root_causes": {
                            "type": "array",
                            "description": "With root_causes=true, for STALE partitions: "
                            "causes, each naming the asset and partition it belongs to.",
                            "items": {
                                "allOf": [
                                    {"$ref": "#/components/schemas/StalenessCause"},
                                    {
                                        "type": "object",
                                        "required": ["asset", "partition"],
                                        "properties": {
                                            "asset": {"type": "string"},
                                            "partition": {"type": ["string", "null"]},
                                        },
                                    },
                                ]
                            },
                        },
                    },
                },
            },
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "StalenessSummary": {
        "type": "object",
        "required": ["as_of", "summary", "assets"],
        "properties": {
            "as_of": _AS_OF,
            "summary": _COUNTS,
            "assets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["asset", "partitions", *_STALENESS_STATUSES, "reasons"],
                    "properties": {
                        "asset": {"type": "string"},
                        "partitions": {"type": "integer"},
                        **{s: {"type": "integer"} for s in _STALENESS_STATUSES},
                        "stale_since": {"type": ["string", "null"], "format": "date-time"},
                        "reasons": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
}


def _staleness_paths(errors: dict[str, Any]) -> dict[str, Any]:
    errors = {
        **errors,
        "400": _json(
            _ERROR,
            "Bad filters: an unknown status or reason, a bad limit, cursor or as_of, 'from' "
            "without 'to', a selection that matches no asset.",
        ),
        "404": _json(_ERROR, "No such manifest (as_of), or nothing deployed as of that state."),
    }
    return {
        "/v1/workspaces/{ws}/staleness": {
            "get": {
                "operationId": "getStaleness",
                "summary": "Asset partitions FRESH, STALE (with causes) or MISSING, in "
                "dependency then partition order, paginated (every page reads the state of "
                "the first)",
                "parameters": [
                    _WS,
                    *_STALENESS_FILTERS,
                    _STALENESS_LIMIT,
                    _CURSOR,
                    _ROOT_CAUSES,
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/StalenessReport"}, "One page."),
                    **errors,
                },
            }
        },
        "/v1/workspaces/{ws}/staleness/summary": {
            "get": {
                "operationId": "getStalenessSummary",
                "summary": "Per asset: partitions FRESH, STALE and MISSING, stale since when, "
                "and the reasons",
                "parameters": [_WS, *_STALENESS_FILTERS],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/StalenessSummary"}, "Per asset."),
                    **errors,
                },
            }
        },
    }


_AS_OF_PARAMETER = next(p for p in _STALENESS_FILTERS if p["name"] == "as_of")
_OUTCOMES = ["launched", "existing", "would_launch", "held_by_rate_limit", "not_opted_in"]
_SELECTION = {"type": "string", "description": "Asset selection (Dagster syntax); default: all."}
_MAX_RUNS = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}
_MAX_PARTITIONS = {"type": "integer", "minimum": 1, "maximum": 100000, "default": 10000}
_INCLUDE_MISSING = {
    "type": "boolean",
    "default": False,
    "description": "Also plan MISSING (never materialized) partitions, not only STALE ones.",
}
_RUN_OUTCOME = {
    "type": "object",
    "required": ["run_key", "selection", "partition", "outcome", "run_id"],
    "properties": {
        "run_key": {"type": "string"},
        "selection": {"type": "string"},
        "partition": {"type": ["string", "null"]},
        "outcome": {"type": "string", "enum": _OUTCOMES},
        "run_id": {"type": ["string", "null"]},
    },
}
_RECONCILIATION_SCHEMAS = {
    "ReconciliationPlan": {
        "type": "object",
        "required": ["as_of", "plan_hash", "runs", "summary"],
        "properties": {
            "as_of": _AS_OF,
            "plan_hash": {
                "type": "string",
                "description": "A hash of the runs' keys: the same state, the same hash.",
            },
            "runs": {
                "type": "array",
                "description": "In dependency then partition order.",
                "items": {
                    "type": "object",
                    "required": [
                        "run_key",
                        "selection",
                        "assets",
                        "partition",
                        "opted_in",
                        "targets",
                    ],
                    "properties": {
                        "run_key": {
                            "type": "string",
                            "description": "Derived from what the run fixes.",
                        },
                        "selection": {"type": "string"},
                        "assets": {"type": "array", "items": {"type": "string"}},
                        "partition": {"type": ["string", "null"]},
                        "opted_in": {
                            "type": "boolean",
                            "description": "Every target's asset opted in (execution "
                            "launches only the part that did).",
                        },
                        "targets": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["asset", "partition", "status", "opted_in", "causes"],
                                "properties": {
                                    "asset": {"type": "string"},
                                    "partition": {"type": ["string", "null"]},
                                    "status": {
                                        "type": "string",
                                        "enum": _STALENESS_STATUSES,
                                        "description": "FRESH: downstream of a target "
                                        "(cause UPSTREAM_PLANNED).",
                                    },
                                    "opted_in": {"type": "boolean"},
                                    "causes": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                        },
                    },
                },
            },
            "summary": {
                "type": "object",
                "required": [
                    "runs",
                    "targets",
                    "targets_total",
                    "left_out_in_flight",
                    "truncated",
                ],
                "properties": {
                    "runs": {"type": "integer"},
                    "targets": {"type": "integer"},
                    "targets_total": {
                        "type": "integer",
                        "description": "STALE (and MISSING, when asked) partitions selected.",
                    },
                    "left_out_in_flight": {
                        "type": "integer",
                        "description": "Of those, the ones a run in flight covers.",
                    },
                    "truncated": {
                        "type": "boolean",
                        "description": "The limits cut the plan short.",
                    },
                },
            },
        },
    },
    "ReconciliationExecution": {
        "type": "object",
        "required": ["mode", "enabled", "plan", "outcomes", "counts", "ledger_object"],
        "properties": {
            "mode": {
                "type": "string",
                "enum": ["dry_run", "execute"],
                "description": "dry_run when asked, or when the workspace setting "
                "reconciliation.dry_run is on.",
            },
            "enabled": {"type": "boolean", "description": "reconciliation.enabled."},
            "plan": {"$ref": "#/components/schemas/ReconciliationPlan"},
            "outcomes": {"type": "array", "items": _RUN_OUTCOME},
            "counts": {
                "type": "object",
                "description": "Runs per outcome.",
                "additionalProperties": {"type": "integer"},
            },
            "ledger_object": {"type": "string", "description": "Where it was recorded."},
        },
    },
    "ReconciliationLog": {
        "type": "object",
        "required": ["log"],
        "properties": {
            "log": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "evaluation_id",
                        "trigger",
                        "mode",
                        "plan_hash",
                        "runs",
                        "launched",
                        "would_launch",
                        "held_by_rate_limit",
                        "not_opted_in",
                        "evaluated_ms",
                    ],
                    "properties": {
                        "evaluation_id": {"type": "string"},
                        "trigger": {"type": "string", "enum": ["manual", "timer"]},
                        "mode": {"type": "string", "enum": ["dry_run", "execute"]},
                        "plan_hash": {"type": "string"},
                        "runs": {"type": "array", "items": _RUN_OUTCOME},
                        "launched": {"type": "integer"},
                        "would_launch": {"type": "integer"},
                        "held_by_rate_limit": {"type": "integer"},
                        "not_opted_in": {"type": "integer"},
                        "evaluated_ms": {"type": "integer"},
                    },
                },
            }
        },
    },
}


def _reconciliation_paths(errors: dict[str, Any]) -> dict[str, Any]:
    bad = {
        "400": _json(
            _ERROR,
            "Bad input: max_runs or max_partitions out of range or not an integer, "
            "include_missing not true or false, a bad as_of, a selection that matches no "
            "asset, a body that is not a JSON object or has unknown fields.",
        ),
    }
    return {
        "/v1/workspaces/{ws}/reconciliation/plan": {
            "get": {
                "operationId": "getReconciliationPlan",
                "summary": "The runs that would bring a selection back to FRESH: its STALE "
                "partitions (and MISSING ones when asked) and their downstream, one run per "
                "partition in dependency order, leaving out what a run in flight covers "
                "(deterministic: the same state gives the same plan)",
                "parameters": [
                    _WS,
                    {"name": "selection", "in": "query", "schema": _SELECTION},
                    {"name": "include_missing", "in": "query", "schema": _INCLUDE_MISSING},
                    {"name": "max_runs", "in": "query", "schema": _MAX_RUNS},
                    {"name": "max_partitions", "in": "query", "schema": _MAX_PARTITIONS},
                    _AS_OF_PARAMETER,
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/ReconciliationPlan"}, "The plan."),
                    **errors,
                    **bad,
                    "404": _json(_ERROR, "No such manifest (as_of), or nothing deployed."),
                },
            }
        },
        "/v1/workspaces/{ws}/reconciliation/execute": {
            "post": {
                "operationId": "executeReconciliation",
                "summary": "Plan, then launch the runs for the assets that opted in, within "
                "reconciliation.max_runs_per_hour; a dry run (asked, or the setting "
                "reconciliation.dry_run) launches nothing. Recorded either way (in the log "
                "after the next compaction); the same plan again launches nothing new",
                "parameters": [_WS],
                "requestBody": {
                    **_body(
                        {
                            "selection": _SELECTION,
                            "dry_run": {
                                "type": "boolean",
                                "default": False,
                                "description": "Record the would-be runs, launch nothing "
                                "(allowed while reconciliation is disabled).",
                            },
                            "include_missing": _INCLUDE_MISSING,
                            "max_runs": _MAX_RUNS,
                            "max_partitions": _MAX_PARTITIONS,
                        }
                    ),
                    "required": False,
                },
                "responses": {
                    "200": _json(
                        {"$ref": "#/components/schemas/ReconciliationExecution"},
                        "What was launched, or would be.",
                    ),
                    **errors,
                    **bad,
                    "409": _json(
                        _ERROR,
                        "Refused: reconciliation is disabled in this workspace (the error "
                        'names the setting: "setting": "reconciliation.enabled"); a dry run '
                        "works without it.",
                    ),
                },
            }
        },
        "/v1/workspaces/{ws}/reconciliation/log": {
            "get": {
                "operationId": "getReconciliationLog",
                "summary": "Reconciliation executions and dry runs (manual or by the timer), "
                "newest first",
                "parameters": [
                    _WS,
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20},
                    },
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/ReconciliationLog"}, "The log."),
                    **errors,
                },
            }
        },
    }
