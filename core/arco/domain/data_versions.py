"""Data versions and provenance, as Dagster records them at materialization. Pure.

A materialization records its data version and the data versions of the upstream partitions it
read (its provenance). The data version is the one the asset function returned, or else derived
like Dagster's: SHA-256 of the code version and one input data version per dependency, sorted
by dependency; an asset without a code version uses the run id, so each of its materializations
is new. A partitioned dependency's input version is, as in Dagster, the SHA-256 of the versions
of the upstream partitions read (materialized ones, by partition key): `dependency_version`.
The staleness report compares provenance with the upstreams' current versions, so it never
needs a clock (except for freshness).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.partition_mappings import AllPartitionMapping
from arco.domain.partitions import NO_DYNAMIC, TimeWindowPartitionsDefinition

# An upstream partition never materialized when its downstream was (Dagster's NULL).
NULL_VERSION = "NULL"
# An external asset (declared without code) nothing has reported yet (Dagster's INITIAL).
INITIAL_VERSION = "INITIAL"
# Dagster skips per-partition provenance on edges with this many upstream partitions or more.
SKIP_THRESHOLD = 100

Dynamic = Mapping[str, Sequence[str]]


def input_name(asset: str, partition: str | None) -> str:
    """How an input is named in provenance: `asset`, or `asset[partition]`."""
    return asset if not partition else f"{asset}[{partition}]"


def derive_data_version(code_version: str | None, inputs: Mapping[str, str], run_id: str) -> str:
    """Dagster's logical data version: sha256(code version + input data versions by input).

    `inputs` has one version per dependency asset (`dependency_version`).

    Inputs are in Dagster's order, `str(AssetKey)`: by the key's path as a list, so `a/b`
    comes before `a` (a plain string sort would put `a` first and change the hash)."""
    seed = code_version if code_version is not None else run_id
    body = seed + "".join(inputs[name] for name in sorted(inputs, key=_asset_key_order))
    return hashlib.sha256(body.encode()).hexdigest()


def _asset_key_order(name: str) -> str:
    return repr(name.split("/"))


def upstream_inputs(
    defs: DefinitionsSnapshot,
    asset: str,
    partition: str | None,
    now: datetime,
    dynamic: Dynamic = NO_DYNAMIC,
) -> list[tuple[str, str | None]]:
    """The upstream (asset, partition) pairs one asset partition reads, through the partition
    mappings; edges with SKIP_THRESHOLD or more upstream partitions are left out (as Dagster
    does), so are partitions a mapping cannot resolve."""
    node = defs.assets[asset]
    out: list[tuple[str, str | None]] = []
    for dep in node.deps:
        upstream_def = defs.assets[dep.key].partitions
        if upstream_def is None:
            out.append((dep.key, None))
            continue
        mapping = defs.mapping_for(asset, dep.key)
        if (
            node.partitions is None
            and isinstance(mapping, AllPartitionMapping)
            and isinstance(upstream_def, TimeWindowPartitionsDefinition)
        ):
            # An unpartitioned child reading every window of its parent: Dagster records no
            # provenance for that edge (other mappings, such as the last partition, it does).
            continue
        try:
            keys = mapping.upstream_partitions(
                node.partitions, [partition] if partition else [], upstream_def, now, dynamic
            ).keys
        except InvalidInput:  # an unresolvable edge carries no provenance
            continue
        if len(keys) >= SKIP_THRESHOLD:
            continue
        out.extend((dep.key, key) for key in keys)
    return out


@dataclass(frozen=True)
class DependencyRead:
    """What a materialization reads of one dependency, for its derived data version."""

    asset: str
    # The upstream partitions read, by key; None: the dependency's latest materialization
    # (an unpartitioned dependency, or an edge of SKIP_THRESHOLD partitions or more).
    partitions: tuple[str, ...] | None


def dependency_reads(
    defs: DefinitionsSnapshot,
    asset: str,
    partition: str | None,
    now: datetime,
    dynamic: Dynamic = NO_DYNAMIC,
) -> list[DependencyRead]:
    """Per dependency of one asset partition, what Dagster hashes into its data version.

    Unlike `upstream_inputs` (provenance, which staleness reads) no edge is left out: Dagster
    derives the data version from every dependency, a wide edge counting as its latest
    materialization."""
    node = defs.assets[asset]
    out: list[DependencyRead] = []
    for dep in node.deps:
        upstream_def = defs.assets[dep.key].partitions
        keys: tuple[str, ...] | None = None
        if upstream_def is not None:
            mapping = defs.mapping_for(asset, dep.key)
            try:
                mapped = mapping.upstream_partitions(
                    node.partitions, [partition] if partition else [], upstream_def, now, dynamic
                ).keys
            except InvalidInput:  # an unresolvable edge: the dependency's latest version
                mapped = None
            if mapped is not None and len(mapped) < SKIP_THRESHOLD:
                keys = tuple(sorted(mapped))
        out.append(DependencyRead(dep.key, keys))
    return out


def dependency_version(
    read: DependencyRead, latest: str | None, versions: Mapping[str, str]
) -> str | None:
    """The input data version of one dependency, as Dagster derives it; None for an
    unpartitioned dependency never materialized (the caller says NULL or INITIAL).

    `latest` is the dependency's latest materialized data version (any partition), `versions`
    the current data version of each of its materialized partitions. Partitions read: the
    SHA-256 of their versions in key order, skipping partitions never materialized.

    Dagster says INITIAL instead when the dependency has no materialization in any partition
    at the time the step runs; Arco hashes what was read (nothing) whether or not other
    partitions exist, so a run's data versions do not depend on the order its independent
    tasks ran in (Dagster runs a run's assets one after the other; ADR 0008 §23)."""
    if read.partitions is None:
        return latest
    body = "".join(versions[key] for key in read.partitions if key in versions)
    return hashlib.sha256(body.encode()).hexdigest()
