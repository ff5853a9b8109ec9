"""What an asset function sees when Arco runs it, and what it may return.

```python
from arco.sdk import AssetExecutionContext, MaterializeResult, asset

@asset(partitions_def=daily)
def orders(context: AssetExecutionContext) -> MaterializeResult:
    window = context.partition_time_window
    context.log.info("loading %s .. %s", window.start, window.end)
    return MaterializeResult(metadata={"rows": 1200}, data_version="v-2024-01-01")
```

As in Dagster, a leading parameter named `context` receives the context, and parameters
annotated as resources receive the location's resources. Arco does not move data between
assets yet (no IO managers): input parameters receive None, and assets read their upstream
data from where the upstream asset wrote it. A return value that is not a
`MaterializeResult` or an `Output` is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from arco.domain.errors import InvalidInput
from arco.domain.partitions.time_window import TimeWindow


@dataclass(frozen=True)
class DataVersion:
    """A user-computed version of the data an asset produced (Dagster's DataVersion)."""

    value: str


@dataclass
class MaterializeResult:
    """Optional return value of an asset function: metadata and a data version to record."""

    metadata: Mapping[str, Any] | None = None
    data_version: str | DataVersion | None = None
    asset_key: Any = None  # which asset of a @multi_asset this result is for


class PartitionKeyRange(NamedTuple):
    """First and last partition key of a range (inclusive), as Dagster's."""

    start: str
    end: str


@dataclass
class AssetExecutionContext:
    """The run, asset, partition and logger of one task attempt."""

    run_id: str
    asset_key: str
    partition_key_or_none: str | None
    attempt: int
    log: logging.Logger
    time_window: TimeWindow | None = None
    run_tags: Mapping[str, str] = field(default_factory=dict)
    output_metadata: dict[str, Any] = field(default_factory=dict)
    resources: Any = None  # `context.resources.<key>`: a Resources namespace
    op_config: Any = None  # the asset's run configuration, defaults filled in (a dict)
    # A @multi_asset's function runs once per asset it materializes: this one asset.
    selected_asset_keys: Any = None
    selected_output_names: Any = None

    @property
    def run(self) -> Any:
        """`context.run.run_id` and `context.run.tags`, as Dagster's DagsterRun."""
        return _Run(self.run_id, dict(self.run_tags))

    @property
    def partition_keys(self) -> list[str]:
        """The partitions this task materializes: Arco runs one partition per task."""
        return [self.partition_key]

    @property
    def partition_key_range(self) -> PartitionKeyRange:
        return PartitionKeyRange(self.partition_key, self.partition_key)

    @property
    def has_partition_key(self) -> bool:
        return self.partition_key_or_none is not None

    @property
    def partition_key(self) -> str:
        """The partition being materialized (an error for an unpartitioned asset, as in
        Dagster)."""
        if self.partition_key_or_none is None:
            raise InvalidInput(f"asset {self.asset_key!r} is not partitioned: no partition key")
        return self.partition_key_or_none

    @property
    def partition_time_window(self) -> TimeWindow:
        if self.time_window is None:
            raise InvalidInput(
                f"asset {self.asset_key!r} has no time-window partitions: no time window"
            )
        return self.time_window

    @property
    def retry_number(self) -> int:
        """0 on the first attempt, as in Dagster."""
        return self.attempt - 1

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.output_metadata.update(metadata)


@dataclass(frozen=True)
class _Run:
    run_id: str
    tags: Mapping[str, str]


def build_asset_context(
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    run_tags: Mapping[str, str] | None = None,
    asset_config: Mapping[str, Any] | None = None,
) -> AssetExecutionContext:
    """A context for calling an asset function directly in a test (Dagster's
    `build_asset_context`). Resources are handed over as given (no setup, no EnvVar reading);
    `partition_time_window` is not known without the asset's partitions definition."""
    from arco.sdk.resources import Resources

    return AssetExecutionContext(
        run_id="test-run",
        asset_key="",
        partition_key_or_none=partition_key,
        attempt=1,
        log=logging.getLogger("arco.asset.test"),
        run_tags=dict(run_tags or {}),
        resources=Resources(**dict(resources or {})),
        op_config=dict(asset_config) if asset_config is not None else None,
    )
