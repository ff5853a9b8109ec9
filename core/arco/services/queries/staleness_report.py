"""The staleness report, computed with Arrow over whole tables (the rules: domain/staleness.py,
whose row-by-row `assess` is the oracle this is tested against).

    expected partitions (every key of every selected asset at `now`)
      ⟕ partition_status                          -> MISSING, CODE_VERSION_CHANGED
      ⋈ partition_inputs ⟕ partition_status (up)  -> UPSTREAM_MISSING, UPSTREAM_DATA_CHANGED,
                                                     DEPENDENCY_REMOVED
      x current dependencies, anti-join inputs     -> DEPENDENCY_ADDED
      freshness policies                           -> FRESHNESS_VIOLATED (latest partition)

The result is two tables: one row per partition (status, stale_since, a stable order) and one
row per cause. Pages, filters and summaries are Arrow operations on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arco.domain.data_versions import INITIAL_VERSION
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.partitions import NO_DYNAMIC, PartitionsDefinition
from arco.domain.runs import NO_PARTITION, PARTITION_INPUTS, PARTITION_STATUS
from arco.domain.staleness import (
    CODE_VERSION_CHANGED,
    DEPENDENCY_ADDED,
    DEPENDENCY_REMOVED,
    FRESHNESS_VIOLATED,
    UPSTREAM_DATA_CHANGED,
    UPSTREAM_MISSING,
    freshness_violation,
)
from arco.domain.tables import Row
from arco.projections.parquet import Projection

Dynamic = Mapping[str, Sequence[str]]

CAUSE_SCHEMA = pa.schema(
    [
        ("asset", pa.string()),
        ("partition", pa.string()),
        ("code", pa.string()),
        ("since_ms", pa.int64()),
        ("upstream_asset", pa.string()),
        ("upstream_partition", pa.string()),
        ("recorded", pa.string()),
        ("current", pa.string()),
        ("materialization", pa.string()),
    ]
)
STATUS_COLUMNS = [
    "asset",
    "partition",
    "materialized_run_id",
    "materialized_ms",
    "materialized_code_version",
    "materialized_data_version",
    "materialized_data_version_since_ms",
]


@dataclass(frozen=True)
class Report:
    """`partitions`: asset, partition, status, stale_since_ms, asset_order, partition_order
    (sorted by the last two); `causes`: one row per cause (CAUSE_SCHEMA)."""

    partitions: pa.Table
    causes: pa.Table


def _expected(
    defs: DefinitionsSnapshot, assets: Sequence[str], now: datetime, dynamic: Dynamic
) -> pa.Table:
    """Every partition of `assets` present at `now` ("" for an unpartitioned asset), in
    dependency order then partition order. Built from shared arrays, not per-row Python."""
    # Definitions are equal when their snapshots are: assets sharing one list its keys once.
    keys_of: dict[PartitionsDefinition | None, tuple[pa.Array, pa.Array]] = {}
    orders: list[pa.Array] = []
    chunks: list[pa.Array] = []
    positions: list[pa.Array] = []
    for order, asset in enumerate(assets):
        pdef = defs.assets[asset].partitions
        if pdef not in keys_of:
            keys = pdef.keys(now, dynamic) if pdef is not None else [NO_PARTITION]
            keys_of[pdef] = (pa.array(keys, pa.string()), pa.array(range(len(keys)), pa.int64()))
        keys_array, position = keys_of[pdef]
        chunks.append(keys_array)
        positions.append(position)
        orders.append(pa.array([order] * len(keys_array), pa.int64()))
    if not chunks:
        return pa.table(
            {
                "asset": pa.array([], pa.string()),
                "partition": pa.array([], pa.string()),
                "asset_order": pa.array([], pa.int64()),
                "partition_order": pa.array([], pa.int64()),
            }
        )
    asset_order = pa.concat_arrays(orders)
    return pa.table(
        {
            "asset": pc.take(pa.array(list(assets), pa.string()), asset_order),
            "partition": pa.concat_arrays(chunks),
            "asset_order": asset_order,
            "partition_order": pa.concat_arrays(positions),
        }
    )


def _asset_meta(
    defs: DefinitionsSnapshot, assets: Sequence[str], versions: Mapping[str, Row]
) -> pa.Table:
    return pa.table(
        {
            "asset": pa.array(list(assets), pa.string()),
            "current_code": pa.array([defs.assets[a].code_version for a in assets], pa.string()),
            "code_since_ms": pa.array(
                [(versions.get(a) or {}).get("code_version_since_ms") or 0 for a in assets],
                pa.int64(),
            ),
            "deps_since_ms": pa.array(
                [(versions.get(a) or {}).get("deps_since_ms") or 0 for a in assets], pa.int64()
            ),
            # Declared without code (like Dagster's external AssetSpec): FRESH when unreported.
            "external": pa.array([defs.assets[a].compute is None for a in assets], pa.bool_()),
        }
    )


def _edges(defs: DefinitionsSnapshot, assets: Sequence[str]) -> pa.Table:
    pairs = [(a, d) for a in assets for d in defs.assets[a].dep_keys]
    return pa.table(
        {
            "asset": pa.array([a for a, _ in pairs], pa.string()),
            "input_asset": pa.array([d for _, d in pairs], pa.string()),
        }
    )


def _causes(
    table: pa.Table,
    code: str,
    since: pa.Array | pa.ChunkedArray,
    upstream_asset: Any = None,
    upstream_partition: Any = None,
    recorded: Any = None,
    current: Any = None,
    materialization: Any = None,
) -> pa.Table:
    n = table.num_rows

    def column(value: Any) -> Any:
        return pa.nulls(n, pa.string()) if value is None else value

    return pa.table(
        {
            "asset": _plain(table.column("asset")),
            "partition": _plain(table.column("partition")),
            "code": pa.array([code] * n, pa.string()),
            "since_ms": since,
            "upstream_asset": _plain(column(upstream_asset)),
            "upstream_partition": _plain(column(upstream_partition)),
            "recorded": column(recorded),
            "current": column(current),
            "materialization": column(materialization),
        },
        schema=CAUSE_SCHEMA,
    )


def _encoded(table: pa.Table, names: Sequence[str]) -> pa.Table:
    """`table` with the string columns `names` dictionary-encoded (one dictionary each): a
    million rows name a few thousand assets and a hundred partitions, so every later lookup
    hashes the few distinct strings once and moves integers."""
    for name in names:
        column = table.column(name)
        if not pa.types.is_dictionary(column.type):
            encoded = pc.dictionary_encode(column.combine_chunks())
            table = table.set_column(table.schema.get_field_index(name), name, encoded)
    # Chunks read apart (a base and its deltas, row groups) carry dictionaries of their own:
    # one per column, or grouping and joining refuse them.
    return table.unify_dictionaries()


def _plain(column: Any) -> Any:
    """A dictionary-encoded column as plain strings (what the report's tables hold)."""
    return column.cast(pa.string()) if pa.types.is_dictionary(column.type) else column


def _distinct(column: Any) -> list[pa.Array]:
    """The values of a column, or of its dictionaries (the values it can hold)."""
    chunks = pa.chunked_array(column).chunks
    return [c.dictionary if pa.types.is_dictionary(c.type) else c for c in chunks]


def _index_in(column: Any, value_set: pa.Array) -> pa.ChunkedArray:
    """`pc.index_in` that looks up a dictionary's values once, then takes by its indices."""
    chunks = []
    for chunk in pa.chunked_array(column).chunks:
        if pa.types.is_dictionary(chunk.type):
            found = pc.index_in(chunk.dictionary, value_set=value_set)
            chunks.append(pc.take(found, chunk.indices))
        else:
            chunks.append(pc.index_in(chunk, value_set=value_set))
    return pa.chunked_array(chunks, pa.int32())


class _Keys:
    """(asset, partition) -> asset number * partitions + partition number, as int64.

    Every partition the report looks up is numbered: the selected assets' and those of the
    rows it reads (upstream partitions a selection leaves out, such as the static partitions
    an unpartitioned asset reads). A partition left unnumbered would be null, and a null key
    matches any other null in a lookup: another asset's facts."""

    def __init__(self, defs: DefinitionsSnapshot, *partitions: Any) -> None:
        self.assets = pa.array(list(defs.assets), pa.string())
        chunks = [c for column in partitions for c in _distinct(column)]
        self.partitions = pc.unique(pa.chunked_array(chunks, pa.string()))
        self.width = max(1, len(self.partitions))

    def __call__(self, asset: Any, partition: Any) -> Any:
        a = _index_in(asset, self.assets).cast(pa.int64())
        p = _index_in(partition, self.partitions).cast(pa.int64())
        return pc.add(pc.multiply(a, self.width), p)

    def edge(self, asset: Any, upstream: Any) -> Any:
        a = _index_in(asset, self.assets).cast(pa.int64())
        u = _index_in(upstream, self.assets).cast(pa.int64())
        return pc.add(pc.multiply(a, len(self.assets)), u)


def _max(a: Any, b: Any) -> Any:
    return pc.max_element_wise(a, b)


def _where(table: pa.Table, mask: Any) -> pa.Table:
    """`table.filter(mask)`, without the copy when every row is kept (the usual case: every
    partition materialized, every input still a dependency)."""
    if pc.all(mask).as_py() and mask.null_count == 0:
        return table
    return table.filter(mask)


def compute_report(
    defs: DefinitionsSnapshot,
    status: pa.Table,
    inputs: pa.Table,
    versions: Mapping[str, Row],
    now: datetime,
    assets: Sequence[str] | None = None,
    dynamic: Dynamic = NO_DYNAMIC,
) -> Report:
    """The report over `assets` (default: all, in dependency order) at `now`."""
    chosen = list(assets) if assets is not None else list(defs.topological_order())
    if assets is not None:  # read only the rows the selection (and its inputs) can touch
        wanted = pa.array(sorted(set(chosen)), pa.string())
        upstream = sorted({d for a in chosen for d in defs.assets[a].dep_keys} | set(chosen))
        status = status.filter(
            pc.is_in(status.column("asset"), value_set=pa.array(upstream, pa.string()))
        )
        inputs = inputs.filter(pc.is_in(inputs.column("asset"), value_set=wanted))
    expected = _expected(defs, chosen, now, dynamic)
    status = _encoded(status, ("asset", "partition"))
    inputs = _encoded(inputs, ("asset", "partition", "input_asset", "input_partition"))
    # Lookups by an integer key (asset number x partition number; index_in + take) keep the
    # expected order and cost far less than hash joins of strings over a million rows.
    status = status.select(STATUS_COLUMNS)
    keys = _Keys(
        defs, expected.column("partition"), status.column("partition"), inputs.column("partition"),
        inputs.column("input_partition"),
    )  # fmt: skip
    status_key = keys(status.column("asset"), status.column("partition"))
    expected_key = keys(expected.column("asset"), expected.column("partition"))
    joined = _lookup(
        expected.append_column("key", expected_key),
        expected_key,
        status_key,
        status,
        {name: name for name in STATUS_COLUMNS[2:]},
    )
    # Per-asset facts by position (asset_order), not by a join over a million rows.
    meta = _asset_meta(defs, chosen, versions)
    order = joined.column("asset_order")
    for name in ("current_code", "code_since_ms", "deps_since_ms", "external"):
        joined = joined.append_column(name, pc.take(meta.column(name), order))
    materialized = _where(joined, pc.is_valid(joined.column("materialized_run_id")))
    parts = [
        _code_causes(materialized),
        *_input_causes(defs, chosen, inputs, materialized, status, status_key, keys),
        _freshness(defs, chosen, materialized, now),
    ]
    causes = pa.concat_tables([p.cast(CAUSE_SCHEMA) for p in parts])
    return Report(_partitions(joined, causes, keys), causes)


def _lookup(
    table: pa.Table, keys: Any, source_keys: Any, source: pa.Table, columns: Mapping[str, str]
) -> pa.Table:
    """`table` with `source`'s columns (renamed) for the rows whose keys match (else null)."""
    found = pc.index_in(keys, value_set=source_keys)
    for name, column in columns.items():
        table = table.append_column(name, pc.take(source.column(column), found))
    return table


def _code_causes(materialized: pa.Table) -> pa.Table:
    """CODE_VERSION_CHANGED: a code-versioned asset whose deployed version differs from the
    one its materialization recorded."""
    current = materialized.column("current_code")
    recorded = materialized.column("materialized_code_version")
    # Kleene logic: a null comparison (no recorded version) must not hide the change.
    changed = pc.and_kleene(
        pc.is_valid(current), pc.or_kleene(pc.is_null(recorded), pc.not_equal(recorded, current))
    )
    code = materialized.filter(pc.fill_null(changed, False))
    return _causes(
        code,
        CODE_VERSION_CHANGED,
        _max(code.column("materialized_ms"), code.column("code_since_ms")),
        recorded=code.column("materialized_code_version"),
        current=code.column("current_code"),
    )


def _input_causes(
    defs: DefinitionsSnapshot,
    chosen: Sequence[str],
    inputs: pa.Table,
    materialized: pa.Table,
    status: pa.Table,
    status_key: Any,
    keys: _Keys,
) -> list[pa.Table]:
    """The causes provenance shows: dependencies removed or added, upstream partitions
    missing or at another data version than the one read."""
    parts: list[pa.Table] = []
    # The inputs of the selected, materialized partitions, with their materialization facts.
    at = pc.index_in(
        keys(inputs.column("asset"), inputs.column("partition")),
        value_set=materialized.column("key"),
    )
    recorded = _where(inputs, pc.is_valid(at))
    at = at.drop_null()
    for name in ("materialized_ms", "deps_since_ms"):
        recorded = recorded.append_column(name, pc.take(materialized.column(name), at))
    edges = _edges(defs, chosen)
    # Is the input still a dependency? A set lookup on (asset, input) numbers, not a join.
    is_edge = pc.is_in(
        keys.edge(recorded.column("asset"), recorded.column("input_asset")),
        value_set=keys.edge(edges.column("asset"), edges.column("input_asset")),
    )
    gone = recorded.filter(pc.invert(is_edge))
    if gone.num_rows:
        # Ordered (no threads): the causes keep their inputs' order whatever the chunking.
        removed = gone.group_by(["asset", "partition", "input_asset"], use_threads=False).aggregate(
            [("materialized_ms", "max"), ("deps_since_ms", "max")]
        )
        parts.append(
            _causes(
                removed,
                DEPENDENCY_REMOVED,
                _max(removed.column("materialized_ms_max"), removed.column("deps_since_ms_max")),
                upstream_asset=removed.column("input_asset"),
            )
        )
    kept = _where(recorded, is_edge)
    # The upstream's row for each input; its other facts are taken only where they are shown.
    up = pc.index_in(keys(kept.column("input_asset"), kept.column("input_partition")), status_key)
    compared = kept.append_column("up", up).append_column(
        "up_run", pc.take(status.column("materialized_run_id"), up)
    )
    external = pa.array(
        sorted(a for a, node in defs.assets.items() if node.compute is None), pa.string()
    )
    unreported = pc.is_null(compared.column("up_run"))
    from_external = pc.is_in(compared.column("input_asset"), value_set=external)
    # An external upstream nothing reported yet is at its INITIAL version, not missing.
    initial = compared.filter(pc.and_(unreported, from_external))
    initial = initial.filter(pc.not_equal(initial.column("data_version"), INITIAL_VERSION))
    parts.append(
        _causes(
            initial,
            UPSTREAM_DATA_CHANGED,
            initial.column("materialized_ms"),
            upstream_asset=initial.column("input_asset"),
            upstream_partition=initial.column("input_partition"),
            recorded=initial.column("data_version"),
            current=pa.array([INITIAL_VERSION] * initial.num_rows, pa.string()),
        )
    )
    missing = compared.filter(pc.and_(unreported, pc.invert(from_external)))
    parts.append(
        _causes(
            missing,
            UPSTREAM_MISSING,
            missing.column("materialized_ms"),
            upstream_asset=missing.column("input_asset"),
            upstream_partition=missing.column("input_partition"),
            recorded=missing.column("data_version"),
        )
    )
    present = _where(compared, pc.invert(unreported))
    up_version = pc.take(status.column("materialized_data_version"), present.column("up"))
    differs = present.filter(
        pc.fill_null(pc.not_equal(up_version, present.column("data_version")), True)
    )
    for name, column in (
        ("up_ms", "materialized_ms"),
        ("up_version", "materialized_data_version"),
        ("up_since_ms", "materialized_data_version_since_ms"),
    ):
        differs = differs.append_column(name, pc.take(status.column(column), differs.column("up")))
    appeared = pc.coalesce(differs.column("up_since_ms"), differs.column("up_ms"))
    parts.append(
        _causes(
            differs,
            UPSTREAM_DATA_CHANGED,
            _max(differs.column("materialized_ms"), appeared),
            upstream_asset=differs.column("input_asset"),
            upstream_partition=differs.column("input_partition"),
            recorded=differs.column("data_version"),
            current=differs.column("up_version"),
            materialization=differs.column("up_run"),
        )
    )
    # ADDED: dependencies changed after the materialization, and one is not in its inputs.
    facts = materialized.select(["asset", "partition", "materialized_ms", "deps_since_ms"])
    later = facts.filter(pc.greater(facts.column("deps_since_ms"), facts.column("materialized_ms")))
    if later.num_rows:
        wanted = later.join(edges, "asset", join_type="inner")
        read = pa.table(
            {name: _plain(inputs.column(name)) for name in ("asset", "partition", "input_asset")}
        )
        added = wanted.join(read, ["asset", "partition", "input_asset"], join_type="left anti")
        parts.append(
            _causes(
                added,
                DEPENDENCY_ADDED,
                added.column("deps_since_ms"),
                upstream_asset=added.column("input_asset"),
            )
        )
    return parts


def _partitions(joined: pa.Table, causes: pa.Table, keys: _Keys) -> pa.Table:
    """One row per expected partition: its status and `stale_since` (its earliest cause)."""
    since = causes.group_by(["asset", "partition"]).aggregate([("since_ms", "min")])
    since = since.append_column("key", keys(since.column("asset"), since.column("partition")))
    since = since.filter(pc.is_valid(since.column("key")))
    with_since = _lookup(
        joined, joined.column("key"), since.column("key"), since, {"since": "since_ms_min"}
    )
    unmaterialized = pc.is_null(with_since.column("materialized_run_id"))
    status = pc.if_else(
        unmaterialized,
        pc.if_else(with_since.column("external"), "FRESH", "MISSING"),
        pc.if_else(pc.is_valid(with_since.column("since")), "STALE", "FRESH"),
    )
    return pa.table(
        {
            "asset": with_since.column("asset"),
            "partition": with_since.column("partition"),
            "status": status,
            "stale_since_ms": pc.if_else(
                unmaterialized, pa.scalar(None, pa.int64()), with_since.column("since")
            ),
            "asset_order": with_since.column("asset_order"),
            "partition_order": with_since.column("partition_order"),
        }
    )  # already in (asset order, partition order): lookups keep the expected order


def _freshness(
    defs: DefinitionsSnapshot, assets: Sequence[str], materialized: pa.Table, now: datetime
) -> pa.Table:
    """FRESHNESS_VIOLATED on the most recently materialized partition of each asset whose
    policy fails at `now` (freshness is about the asset, as in Dagster)."""
    rows: list[dict[str, Any]] = []
    with_policy = [a for a in assets if defs.assets[a].freshness is not None]
    if not with_policy:
        return CAUSE_SCHEMA.empty_table()
    subset = materialized.filter(
        pc.is_in(materialized.column("asset"), value_set=pa.array(with_policy, pa.string()))
    ).select(["asset", "partition", "materialized_ms"])
    # The newest materialization per asset (ties: the last partition key), sorted in Arrow.
    newest = (
        subset.sort_by([("materialized_ms", "descending"), ("partition", "descending")])
        .group_by("asset", use_threads=False)  # ordered: "first" is the newest
        .aggregate([("materialized_ms", "first"), ("partition", "first")])
        .to_pydict()
    )
    latest = {
        asset: (int(ms), partition)
        for asset, ms, partition in zip(
            newest["asset"], newest["materialized_ms_first"], newest["partition_first"], strict=True
        )
    }
    for asset in with_policy:
        policy = defs.assets[asset].freshness
        assert policy is not None
        found = latest.get(asset)
        violation = freshness_violation(policy, found[0] if found else None, now)
        if violation is None or found is None:
            continue
        since, deadline = violation
        rows.append(
            {
                "asset": asset,
                "partition": found[1],
                "code": FRESHNESS_VIOLATED,
                "since_ms": since,
                "upstream_asset": None,
                "upstream_partition": None,
                "recorded": str(found[0]),
                "current": str(deadline),
                "materialization": None,
            }
        )
    return pa.Table.from_pylist(rows, schema=CAUSE_SCHEMA)


# What the report reads: 7 of partition_status's columns, all of partition_inputs; names and
# keys as dictionaries (a few thousand distinct strings over millions of rows).
STATUS_PROJECTION = Projection(tuple(STATUS_COLUMNS), ("asset", "partition"))
INPUTS_PROJECTION = Projection(
    tuple(c.name for c in PARTITION_INPUTS.all_columns),
    ("asset", "partition", "input_asset", "input_partition"),
)


def load_tables(snapshot: Any) -> tuple[pa.Table, pa.Table]:
    """partition_status and partition_inputs from a published (or staged) snapshot."""
    return (
        snapshot.projection(PARTITION_STATUS.name, STATUS_PROJECTION),
        snapshot.projection(PARTITION_INPUTS.name, INPUTS_PROJECTION),
    )


def causes_json(causes: pa.Table) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Cause rows grouped by (asset, partition), each list in Dagster's order."""
    from arco.domain.staleness import Cause, cause_order

    grouped: dict[tuple[str, str], list[Cause]] = {}
    for row in causes.to_pylist():
        upstream = (
            (row["upstream_asset"], row["upstream_partition"] or None)
            if row["upstream_asset"] is not None
            else None
        )
        evidence = {
            k: row[k] for k in ("recorded", "current", "materialization") if row[k] is not None
        }
        cause = Cause(row["code"], int(row["since_ms"]), upstream, evidence)
        grouped.setdefault((row["asset"], row["partition"]), []).append(cause)
    return {
        key: [c.as_dict() for c in sorted(items, key=cause_order(key[0]))]
        for key, items in grouped.items()
    }


__all__ = ["Report", "causes_json", "compute_report", "load_tables"]
