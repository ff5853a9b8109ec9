"""IO managers: how an asset's return value is stored and how its downstreams receive it.

```python
@asset(partitions_def=hourly)
def items() -> pd.DataFrame: ...                 # stored by the "io_manager" resource

@asset
def stories(items: dict[str, pd.DataFrame]) -> None: ...   # every hourly partition, by key
```

Dagster's contract: `handle_output(context, obj)` stores a value, `load_input(context)` returns
one. Without an `"io_manager"` resource, `ObjectStoreIOManager` stores pickled values in the
workspace's own store (the local directory or the `gs://` bucket, under the workspace's
`io/` prefix); `ParquetIOManager` stores Arrow tables and pandas DataFrames as Parquet files
there. An input that reads several upstream partitions receives a dict `{partition key:
value}`, as Dagster's file IO managers give it. Only values an asset returns are stored (not
None, not a `MaterializeResult`). Unlike Dagster's, a value that was never stored is not an
error: a single input receives None, and a dict leaves that partition out (a warning is
logged) — assets that return nothing keep working downstream.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

from pydantic import PrivateAttr

from arco.domain.errors import InvalidInput
from arco.sdk.assets import AssetKey
from arco.sdk.resources import ConfigurableResource, InitResourceContext, ResourceDefinition

__all__ = [
    "ConfigurableIOManager",
    "IOManager",
    "IOManagerDefinition",
    "InputContext",
    "ObjectStoreIOManager",
    "OutputContext",
    "ParquetIOManager",
    "io_manager",
]

DEFAULT_IO_MANAGER_KEY = "io_manager"


@dataclass
class OutputContext:
    """What `handle_output` knows about the value it stores."""

    asset_key: AssetKey
    partition: str | None  # the partition materialized (None: unpartitioned)
    run_id: str
    log: logging.Logger
    definition_metadata: Mapping[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)  # added to the materialization

    @property
    def has_partition_key(self) -> bool:
        return self.partition is not None

    @property
    def has_asset_partitions(self) -> bool:
        return self.partition is not None

    @property
    def partition_key(self) -> str:
        """The partition materialized; an error for an unpartitioned asset, as in Dagster."""
        if self.partition is None:
            raise InvalidInput(f"asset {self.asset_key} is not partitioned: no partition key")
        return self.partition

    @property
    def asset_partition_key(self) -> str:
        return self.partition_key

    @property
    def asset_partition_keys(self) -> list[str]:
        return [self.partition_key]

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        self.metadata.update(metadata)


@dataclass
class InputContext:
    """What `load_input` knows: the upstream asset and partitions to load, for whom."""

    asset_key: AssetKey  # the upstream asset
    upstream_partitions: Sequence[str] | None  # the upstream partitions read; None: unpartitioned
    partition: str | None  # the partition of the asset being materialized
    name: str  # the parameter
    log: logging.Logger
    metadata: Mapping[str, Any] = field(default_factory=dict)  # AssetIn(metadata=...)
    upstream_output: OutputContext | None = None

    @property
    def has_partition_key(self) -> bool:
        return self.partition is not None

    @property
    def partition_key(self) -> str:
        """The partition being materialized downstream (an error when it has none)."""
        if self.partition is None:
            raise InvalidInput(f"input {self.name!r}: the asset reading it is not partitioned")
        return self.partition

    @property
    def has_asset_partitions(self) -> bool:
        return self.upstream_partitions is not None

    @property
    def asset_partition_keys(self) -> Sequence[str]:
        """The upstream partitions to load (an error for an unpartitioned upstream)."""
        if self.upstream_partitions is None:
            raise InvalidInput(f"input {self.name!r}: {self.asset_key} is not partitioned")
        return self.upstream_partitions

    @property
    def asset_partition_key(self) -> str:
        keys = self.asset_partition_keys
        if len(keys) != 1:
            raise InvalidInput(
                f"input {self.name!r} reads {len(keys)} partitions of {self.asset_key}, not one"
            )
        return keys[0]


class IOManager(ABC):
    """Stores asset values and loads them for downstream assets."""

    @abstractmethod
    def handle_output(self, context: OutputContext, obj: Any) -> None: ...

    @abstractmethod
    def load_input(self, context: InputContext) -> Any: ...


class ConfigurableIOManager(ConfigurableResource, IOManager):
    """An IO manager configured by its fields (a pydantic model), as Dagster's."""


IOManagerDefinition = ResourceDefinition


def io_manager(fn: Callable[[InitResourceContext], IOManager]) -> ResourceDefinition:
    """Dagster's function-style IO manager: `@io_manager def mine(init_context): ...`."""
    return ResourceDefinition(fn)


class ValueStorage(Protocol):
    """Where Arco's own IO managers keep values (the worker provides it)."""

    def write(self, path: str, obj: Any, fmt: str) -> None: ...

    def read(self, path: str, fmt: str) -> tuple[bool, Any]:
        """(found, value)."""
        ...


class ObjectStoreIOManager(ConfigurableIOManager):
    """Arco's default: values in the workspace's store, `io/<asset path>/<partition>`."""

    format: str = "pickle"
    _storage: ValueStorage | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        self._storage = context.value_storage

    def _store(self) -> ValueStorage:
        if self._storage is None:
            raise InvalidInput(f"{type(self).__name__} is used outside a task (no storage)")
        return self._storage

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        self._store().write(_path(context.asset_key, context.partition), obj, self.format)

    def load_input(self, context: InputContext) -> Any:
        keys = context.upstream_partitions
        if keys is None:
            return self._load(context, None)
        if len(keys) == 1 and context.partition is not None:
            return self._load(context, keys[0])
        values = {}
        for key in keys:  # partitions with no stored value are left out (and logged)
            found, value = self._read(context, key)
            if found:
                values[key] = value
        return values

    def _read(self, context: InputContext, partition: str | None) -> tuple[bool, Any]:
        found, value = self._store().read(_path(context.asset_key, partition), self.format)
        if not found:
            where = f"[{partition}]" if partition is not None else ""
            context.log.warning(
                "no stored value for %s%s (it returned None, or was materialized before it "
                "had an IO manager): %s receives None",
                context.asset_key,
                where,
                context.name,
            )
        return found, value

    def _load(self, context: InputContext, partition: str | None) -> Any:
        return self._read(context, partition)[1]


class ParquetIOManager(ObjectStoreIOManager):
    """Arrow tables and pandas DataFrames as Parquet files in the workspace's store."""

    format: str = "parquet"


def _path(key: AssetKey, partition: str | None) -> str:
    """A value's object path: key segments and partition, escaped."""
    segments = "/".join(quote(part, safe="") for part in key.path)
    name = quote(partition, safe="") if partition is not None else "__unpartitioned__"
    return f"{segments}/{name}"
