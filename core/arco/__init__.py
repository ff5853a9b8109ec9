"""Arco: a serverless, event-sourced orchestration control plane on object storage.

A code location imports its names from here, as it would from `dagster`:
`import arco as dg` or `from arco import asset, Definitions`. They live in `arco.sdk` and are
loaded on first use, so `import arco.domain...` (the functions' cold start) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from arco.sdk import *  # noqa: F403


# Running assets in tests (`dg.materialize`) lives apart: it needs the whole engine.
_TESTING = ("materialize", "materialize_to_memory")


def __getattr__(name: str) -> Any:
    module = importlib.import_module("arco.testing" if name in _TESTING else "arco.sdk")
    if name in _TESTING or name in module.__all__:
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'arco' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *importlib.import_module("arco.sdk").__all__, *_TESTING])
