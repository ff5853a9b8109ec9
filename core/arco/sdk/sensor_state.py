"""What a sensor's function may read of the workspace, in Dagster's shapes (re-exported by
`arco.sdk`): `context.instance`, materialization records, runs, and the dynamic partition
requests a `SensorResult` may carry.

The worker gives each evaluation an instance reading the published state; called directly (in a
test), a context has an empty one. Storage ids are the ids of the events that recorded the
materialization (ULIDs: they sort by time), where Dagster has integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arco.domain.errors import InvalidInput
from arco.sdk.assets import AssetKey

__all__ = [
    "AddDynamicPartitionsRequest",
    "AssetMaterialization",
    "AssetObservation",
    "DagsterRun",
    "DeleteDynamicPartitionsRequest",
    "EventLogEntry",
    "EventLogRecord",
    "RunFailureEvent",
    "SensorInstance",
]


@dataclass(frozen=True)
class AssetMaterialization:
    asset_key: AssetKey
    partition: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _DagsterEvent:
    asset_key: AssetKey
    partition: str | None
    event_type_value: str = "ASSET_MATERIALIZATION"


@dataclass(frozen=True)
class EventLogEntry:
    """One materialization, as Dagster's event log entry shows it."""

    run_id: str
    timestamp: float
    asset_materialization: AssetMaterialization

    @property
    def dagster_event(self) -> _DagsterEvent:
        m = self.asset_materialization
        return _DagsterEvent(m.asset_key, m.partition)


@dataclass(frozen=True)
class EventLogRecord:
    """A materialization with its storage id (the order sensors consume them in)."""

    storage_id: str
    event_log_entry: EventLogEntry

    @property
    def asset_key(self) -> AssetKey:
        return self.event_log_entry.asset_materialization.asset_key

    @property
    def partition_key(self) -> str | None:
        return self.event_log_entry.asset_materialization.partition

    @property
    def run_id(self) -> str:
        return self.event_log_entry.run_id

    @property
    def timestamp(self) -> float:
        return self.event_log_entry.timestamp


@dataclass(frozen=True)
class DagsterRun:
    """A finished run, as a run-status sensor sees it."""

    run_id: str
    status: str
    tags: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    asset_selection: frozenset[AssetKey] = frozenset()


@dataclass(frozen=True)
class RunFailureEvent:
    """Why a run failed (`context.failure_event.message`)."""

    message: str


class SensorInstance:
    """Dagster's `context.instance`, as far as a sensor needs it. This one is empty: the worker
    passes one that reads the workspace's published state."""

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in self.get_dynamic_partitions(partitions_def_name)

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        return []

    def latest_materialization(self, asset_key: str, after: str | None) -> EventLogRecord | None:
        """The newest materialization of `asset_key` (any partition) with a storage id above
        `after`, or None."""
        return None

    lookback_ms: int = 0
    """How late an event may be folded after a later one (the ledger's lookback window)."""

    def runs_ended_since(
        self, statuses: Sequence[str], since_ms: int
    ) -> list[tuple[int, DagsterRun, str | None]]:
        """Runs that ended in one of `statuses` after `since_ms`, oldest first:
        (end time, run, error)."""
        return []

    def last_run_end_ms(self) -> int | None:
        """When the most recently ended run ended (a new run-status sensor starts there)."""
        return None


DATA_VERSION_TAG = "dagster/data_version"


@dataclass(frozen=True)
class AssetObservation:
    """An asset's observed data version, for `SensorResult(asset_events=[...])`: Dagster puts
    it in `tags={"dagster/data_version": ...}`; `data_version=` says the same."""

    asset_key: Any
    partition: str | None = None
    metadata: Mapping[str, Any] | None = None
    tags: Mapping[str, str] | None = None
    data_version: Any = None

    @property
    def observed_version(self) -> str | None:
        value = self.data_version
        if value is None and self.tags:
            value = self.tags.get(DATA_VERSION_TAG)
        return None if value is None else str(getattr(value, "value", value))


@dataclass(frozen=True)
class AddDynamicPartitionsRequest:
    """Add keys to a dynamic partitions definition (keys already there are left as they are)."""

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        _check_keys(self.partitions_def_name, self.partition_keys, type(self).__name__)


@dataclass(frozen=True)
class DeleteDynamicPartitionsRequest:
    """Delete keys from a dynamic partitions definition (keys not there are skipped)."""

    partitions_def_name: str
    partition_keys: Sequence[str]

    def __post_init__(self) -> None:
        _check_keys(self.partitions_def_name, self.partition_keys, type(self).__name__)


def _check_keys(name: Any, keys: Any, what: str) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{what}: partitions_def_name must be a non-empty string")
    if isinstance(keys, str) or not all(isinstance(k, str) for k in keys):
        raise InvalidInput(f"{what}: partition_keys must be a list of strings")
