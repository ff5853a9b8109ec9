"""Observable source assets, in the spirit of Dagster (re-exported by `arco.sdk`).

```python
@observable_source_asset(auto_observe_interval_minutes=15)
def orders_export() -> DataVersion:
    return DataVersion(storage.stat("exports/orders.csv").etag)
```

Observing runs the function as a task (in a worker, like any asset), and the data version it
returns becomes the asset's current version: assets downstream that read another version turn
STALE, naming it. `auto_observe_interval_minutes` adds a schedule `<key>_auto_observe`; any
schedule, sensor or `arco run` may target the source too. A source observed elsewhere is an
`AssetSpec` whose versions are pushed with `arco observe` or the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arco.domain.errors import InvalidInput
from arco.domain.partitions import PartitionsDefinition
from arco.sdk.assets import AssetsDefinition, CoercibleToAssetKey, asset
from arco.sdk.context import DataVersion

__all__ = ["ObserveResult", "observable_source_asset"]


@dataclass
class ObserveResult:
    """What an observation function may return: the data version, and metadata to record."""

    data_version: DataVersion | str | None = None
    metadata: Mapping[str, Any] | None = None


def observable_source_asset(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    key: CoercibleToAssetKey | None = None,
    key_prefix: str | Sequence[str] | None = None,
    description: str | None = None,
    group_name: str | None = None,
    partitions_def: PartitionsDefinition | None = None,
    auto_observe_interval_minutes: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    owners: Sequence[str] | None = None,
    required_resource_keys: Sequence[str] | None = None,
) -> Any:
    """A source asset whose function observes its data version (`DataVersion` or
    `ObserveResult`); see the module docstring."""
    if auto_observe_interval_minutes is not None:
        observe_cron(auto_observe_interval_minutes, "observable_source_asset")

    def decorate(function: Callable[..., Any]) -> AssetsDefinition:
        definition = asset(
            name=name,
            key=key,
            key_prefix=key_prefix,
            description=description,
            group_name=group_name,
            partitions_def=partitions_def,
            metadata=metadata,
            tags=tags,
            owners=owners,
            kinds=["source"],
            required_resource_keys=required_resource_keys,
        )(function)
        definition.observable = True
        definition.auto_observe_interval_minutes = auto_observe_interval_minutes
        return definition

    return decorate(fn) if fn is not None else decorate


def observe_cron(minutes: float, owner: str) -> str:
    """The cron of an observation interval: minutes dividing an hour, or hours dividing a day."""
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
        raise InvalidInput(f"{owner}: auto_observe_interval_minutes must be a positive number")
    whole = int(minutes)
    if whole == minutes and whole < 60 and 60 % whole == 0:
        return "* * * * *" if whole == 1 else f"*/{whole} * * * *"
    if whole == minutes and whole % 60 == 0 and 24 % (whole // 60) == 0:
        hours = whole // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"
    raise InvalidInput(
        f"{owner}: auto_observe_interval_minutes {minutes} must divide an hour (1, 2, 3, 4, 5, "
        "6, 10, 12, 15, 20, 30) or be whole hours dividing a day; for another rhythm, target "
        "the asset with a ScheduleDefinition"
    )
