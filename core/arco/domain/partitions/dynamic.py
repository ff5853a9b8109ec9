"""Dynamic partitions: keys added and removed at run time and read from state.

The definition only carries a name; its keys are `dynamic[name]` (insertion order, as folded
into the `dynamic_partitions` table). An unknown name has no keys.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from arco.domain.errors import InvalidInput
from arco.domain.partitions.base import NO_DYNAMIC, KeySpace, PartitionsDefinition
from arco.domain.partitions.static import ListKeySpace

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}\Z")


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Keys owned by state, under `name`."""

    kind: ClassVar[str] = "dynamic"

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidInput(
                f"invalid dynamic partitions name {name!r}: use 1-200 characters from "
                "A-Z a-z 0-9 _ . : -, starting with a letter, digit or '_'"
            )
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def keys(self, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> list[str]:
        return list(dict.fromkeys(dynamic.get(self._name, ())))

    def has_key(
        self, key: str, now: datetime, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC
    ) -> bool:
        return key in dynamic.get(self._name, ())

    def describe(self) -> str:
        return f"dynamic partitions {self._name!r}"

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self._name}

    def key_space(self, dynamic: Mapping[str, Sequence[str]] = NO_DYNAMIC) -> KeySpace:
        keys = tuple(dict.fromkeys(dynamic.get(self._name, ())))
        return ListKeySpace(keys, ("dynamic", self._name, keys))
