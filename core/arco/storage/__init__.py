"""Object stores: one small contract, four backends. The only place cloud SDKs are imported."""

from arco.storage.port import (
    ListedObject,
    ObjectStore,
    StoredObject,
    WriteOutcome,
    WriteResult,
)

__all__ = ["ListedObject", "ObjectStore", "StoredObject", "WriteOutcome", "WriteResult"]
