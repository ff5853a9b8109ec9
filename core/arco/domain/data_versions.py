"""Data versions and provenance, as Dagster records them at materialization. Pure.

A materialization records its data version and the data versions of the upstream partitions it
read (its provenance). The data version is the one the asset function returned, or else derived
like Dagster's: SHA-256 of the code version and the input data versions sorted by input; an
asset without a code version uses the run id, so each of its materializations is new. The
staleness report compares provenance with the upstreams' current versions, so it never needs a
clock (except for freshness).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
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
