"""Loading a user's code location (`pkg.module:attr`). The only place user code is imported
outside the worker and sensor functions."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

from arco.domain.errors import InvalidInput

if TYPE_CHECKING:
    from arco.sdk import Definitions


def load_definitions(reference: str) -> Definitions:
    """Import `pkg.module:attr` (from the current directory too) and return its Definitions."""
    from arco.sdk import Definitions

    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidInput(f"definitions reference {reference!r} must look like 'pkg.module:attr'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInput(f"cannot import {module_name!r}: {exc}") from exc
    value = getattr(module, attr, None)
    if value is None:
        raise InvalidInput(f"module {module_name!r} has no attribute {attr!r}")
    if not isinstance(value, Definitions):
        raise InvalidInput(f"{reference} is a {type(value).__name__}, not arco Definitions")
    return value
