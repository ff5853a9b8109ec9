"""The ObjectStore contract (see arco.storage.port), checked identically on every backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from arco.domain.errors import InvalidInput, StorageUnavailable
from arco.storage.local import LocalObjectStore
from arco.storage.port import ObjectStore, WriteOutcome
from arco.storage.recording import RecordingObjectStore, StoreCall

CREATED = WriteOutcome.CREATED
REPLACED = WriteOutcome.REPLACED
FAILED = WriteOutcome.PRECONDITION_FAILED


def keys_of(store: ObjectStore, prefix: str = "", start_after: str | None = None) -> list[str]:
    return [obj.key for obj in store.list(prefix, start_after)]


# --- create / get ----------------------------------------------------------------------------


def test_create_is_exclusive(any_store: ObjectStore) -> None:
    first = any_store.create("k/one", b"first")
    assert first.outcome is CREATED and first.ok and first.version

    second = any_store.create("k/one", b"second")
    assert second.outcome is FAILED and not second.ok and second.version is None

    stored = any_store.get("k/one")
    assert stored is not None
    assert stored.data == b"first"
    assert stored.version == first.version


def test_get_missing_is_none(any_store: ObjectStore) -> None:
    assert any_store.get("no/such/key") is None


# --- replace (compare-and-swap) --------------------------------------------------------------


def test_replace_with_current_version(any_store: ObjectStore) -> None:
    created = any_store.create("state/pointer.json", b"v1")
    assert created.version is not None

    replaced = any_store.replace("state/pointer.json", b"v2", created.version)
    assert replaced.outcome is REPLACED and replaced.ok
    assert replaced.version is not None and replaced.version != created.version

    stored = any_store.get("state/pointer.json")
    assert stored is not None
    assert (stored.data, stored.version) == (b"v2", replaced.version)

    # The new token works for the next swap, and so on.
    again = any_store.replace("state/pointer.json", b"v3", replaced.version)
    assert again.outcome is REPLACED
    assert again.version not in (created.version, replaced.version)


def test_replace_with_stale_version_fails(any_store: ObjectStore) -> None:
    created = any_store.create("p", b"v1")
    assert created.version is not None
    newer = any_store.replace("p", b"v2", created.version)
    assert newer.ok

    stale = any_store.replace("p", b"v3-lost", created.version)
    assert stale.outcome is FAILED and stale.version is None
    stored = any_store.get("p")
    assert stored is not None
    assert (stored.data, stored.version) == (b"v2", newer.version)


def test_replace_with_unknown_version_fails(any_store: ObjectStore) -> None:
    any_store.create("p", b"v1")
    for bogus in ("999999", "not-a-version", '"0123456789abcdef0123456789abcdef"'):
        assert any_store.replace("p", b"x", bogus).outcome is FAILED
    stored = any_store.get("p")
    assert stored is not None and stored.data == b"v1"


def test_replace_missing_key_fails(any_store: ObjectStore) -> None:
    other = any_store.create("exists", b"x")
    assert other.version is not None
    # Even a token that is valid for another key does not conjure the missing one.
    assert any_store.replace("missing", b"y", other.version).outcome is FAILED
    assert any_store.get("missing") is None


def test_replace_after_delete_fails(any_store: ObjectStore) -> None:
    created = any_store.create("gone", b"v1")
    assert created.version is not None
    any_store.delete("gone")
    assert any_store.replace("gone", b"v2", created.version).outcome is FAILED
    assert any_store.get("gone") is None


# --- list ------------------------------------------------------------------------------------

LISTED_KEYS = [
    "B/upper",
    "a-x/k",
    "a.x/k",
    "a/k",
    "a0/k",
    "ledger/01.json",
    "ledger/02.json",
    "ledger/10.json",
    "ledger/sub/03.json",
    "ledger2/x",
    "ledgerz",
    "state/pointer.json",
    "z/k",
    "\u00fc/k",  # non-ASCII sorts after every ASCII key, in UTF-8 bytes as in code points
]


@pytest.fixture
def listed_store(any_store: ObjectStore) -> ObjectStore:
    # Written in scrambled order so a backend returning insertion order would be caught.
    for i, key in enumerate(reversed(LISTED_KEYS)):
        assert any_store.create(key, b"x" * (i + 1)).ok
    return any_store


def test_list_everything_in_byte_order(listed_store: ObjectStore) -> None:
    listed = list(listed_store.list(""))
    assert [obj.key for obj in listed] == sorted(LISTED_KEYS, key=lambda k: k.encode())
    assert [obj.key for obj in listed] == LISTED_KEYS
    sizes = {obj.key: obj.size for obj in listed}
    assert sizes["\u00fc/k"] == 1 and sizes["B/upper"] == len(LISTED_KEYS)


def test_list_prefix(listed_store: ObjectStore) -> None:
    assert keys_of(listed_store, "ledger/") == [
        "ledger/01.json",
        "ledger/02.json",
        "ledger/10.json",
        "ledger/sub/03.json",
    ]
    # A prefix is a string prefix, not a directory: it can end mid-segment.
    assert keys_of(listed_store, "ledger") == [
        "ledger/01.json",
        "ledger/02.json",
        "ledger/10.json",
        "ledger/sub/03.json",
        "ledger2/x",
        "ledgerz",
    ]
    assert keys_of(listed_store, "ledger/0") == ["ledger/01.json", "ledger/02.json"]
    assert keys_of(listed_store, "state/pointer.json") == ["state/pointer.json"]
    assert keys_of(listed_store, "nothing/") == []
    assert keys_of(listed_store, "a") == ["a-x/k", "a.x/k", "a/k", "a0/k"]


def test_list_start_after_is_strict(listed_store: ObjectStore) -> None:
    # An existing key is excluded...
    assert keys_of(listed_store, "ledger/", "ledger/01.json") == [
        "ledger/02.json",
        "ledger/10.json",
        "ledger/sub/03.json",
    ]
    # ...a key that does not exist works as a position between keys...
    assert keys_of(listed_store, "ledger/", "ledger/05") == [
        "ledger/10.json",
        "ledger/sub/03.json",
    ]
    # ...before the prefix it changes nothing, after the last key it leaves nothing.
    assert keys_of(listed_store, "ledger/", "a") == keys_of(listed_store, "ledger/")
    assert keys_of(listed_store, "ledger/", "ledger/sub/03.json") == []
    assert keys_of(listed_store, "ledger/", "ledger0") == []
    # Across directory-like boundaries.
    assert keys_of(listed_store, "", "a/k") == LISTED_KEYS[LISTED_KEYS.index("a/k") + 1 :]
    assert keys_of(listed_store, "", "a/") == LISTED_KEYS[LISTED_KEYS.index("a/k") :]
    assert keys_of(listed_store, "", "ledger/sub") == LISTED_KEYS[8:]


def test_list_does_not_leak_other_prefixes(
    any_store_factory: Callable[[str], ObjectStore],
) -> None:
    # Stores made by one factory share a bucket (or directory): only the prefix separates them.
    team = any_store_factory("team")
    team2 = any_store_factory("team2")
    assert team.create("ledger/a", b"1").ok
    assert team2.create("ledger/b", b"2").ok
    assert team2.create("ledger/a", b"other").ok  # same key, other prefix: independent

    assert keys_of(team, "") == ["ledger/a"]
    assert keys_of(team2, "") == ["ledger/a", "ledger/b"]
    assert keys_of(team, "ledger/", "ledger/") == ["ledger/a"]
    assert team.get("ledger/b") is None
    stored = team.get("ledger/a")
    assert stored is not None and stored.data == b"1"
    team.delete("ledger/a")
    other = team2.get("ledger/a")
    assert other is not None and other.data == b"other"


# --- delete ----------------------------------------------------------------------------------


def test_delete(any_store: ObjectStore) -> None:
    any_store.create("d/x", b"1")
    any_store.delete("d/x")
    assert any_store.get("d/x") is None
    assert keys_of(any_store, "d/") == []
    any_store.delete("d/x")  # deleting again, or a key that never existed, is fine
    any_store.delete("never/existed")
    # The key can be created afresh, with a version unlike the deleted one's.
    recreated = any_store.create("d/x", b"2")
    assert recreated.outcome is CREATED
    stored = any_store.get("d/x")
    assert stored is not None and stored.data == b"2"


# --- bytes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x00\xff\xfe\x80 not utf-8 \xc3\x28 \r\n\x1a",
        bytes(range(256)) * 4,
    ],
    ids=["empty", "nul", "non-utf8", "all-bytes"],
)
def test_binary_round_trip(any_store: ObjectStore, data: bytes) -> None:
    created = any_store.create("bin/obj", data)
    assert created.ok
    stored = any_store.get("bin/obj")
    assert stored is not None
    assert stored.data == data and stored.version == created.version
    assert [obj.size for obj in any_store.list("bin/")] == [len(data)]


def test_one_mebibyte_round_trip(any_store: ObjectStore) -> None:
    data = os.urandom(1024 * 1024)
    created = any_store.create("big/obj", data)
    assert created.ok
    stored = any_store.get("big/obj")
    assert stored is not None and stored.data == data
    replacement = os.urandom(1024 * 1024)
    assert created.version is not None
    assert any_store.replace("big/obj", replacement, created.version).ok
    stored = any_store.get("big/obj")
    assert stored is not None and stored.data == replacement


# --- races -----------------------------------------------------------------------------------

WRITERS = 8
RACE_KEYS = 50


def test_create_race_has_exactly_one_winner(any_store: ObjectStore) -> None:
    keys = [f"race/{i:03d}" for i in range(RACE_KEYS)]
    start = threading.Barrier(WRITERS)

    def writer(thread: int) -> dict[str, tuple[WriteOutcome, str | None]]:
        start.wait()
        results = {}
        for key in keys:  # every thread walks the keys in the same order: maximal contention
            result = any_store.create(key, f"writer {thread} {key}".encode())
            results[key] = (result.outcome, result.version)
        return results

    with ThreadPoolExecutor(WRITERS) as pool:
        per_thread = list(pool.map(writer, range(WRITERS)))

    for key in keys:
        winners = [t for t in range(WRITERS) if per_thread[t][key][0] is CREATED]
        losers = [t for t in range(WRITERS) if per_thread[t][key][0] is FAILED]
        assert len(winners) == 1, f"{key}: winners {winners}"
        assert len(losers) == WRITERS - 1
        stored = any_store.get(key)
        assert stored is not None
        assert stored.data == f"writer {winners[0]} {key}".encode()
        assert stored.version == per_thread[winners[0]][key][1]


def test_compare_and_swap_race_loses_no_increment(any_store: ObjectStore) -> None:
    increments = 25
    assert any_store.create("counter", b"0").ok
    start = threading.Barrier(WRITERS)

    def incrementer(_: int) -> int:
        start.wait()
        conflicts = 0
        for _ in range(increments):
            while True:
                current = any_store.get("counter")
                assert current is not None
                new = str(int(current.data) + 1).encode()
                if any_store.replace("counter", new, current.version).ok:
                    break
                conflicts += 1
        return conflicts

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(incrementer, range(WRITERS)))

    final = any_store.get("counter")
    assert final is not None
    assert int(final.data) == WRITERS * increments


# --- local backend only: several processes ---------------------------------------------------

_PROCESS_WRITER = """
import json, os, sys, time
from pathlib import Path
from arco.storage.local import LocalObjectStore

root, me, keys, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
store = LocalObjectStore(root)
print("ready", flush=True)
while not go.exists():
    time.sleep(0.001)
won = {}
for i in range(keys):
    key = f"race/{i:03d}"
    result = store.create(key, f"process {me} {key}".encode())
    if result.ok:
        won[key] = result.version
print(json.dumps(won), flush=True)
"""


@pytest.mark.slow
def test_local_create_race_across_processes(tmp_path: Path) -> None:
    processes, keys = 4, RACE_KEYS
    root, go = tmp_path / "store", tmp_path / "go"
    LocalObjectStore(root)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WRITER, str(root), str(n), str(keys), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    try:
        for proc in procs:  # release them together, once all have imported and opened
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0] * processes
    won: list[dict[str, str]] = [json.loads(out) for out in outputs]

    store = LocalObjectStore(root)
    for i in range(keys):
        key = f"race/{i:03d}"
        winners = [n for n in range(processes) if key in won[n]]
        assert len(winners) == 1, f"{key}: winners {winners}"
        stored = store.get(key)
        assert stored is not None
        assert stored.data == f"process {winners[0]} {key}".encode()
        assert stored.version == won[winners[0]][key]
    # No temp file was left behind by either winners or losers.
    assert list((root / ".tmp").iterdir()) == []


# --- the recording wrapper keeps the contract ------------------------------------------------


def test_recording_store_delegates_and_counts(any_store: ObjectStore) -> None:
    recording = RecordingObjectStore(any_store)
    assert isinstance(recording, ObjectStore)
    assert recording.url == any_store.url
    created = recording.create("r/a", b"1")
    assert created.version is not None
    assert recording.create("r/a", b"2").outcome is FAILED
    assert recording.replace("r/a", b"3", created.version).ok
    assert recording.get("r/a") is not None
    assert keys_of(recording, "r/") == ["r/a"]
    recording.delete("r/a")

    assert recording.calls == [
        StoreCall("create", "r/a"),
        StoreCall("create", "r/a"),
        StoreCall("replace", "r/a"),
        StoreCall("get", "r/a"),
        StoreCall("list", "r/"),
        StoreCall("delete", "r/a"),
    ]
    assert recording.count() == 6
    assert recording.count("create") == 2
    assert recording.count(prefix="r/") == 6
    assert recording.count("get", prefix="other/") == 0
    recording.reset()
    assert recording.calls == [] and recording.count() == 0


# --- local backend only: keys are paths ------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a//b", "a/", "./a", "a/./b", "../escape", "a/../../b", ".tmp/x", ".locks/x"],
)
def test_local_rejects_keys_that_are_not_plain_relative_paths(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path / "store")
    for call in (
        lambda: store.create(key, b"x"),
        lambda: store.replace(key, b"x", "1-2-3"),
        lambda: store.get(key),
        lambda: store.delete(key),
    ):
        with pytest.raises(InvalidInput):
            call()
    assert not (tmp_path / "escape").exists()


def test_local_store_url_and_reserved_dirs_stay_hidden(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    assert store.url == f"file://{tmp_path / 'store'}"
    store.create("a", b"1")
    store.replace("a", b"2", store.get("a").version)  # type: ignore[union-attr]
    assert keys_of(store, "") == ["a"]  # the .locks file made by replace is not a key
    assert keys_of(store, ".") == []


# --- gcs only --------------------------------------------------------------------------------


@pytest.mark.gcs
def test_gcs_pinned_read_matches_the_normal_read(gcs_bucket: str, gcs_client: Any) -> None:
    # The fallback get() uses if a download response ever lacks X-Goog-Generation.
    from arco.storage.gcs import GcsObjectStore

    store = GcsObjectStore(gcs_bucket, "pinned", client=gcs_client)
    created = store.create("k", b"one")
    assert created.version is not None
    assert store._get_pinned("pinned/k") == store.get("k")
    replaced = store.replace("k", b"two", created.version)
    pinned = store._get_pinned("pinned/k")
    assert pinned is not None and (pinned.data, pinned.version) == (b"two", replaced.version)
    store.delete("k")
    assert store._get_pinned("pinned/k") is None


@pytest.mark.gcs
def test_gcs_unreachable_is_storage_unavailable() -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from arco.storage.gcs import GcsObjectStore

    client = storage.Client(
        project="p",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://127.0.0.1:{_closed_port()}"},
    )
    store = GcsObjectStore("bucket", "p", client=client, retry_timeout=0.2)
    for call in (
        lambda: store.get("k"),
        lambda: store.create("k", b"x"),
        lambda: list(store.list("")),
    ):
        with pytest.raises(StorageUnavailable):
            call()


# --- s3 only ---------------------------------------------------------------------------------


@pytest.mark.s3
def test_s3_unreachable_is_storage_unavailable() -> None:
    import boto3
    from botocore.config import Config

    from arco.storage.s3 import S3ObjectStore

    client = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{_closed_port()}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    store = S3ObjectStore("bucket", "p", client=client)
    for call in (
        lambda: store.get("k"),
        lambda: store.create("k", b"x"),
        lambda: list(store.list("")),
    ):
        with pytest.raises(StorageUnavailable):
            call()


def _closed_port() -> int:
    """A local port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
