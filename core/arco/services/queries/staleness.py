"""The staleness report for users: filters, stable pages, summaries, `as_of`, root causes.

`as_of` makes an answer reproducible: a manifest id (the published state of that moment,
evaluated at its publication time) or a time (the newest manifest published by then, evaluated
at that time). Without it, the current state now. A page's cursor carries the manifest and the
time it was computed at, so every page of one listing reads the same state.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from arco.clock import clock_now
from arco.domain.cursors import decode_cursor, encode_cursor
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput, NotFound
from arco.domain.instants import parse_instant
from arco.domain.selection import select_assets
from arco.domain.staleness import REASONS, UPSTREAM_DATA_CHANGED
from arco.projections.cache import Snapshot
from arco.projections.manifest import Manifest, read_manifest
from arco.services.queries.definitions import current_definitions, dynamic_partition_keys
from arco.services.queries.staleness_report import Report, causes_json, compute_report, load_tables
from arco.services.workspace import Workspace

STATUSES = ("FRESH", "STALE", "MISSING")
MAX_MANIFEST_WALK = 2000


@dataclass(frozen=True)
class StalenessQuery:
    selection: str | None = None
    statuses: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    partition_range: tuple[str, str] | None = None
    as_of: str | None = None
    limit: int = 100
    cursor: str | None = None
    root_causes: bool = False

    def validate(self) -> None:
        bad = [s for s in self.statuses if s not in STATUSES]
        if bad:
            raise InvalidInput(f"unknown status {bad[0]!r}; use {', '.join(STATUSES)}")
        bad = [r for r in self.reasons if r not in REASONS]
        if bad:
            raise InvalidInput(f"unknown reason {bad[0]!r}; use {', '.join(REASONS)}")
        if not 1 <= self.limit <= 1000:
            raise InvalidInput("limit must be between 1 and 1000")


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def _manifest_at(
    ws: Workspace, as_of: str | None, cursor: dict[str, Any] | None
) -> tuple[Manifest, datetime]:
    if cursor is not None:
        try:
            manifest = _read(ws, cursor["m"])
        except NotFound as exc:
            raise InvalidInput("invalid cursor: it names a state that does not exist") from exc
        return manifest, datetime.fromtimestamp(cursor["t"] / 1000, tz=UTC)
    if as_of is None:
        return ws.manifest(), clock_now(ws.clock)
    if as_of.isdigit():
        manifest = _read(ws, int(as_of))
        return manifest, parse_instant(manifest.created_at, "manifest time")
    moment = parse_instant(as_of, "as_of").astimezone(UTC)
    latest = ws.clock.now_ms() + ws.lookback_ms  # the clock-skew bound writers are held to
    if moment.timestamp() * 1000 > latest:
        raise InvalidInput(f"as_of {as_of} is in the future: the state as of then is not known")
    manifest = ws.manifest()
    for _ in range(MAX_MANIFEST_WALK):
        if parse_instant(manifest.created_at, "manifest time") <= moment:
            return manifest, moment
        if not manifest.parent_id:  # manifest 0 is the empty state before the first one
            break
        manifest = _read(ws, manifest.parent_id)
    raise InvalidInput(f"no published state as of {as_of} (the oldest manifest is later)")


def _read(ws: Workspace, manifest_id: int) -> Manifest:
    try:
        return read_manifest(ws.store, ws.layout, manifest_id)
    except Exception as exc:
        raise NotFound(f"no manifest {manifest_id} in workspace {ws.name!r}") from exc


def state_at(ws: Workspace, manifest: Manifest) -> Snapshot:
    if manifest.manifest_id == ws.manifest().manifest_id:
        return ws.snapshots.snapshot(manifest)
    return Snapshot(ws.store, ws.registry, manifest)  # an old state: leave the cache alone


# Reports by (manifest content, time, selection, range): the pages of one listing
# (their cursor pins manifest and time) reuse the first page's computation. Manifests are
# immutable, so an entry never goes stale; a few are kept.
_REPORTS: OrderedDict[tuple[Any, ...], tuple[Report, DefinitionsSnapshot]] = OrderedDict()
_REPORTS_KEPT = 4


def report_for(
    ws: Workspace, query: StalenessQuery, cursor: dict[str, Any] | None = None
) -> tuple[Report, DefinitionsSnapshot, Manifest, datetime]:
    manifest, now = _manifest_at(ws, query.as_of, cursor)
    key = (
        # The manifest's bytes name every table file by digest: equal bytes, equal state.
        hashlib.sha256(manifest.to_bytes()).hexdigest(),
        round(now.timestamp() * 1000),
        query.selection,
        query.partition_range,
    )
    cached = _REPORTS.get(key)
    if cached is not None:
        _REPORTS.move_to_end(key)
        return cached[0], cached[1], manifest, now
    report, defs = _compute(ws, query, manifest, now)
    _REPORTS[key] = (report, defs)
    while len(_REPORTS) > _REPORTS_KEPT:
        _REPORTS.popitem(last=False)
    return report, defs, manifest, now


def _compute(
    ws: Workspace, query: StalenessQuery, manifest: Manifest, now: datetime
) -> tuple[Report, DefinitionsSnapshot]:
    return report_on(state_at(ws, manifest), query, now, ws.name)


def report_on(
    snapshot: Snapshot, query: StalenessQuery, now: datetime, workspace: str
) -> tuple[Report, DefinitionsSnapshot]:
    """The report on any state (published or staged by a timer call), uncached."""
    defs = current_definitions(snapshot)
    if defs is None:
        raise NotFound(f"nothing is deployed in workspace {workspace!r} as of that state")
    assets = list(defs.topological_order())
    if query.selection:
        chosen = set(select_assets(query.selection, defs))
        if not chosen:
            raise InvalidInput(f"selection {query.selection!r} matches no asset")
        assets = [a for a in assets if a in chosen]
    status, inputs = load_tables(snapshot)
    versions = {k[0]: r for k, r in snapshot.rows("asset_versions").items()}
    dynamic = dynamic_partition_keys(snapshot)
    report = compute_report(defs, status, inputs, versions, now, assets, dynamic)
    if query.partition_range is not None:
        report = _in_range(report, defs, query.partition_range, now, dynamic)
    return report, defs


def _in_range(
    report: Report,
    defs: DefinitionsSnapshot,
    span: tuple[str, str],
    now: datetime,
    dynamic: Any,
) -> Report:
    """Keep the partitions between `span` (inclusive) of assets that have both keys."""
    bounds: list[tuple[str, int, int]] = []
    for asset in set(report.partitions.column("asset").to_pylist()):
        pdef = defs.assets[asset].partitions
        if pdef is None:
            continue
        keys = pdef.keys(now, dynamic)
        if span[0] in keys and span[1] in keys:
            lo, hi = keys.index(span[0]), keys.index(span[1])
            if hi < lo:
                raise InvalidInput(f"reversed range: {span[0]!r} comes after {span[1]!r}")
            bounds.append((asset, lo, hi))
    if not bounds:
        raise InvalidInput(f"no selected asset has partitions {span[0]!r} .. {span[1]!r}")
    table = pa.table(
        {
            "asset": [b[0] for b in bounds],
            "lo": pa.array([b[1] for b in bounds], pa.int64()),
            "hi": pa.array([b[2] for b in bounds], pa.int64()),
        }
    )
    joined = report.partitions.join(table, "asset", join_type="inner")
    order = joined.column("partition_order")
    kept = joined.filter(
        pc.and_(
            pc.greater_equal(order, joined.column("lo")),
            pc.less_equal(order, joined.column("hi")),
        )
    ).drop_columns(["lo", "hi"])
    kept = kept.sort_by([("asset_order", "ascending"), ("partition_order", "ascending")])
    causes = report.causes.join(
        kept.select(["asset", "partition"]), ["asset", "partition"], join_type="left semi"
    )
    return Report(kept, causes)


def _filtered(report: Report, query: StalenessQuery) -> pa.Table:
    rows = report.partitions
    if query.statuses:
        rows = rows.filter(
            pc.is_in(rows.column("status"), value_set=pa.array(list(query.statuses), pa.string()))
        )
    if query.reasons:
        causes = report.causes.filter(
            pc.is_in(
                report.causes.column("code"), value_set=pa.array(list(query.reasons), pa.string())
            )
        )
        rows = rows.join(
            causes.select(["asset", "partition"]), ["asset", "partition"], join_type="left semi"
        ).sort_by([("asset_order", "ascending"), ("partition_order", "ascending")])
    return rows


def _summary(report: Report) -> dict[str, Any]:
    counts = {s: 0 for s in STATUSES}
    for item in report.partitions.group_by("status").aggregate([("asset", "count")]).to_pylist():
        counts[item["status"]] = item["asset_count"]
    by_reason = {
        item["code"]: item["count_distinct"]
        for item in report.causes.append_column(
            "key",
            pc.binary_join_element_wise(
                report.causes.column("asset"), report.causes.column("partition"), "\x00"
            ),
        )
        .group_by("code", use_threads=False)  # ordered: the same JSON on every call
        .aggregate([("key", "count_distinct")])
        .rename_columns(["code", "count_distinct"])
        .to_pylist()
    }
    return {"partitions": report.partitions.num_rows, **counts, "by_reason": by_reason}


def staleness(ws: Workspace, query: StalenessQuery) -> dict[str, Any]:
    """One page of the report, in a stable order (dependency order, then partition order)."""
    query.validate()
    position = decode_cursor(query.cursor, ("m", "t", "a", "p"))
    if position is not None and not all(
        isinstance(position[k], int) and not isinstance(position[k], bool) and position[k] >= 0
        for k in ("m", "t", "a", "p")
    ):
        raise InvalidInput(f"invalid cursor {query.cursor!r}")
    report, _, manifest, now = report_for(ws, query, position)
    rows = _filtered(report, query)
    if position is not None:
        a, p = int(position["a"]), int(position["p"])
        order_a, order_p = rows.column("asset_order"), rows.column("partition_order")
        after = pc.or_(
            pc.greater(order_a, a), pc.and_(pc.equal(order_a, a), pc.greater(order_p, p))
        )
        rows = rows.filter(after)
    page = rows.slice(0, query.limit).to_pylist()
    more = rows.num_rows > query.limit
    keys = pa.table(
        {
            "asset": pa.array([r["asset"] for r in page], pa.string()),
            "partition": pa.array([r["partition"] for r in page], pa.string()),
        }
    )
    page_causes = causes_json(
        report.causes.join(keys, ["asset", "partition"], join_type="left semi")
    )
    items = []
    for row in page:
        key = (row["asset"], row["partition"])
        item: dict[str, Any] = {
            "asset": row["asset"],
            "partition": row["partition"] or None,
            "status": row["status"],
            "stale_since": _iso(row["stale_since_ms"]),
            "stale_since_ms": row["stale_since_ms"],
            "causes": [_with_time(c) for c in page_causes.get(key, [])],
        }
        if query.root_causes and row["status"] == "STALE":
            item["root_causes"] = _root_causes(report, key)
        items.append(item)
    last = page[-1] if page else None
    next_cursor = (
        encode_cursor(
            {
                "m": manifest.manifest_id,
                "t": round(now.timestamp() * 1000),
                "a": last["asset_order"],
                "p": last["partition_order"],
            }
        )
        if more and last is not None
        else None
    )
    return {
        "as_of": {"manifest_id": manifest.manifest_id, "time": now.isoformat()},
        "summary": _summary(report),
        "items": items,
        "next_cursor": next_cursor,
    }


def _with_time(cause: dict[str, Any]) -> dict[str, Any]:
    return {**cause, "since": _iso(cause["since_ms"])}


def _root_causes(report: Report, start: tuple[str, str]) -> list[dict[str, Any]]:
    """Follow UPSTREAM_DATA_CHANGED to STALE upstreams until the change began (Arco adds this;
    Dagster stops at direct causes). Each root names the partition it belongs to."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()

    def status_of(key: tuple[str, str]) -> str | None:
        found = report.partitions.filter(
            pc.and_(
                pc.equal(report.partitions.column("asset"), key[0]),
                pc.equal(report.partitions.column("partition"), key[1]),
            )
        )
        return found.column("status")[0].as_py() if found.num_rows else None

    def causes_of(key: tuple[str, str]) -> list[dict[str, Any]]:
        mask = pc.and_(
            pc.equal(report.causes.column("asset"), key[0]),
            pc.equal(report.causes.column("partition"), key[1]),
        )
        return causes_json(report.causes.filter(mask)).get(key, [])

    def walk(key: tuple[str, str]) -> None:
        if key in seen:
            return
        seen.add(key)
        for cause in causes_of(key):
            upstream = (cause.get("upstream_asset"), cause.get("upstream_partition") or "")
            if (
                cause["code"] == UPSTREAM_DATA_CHANGED and status_of(upstream) == "STALE"  # type: ignore[arg-type]
            ):
                walk(upstream)  # type: ignore[arg-type]
                continue
            root = {"asset": key[0], "partition": key[1] or None, **_with_time(cause)}
            if root not in out:
                out.append(root)

    walk(start)
    return out


def staleness_summary(ws: Workspace, query: StalenessQuery) -> dict[str, Any]:
    """Per asset: how many partitions are FRESH, STALE, MISSING, since when, and why."""
    query.validate()
    report, _, manifest, now = report_for(ws, query)
    per_asset: dict[str, dict[str, Any]] = {}
    order = report.partitions.group_by(["asset", "asset_order"]).aggregate([])
    for row in order.sort_by("asset_order").to_pylist():
        per_asset[row["asset"]] = {
            "asset": row["asset"],
            "partitions": 0,
            **{s: 0 for s in STATUSES},
            "stale_since": None,
            "reasons": [],
        }
    counts = report.partitions.group_by(["asset", "status"]).aggregate([("partition", "count")])
    for row in counts.to_pylist():
        per_asset[row["asset"]][row["status"]] = row["partition_count"]
        per_asset[row["asset"]]["partitions"] += row["partition_count"]
    oldest = report.partitions.group_by("asset").aggregate([("stale_since_ms", "min")])
    for row in oldest.to_pylist():
        per_asset[row["asset"]]["stale_since"] = _iso(row["stale_since_ms_min"])
    reasons = report.causes.group_by(["asset", "code"]).aggregate([])
    for row in reasons.sort_by([("asset", "ascending"), ("code", "ascending")]).to_pylist():
        per_asset[row["asset"]]["reasons"].append(row["code"])
    return {
        "as_of": {"manifest_id": manifest.manifest_id, "time": now.isoformat()},
        "summary": _summary(report),
        "assets": list(per_asset.values()),
    }


__all__ = ["STATUSES", "StalenessQuery", "staleness", "staleness_summary"]
