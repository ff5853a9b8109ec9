"""Observations: the data version of an asset Arco does not materialize (a source), reported
from outside a run. Pure.

`arco observe`, `POST /assets/{asset}/observations` and sensors record `asset.observed`; the
fold makes it the asset partition's current data version, exactly where a materialization
puts its own, so the staleness report and the provenance of later materializations read it
the same way. The run column says `observation`: no run produced it. (An
`@observable_source_asset` is observed by running its function as a task instead: its
DataVersion is recorded like a materialization's.)
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.runs import PARTITION_STATUS
from arco.domain.tables import ROW_VERSION

ASSET_OBSERVED = "asset.observed"
OBSERVATION_RUN = "observation"  # what the run column of an observed partition says


class AssetObserved(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    asset: str = Field(min_length=1, max_length=500)
    partition: str | None = Field(default=None, min_length=1, max_length=500)
    data_version: str = Field(min_length=1, max_length=500)
    metadata: dict[str, object] = Field(default_factory=dict)
    observed_by: str = Field(default="unknown", max_length=200)
    request_id: str = Field(min_length=1, max_length=200)


def observation_key(asset: str, partition: str | None, request_id: str) -> str:
    return f"observation:{asset}:{partition or ''}:{request_id}"


def fold_observed(ctx: FoldContext, event: AssetObserved) -> Outcome:
    return record_observation(ctx, event.asset, event.partition, event.data_version, event.metadata)


def record_observation(
    ctx: FoldContext,
    asset: str,
    partition: str | None,
    data_version: str,
    metadata: dict[str, object],
) -> Outcome:
    """Make `data_version` the partition's current version (an observation by this event)."""
    key = (asset, partition or "")
    original = ctx.get(PARTITION_STATUS.name, *key)
    row = dict(original or {"asset": key[0], "partition": key[1]})
    row.pop(ROW_VERSION, None)
    if (row.get("materialized_version") or "") > ctx.event_id:
        # A later observation or materialization is current. (One event's own earlier
        # observation is not: a sensor reporting a partition twice leaves the last, as Dagster.)
        return Outcome.SUPERSEDED
    if row.get("materialized_data_version") != data_version:
        row["materialized_data_version_since_ms"] = ctx.time_ms
    row.update(
        materialized_run_id=OBSERVATION_RUN,
        materialized_ms=ctx.time_ms,
        materialized_data_version=data_version,
        materialized_metadata=json.dumps(metadata, sort_keys=True, default=str),
        materialized_version=ctx.event_id,
        materialized_data_version_provided=True,
    )
    ctx.put(PARTITION_STATUS.name, row)  # keeps a newer stamp of the row (a later attempt's)
    return Outcome.APPLIED


def install(registry: Registry) -> None:
    registry.add_event(
        EventType(
            name=ASSET_OBSERVED,
            version=1,
            payload=AssetObserved,
            rule=fold_observed,
            description="An asset partition's data version, observed outside a run.",
        )
    )
