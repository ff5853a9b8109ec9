"""The OpenAPI document of the HTTP API. A test checks it against the app's routes."""

from __future__ import annotations

from typing import Any

from arco import __version__

_ERROR = {"$ref": "#/components/schemas/Error"}
_WS = {
    "name": "ws",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Workspace name.",
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
            }
        },
    }
