"""Where Arco's own IO managers keep asset values: the workspace's store, under `io/`.

Values are written whole (a new value replaces the old one) and read back by downstream tasks
on any worker. Pickle for any Python value; Parquet for Arrow tables and pandas DataFrames
(pyarrow is imported only when a Parquet value is written or read).
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from arco.domain.errors import InvalidInput
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

_EXTENSIONS = {"pickle": "pickle", "parquet": "parquet"}


class StoreValueStorage:
    """`ValueStorage` over an object store, one workspace's `io/` prefix."""

    def __init__(self, store: ObjectStore, layout: WorkspaceLayout) -> None:
        self._store = store
        self._prefix = f"{layout.root}io/"

    def key(self, path: str, fmt: str) -> str:
        if fmt not in _EXTENSIONS:
            raise InvalidInput(f"unknown IO format {fmt!r}: use {', '.join(_EXTENSIONS)}")
        return f"{self._prefix}{path}.{_EXTENSIONS[fmt]}"

    def write(self, path: str, obj: Any, fmt: str) -> None:
        key = self.key(path, fmt)
        data = _encode(obj, fmt)
        # Last writer wins: a retried or re-run task replaces the value it wrote before.
        for _ in range(5):
            current = self._store.get(key)
            result = (
                self._store.create(key, data)
                if current is None
                else self._store.replace(key, data, current.version)
            )
            if result.ok:
                return
        raise InvalidInput(f"could not store {key}: it kept changing under this write")

    def read(self, path: str, fmt: str) -> tuple[bool, Any]:
        found = self._store.get(self.key(path, fmt))
        if found is None:
            return False, None
        return True, _decode(found.data, fmt)


def _encode(obj: Any, fmt: str) -> bytes:
    if fmt == "pickle":
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = obj
    if not isinstance(table, pa.Table):
        if type(obj).__module__.startswith("pandas"):
            table = pa.Table.from_pandas(obj)
        else:
            raise InvalidInput(
                f"ParquetIOManager stores Arrow tables and pandas DataFrames, "
                f"not {type(obj).__name__}"
            )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _decode(data: bytes, fmt: str) -> Any:
    if fmt == "pickle":
        return pickle.loads(data)
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data))
