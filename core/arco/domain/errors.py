"""The error families every layer speaks.

`retryable` tells an entry point whether to answer 5xx (the platform redelivers) or 4xx
(the request can never succeed as sent).
"""

from __future__ import annotations

from typing import ClassVar


class ArcoError(Exception):
    """Root of Arco's errors."""

    retryable: ClassVar[bool] = False


class InvalidInput(ArcoError):
    """Input that can never be accepted as sent (a bad name, a malformed body)."""


class NotFound(ArcoError):
    """A named thing that does not exist."""


class ConflictError(ArcoError):
    """Someone else won a race; trying again (after re-reading) may succeed."""

    retryable = True


class Refused(ArcoError):
    """The request conflicts with what exists (a run_key used by another request, a run that
    already finished). Never retried; `details` says what it conflicts with."""

    def __init__(self, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, object] = details or {}


class IdempotencyConflict(ArcoError):
    """The same name was written twice with different bytes: a bug, never retried."""


class StorageUnavailable(ArcoError):
    """The object store did not answer; retry later."""

    retryable = True


class CorruptState(ArcoError):
    """A published object (pointer, manifest, table file) cannot be read back."""


class Unauthenticated(ArcoError):
    """The caller could not be identified (no, malformed, expired or foreign token): 401."""


class Forbidden(ArcoError):
    """The caller is known but may not do this (wrong service account, role too low): 403."""


class AuthUnavailable(ArcoError):
    """The token's signing certificates could not be fetched: says nothing about the caller."""

    retryable = True


class Misconfigured(ArcoError):
    """The deployment lacks a setting this call needs (500: no request can fix it)."""
