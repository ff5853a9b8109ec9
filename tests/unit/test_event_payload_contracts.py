"""Persisted contracts, pinned in `event_payload_schemas.json`: every event payload's schema
(what the ledger accepts: types, bounds, required fields, no unknown fields) with the event's
description, and every projection table (key, typed columns, description). Every domain model
is immutable. A deliberate change regenerates the file:

    ARCO_UPDATE_PAYLOAD_SCHEMAS=1 .venv/bin/pytest tests/unit/test_event_payload_contracts.py
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import arco.domain
from arco.domain.catalog import default_registry

PINNED = Path(__file__).with_name("event_payload_schemas.json")


def current() -> dict[str, Any]:
    registry = default_registry()
    events = {
        f"{name}@{event.version}": {
            "description": event.description,
            "payload": event.payload.model_json_schema(),
        }
        for name, event in sorted(registry.events.items())
    }
    tables = {
        f"table:{spec.name}": {
            "key": list(spec.key),
            "columns": [[c.name, c.type] for c in spec.all_columns],
            "description": spec.description,
        }
        for spec in sorted(registry.tables.values(), key=lambda t: t.name)
    }
    return {**events, **tables}


def test_payload_schemas_are_the_pinned_ones() -> None:
    schemas = current()
    if os.environ.get("ARCO_UPDATE_PAYLOAD_SCHEMAS") == "1":
        PINNED.write_text(json.dumps(schemas, indent=1, sort_keys=True) + "\n")
    pinned = json.loads(PINNED.read_text())
    assert sorted(schemas) == sorted(pinned)
    for name in pinned:
        assert schemas[name] == pinned[name], name


def _domain_models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.walk_packages(arco.domain.__path__, "arco.domain."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__ == module.__name__
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


@pytest.mark.parametrize("model", _domain_models(), ids=lambda m: m.__qualname__)
def test_every_domain_model_is_frozen_and_refuses_unknown_fields(model: type[BaseModel]) -> None:
    assert model.model_config.get("frozen") is True
    assert model.model_config.get("extra") == "forbid"
