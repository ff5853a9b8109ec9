"""Run configuration: `Config` classes on assets, as Dagster's.

```python
class ItemsConfig(Config):
    base_item_id: int = 0
    limit: int = 100

@asset
def items(context, config: ItemsConfig) -> None:
    fetch(from_id=config.base_item_id, limit=config.limit)
```

A run supplies values in Dagster's shape, `{"ops": {"items": {"config": {"limit": 10}}}}`
(`arco run --config FILE`, `POST /runs` `run_config`). The JSON schema of each asset's config
class is part of the deployed snapshot, so a launch is validated (missing or wrong values,
unknown assets) before any run exists; the worker builds the `Config` object from the run's
values. An asset without config values in the run gets its class's defaults.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from arco.domain.errors import InvalidInput

__all__ = ["Config", "RunConfig", "config_parameter"]

# Dagster never reads a parameter named `config` as an upstream asset.
CONFIG_PARAMETER = "config"


class Config(BaseModel):
    """An asset's configuration schema: a pydantic model whose fields are its settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RunConfig:
    """`RunConfig(ops={"items": ItemsConfig(limit=10)})`: run configuration built in Python
    (`RunRequest(run_config=RunConfig(...))`); `to_config_dict()` is Dagster's dict shape."""

    def __init__(self, ops: Mapping[str, Config | Mapping[str, Any]] | None = None) -> None:
        self.ops = dict(ops or {})

    def to_config_dict(self) -> dict[str, Any]:
        return {
            "ops": {
                name: {"config": value.model_dump(mode="json")}
                if isinstance(value, Config)
                else dict(value)
                for name, value in self.ops.items()
            }
        }


def config_parameter(fn: Callable[..., Any]) -> tuple[str, type[Config]] | None:
    """The parameter that receives the asset's `Config` object, and its class, if any."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # an unresolvable forward reference: fall back to the raw annotations
        hints = dict(getattr(fn, "__annotations__", {}))
    for name in inspect.signature(fn).parameters:
        annotation = hints.get(name)
        if inspect.isclass(annotation) and issubclass(annotation, Config):
            return name, annotation
    if CONFIG_PARAMETER in inspect.signature(fn).parameters:
        raise InvalidInput(
            f"{fn.__qualname__}: parameter 'config' must be annotated with a Config subclass"
        )
    return None


def config_schema(config_class: type[Config]) -> dict[str, Any]:
    """The JSON schema a launch validates run configuration against."""
    return config_class.model_json_schema()


def run_config_dict(run_config: object) -> dict[str, Any]:
    """A run configuration as Dagster's dict shape (from a dict or a `RunConfig`)."""
    if run_config is None:
        return {}
    if isinstance(run_config, RunConfig):
        return run_config.to_config_dict()
    if isinstance(run_config, Mapping):
        return dict(run_config)
    raise InvalidInput(
        f"run_config must be a mapping or a RunConfig, not {type(run_config).__name__}"
    )
