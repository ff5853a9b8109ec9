"""The simple mappings: identity, all, last, specific partitions and static (explicit
key-to-key correspondence)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings.base import (
    Dynamic,
    PartitionMapping,
    UpstreamPartitions,
    _keys_arg,
    _ordered,
    _require,
    _sides,
)
from arco.domain.partitions import (
    NO_DYNAMIC,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now


def _last_key(definition: PartitionsDefinition, now: datetime, dynamic: Dynamic) -> str | None:
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition.last_key(now)
    keys = definition.keys(now, dynamic)
    return keys[-1] if keys else None


def _all_keys(
    definition: PartitionsDefinition | None, now: datetime, dynamic: Dynamic
) -> tuple[str, ...]:
    return () if definition is None else tuple(definition.keys(now, dynamic))


class IdentityPartitionMapping(PartitionMapping):
    """Each downstream key depends on the same key upstream.

    When the definitions differ, the result is the keys both have; downstream keys the
    upstream lacks are required-but-nonexistent.
    """

    kind: ClassVar[str] = "identity"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None
        keys = _keys_arg(downstream_keys, "downstream keys")
        if downstream_def == upstream_def:
            return UpstreamPartitions(_ordered(upstream_def, keys, dynamic), ())
        found = [k for k in keys if upstream_def.has_key(k, now, dynamic)]
        missing = tuple(k for k in keys if not upstream_def.has_key(k, now, dynamic))
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), missing)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        _require(self, upstream_def, downstream_def)
        assert downstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        if downstream_def == upstream_def:
            return _ordered(downstream_def, keys, dynamic)
        found = [k for k in keys if downstream_def.has_key(k, now, dynamic)]
        return _ordered(downstream_def, found, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None and downstream_def is not None
        if upstream_def.kind != downstream_def.kind:
            raise InvalidInput(
                "IdentityPartitionMapping needs partitions of the same kind, or another "
                f"partition mapping: upstream is {upstream_def.kind} "
                f"({upstream_def.describe()}), downstream is {downstream_def.kind} "
                f"({downstream_def.describe()})"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class AllPartitionMapping(PartitionMapping):
    """Every downstream key depends on every upstream key; any upstream key maps to every
    downstream key. Either side may be unpartitioned."""

    kind: ClassVar[str] = "all"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        return UpstreamPartitions(_all_keys(upstream_def, now, dynamic), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        if not _keys_arg(upstream_keys, "upstream keys"):
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        return None

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class LastPartitionMapping(PartitionMapping):
    """Every downstream key depends on the upstream's last key at `now` (respecting the
    upstream's end_offset); only that key maps downstream, to every downstream key."""

    kind: ClassVar[str] = "last"

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        last = _last_key(upstream_def, now, dynamic)
        return UpstreamPartitions(() if last is None else (last,), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        last = _last_key(upstream_def, now, dynamic)
        if last is None or last not in keys:
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def, downstream_needed=False)

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind}


class SpecificPartitionsPartitionMapping(PartitionMapping):
    """Every downstream key depends on exactly `keys` upstream; if any of them is among the
    upstream keys, every downstream key depends on it."""

    kind: ClassVar[str] = "specific_partitions"

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str) or not isinstance(keys, Sequence):
            raise InvalidInput(
                f"SpecificPartitionsPartitionMapping keys must be a list of strings, got {keys!r}"
            )
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidInput(
                    f"SpecificPartitionsPartitionMapping: partition key {key!r} must be a "
                    "non-empty string"
                )
        self._keys: tuple[str, ...] = tuple(dict.fromkeys(keys))

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        found = [k for k in self._keys if upstream_def.has_key(k, now, dynamic)]
        missing = tuple(k for k in self._keys if not upstream_def.has_key(k, now, dynamic))
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), missing)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        keys = set(_keys_arg(upstream_keys, "upstream keys"))
        if not any(k in keys for k in self._keys):
            return ()
        return _all_keys(downstream_def, now, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        _require(self, upstream_def, downstream_def, downstream_needed=False)
        assert upstream_def is not None
        unknown = [k for k in self._keys if not _can_belong(upstream_def, k)]
        if unknown:
            raise InvalidInput(
                f"SpecificPartitionsPartitionMapping keys {unknown} can never be in the upstream "
                f"partitions ({_sides(upstream_def, downstream_def)})"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "keys": list(self._keys)}


def _can_belong(definition: PartitionsDefinition, key: str) -> bool:
    """Whether `key` is well formed for `definition` (present at some time, for time windows;
    any key, for dynamic partitions)."""
    if isinstance(definition, StaticPartitionsDefinition):
        return key in definition.partition_keys
    if isinstance(definition, TimeWindowPartitionsDefinition):
        return definition.key_space().index_of(key) is not None
    if isinstance(definition, MultiPartitionsDefinition):
        parts = key.split("|")
        if len(parts) != 2:
            return False
        return all(
            _can_belong(definition.dimension(name), part)
            for name, part in zip(definition.dimension_names, parts, strict=True)
        )
    return True


class StaticPartitionMapping(PartitionMapping):
    """An explicit correspondence between two static definitions:
    `{upstream key: downstream key or [downstream keys]}` (many to many)."""

    kind: ClassVar[str] = "static"

    def __init__(self, mapping: Mapping[str, str | Sequence[str]]) -> None:
        if not isinstance(mapping, Mapping):
            raise InvalidInput(
                f"StaticPartitionMapping needs {{upstream key: downstream key(s)}}, got {mapping!r}"
            )
        forward: dict[str, tuple[str, ...]] = {}
        for upstream, downstream in mapping.items():
            if not isinstance(upstream, str):
                raise InvalidInput(
                    f"StaticPartitionMapping: upstream key {upstream!r} must be a str"
                )
            targets = [downstream] if isinstance(downstream, str) else downstream
            if not isinstance(targets, Sequence) or not all(isinstance(t, str) for t in targets):
                raise InvalidInput(
                    f"StaticPartitionMapping: upstream key {upstream!r} must map to a key or a "
                    f"list of keys, got {downstream!r}"
                )
            forward[upstream] = tuple(dict.fromkeys(targets))
        self._forward = forward
        inverse: dict[str, list[str]] = {}
        for upstream, targets in forward.items():
            for target in targets:
                inverse.setdefault(target, []).append(upstream)
        self._inverse = inverse

    @property
    def mapping(self) -> dict[str, tuple[str, ...]]:
        """{upstream key: downstream keys}."""
        return dict(self._forward)

    def _check(
        self,
        upstream_def: PartitionsDefinition | None,
        downstream_def: PartitionsDefinition | None,
        *,
        upstream_side: bool,
        downstream_side: bool,
    ) -> None:
        for side, definition in (("Upstream", upstream_def), ("Downstream", downstream_def)):
            if not isinstance(definition, StaticPartitionsDefinition):
                raise InvalidInput(
                    f"StaticPartitionMapping: {side.lower()} partitions must be static "
                    f"({_sides(upstream_def, downstream_def)})"
                )
        assert isinstance(upstream_def, StaticPartitionsDefinition)
        assert isinstance(downstream_def, StaticPartitionsDefinition)
        if upstream_side:
            known = set(upstream_def.partition_keys)
            extra = [k for k in self._forward if k not in known]
            if extra:
                raise InvalidInput(
                    f"StaticPartitionMapping: mapping source keys {extra} are not in the upstream "
                    f"partitions ({_sides(upstream_def, downstream_def)})"
                )
        if downstream_side:
            known = set(downstream_def.partition_keys)
            extra = [k for k in self._inverse if k not in known]
            if extra:
                raise InvalidInput(
                    f"StaticPartitionMapping: mapping target keys {extra} are not in the "
                    f"downstream partitions ({_sides(upstream_def, downstream_def)})"
                )

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        self._check(upstream_def, downstream_def, upstream_side=True, downstream_side=False)
        assert upstream_def is not None
        keys = _keys_arg(downstream_keys, "downstream keys")
        found = [up for key in keys for up in self._inverse.get(key, ())]
        return UpstreamPartitions(_ordered(upstream_def, found, dynamic), ())

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        self._check(upstream_def, downstream_def, upstream_side=False, downstream_side=True)
        assert downstream_def is not None
        keys = _keys_arg(upstream_keys, "upstream keys")
        found = [down for key in keys for down in self._forward.get(key, ())]
        return _ordered(downstream_def, found, dynamic)

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        self._check(upstream_def, downstream_def, upstream_side=True, downstream_side=True)

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "mapping": {k: list(v) for k, v in self._forward.items()}}
