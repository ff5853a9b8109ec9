"""In-memory projection state for the fold: committed tables plus a staged overlay.

The compactor folds into a `StagedState` over the cached committed `FoldState`. Nothing in the
committed state changes until the pointer CAS has succeeded (`StagedState.commit`), so a lost
race or a crash just drops the overlay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from arco.domain.tables import Key, Row, TableSpec

_ABSENT = object()


class FoldState:
    """Committed tables: table name -> key -> row."""

    def __init__(self, tables: Mapping[str, dict[Key, Row]] | None = None) -> None:
        self.tables: dict[str, dict[Key, Row]] = dict(tables or {})

    def rows(self, table: str) -> dict[Key, Row]:
        return self.tables.setdefault(table, {})

    def row_counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in sorted(self.tables.items())}


class StagedState:
    """Changes on top of a committed state, visible through `get` as if applied."""

    def __init__(self, base: FoldState) -> None:
        self.base = base
        # None marks a deleted row.
        self.changes: dict[str, dict[Key, Row | None]] = {}
        # Undo entries (table, key, previous staged entry or _ABSENT) while a savepoint is open.
        self._undo: list[tuple[str, Key, object]] | None = None

    def savepoint(self) -> None:
        """Start recording changes so `rollback` can undo them (one event's writes)."""
        self._undo = []

    def release(self) -> None:
        self._undo = None

    def rollback(self) -> None:
        """Undo every change since `savepoint()`."""
        for table, key, previous in reversed(self._undo or []):
            if previous is _ABSENT:
                self.changes[table].pop(key, None)
            else:
                self.changes[table][key] = previous  # type: ignore[assignment]
        self._undo = None

    def _record(self, table: str, key: Key) -> None:
        if self._undo is not None:
            self._undo.append((table, key, self.changes.get(table, {}).get(key, _ABSENT)))

    def get(self, table: str, key: Key) -> Row | None:
        staged = self.changes.get(table)
        if staged is not None and key in staged:
            return staged[key]
        return self.base.tables.get(table, {}).get(key)

    def put(self, spec: TableSpec, row: Row) -> None:
        key = spec.key_of(row)
        self._record(spec.name, key)
        self.changes.setdefault(spec.name, {})[key] = row

    def delete(self, spec: TableSpec, key: Key) -> None:
        if self.get(spec.name, key) is not None:
            self._record(spec.name, key)
            self.changes.setdefault(spec.name, {})[key] = None

    def changed_tables(self) -> list[str]:
        return sorted(name for name, rows in self.changes.items() if rows)

    def iter_changes(self, table: str) -> Iterator[tuple[Key, Row | None]]:
        yield from self.changes.get(table, {}).items()

    def commit(self) -> FoldState:
        """Apply the staged changes to the base state (in place) and return it."""
        for table, rows in self.changes.items():
            target = self.base.rows(table)
            for key, row in rows.items():
                if row is None:
                    target.pop(key, None)
                else:
                    target[key] = row
        self.changes = {}
        return self.base
