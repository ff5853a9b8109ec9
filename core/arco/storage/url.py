"""Opening a store from its URL (`ARCO_STORE`, `--store`).

The cloud backends are imported inside `open_store`, only for their own schemes, so the
memory and file stores (and every CLI command using them) never pay for importing the SDKs.
"""

from __future__ import annotations

import re
from pathlib import Path

from arco.domain.errors import InvalidInput
from arco.domain.names import validate_prefix
from arco.storage.local import LocalObjectStore
from arco.storage.memory import MemoryObjectStore, named_memory_store
from arco.storage.port import ObjectStore

DEFAULT_STORE_URL = "file://./.arco"

ACCEPTED_FORMS = (
    "memory://[name]",
    "file:///absolute/path or file://./relative/path",
    "gs://bucket[/prefix]",
    "s3://bucket[/prefix]",
)

_GCS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]\Z")
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")


def _invalid(url: str, why: str) -> InvalidInput:
    return InvalidInput(
        f"invalid store URL {url!r}: {why}; use one of: " + ", ".join(ACCEPTED_FORMS)
    )


def _bucket(url: str, name: str, pattern: re.Pattern[str]) -> str:
    if not pattern.match(name) or ".." in name:
        raise _invalid(url, f"bad bucket name {name!r}")
    return name


def _file_store(url: str, rest: str) -> LocalObjectStore:
    if rest.startswith("/"):
        path = Path(rest)
    elif rest == "." or rest.startswith("./"):
        path = Path.cwd() / rest
    else:
        # file://host/path and bare relative paths are ambiguous; insist on one spelling.
        raise _invalid(url, "a file URL needs an absolute path or one starting with './'")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _invalid(url, f"cannot create directory {str(path)!r}: {exc}") from exc
    return LocalObjectStore(path)


def open_store(url: str) -> ObjectStore:
    """The store named by `url`; raises InvalidInput for anything not in ACCEPTED_FORMS."""
    if not isinstance(url, str):
        raise _invalid(repr(url), "not a string")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise _invalid(url, "missing scheme")
    if scheme == "memory":
        # A bare memory:// is private to the caller; a named one is shared within the process.
        return named_memory_store(rest) if rest else MemoryObjectStore()
    if scheme == "file":
        return _file_store(url, rest)
    if scheme in ("gs", "s3"):
        bucket, _, raw_prefix = rest.partition("/")
        try:
            prefix = validate_prefix(raw_prefix)
        except InvalidInput as exc:
            raise _invalid(url, str(exc)) from exc
        if scheme == "gs":
            gcs_bucket = _bucket(url, bucket, _GCS_BUCKET)
            from arco.storage.gcs import GcsObjectStore

            return GcsObjectStore(gcs_bucket, prefix)
        s3_bucket = _bucket(url, bucket, _S3_BUCKET)
        from arco.storage.s3 import S3ObjectStore

        return S3ObjectStore(s3_bucket, prefix)
    raise _invalid(url, f"unknown scheme {scheme!r}")
