"""Metadata values and `Output`, as Dagster's asset functions write them.

```python
@asset(metadata={"owner_url": MetadataValue.url("https://wiki/team")})
def stories(context) -> Output[list[int]]:
    ids = fetch()
    return Output(ids, metadata={"count": len(ids), "preview": MetadataValue.md("...")})
```

Arco records metadata as JSON: a `MetadataValue` is stored as its plain value (a URL or a
Markdown text as a string, a JSON value as itself), anything else not JSON-able as its `str`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from arco.domain.errors import InvalidInput

__all__ = ["MetadataValue", "Output", "normalise_metadata"]

T = TypeVar("T")


@dataclass(frozen=True)
class MetadataValue:
    """One typed metadata value (`MetadataValue.url(...)`, `.md(...)`, `.int(...)`...)."""

    kind: str
    value: Any

    @staticmethod
    def text(value: str) -> MetadataValue:
        return MetadataValue("text", str(value))

    @staticmethod
    def md(value: str) -> MetadataValue:
        return MetadataValue("md", str(value))

    @staticmethod
    def url(value: str) -> MetadataValue:
        return MetadataValue("url", str(value))

    @staticmethod
    def path(value: Any) -> MetadataValue:
        return MetadataValue("path", str(value))

    @staticmethod
    def notebook(value: Any) -> MetadataValue:
        return MetadataValue("notebook", str(value))

    @staticmethod
    def json(value: Any) -> MetadataValue:
        return MetadataValue("json", value)

    @staticmethod
    def int(value: int) -> MetadataValue:
        return MetadataValue("int", value)

    @staticmethod
    def float(value: float) -> MetadataValue:
        return MetadataValue("float", value)

    @staticmethod
    def bool(value: bool) -> MetadataValue:
        return MetadataValue("bool", value)

    @staticmethod
    def timestamp(value: Any) -> MetadataValue:
        return MetadataValue(
            "timestamp", value.timestamp() if hasattr(value, "timestamp") else value
        )

    @staticmethod
    def null() -> MetadataValue:
        return MetadataValue("null", None)


@dataclass(frozen=True)
class Output(Generic[T]):
    """An asset function's return value with metadata (and optionally a data version)."""

    value: T
    metadata: Mapping[str, Any] | None = None
    data_version: Any = None
    output_name: str = "result"  # which output of a @multi_asset


def _plain(value: Any) -> Any:
    if isinstance(value, MetadataValue):
        value = value.value
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return str(value)
    return value


def normalise_metadata(metadata: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    """Metadata as JSON: string keys; MetadataValues as their values; others as `str`."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInput(f"{owner}: metadata must be a mapping, not {type(metadata).__name__}")
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidInput(f"{owner}: metadata keys must be non-empty strings, not {key!r}")
        out[key] = _plain(value)
    return out
