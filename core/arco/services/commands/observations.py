"""Recording an observed data version of an asset (`arco observe`, the API, sensors)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arco.domain.errors import InvalidInput, NotFound
from arco.domain.names import validate_key_component
from arco.domain.observations import ASSET_OBSERVED, AssetObserved, observation_key
from arco.ledger.writer import NewEvent
from arco.services.queries.definitions import dynamic_partition_keys, require_definitions
from arco.services.workspace import Workspace


def observe_asset(
    ws: Workspace,
    asset: str,
    data_version: str,
    partition: str | None,
    request_id: str,
    observed_by: str,
    now: datetime,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record `data_version` as the current data version of a deployed asset (partition);
    nothing is written on bad input."""
    snapshot = ws.snapshot()
    defs = require_definitions(ws, snapshot)
    node = defs.assets.get(asset)
    if node is None:
        raise NotFound(f"asset {asset!r} is not deployed in workspace {ws.name!r}")
    validate_key_component(request_id, "request id")
    if node.partitions is None:
        if partition is not None:
            raise InvalidInput(f"asset {asset!r} is not partitioned: give no partition")
    else:
        if partition is None:
            raise InvalidInput(f"asset {asset!r} is partitioned: give the observed partition")
        try:
            node.partitions.validate_key(partition, now, dynamic_partition_keys(snapshot))
        except InvalidInput as exc:
            raise InvalidInput(f"asset {asset!r}: {exc}") from exc
    try:
        payload = AssetObserved(
            asset=asset,
            partition=partition,
            data_version=data_version,
            metadata=metadata or {},
            observed_by=observed_by,
            request_id=request_id,
        )
    except ValueError as exc:
        raise InvalidInput(f"observation of {asset!r}: {exc}") from exc
    result = ws.writer.append(
        [NewEvent(ASSET_OBSERVED, payload, observation_key(asset, partition, request_id))]
    )
    return {
        "asset": asset,
        "partition": partition,
        "data_version": data_version,
        "ledger_object": result.object_name,
    }
