"""An object store in a local directory, safe for several processes on one machine.

Every object file is written once, in full, under `<root>/.tmp/` and then published with an
atomic link (create) or rename (replace), so its bytes never change after they become visible.
Creates are exclusive because `os.link` fails when the target exists. Replaces and deletes
serialise per key on an `flock`ed lock file under `<root>/.locks/`, which makes the
read-compare-rename sequence of a replace a compare-and-swap.
"""

from __future__ import annotations

import builtins
import fcntl
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from arco.domain.errors import InvalidInput
from arco.storage.port import ListedObject, StoredObject, WriteOutcome, WriteResult

_TMP_DIR = ".tmp"
_LOCK_DIR = ".locks"
_RESERVED = frozenset({_TMP_DIR, _LOCK_DIR})


def _version(st: os.stat_result) -> str:
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def _split_key(key: str) -> list[str]:
    """The path segments of `key`; rejects anything that could escape or alias the root."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\x00" in key:
        raise InvalidInput(f"invalid object key {key!r}")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(f"invalid object key {key!r}: empty, '.' or '..' segment")
    if parts[0] in _RESERVED:
        raise InvalidInput(f"invalid object key {key!r}: {parts[0]!r} is reserved")
    return parts


class LocalObjectStore:
    """Objects as files under `root`; keys are '/'-separated relative paths."""

    def __init__(self, root: Path) -> None:
        self._root = Path(os.path.abspath(root))
        self._tmp = self._root / _TMP_DIR
        self._locks = self._root / _LOCK_DIR
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._locks.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    @property
    def url(self) -> str:
        return f"file://{self._root}"

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*_split_key(key))

    @contextmanager
    def _key_lock(self, key: str) -> Iterator[None]:
        # Hash the key so the lock file name is flat, short and free of separators.
        name = hashlib.sha256(key.encode("utf-8")).hexdigest() + ".lock"
        fd = os.open(self._locks / name, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            # Each call opens its own descriptor, so this excludes other threads of this
            # process as well as other processes.
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _write_tmp(self, data: bytes, min_mtime_ns: int | None = None) -> tuple[Path, str]:
        """Write `data` to a new temp file; return its path and the version it will publish."""
        tmp = self._tmp / f"{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if min_mtime_ns is not None:
                st = os.fstat(fd)
                if st.st_mtime_ns < min_mtime_ns:
                    # Inode numbers are reused and mtime is coarse, so two writes within one
                    # clock tick could repeat an old version token (ABA). Forcing mtime to
                    # move forward past the replaced file keeps a key's tokens unique.
                    os.utime(fd, ns=(st.st_atime_ns, min_mtime_ns))
            os.fsync(fd)
            version = _version(os.fstat(fd))
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp, version

    def create(self, key: str, data: bytes) -> WriteResult:
        path = self._path(key)
        tmp, version = self._write_tmp(data)
        try:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                # A file cannot also be a directory: "a" and "a/b" cannot both be keys here.
                raise InvalidInput(f"object key {key!r} lies under an existing object") from None
            try:
                # link() is atomic and fails if the name exists: the exclusive-create primitive.
                os.link(tmp, path)
            except FileExistsError:
                if path.is_dir():
                    raise InvalidInput(f"object key {key!r} is a prefix of other keys") from None
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            # The version came from the temp file's inode, which is now the published one:
            # link() keeps inode, size and mtime.
            return WriteResult(WriteOutcome.CREATED, version)
        finally:
            tmp.unlink(missing_ok=True)

    def replace(self, key: str, data: bytes, expected_version: str) -> WriteResult:
        path = self._path(key)
        with self._key_lock(key):
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            if not stat.S_ISREG(st.st_mode) or _version(st) != expected_version:
                return WriteResult(WriteOutcome.PRECONDITION_FAILED)
            tmp, version = self._write_tmp(data, min_mtime_ns=st.st_mtime_ns + 1)
            try:
                os.replace(tmp, path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return WriteResult(WriteOutcome.REPLACED, version)

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            # fstat on the descriptor we read from: the bytes and the version describe the same
            # inode even if the key is replaced meanwhile (published files are never modified).
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None  # a directory: only a prefix of other keys, not an object
            chunks = []
            while chunk := os.read(fd, max(st.st_size, 1 << 16)):
                chunks.append(chunk)
        finally:
            os.close(fd)
        return StoredObject(data=b"".join(chunks), version=_version(st))

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[ListedObject]:
        # Only the directory named by the prefix's complete segments can hold matches; the last,
        # partial segment filters that directory's entries.
        *dirs, partial = prefix.split("/")
        if any(part in ("", ".", "..") for part in dirs) or "\x00" in prefix:
            raise InvalidInput(f"invalid list prefix {prefix!r}")
        if dirs and dirs[0] in _RESERVED:
            return iter([])
        found: list[ListedObject] = []
        base = "".join(part + "/" for part in dirs)
        self._walk(self._root.joinpath(*dirs), base, partial, start_after, found)
        found.sort(key=lambda obj: obj.key)  # code-point order == UTF-8 byte order
        return iter(obj for obj in found if start_after is None or obj.key > start_after)

    def _walk(
        self,
        directory: Path,
        key_prefix: str,
        name_prefix: str,
        start_after: str | None,
        out: builtins.list[ListedObject],  # `list` is shadowed by the method here
    ) -> None:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if not entry.name.startswith(name_prefix):
                continue
            if not key_prefix and entry.name in _RESERVED:
                continue
            key = key_prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    sub = key + "/"
                    # Every key below sorts before start_after: skip the whole subtree.
                    if (
                        start_after is not None
                        and sub < start_after
                        and not start_after.startswith(sub)
                    ):
                        continue
                    self._walk(Path(entry.path), sub, "", start_after, out)
                elif entry.is_file(follow_symlinks=False):
                    out.append(ListedObject(key=key, size=entry.stat().st_size))
            except FileNotFoundError:
                continue  # deleted while we were listing

    def delete(self, key: str) -> None:
        path = self._path(key)
        # Under the key lock so a delete cannot slip between a replace's compare and rename.
        with (
            self._key_lock(key),
            suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError),
        ):
            os.unlink(path)
