"""Google Cloud Storage backend. The only module that imports google.cloud.storage.

Import it lazily (see `arco.storage.url.open_store`): the SDK is slow to import and not needed
by the memory and file backends.

Conditional writes use generation preconditions: `if_generation_match=0` for create, the
expected generation for replace. A version token is the object's generation as a string.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import google.auth.exceptions
import requests
from google.api_core import exceptions as gexc
from google.cloud import storage  # type: ignore[attr-defined]
from google.cloud.storage.retry import DEFAULT_RETRY

from arco.domain.errors import Misconfigured, StorageUnavailable
from arco.domain.names import validate_prefix
from arco.storage.port import ListedObject, StoredObject, WriteOutcome, WriteResult

# Errors that mean "the store did not answer properly; try again later".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    gexc.ServerError,  # every 5xx
    gexc.TooManyRequests,  # 429
    gexc.RetryError,  # the client's own retries ran out of time
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    google.auth.exceptions.TransportError,
)

# How often get() re-reads when a concurrent replace moves the generation under it (fallback
# path only; see _get_pinned).
_PINNED_READ_ATTEMPTS = 5


NO_CREDENTIALS = (
    "no usable Google credentials: run `gcloud auth application-default login`, or set "
    "GOOGLE_APPLICATION_CREDENTIALS to a key file (STORAGE_EMULATOR_HOST for fake-gcs-server)"
)


def _url(bucket: str, prefix: str) -> str:
    return f"gs://{bucket}/{prefix}" if prefix else f"gs://{bucket}"


class GcsObjectStore:
    """Objects under `gs://bucket/prefix/`; keys are relative to the prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        client: Any = None,
        *,
        retry_timeout: float = 30.0,
    ) -> None:
        self._bucket_name = bucket
        self._prefix = validate_prefix(prefix)
        self._root = f"{self._prefix}/" if self._prefix else ""
        if client is None:
            # With STORAGE_EMULATOR_HOST set the client picks anonymous credentials by itself.
            try:
                client = storage.Client(project=os.environ.get("GOOGLE_CLOUD_PROJECT") or None)
            except google.auth.exceptions.DefaultCredentialsError as exc:
                raise Misconfigured(f"{_url(bucket, self._prefix)}: {NO_CREDENTIALS}") from exc
        self._client = client
        self._bucket = client.bucket(bucket)
        # Every call below is safe to retry: writes always carry a generation precondition and
        # reads are idempotent. The timeout bounds how long an unreachable store is retried; it
        # stays well under half the default lookback so a slow append cannot land behind the
        # compactor's window (the ledger writer renames after lookback / 2).
        self._retry = DEFAULT_RETRY.with_timeout(retry_timeout)

    @property
    def url(self) -> str:
        return _url(self._bucket_name, self._prefix)

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise StorageUnavailable(f"{self.url}: {what} failed: {exc}") from exc
        except google.auth.exceptions.RefreshError as exc:
            raise Misconfigured(f"{self.url}: {what} failed: {NO_CREDENTIALS} ({exc})") from exc
        except (gexc.Unauthorized, gexc.Forbidden) as exc:
            raise Misconfigured(
                f"{self.url}: {what} refused ({exc.code}): these credentials may not use the "
                "bucket; grant roles/storage.objectAdmin on it (docs/deploy.md)"
            ) from exc

    def _write(self, key: str, data: bytes, generation: int, outcome: WriteOutcome) -> WriteResult:
        blob = self._bucket.blob(self._root + key)
        try:
            with self._translate(f"{outcome.value} {key!r}"):
                blob.upload_from_string(
                    bytes(data),
                    content_type="application/octet-stream",
                    if_generation_match=generation,
                    retry=self._retry,
                )
        except gexc.PreconditionFailed:
            return WriteResult(WriteOutcome.PRECONDITION_FAILED)
        # upload_from_string fills the blob's properties from the response resource.
        return WriteResult(outcome, str(blob.generation))

    def create(self, key: str, data: bytes) -> WriteResult:
        return self._write(key, data, 0, WriteOutcome.CREATED)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        try:
            generation = int(expected_version)
        except ValueError:
            return WriteResult(WriteOutcome.PRECONDITION_FAILED)  # no object has this version
        if generation <= 0:
            # 0 would turn the CAS into "create if absent".
            return WriteResult(WriteOutcome.PRECONDITION_FAILED)
        return self._write(key, data, generation, WriteOutcome.REPLACED)

    def get(self, key: str) -> StoredObject | None:
        name = self._root + key
        blob = self._bucket.blob(name)
        with self._translate(f"get {key!r}"):
            try:
                data: bytes = blob.download_as_bytes(retry=self._retry)
            except gexc.NotFound:
                return None
            # A single-shot download sets blob.generation from the X-Goog-Generation header of
            # the very response that carried the bytes (and the media layer pins that
            # generation if it has to resume), so data and version always match.
            if blob.generation is not None:
                return StoredObject(data=data, version=str(blob.generation))
            return self._get_pinned(name)

    def _get_pinned(self, name: str) -> StoredObject | None:
        """Fallback when a response lacks the generation header: read metadata, then download
        exactly that generation. A 404 means it was replaced meanwhile; read again."""
        for _ in range(_PINNED_READ_ATTEMPTS):
            meta = self._bucket.get_blob(name, retry=self._retry)
            if meta is None:
                return None
            generation = int(meta.generation)
            pinned = self._bucket.blob(name, generation=generation)
            try:
                data: bytes = pinned.download_as_bytes(retry=self._retry)
            except gexc.NotFound:
                continue
            return StoredObject(data=data, version=str(generation))
        raise StorageUnavailable(f"{self.url}: {name!r} kept changing while being read")

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        full_after = None if start_after is None else self._root + start_after
        with self._translate(f"list {prefix!r}"):
            pages = self._client.list_blobs(
                self._bucket,
                prefix=self._root + prefix,
                # start_offset is inclusive; the exact key is dropped below.
                start_offset=full_after,
                retry=self._retry,
            )
        return self._iter_listing(pages, prefix, full_after)

    def _iter_listing(
        self, blobs: Any, prefix: str, full_after: str | None
    ) -> Iterator[ListedObject]:
        # Pages are fetched while iterating, so errors must be translated here too.
        with self._translate(f"list {prefix!r}"):
            for blob in blobs:
                name: str = blob.name
                if full_after is not None and name <= full_after:
                    continue
                yield ListedObject(key=name[len(self._root) :], size=int(blob.size or 0))

    def delete(self, key: str) -> None:
        with self._translate(f"delete {key!r}"), suppress(gexc.NotFound):
            self._bucket.blob(self._root + key).delete(retry=self._retry)
