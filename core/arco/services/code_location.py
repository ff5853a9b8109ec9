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


class ReloadingLocation:
    """A code location for `arco dev`: loaded once, and again when its source files change.

    Watches every `.py` file of the reference's top-level package (or its single module); a
    reload forgets those modules and imports them afresh, so the new code is what runs."""

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.definitions = load_definitions(reference)
        self._root = _source_root(reference)
        self._stamp = _fingerprint(self._root)

    def changed(self) -> bool:
        """Has a source file been added, removed or written since the last load?"""
        return _fingerprint(self._root) != self._stamp

    def reload(self) -> Definitions:
        """Import the location afresh (InvalidInput, naming file and line, if it no longer
        loads; the previous definitions stay current then)."""
        stamp = _fingerprint(self._root)
        removed = {}
        for name, module in list(sys.modules.items()):
            path = getattr(module, "__file__", None)
            if path and _under(os.path.realpath(path), self._root):
                removed[name] = sys.modules.pop(name)
        importlib.invalidate_caches()
        self._stamp = stamp  # a broken edit is reported once, not at every check
        try:
            self.definitions = load_definitions(self.reference)
        except Exception:
            # The previous code goes on running: its modules come back, so its own lazy
            # imports do not pick up the broken files.
            for name in [n for n in list(sys.modules) if _module_under(n, self._root)]:
                sys.modules.pop(name, None)
            sys.modules.update(removed)
            raise
        return self.definitions


def _source_root(reference: str) -> str:
    top = sys.modules[reference.partition(":")[0].split(".")[0]]
    paths = getattr(top, "__path__", None)
    found = next(iter(paths)) if paths else top.__file__
    if found is None:
        raise InvalidInput(f"{reference}: cannot find the code location's source files")
    return os.path.realpath(found)


def _module_under(name: str, root: str) -> bool:
    path = getattr(sys.modules.get(name), "__file__", None)
    return bool(path) and _under(os.path.realpath(str(path)), root)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _fingerprint(root: str) -> frozenset[tuple[str, int, int]]:
    files = (
        [root]
        if os.path.isfile(root)
        else [
            os.path.join(folder, name)
            for folder, _, names in os.walk(root)
            for name in names
            if name.endswith(".py")
        ]
    )
    out: set[tuple[str, int, int]] = set()
    for path in files:
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # removed while walking: the next check sees it gone
            continue
        out.add((path, stat.st_mtime_ns, stat.st_size))
    return frozenset(out)
