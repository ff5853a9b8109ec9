"""Missing or refused cloud credentials are a clear error naming the fix, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from google.api_core import exceptions as gexc

from arco.domain.errors import Misconfigured
from arco.storage.gcs import GcsObjectStore
from arco.storage.s3 import S3ObjectStore


def _arco(store: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`arco --store STORE runs` with no credentials anywhere (HOME is empty)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "AWS_", "STORAGE_EMULATOR", "CLOUDSDK_"))
    }
    clean.update(HOME=str(tmp_path), NO_GCE_CHECK="True", AWS_EC2_METADATA_DISABLED="true", **env)
    return subprocess.run(
        [sys.executable, "-m", "arco.cli.main", "--store", store, "runs"],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
        check=False,
    )


def test_a_gcs_store_without_google_credentials_says_how_to_get_them(tmp_path: Path) -> None:
    done = _arco("gs://some-bucket/prefix", tmp_path)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert "gs://some-bucket/prefix: no usable Google credentials" in done.stderr
    assert "gcloud auth application-default login" in done.stderr


def test_an_s3_store_without_aws_credentials_says_so(tmp_path: Path) -> None:
    done = _arco("s3://some-bucket/prefix", tmp_path, AWS_DEFAULT_REGION="us-east-1")
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert "s3://some-bucket/prefix" in done.stderr and "no AWS credentials" in done.stderr


class _RefusingBlob:
    generation = None

    def download_as_bytes(self, **_: Any) -> bytes:
        raise gexc.Forbidden("caller does not have storage.objects.get access")


class _RefusingBucket:
    def blob(self, *_: Any, **__: Any) -> _RefusingBlob:
        return _RefusingBlob()


class _RefusingClient:
    def bucket(self, _: str) -> _RefusingBucket:
        return _RefusingBucket()


def test_gcs_credentials_the_bucket_refuses_are_a_misconfiguration() -> None:
    store = GcsObjectStore("b", "p", client=_RefusingClient())
    with pytest.raises(Misconfigured, match=r"gs://b/p: get 'k' refused \(403\).*objectAdmin"):
        store.get("k")


def test_s3_credentials_the_bucket_refuses_are_a_misconfiguration() -> None:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    store = S3ObjectStore("b", "p", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403)
        with pytest.raises(Misconfigured, match=r"s3://b/p: get 'k' refused \(AccessDenied\)"):
            store.get("k")
