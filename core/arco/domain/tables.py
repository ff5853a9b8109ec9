"""Projection table schemas, described without pyarrow.

A table is a set of rows keyed by one or more columns. Every row also carries `row_version`,
the id of the last event that changed it. The Parquet codec at the edge maps these column
types onto Arrow types; the domain only needs names, keys and types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ColumnType = Literal["string", "int64", "float64", "bool", "json"]
ROW_VERSION = "row_version"

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """One typed column. `json` columns hold canonical JSON text."""

    name: str
    type: ColumnType


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A projection table: its name, key columns and value columns (key columns included)."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""
    all_columns: tuple[Column, ...] = field(init=False, compare=False, repr=False)
    column_names: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        if ROW_VERSION in names:
            raise ValueError(f"table {self.name}: {ROW_VERSION} is added automatically")
        missing = [k for k in self.key if k not in names]
        if missing or not self.key:
            raise ValueError(f"table {self.name}: key columns {missing or '()'} not declared")
        # Derived once: the fold asks for these for every row it writes.
        object.__setattr__(self, "all_columns", (*self.columns, Column(ROW_VERSION, "string")))
        object.__setattr__(self, "column_names", (*names, ROW_VERSION))

    def key_of(self, row: Row) -> Key:
        """The key tuple of `row`."""
        return tuple(row[k] for k in self.key)
