"""Asset checks: `@asset_check` functions run after their asset is materialized.

```python
@asset_check(asset=orders, blocking=True)
def orders_not_empty(orders: list[dict]) -> AssetCheckResult:
    return AssetCheckResult(passed=bool(orders), metadata={"rows": len(orders)})
```

As in Dagster, a check receives the asset's value when it has a parameter besides `context`
and resources. Arco runs a location's checks of an asset in the task that materialized it,
right after it; each result is recorded with that materialization (`arco checks`,
`GET /v1/workspaces/{ws}/checks`). A failed blocking check (severity ERROR) keeps the
materialization but fails the task: the assets downstream of it in the run are skipped. A
check that raises counts as failed, with its error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, overload

from arco.domain.errors import InvalidInput
from arco.sdk.assets import (
    CONTEXT_PARAMETERS,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    CoercibleToAssetKey,
    _coerce_key,
)
from arco.sdk.resources import resource_parameters

__all__ = [
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetChecksDefinition",
    "asset_check",
]


class AssetCheckSeverity(StrEnum):
    WARN = "WARN"
    ERROR = "ERROR"


@dataclass(frozen=True)
class AssetCheckResult:
    """What a check function returns."""

    passed: bool
    metadata: Mapping[str, Any] | None = None
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR
    description: str | None = None
    asset_key: CoercibleToAssetKey | None = None
    check_name: str | None = None


@dataclass(frozen=True)
class AssetChecksDefinition:
    """One check of one asset (what `@asset_check` returns)."""

    fn: Callable[..., Any]
    asset_key: AssetKey
    name: str
    blocking: bool = False
    description: str | None = None
    required_resource_keys: frozenset[str] = field(default_factory=frozenset)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    @property
    def value_parameter(self) -> str | None:
        """The parameter that receives the asset's value, if the function has one."""
        for position, parameter in enumerate(inspect.signature(self.fn).parameters.values()):
            if position == 0 and parameter.name in CONTEXT_PARAMETERS:
                continue
            if parameter.name in self.required_resource_keys:
                continue
            return parameter.name
        return None


@overload
def asset_check(fn: Callable[..., Any], /) -> AssetChecksDefinition: ...


@overload
def asset_check(
    *,
    asset: CoercibleToAssetKey | AssetsDefinition | AssetSpec,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    required_resource_keys: Iterable[str] | None = None,
) -> Callable[[Callable[..., Any]], AssetChecksDefinition]: ...


def asset_check(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    asset: CoercibleToAssetKey | AssetsDefinition | AssetSpec | None = None,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    required_resource_keys: Iterable[str] | None = None,
) -> AssetChecksDefinition | Callable[[Callable[..., Any]], AssetChecksDefinition]:
    """Declare a check of `asset`, named `name` or after the function."""
    if fn is not None or asset is None:
        raise InvalidInput("@asset_check needs asset=: the asset it checks")

    def decorate(function: Callable[..., Any]) -> AssetChecksDefinition:
        key = _coerce_key(asset, "@asset_check asset")
        check = name or function.__name__
        if not check.isidentifier():
            raise InvalidInput(f"asset check name {check!r} must be a Python identifier")
        needs = frozenset([*resource_parameters(function), *(required_resource_keys or ())])
        return AssetChecksDefinition(
            function,
            key,
            check,
            bool(blocking),
            description if description is not None else inspect.getdoc(function),
            needs,
        )

    return decorate
