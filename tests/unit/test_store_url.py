"""Parsing of store URLs by `open_store`, and that the cloud SDKs stay unimported until needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arco.domain.errors import InvalidInput
from arco.storage.local import LocalObjectStore
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ObjectStore
from arco.storage.url import ACCEPTED_FORMS, DEFAULT_STORE_URL, open_store


def test_default_is_a_relative_file_store() -> None:
    assert DEFAULT_STORE_URL == "file://./.arco"


def test_bare_memory_gives_a_fresh_store_each_time() -> None:
    one, two = open_store("memory://"), open_store("memory://")
    assert isinstance(one, MemoryObjectStore) and isinstance(two, MemoryObjectStore)
    assert one is not two
    assert one.url == "memory://"
    one.create("k", b"1")
    assert two.get("k") is None


def test_named_memory_is_shared_within_the_process() -> None:
    one, two = open_store("memory://shared-test"), open_store("memory://shared-test")
    assert one is two
    assert one.url == "memory://shared-test"
    assert open_store("memory://other-test") is not one


@pytest.mark.parametrize("url", ["memory://a/b", "memory://..", "memory://-x"])
def test_bad_memory_names(url: str) -> None:
    with pytest.raises(InvalidInput):
        open_store(url)


def test_absolute_file_url(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "store"
    store = open_store(f"file://{root}")
    assert isinstance(store, LocalObjectStore)
    assert root.is_dir()
    assert store.url == f"file://{root}"
    # The URL round-trips to the same directory.
    store.create("k", b"v")
    again = open_store(store.url).get("k")
    assert again is not None and again.data == b"v"


def test_relative_file_url_is_relative_to_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(DEFAULT_STORE_URL)
    assert isinstance(store, LocalObjectStore)
    assert (tmp_path / ".arco").is_dir()
    assert store.url == f"file://{tmp_path / '.arco'}"
    assert isinstance(open_store("file://./sub/dir"), LocalObjectStore)
    assert (tmp_path / "sub" / "dir").is_dir()


@pytest.mark.parametrize(
    ("url", "cls_name", "expected_url"),
    [
        ("gs://my-bucket", "GcsObjectStore", "gs://my-bucket"),
        ("gs://my-bucket/", "GcsObjectStore", "gs://my-bucket"),
        ("gs://my_bucket.v2/team/prod", "GcsObjectStore", "gs://my_bucket.v2/team/prod"),
        ("gs://my-bucket//team//prod/", "GcsObjectStore", "gs://my-bucket/team/prod"),
        ("s3://my-bucket", "S3ObjectStore", "s3://my-bucket"),
        ("s3://my-bucket/team/prod", "S3ObjectStore", "s3://my-bucket/team/prod"),
    ],
)
def test_cloud_urls(
    url: str, cls_name: str, expected_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Constructing a client needs no network; these point at unused local endpoints.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_store(url)
    assert type(store).__name__ == cls_name
    assert isinstance(store, ObjectStore)
    assert store.url == expected_url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "gs:/bucket",
        "bucket/prefix",
        "/abs/path",
        "http://example.com/x",
        "GS://bucket",
        "gcs://bucket",
        "ftp://x",
        "file:relative",
        "file://relative/path",
        "file://host/abs/path",
        "gs://",
        "gs://b",
        "gs://Bucket",
        "gs://-bucket",
        "gs://bu..cket",
        "gs://bucket/../x",
        "gs://bucket/a/../../x",
        "gs://bucket/./x",
        "gs://bucket/a/.hidden",
        "gs://bucket/a b",
        "gs://bucket/a?x=1",
        "gs://bucket/a#frag",
        "gs://bucket/a\\b",
        "s3://my_bucket",
        "s3://bucket/../x",
        "s3://bucket/%2e%2e/x",
    ],
)
def test_rejected_urls(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        open_store(url)
    if url.startswith(("http", "ftp", "gcs", "GS")):
        for form in ACCEPTED_FORMS:
            assert form in str(info.value)


def test_memory_and_file_stores_do_not_import_cloud_sdks(tmp_path: Path) -> None:
    # A fresh interpreter: this test process has long since imported everything.
    script = f"""
import json, sys
from arco.storage.url import open_store
open_store("memory://")
open_store("memory://named")
store = open_store("file://{tmp_path}/store")
store.create("a/b", b"x")
list(store.list("a/"))
# Not bare "google.cloud": a namespace-package .pth file imports it at interpreter start.
heavy = ("google.cloud.storage", "google.api_core", "google.auth", "boto3", "botocore")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
# Control: the check does see the SDKs once a cloud store is opened.
open_store("gs://some-bucket/p")
open_store("s3://some-bucket/p")
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
"""
    env = {
        **os.environ,
        "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout.splitlines()
    assert json.loads(out[0]) == []
    after = json.loads(out[1])
    assert "google.cloud.storage" in after and "boto3" in after
