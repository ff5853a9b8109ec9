"""Loading a user's code location (`pkg.module:attr`). The only place user code is imported
outside the worker and sensor functions."""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import TYPE_CHECKING

from arco.domain.errors import InvalidInput

if TYPE_CHECKING:
    from arco.sdk import Definitions


def _where(exc: BaseException) -> str:
    """` at file:line`: the last frame of the code location (not Arco, not a library)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_user_frame(f.filename)]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _is_user_frame(filename: str) -> bool:
    parts = set(filename.replace("\\", "/").split("/"))
    return not ({"site-packages", "importlib"} & parts) and "/core/arco/" not in filename


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
    except InvalidInput as exc:  # a definition refused where it is written
        raise InvalidInput(f"loading {module_name!r}{_where(exc)}: {exc}") from exc
    except Exception as exc:  # user code failed at import (a resource's bad config, ...)
        raise InvalidInput(
            f"loading {module_name!r} failed{_where(exc)}: {type(exc).__name__}: {exc}"
        ) from exc
    value = getattr(module, attr, None)
    if value is None:
        raise InvalidInput(f"module {module_name!r} has no attribute {attr!r}")
    if not isinstance(value, Definitions):
        raise InvalidInput(f"{reference} is a {type(value).__name__}, not arco Definitions")
    return value
