"""Amazon S3 (and S3-compatible) backend. The only module that imports boto3.

Import it lazily (see `arco.storage.url.open_store`). Conditional writes use S3's
`If-None-Match: *` (create) and `If-Match: <ETag>` (replace). A version token is the ETag.

Caveat: an S3 ETag is a digest of the content, not a write counter. Replacing an object with
identical bytes keeps its version, and writing A, B, A again brings an old token back to life.
Arco's only replaced object (the state pointer) moves forward monotonically, so this does not
matter there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError, HTTPClientError, NoCredentialsError
from botocore.exceptions import ConnectionError as BotoConnectionError

from arco.domain.errors import Misconfigured, StorageUnavailable
from arco.domain.names import validate_prefix
from arco.storage.port import ListedObject, StoredObject, WriteOutcome, WriteResult

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A lost conditional-write race: 412 is the usual answer; 409 ConditionalRequestConflict is
# what S3 returns when two conditional writes to one key are in flight at once.
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_UNAVAILABLE_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "ServiceUnavailable"}
)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _default_client() -> S3Client:
    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None)


class S3ObjectStore:
    """Objects under `s3://bucket/prefix/`; keys are relative to the prefix."""

    def __init__(self, bucket: str, prefix: str = "", client: S3Client | None = None) -> None:
        self._bucket = bucket
        self._prefix = validate_prefix(prefix)
        self._root = f"{self._prefix}/" if self._prefix else ""
        self._client: S3Client = client if client is not None else _default_client()

    @property
    def url(self) -> str:
        return f"s3://{self._bucket}/{self._prefix}" if self._prefix else f"s3://{self._bucket}"

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        try:
            yield
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageUnavailable(f"{self.url}: {what} failed: {exc}") from exc
        except NoCredentialsError as exc:
            raise Misconfigured(
                f"{self.url}: {what} failed: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
            ) from exc
        except ClientError as exc:
            status = _status(exc)
            if status >= 500 or status == 429 or _code(exc) in _UNAVAILABLE_CODES:
                raise StorageUnavailable(f"{self.url}: {what} failed: {exc}") from exc
            if status in (401, 403) and _code(exc) not in _PRECONDITION_CODES:
                raise Misconfigured(
                    f"{self.url}: {what} refused ({_code(exc) or status}): these credentials "
                    "may not use the bucket"
                ) from exc
            raise

    def _put(
        self, key: str, data: bytes, condition: dict[str, Any], outcome: WriteOutcome
    ) -> WriteResult:
        try:
            with self._translate(f"{outcome.value} {key!r}"):
                response = self._client.put_object(
                    Bucket=self._bucket, Key=self._root + key, Body=bytes(data), **condition
                )
        except ClientError as exc:
            code = _code(exc)
            # If-Match on a missing key answers 404 NoSuchKey: the expected version is not there.
            if code in _PRECONDITION_CODES or (condition.get("IfMatch") and code in _MISSING_CODES):
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            raise
        return WriteResult(outcome, response["ETag"])

    def create(self, key: str, data: bytes) -> WriteResult:
        return self._put(key, data, {"IfNoneMatch": "*"}, WriteOutcome.CREATED)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        if not expected_version:
            return WriteResult(WriteOutcome.PRECONDITION_FAILED)
        return self._put(key, data, {"IfMatch": expected_version}, WriteOutcome.REPLACED)

    def get(self, key: str) -> StoredObject | None:
        try:
            with self._translate(f"get {key!r}"):
                response = self._client.get_object(Bucket=self._bucket, Key=self._root + key)
                # Bytes and ETag come from one response, so they always match.
                data = response["Body"].read()
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise
        return StoredObject(data=data, version=response["ETag"])

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        params: dict[str, Any] = {"Bucket": self._bucket, "Prefix": self._root + prefix}
        if start_after is not None:
            params["StartAfter"] = self._root + start_after  # strictly after, as we need
        return self._iter_listing(params, prefix)

    def _iter_listing(self, params: dict[str, Any], prefix: str) -> Iterator[ListedObject]:
        # Pages are fetched while iterating, so errors are translated in here.
        with self._translate(f"list {prefix!r}"):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(**params):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    yield ListedObject(key=key[len(self._root) :], size=int(item.get("Size", 0)))

    def delete(self, key: str) -> None:
        with self._translate(f"delete {key!r}"):
            try:
                # S3 itself answers 204 for a missing key; some compatible stores say 404.
                self._client.delete_object(Bucket=self._bucket, Key=self._root + key)
            except ClientError as exc:
                if _code(exc) not in _MISSING_CODES:
                    raise
