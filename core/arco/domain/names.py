"""Validation of every name that becomes part of an object key.

Workspace names and key components are user-supplied and end up in object paths, so they are
checked here, once, against a strict alphabet: no separators, no dot segments, no control
characters, nothing that could walk out of a workspace's prefix.
"""

from __future__ import annotations

import re

from arco.domain.errors import InvalidInput

_WORKSPACE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?\Z")
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}\Z")


def validate_workspace(name: str) -> str:
    """Return `name` if it is a valid workspace name (lowercase, digits, `-`, `_`; 1-63 chars)."""
    if not isinstance(name, str) or not _WORKSPACE.fullmatch(name):
        raise InvalidInput(
            f"invalid workspace name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit"
        )
    return name


def validate_key_component(value: str, what: str = "key component") -> str:
    """Return `value` if it is safe as one path segment of an object key."""
    if not isinstance(value, str) or not _COMPONENT.fullmatch(value) or ".." in value:
        raise InvalidInput(
            f"invalid {what} {value!r}: use 1-200 characters from A-Z a-z 0-9 . _ = -, "
            "starting with a letter or digit, without '..'"
        )
    return value


def validate_prefix(prefix: str) -> str:
    """Return a normalised store prefix ('' or 'a/b') made only of valid components."""
    parts = [p for p in prefix.strip("/").split("/") if p]
    for part in parts:
        validate_key_component(part, "store prefix segment")
    return "/".join(parts)
