"""The fold of `asset.observed`: an observation makes its data version the partition's current
one, as a materialization outside any run would (mutation survivors of
`domain/observations.py`, issue 15)."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.catalog import default_registry
from arco.domain.observations import ASSET_OBSERVED, OBSERVATION_RUN, AssetObserved
from arco.domain.runs import PARTITION_STATUS
from tests.factories import BASE_MS, FoldProjection, envelope, ulid_at

REGISTRY = default_registry()


def _observed(ms: int, version: str, partition: str | None = None, **metadata: Any) -> Any:
    payload = AssetObserved(
        asset="src",
        partition=partition,
        data_version=version,
        metadata=metadata,
        request_id=f"r{ms}",
    )
    event_id = ulid_at(ms)
    return envelope(ASSET_OBSERVED, payload, f"observation:{event_id}", ms, event_id)


def _row(projection: FoldProjection, partition: str = "") -> dict[str, Any]:
    return dict(projection.state.rows(PARTITION_STATUS.name)[("src", partition)])


def test_an_observation_becomes_the_partitions_current_version() -> None:
    projection = FoldProjection(REGISTRY)
    first = _observed(BASE_MS, "v1", b=2, a=1)
    assert projection.deliver(first) == ["applied"]
    row = _row(projection)
    assert row["materialized_run_id"] == OBSERVATION_RUN
    assert row["materialized_ms"] == BASE_MS
    assert row["materialized_data_version"] == "v1"
    assert row["materialized_data_version_since_ms"] == BASE_MS
    assert row["materialized_metadata"] == json.dumps({"a": 1, "b": 2})
    assert row["materialized_version"] == first.event_id
    assert row["materialized_data_version_provided"] is True
    assert row["row_version"] == first.event_id


def test_the_same_version_observed_again_keeps_its_since_time() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_observed(BASE_MS, "v1"), _observed(BASE_MS + 1000, "v1"))
    row = _row(projection)
    assert (row["materialized_ms"], row["materialized_data_version_since_ms"]) == (
        BASE_MS + 1000,
        BASE_MS,
    )
    projection.deliver(_observed(BASE_MS + 2000, "v2"))
    assert _row(projection)["materialized_data_version_since_ms"] == BASE_MS + 2000


def test_an_older_observation_is_superseded_by_the_current_version() -> None:
    projection = FoldProjection(REGISTRY)
    later = _observed(BASE_MS + 5000, "v2", partition="p")
    older = _observed(BASE_MS, "v1", partition="p")
    assert projection.deliver(later, older) == ["applied", "superseded"]
    row = _row(projection, "p")
    assert (row["materialized_data_version"], row["materialized_version"]) == (
        "v2",
        later.event_id,
    )


def test_two_observations_of_one_partition_in_one_event_leave_the_last() -> None:
    # (a sensor's evaluation reporting the same partition twice, as Dagster records both)
    from arco.domain.fold import FoldContext
    from arco.domain.observations import record_observation
    from arco.domain.state import FoldState, StagedState

    event = _observed(BASE_MS, "v0")
    staged = StagedState(FoldState())
    ctx = FoldContext(staged, REGISTRY, event)
    record_observation(ctx, "src", None, "first", {})
    record_observation(ctx, "src", None, "second", {})
    row = staged.get(PARTITION_STATUS.name, ("src", ""))
    assert row is not None and row["materialized_data_version"] == "second"
