"""Definitions from their snapshots (the inverse of `PartitionsDefinition.to_snapshot`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import PartitionsDefinition
from arco.domain.partitions.dynamic import DynamicPartitionsDefinition
from arco.domain.partitions.multi import MultiPartitionsDefinition
from arco.domain.partitions.static import StaticPartitionsDefinition
from arco.domain.partitions.time_window import TimeWindowPartitionsDefinition


def partitions_from_snapshot(data: Mapping[str, Any]) -> PartitionsDefinition:
    """Rebuild a definition from `to_snapshot()` output; InvalidInput if it is malformed."""
    if not isinstance(data, Mapping):
        raise InvalidInput(f"partitions snapshot must be an object, got {data!r}")
    kind = data.get("kind")
    try:
        if kind == StaticPartitionsDefinition.kind:
            return StaticPartitionsDefinition(data["keys"])
        if kind == DynamicPartitionsDefinition.kind:
            return DynamicPartitionsDefinition(data["name"])
        if kind == TimeWindowPartitionsDefinition.kind:
            return TimeWindowPartitionsDefinition.from_snapshot(data)
        if kind == MultiPartitionsDefinition.kind:
            dimensions = data["dimensions"]
            if not isinstance(dimensions, Mapping):
                raise InvalidInput(f"multi partitions snapshot: bad dimensions {dimensions!r}")
            return MultiPartitionsDefinition(
                {name: partitions_from_snapshot(dim) for name, dim in dimensions.items()}
            )
    except KeyError as exc:
        raise InvalidInput(f"{kind} partitions snapshot is missing {exc.args[0]!r}") from None
    raise InvalidInput(
        f"unknown partitions kind {kind!r} (expected static, time_window, dynamic or multi)"
    )
