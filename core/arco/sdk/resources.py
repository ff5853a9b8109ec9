"""Resources: objects a code location hands to its assets and sensors, by parameter name.

```python
class HNClient(ConfigurableResource):
    base_url: str = "https://hacker-news.firebaseio.com/v0"
    token: str = EnvVar("HN_TOKEN")             # read from the environment when a task runs

@asset
def items(context, hn_client: HNClient) -> None: ...   # a resource, not an upstream asset

defs = Definitions(assets=[items], resources={"hn_client": HNClient()})
```

As in Dagster, a parameter is a resource when its annotation is a `ConfigurableResource`
subclass or `ResourceParam[...]`; `required_resource_keys` names resources an asset reads from
`context.resources` only. `Definitions.snapshot` refuses an asset or sensor that needs a
resource the location does not provide. Resources are runtime objects: they are not part of
the deployed snapshot (the control plane never needs them), only the worker and the sensor
functions build them.
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr

from arco.domain.errors import InvalidInput

__all__ = [
    "ConfigurableResource",
    "EnvVar",
    "InitResourceContext",
    "ResourceDefinition",
    "ResourceParam",
    "Resources",
    "resource",
]

T = TypeVar("T")


class _ResourceMarker:
    def __repr__(self) -> str:
        return "resource"


_RESOURCE = _ResourceMarker()
# `ResourceParam[MyClient]`: a parameter that receives the resource of its name, whatever its
# class (Dagster's way to inject plain Python objects).
ResourceParam = Annotated[T, _RESOURCE]


class EnvVar(str):
    """A configuration value read from the environment when a task runs, not at import time
    (so the deployed code never holds the secret): `token: str = EnvVar("HN_TOKEN")`."""

    __slots__ = ()

    @property
    def env_var_name(self) -> str:
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        return os.environ.get(self.env_var_name, default)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"


class InitResourceContext:
    """What `setup_for_execution`, `teardown_after_execution` and `@resource` functions
    receive. `value_storage` is where Arco's own IO managers keep values (set by the worker)."""

    def __init__(self, resource_key: str, log: Any = None, value_storage: Any = None) -> None:
        self.resource_key = resource_key
        self.log = log
        self.value_storage = value_storage


@dataclass(frozen=True)
class ResourceDefinition:
    """A resource built by a function when a task starts (`@resource`, `@io_manager`)."""

    build: Callable[[InitResourceContext], Any]


def resource(fn: Callable[[InitResourceContext], Any]) -> ResourceDefinition:
    """Dagster's function-style resource: `@resource def client(init_context): ...`."""
    return ResourceDefinition(fn)


class ConfigurableResource(BaseModel):
    """A resource configured by its fields (a pydantic model, as Dagster's).

    Override `setup_for_execution` to open connections before a task uses the resource and
    `teardown_after_execution` to close them after it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    # Fields given an EnvVar when the resource was built: validation turns an EnvVar into a
    # plain string, so which ones they were is kept here (read when a task runs).
    _env_vars: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self._env_vars = {k: v.env_var_name for k, v in data.items() if isinstance(v, EnvVar)}

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Called once per task before the resource is handed over."""

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        """Called once per task after it ended, whatever its outcome."""


class Resources(SimpleNamespace):
    """`context.resources`: the resources a task uses, by key (`context.resources.db`)."""


def is_resource_annotation(annotation: object) -> bool:
    """Whether a parameter annotated so receives a resource."""
    if typing.get_origin(annotation) is Annotated:
        extras = getattr(annotation, "__metadata__", ())
        return any(isinstance(extra, _ResourceMarker) for extra in extras)
    return inspect.isclass(annotation) and issubclass(annotation, ConfigurableResource)


def resource_parameters(fn: Callable[..., Any]) -> tuple[str, ...]:
    """The parameters of `fn` that receive resources, by their annotations.

    Annotations that cannot be resolved (a name only imported under TYPE_CHECKING) are read as
    written: such a parameter is not a resource."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # an unresolvable forward reference: fall back to the raw annotations
        hints = dict(getattr(fn, "__annotations__", {}))
    return tuple(
        name
        for name in inspect.signature(fn).parameters
        if name in hints and is_resource_annotation(hints[name])
    )


def validate_resources(resources: Mapping[str, object] | None) -> dict[str, object]:
    """`Definitions(resources=...)`: keys are identifiers; values any object."""
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise InvalidInput(
            f"Definitions(resources=...) is a mapping of names to resources, "
            f"not {type(resources).__name__}"
        )
    out: dict[str, object] = {}
    for key, value in resources.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInput(f"resource key {key!r} must be a Python identifier")
        out[key] = value
    return out


def _resolve_env(key: str, resource: ConfigurableResource) -> ConfigurableResource:
    """The resource with every `EnvVar` field replaced by the variable's value."""
    update: dict[str, Any] = {}
    given = resource._env_vars
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if name in given:
            value = EnvVar(given[name])
        if isinstance(value, EnvVar):
            found = value.get_value()
            if found is None:
                raise InvalidInput(
                    f"resource {key!r}: field {name!r} reads environment variable "
                    f"{value.env_var_name!r}, which is not set"
                )
            update[name] = found
        elif isinstance(value, ConfigurableResource):
            update[name] = _resolve_env(f"{key}.{name}", value)
    return resource.model_copy(update=update) if update else resource


@contextmanager
def resources_for_execution(
    resources: Mapping[str, object], log: Any = None, value_storage: Any = None
) -> Iterator[dict[str, object]]:
    """The resources ready to use: environment variables read, `setup_for_execution` called,
    `@resource` functions called; `teardown_after_execution` on the way out, in reverse
    order."""
    ready: dict[str, object] = {}
    with ExitStack() as stack:
        for key, value in resources.items():
            init = InitResourceContext(key, log, value_storage)
            if isinstance(value, ConfigurableResource):
                resolved = _resolve_env(key, value)
                resolved.setup_for_execution(init)
                stack.callback(resolved.teardown_after_execution, init)
                ready[key] = resolved
            elif isinstance(value, ResourceDefinition):
                ready[key] = value.build(init)
            else:
                ready[key] = value
        yield ready
