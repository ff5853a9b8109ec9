"""Mappings involving multi partitions: `MultiToSingleDimensionPartitionMapping`,
`MultiPartitionMapping` with its `DimensionPartitionMapping`s, and the dimension-by-dimension
key mapping they share."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
from arco.domain.partition_mappings.simple import IdentityPartitionMapping
from arco.domain.partition_mappings.time_window import TimeWindowPartitionMapping
from arco.domain.partitions import (
    NO_DYNAMIC,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from arco.domain.partitions.base import check_now


@dataclass(frozen=True)
class _Dependency:
    """One dimension (or a whole single-dimension definition, when the name is None) of the
    upstream, tied to one of the downstream by `mapping`."""

    mapping: PartitionMapping
    upstream_dimension: str | None
    downstream_dimension: str | None


def _dimension(definition: PartitionsDefinition, name: str | None) -> PartitionsDefinition:
    if name is None:
        return definition
    assert isinstance(definition, MultiPartitionsDefinition)
    return definition.dimension(name)


def _dimension_names(definition: PartitionsDefinition) -> list[str | None]:
    if isinstance(definition, MultiPartitionsDefinition):
        return list(definition.dimension_names)
    return [None]


def _map_dimensions(
    dependencies: Sequence[_Dependency],
    source: PartitionsDefinition,
    source_keys: Sequence[str],
    target: PartitionsDefinition,
    now: datetime,
    dynamic: Dynamic,
    *,
    to_upstream: bool,
) -> UpstreamPartitions:
    """Map keys dimension by dimension. Each source key gives the product of its mapped
    dimensions' keys with every key of the target dimensions no dependency names (Dagster's
    rule for dimensions left out of a MultiPartitionMapping)."""
    links: dict[str | None, tuple[str | None, PartitionMapping]] = {}
    for dep in dependencies:
        if to_upstream:
            links[dep.downstream_dimension] = (dep.upstream_dimension, dep.mapping)
        else:
            links[dep.upstream_dimension] = (dep.downstream_dimension, dep.mapping)

    def parts_of(key: str) -> dict[str | None, str]:
        if isinstance(source, MultiPartitionsDefinition):
            by_name: dict[str | None, str] = {}
            by_name.update(source.dimension_keys(key))
            return by_name
        return {None: key}

    parsed = [(key, parts_of(key)) for key in source_keys]
    mapped: dict[tuple[str | None, str], UpstreamPartitions] = {}
    for source_dim, (target_dim, mapping) in links.items():
        source_part = _dimension(source, source_dim)
        target_part = _dimension(target, target_dim)
        for value in dict.fromkeys(parts[source_dim] for _, parts in parsed):
            if to_upstream:
                result = mapping.upstream_partitions(
                    source_part, [value], target_part, now, dynamic
                )
            else:
                result = UpstreamPartitions(
                    mapping.downstream_partitions(source_part, [value], target_part, now, dynamic)
                )
            mapped[(source_dim, value)] = result

    target_dims = [target_dim for target_dim, _ in links.values()]
    free_dims = [name for name in _dimension_names(target) if name not in target_dims]
    free_keys = [_dimension(target, name).keys(now, dynamic) for name in free_dims]
    names = target_dims + free_dims

    def build(values: tuple[str, ...]) -> str:
        if isinstance(target, MultiPartitionsDefinition):
            return target.key_from({str(n): v for n, v in zip(names, values, strict=True)})
        return values[0]

    found: dict[str, None] = {}
    nonexistent: dict[str, None] = {}
    for _, parts in parsed:
        results = [mapped[(source_dim, parts[source_dim])] for source_dim in links]
        for values in itertools.product(*(r.keys for r in results), *free_keys):
            found[build(values)] = None
        if any(r.required_but_nonexistent for r in results):
            missing_sets = [set(r.required_but_nonexistent) for r in results]
            choices = [r.keys + r.required_but_nonexistent for r in results]
            for values in itertools.product(*choices, *free_keys):
                if any(v in m for v, m in zip(values, missing_sets, strict=False)):
                    nonexistent[build(values)] = None
    return UpstreamPartitions(_ordered(target, found, dynamic), tuple(nonexistent))


def _infer_single_to_multi(
    upstream_def: PartitionsDefinition,
    downstream_def: PartitionsDefinition,
    dimension_name: str | None,
) -> _Dependency | str:
    """The dependency between a multi definition and a single-dimension one, or why there is
    none: the dimension equal to the single definition, else the only time dimension when
    the single definition is a time window."""
    multis = [d for d in (upstream_def, downstream_def) if isinstance(d, MultiPartitionsDefinition)]
    if len(multis) != 1:
        return (
            "MultiToSingleDimensionPartitionMapping needs exactly one multi-partitioned side, "
            f"got {len(multis)} ({_sides(upstream_def, downstream_def)})"
        )
    multi = multis[0]
    upstream_is_multi = isinstance(upstream_def, MultiPartitionsDefinition)
    single = downstream_def if upstream_is_multi else upstream_def
    names = multi.dimension_names
    if dimension_name is not None:
        if dimension_name not in names:
            return (
                f"MultiToSingleDimensionPartitionMapping: dimension {dimension_name!r} is not in "
                f"{multi.describe()} ({_sides(upstream_def, downstream_def)})"
            )
        names = [dimension_name]

    def dependency(name: str, mapping: PartitionMapping) -> _Dependency:
        if upstream_is_multi:
            return _Dependency(mapping, name, None)
        return _Dependency(mapping, None, name)

    matching = [name for name in names if multi.dimension(name) == single]
    if len(matching) == 1:
        return dependency(matching[0], IdentityPartitionMapping())
    if len(matching) > 1:
        return (
            "MultiToSingleDimensionPartitionMapping: partition_dimension_name must be given, "
            f"dimensions {matching} all match ({_sides(upstream_def, downstream_def)})"
        )
    times = [
        name for name in names if isinstance(multi.dimension(name), TimeWindowPartitionsDefinition)
    ]
    if len(times) == 1 and isinstance(single, TimeWindowPartitionsDefinition):
        return dependency(times[0], TimeWindowPartitionMapping())
    return (
        "MultiToSingleDimensionPartitionMapping needs the single-dimension partitions to be a "
        "dimension of the multi partitions, or time windows when the multi partitions have "
        f"exactly one time dimension ({_sides(upstream_def, downstream_def)})"
    )


class MultiToSingleDimensionPartitionMapping(PartitionMapping):
    """A single-dimension key `k` corresponds to every multi key whose dimension
    `partition_dimension_name` is `k`, in both directions (upstream multi and downstream
    single, or the reverse). With no name, the dimension equal to the single definition is
    used (else the only time dimension, when the single definition is a time window)."""

    kind: ClassVar[str] = "multi_to_single_dimension"

    def __init__(self, partition_dimension_name: str | None = None) -> None:
        if partition_dimension_name is not None and (
            not isinstance(partition_dimension_name, str) or not partition_dimension_name
        ):
            raise InvalidInput(
                "MultiToSingleDimensionPartitionMapping partition_dimension_name "
                f"{partition_dimension_name!r} must be a dimension name or None"
            )
        self._dimension_name = partition_dimension_name

    @property
    def partition_dimension_name(self) -> str | None:
        return self._dimension_name

    def _dependency(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> tuple[_Dependency, PartitionsDefinition, PartitionsDefinition]:
        _require(self, upstream_def, downstream_def)
        assert upstream_def is not None and downstream_def is not None
        found = _infer_single_to_multi(upstream_def, downstream_def, self._dimension_name)
        if isinstance(found, str):
            raise InvalidInput(found)
        return found, upstream_def, downstream_def

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        keys = _keys_arg(downstream_keys, "downstream keys")
        return _map_dimensions([dep], downstream, keys, upstream, now, dynamic, to_upstream=True)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        keys = _keys_arg(upstream_keys, "upstream keys")
        return _map_dimensions(
            [dep], upstream, keys, downstream, now, dynamic, to_upstream=False
        ).keys

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        dep, upstream, downstream = self._dependency(upstream_def, downstream_def)
        dep.mapping.validate(
            _dimension(upstream, dep.upstream_dimension),
            _dimension(downstream, dep.downstream_dimension),
        )

    def to_snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "partition_dimension_name": self._dimension_name}


@dataclass(frozen=True)
class DimensionPartitionMapping:
    """For `MultiPartitionMapping`: the downstream dimension an upstream dimension feeds, and
    the mapping between the two dimensions' definitions."""

    dimension_name: str
    partition_mapping: PartitionMapping

    def __post_init__(self) -> None:
        if not isinstance(self.dimension_name, str) or not self.dimension_name:
            raise InvalidInput(
                f"DimensionPartitionMapping dimension_name {self.dimension_name!r} must be a "
                "non-empty string"
            )
        if not isinstance(self.partition_mapping, PartitionMapping):
            raise InvalidInput(
                f"DimensionPartitionMapping for {self.dimension_name!r}: partition_mapping must "
                f"be a PartitionMapping, got {self.partition_mapping!r}"
            )
        if isinstance(
            self.partition_mapping, MultiPartitionMapping | MultiToSingleDimensionPartitionMapping
        ):
            raise InvalidInput(
                f"DimensionPartitionMapping for {self.dimension_name!r}: a dimension cannot use "
                f"{type(self.partition_mapping).__name__} (dimensions are single-dimensional)"
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "dimension_name": self.dimension_name,
            "partition_mapping": self.partition_mapping.to_snapshot(),
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> DimensionPartitionMapping:
        if not isinstance(data, Mapping):
            raise InvalidInput(f"dimension partition mapping snapshot must be an object: {data!r}")
        # Imported here: the snapshot module imports this one.
        from arco.domain.partition_mappings.snapshot import mapping_from_snapshot

        try:
            return cls(data["dimension_name"], mapping_from_snapshot(data["partition_mapping"]))
        except KeyError as exc:
            raise InvalidInput(
                f"dimension partition mapping snapshot is missing {exc.args[0]!r}"
            ) from None


class MultiPartitionMapping(PartitionMapping):
    """Between two multi definitions: `{upstream dimension: DimensionPartitionMapping}`. Each
    listed upstream dimension feeds one downstream dimension through its own mapping;
    dimensions left out depend on all keys of each other (e.g. color identity plus date
    start=-1,end=-1 maps downstream `red|2024-01-05` to upstream `red|2024-01-04`)."""

    kind: ClassVar[str] = "multi"

    def __init__(self, mappings: Mapping[str, DimensionPartitionMapping]) -> None:
        if not isinstance(mappings, Mapping):
            raise InvalidInput(
                "MultiPartitionMapping needs {upstream dimension: DimensionPartitionMapping}, "
                f"got {mappings!r}"
            )
        targets: dict[str, str] = {}
        for upstream_dim, dim_mapping in mappings.items():
            if not isinstance(upstream_dim, str) or not upstream_dim:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} must be a name"
                )
            if not isinstance(dim_mapping, DimensionPartitionMapping):
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} needs a "
                    f"DimensionPartitionMapping, got {dim_mapping!r}"
                )
            if dim_mapping.dimension_name in targets:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimensions "
                    f"{targets[dim_mapping.dimension_name]!r} and {upstream_dim!r} both map to "
                    f"downstream dimension {dim_mapping.dimension_name!r}"
                )
            targets[dim_mapping.dimension_name] = upstream_dim
        self._mappings: dict[str, DimensionPartitionMapping] = dict(sorted(mappings.items()))

    @property
    def mappings(self) -> dict[str, DimensionPartitionMapping]:
        return dict(self._mappings)

    def _dependencies(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> tuple[list[_Dependency], MultiPartitionsDefinition, MultiPartitionsDefinition]:
        for side, definition in (("upstream", upstream_def), ("downstream", downstream_def)):
            if not isinstance(definition, MultiPartitionsDefinition):
                raise InvalidInput(
                    f"MultiPartitionMapping: {side} partitions must be multi partitions "
                    f"({_sides(upstream_def, downstream_def)})"
                )
        assert isinstance(upstream_def, MultiPartitionsDefinition)
        assert isinstance(downstream_def, MultiPartitionsDefinition)
        for upstream_dim, dim_mapping in self._mappings.items():
            if upstream_dim not in upstream_def.dimension_names:
                raise InvalidInput(
                    f"MultiPartitionMapping: upstream dimension {upstream_dim!r} is not in the "
                    f"upstream partitions ({_sides(upstream_def, downstream_def)})"
                )
            if dim_mapping.dimension_name not in downstream_def.dimension_names:
                raise InvalidInput(
                    f"MultiPartitionMapping: downstream dimension {dim_mapping.dimension_name!r} "
                    f"is not in the downstream partitions ({_sides(upstream_def, downstream_def)})"
                )
        deps = [
            _Dependency(m.partition_mapping, upstream_dim, m.dimension_name)
            for upstream_dim, m in self._mappings.items()
        ]
        return deps, upstream_def, downstream_def

    def upstream_partitions(
        self,
        downstream_def: PartitionsDefinition | None,
        downstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> UpstreamPartitions:
        check_now(now)
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        keys = _keys_arg(downstream_keys, "downstream keys")
        return _map_dimensions(deps, downstream, keys, upstream, now, dynamic, to_upstream=True)

    def downstream_partitions(
        self,
        upstream_def: PartitionsDefinition | None,
        upstream_keys: Sequence[str],
        downstream_def: PartitionsDefinition | None,
        now: datetime,
        dynamic: Dynamic = NO_DYNAMIC,
    ) -> tuple[str, ...]:
        check_now(now)
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        keys = _keys_arg(upstream_keys, "upstream keys")
        return _map_dimensions(
            deps, upstream, keys, downstream, now, dynamic, to_upstream=False
        ).keys

    def validate(
        self, upstream_def: PartitionsDefinition | None, downstream_def: PartitionsDefinition | None
    ) -> None:
        deps, upstream, downstream = self._dependencies(upstream_def, downstream_def)
        for dep in deps:
            dep.mapping.validate(
                _dimension(upstream, dep.upstream_dimension),
                _dimension(downstream, dep.downstream_dimension),
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "mappings": {dim: m.to_snapshot() for dim, m in self._mappings.items()},
        }
