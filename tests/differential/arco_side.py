"""Arco's answers to the differential cases, in the shapes `scripts/dagster_oracle.py` gives.

Each family calls Arco's own functions directly in this process: `CronSchedule`, the
partitions definitions and partition mappings, `select_assets`, `derive_data_version`, and,
for staleness, real runs (deploy, launch, drive with the in-process executor, compact) on a
memory store followed by the reference rules (`assess`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from arco.domain.cron import CronSchedule
from arco.domain.data_versions import INITIAL_VERSION, NULL_VERSION, derive_data_version
from arco.domain.errors import ArcoError, InvalidInput
from arco.domain.partition_mappings import (
    AllPartitionMapping,
    DimensionPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    SpecificPartitionsPartitionMapping,
    StaticPartitionMapping,
    TimeWindowPartitionMapping,
    default_partition_mapping,
)
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from arco.domain.selection import select_assets
from arco.sdk import AssetDep, AssetSpec, Definitions, asset
from arco.sdk.context import DataVersion, MaterializeResult

Answer = dict[str, Any]


def _error(exc: BaseException) -> Answer:
    message = str(exc).strip().splitlines()
    return {"error": f"{type(exc).__name__}: {message[0] if message else ''}"[:300]}


def attempt(fn: Callable[[], Any]) -> Answer:
    """`{"ok": fn()}`, or `{"error": ...}` when Arco refuses (InvalidInput and kin)."""
    try:
        return {"ok": fn()}
    except ArcoError as exc:
        return _error(exc)


def _instant(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------- cron


def cron_answer(case: Mapping[str, Any]) -> Answer:
    def ticks() -> list[str]:
        schedule = CronSchedule.parse(case["cron"])
        start = _instant(case["start"])
        if case.get("descending"):
            found = schedule.ticks_until(start, case["tz"])
        else:
            found = schedule.ticks_from(start, case["tz"])
        return [t.isoformat() for t in itertools.islice(found, case["n"])]

    return attempt(ticks)


def cron_valid_answer(case: Mapping[str, Any]) -> Answer:
    try:
        CronSchedule.parse(case["cron"])
    except ArcoError:
        return {"ok": False}
    return {"ok": True}


# --------------------------------------------------------------------------- partitions


def build_partitions(spec: Mapping[str, Any] | None) -> PartitionsDefinition | None:
    if spec is None:
        return None
    kind = spec["class"]
    if kind == "static":
        return StaticPartitionsDefinition(list(spec["keys"]))
    if kind == "multi":
        dims = {name: build_partitions(d) for name, d in spec["dims"].items()}
        return MultiPartitionsDefinition({k: v for k, v in dims.items() if v is not None})
    common: dict[str, Any] = {
        "timezone": spec.get("timezone", "UTC"),
        "end_offset": spec.get("end_offset") or 0,
        "exclusions": list(spec.get("exclusions") or ()),
    }
    if kind == "cron":
        return TimeWindowPartitionsDefinition(
            cron_schedule=spec["cron"],
            start=spec["start"],
            fmt=spec["fmt"],
            end=spec.get("end"),
            **common,
        )
    common["fmt"] = spec.get("fmt")
    common["end_date"] = spec.get("end")
    for name in ("minute_offset", "hour_offset", "day_offset"):
        if spec.get(name) is not None:
            common[name] = spec[name]
    classes: dict[str, Any] = {
        "hourly": HourlyPartitionsDefinition,
        "daily": DailyPartitionsDefinition,
        "weekly": WeeklyPartitionsDefinition,
        "monthly": MonthlyPartitionsDefinition,
    }
    built: PartitionsDefinition = classes[kind](start_date=spec["start"], **common)
    return built


def time_windows(spec: Mapping[str, Any]) -> TimeWindowPartitionsDefinition:
    definition = build_partitions(spec)
    assert isinstance(definition, TimeWindowPartitionsDefinition)
    return definition


def partitions_answer(case: Mapping[str, Any]) -> Answer:
    now = _instant(case["now"])
    try:
        definition = time_windows(case["def"])
    except ArcoError as exc:
        return _error(exc)
    keys = definition.keys(now)
    windows = []
    for index in case.get("sample", []):
        if not keys:
            break
        key = keys[index % len(keys)]

        def window(key: str = key) -> list[str]:
            found = definition.time_window_for_key(key)
            return [found.start.isoformat(), found.end.isoformat()]

        windows.append([key, attempt(window)])
    return {
        "ok": {
            "keys": keys,
            "first": attempt(lambda: definition.first_key(now)),
            "last": attempt(lambda: definition.last_key(now)),
            "windows": windows,
            "key_for_ts": [
                attempt(lambda q=q: definition.key_for_timestamp(_instant(q[0]), end_closed=q[1]))
                for q in case.get("ts_queries", [])
            ],
            "has_key": [
                attempt(lambda k=k: definition.has_key(k, now)) for k in case.get("candidates", [])
            ],
        }
    }


# --------------------------------------------------------------------------- mappings


def build_mapping(spec: Mapping[str, Any] | None) -> PartitionMapping | None:
    if spec is None:
        return None
    kind = spec["class"]
    if kind == "time_window":
        return TimeWindowPartitionMapping(
            start_offset=spec.get("start_offset", 0),
            end_offset=spec.get("end_offset", 0),
            allow_nonexistent_upstream_partitions=spec.get("allow_nonexistent", False),
        )
    if kind == "identity":
        return IdentityPartitionMapping()
    if kind == "all":
        return AllPartitionMapping()
    if kind == "last":
        return LastPartitionMapping()
    if kind == "static":
        return StaticPartitionMapping({k: list(v) for k, v in spec["mapping"].items()})
    if kind == "specific":
        return SpecificPartitionsPartitionMapping(list(spec["keys"]))
    if kind == "multi_to_single":
        return MultiToSingleDimensionPartitionMapping(spec.get("dimension"))
    if kind == "multi":
        dims = {}
        for upstream_dim, m in spec["dims"].items():
            inner = build_mapping(m["mapping"])
            assert inner is not None
            dims[upstream_dim] = DimensionPartitionMapping(m["dimension"], inner)
        return MultiPartitionMapping(dims)
    raise ValueError(f"unknown mapping {kind!r}")


def _pick(
    definition: PartitionsDefinition | None, picks: Sequence[Any], now: datetime
) -> list[str]:
    keys = definition.keys(now) if definition is not None else []
    out = []
    for pick in picks:
        if isinstance(pick, str):
            out.append(pick)
        elif keys:
            out.append(keys[pick % len(keys)])
    return list(dict.fromkeys(out))


# Dagster's class names for Arco's default mappings (the `infer` cases compare names).
_DAGSTER_NAMES = {
    "time_window": "TimeWindowPartitionMapping",
    "identity": "IdentityPartitionMapping",
    "all": "AllPartitionMapping",
    "last": "LastPartitionMapping",
    "multi_to_single_dimension": "MultiToSingleDimensionPartitionMapping",
    "multi": "MultiPartitionMapping",
    "static": "StaticPartitionMapping",
    "specific_partitions": "SpecificPartitionsPartitionMapping",
}


def mapping_answer(
    case: Mapping[str, Any], picked: Mapping[str, Sequence[str]] | None = None
) -> Answer:
    """`picked`: the keys Dagster resolved the case's indices to (`down_keys`, `up_keys`), so
    that a mapping is asked about the same keys on both sides even where the partitions
    definitions disagree (the partitions family reports that)."""
    now = _instant(case["now"])
    try:
        upstream = build_partitions(case["upstream"])
        downstream = build_partitions(case["downstream"])
        if case.get("infer"):
            return {"ok": _DAGSTER_NAMES[default_partition_mapping(upstream, downstream).kind]}
        mapping = build_mapping(case["mapping"])
        assert mapping is not None
    except ArcoError as exc:
        return _error(exc)
    if picked is not None and "down_keys" in picked:
        down_keys, up_keys = list(picked["down_keys"]), list(picked["up_keys"])
    else:
        down_keys = _pick(downstream, case.get("down", []), now)
        up_keys = _pick(upstream, case.get("up", []), now)

    def upstream_of() -> dict[str, list[str]]:
        result = mapping.upstream_partitions(downstream, down_keys, upstream, now)
        return {"keys": sorted(result.keys), "missing": sorted(result.required_but_nonexistent)}

    out: dict[str, Any] = {"down_keys": down_keys, "up_keys": up_keys}
    if upstream is not None:  # Dagster maps nothing to an unpartitioned upstream
        out["upstream"] = attempt(upstream_of)
    if upstream is not None and downstream is not None:
        out["downstream"] = attempt(
            lambda: sorted(mapping.downstream_partitions(upstream, up_keys, downstream, now))
        )
    return {"ok": out}


# --------------------------------------------------------------------------- selection

_SNAPSHOTS: dict[str, Any] = {}


def selection_answer(case: Mapping[str, Any]) -> Answer:
    graph_id = json.dumps(case["assets"], sort_keys=True)
    snapshot = _SNAPSHOTS.get(graph_id)
    if snapshot is None:
        specs = [
            AssetSpec(
                a["key"],
                deps=list(a.get("deps", [])),
                group_name=a.get("group"),
                tags=a.get("tags"),
                owners=a.get("owners"),
                kinds=a.get("kinds"),
            )
            for a in case["assets"]
        ]
        snapshot = Definitions(assets=specs).snapshot("differential")
        _SNAPSHOTS[graph_id] = snapshot
    return attempt(lambda: sorted(select_assets(case["selection"], snapshot)))


# --------------------------------------------------------------------------- data versions


def data_version_answer(case: Mapping[str, Any]) -> Answer:
    return attempt(
        lambda: derive_data_version(case["code_version"], dict(case["inputs"]), case["run_id"])
    )


# --------------------------------------------------------------------------- staleness


def build_definitions(assets: Sequence[Mapping[str, Any]], reported: Mapping[str, str]) -> Any:
    """Arco definitions for a staleness scenario: `external` assets are AssetSpecs; the others
    are functions returning the data version `reported` holds for them when they run."""
    items: list[Any] = []
    for a in assets:
        deps = [
            AssetDep(d["key"], partition_mapping=build_mapping(d.get("mapping")))
            for d in a.get("deps", [])
        ]
        partitions = build_partitions(a.get("partitions"))
        if a.get("external"):
            items.append(AssetSpec(a["key"], deps=deps, partitions_def=partitions))
            continue
        items.append(
            asset(
                key=a["key"],
                deps=deps,
                code_version=a.get("code_version"),
                partitions_def=partitions,
            )(_body(a["key"], reported))
        )
    return Definitions(assets=items)


def _body(name: str, reported: Mapping[str, str]) -> Callable[[], MaterializeResult]:
    def compute() -> MaterializeResult:
        version = reported.get(name)
        return MaterializeResult(data_version=DataVersion(version) if version else None)

    compute.__name__ = compute.__qualname__ = "compute_" + name.replace("/", "__")
    return compute


class StalenessWorld:
    """One workspace on a memory store with a fixed clock, driven like `arco run` would."""

    T0_MS = int(datetime(2024, 2, 1, tzinfo=UTC).timestamp() * 1000)

    def __init__(self) -> None:
        from arco.clock import FixedClock
        from arco.services.workspace import Workspace
        from arco.storage.memory import MemoryObjectStore

        self.ws = Workspace(MemoryObjectStore(), "differential", clock=FixedClock(self.T0_MS))
        self.definitions: Any = None

    def _tick(self) -> None:
        self.ws.clock.advance(1000)  # type: ignore[attr-defined]

    def deploy(self, definitions: Any) -> None:
        from arco.services.commands.deploy import deploy

        self._tick()
        self.definitions = definitions
        deploy(self.ws, definitions.snapshot("differential"), "differential")
        self.ws.compactor.compact_until_idle()

    def materialize(self, keys: Sequence[str], partition: str | None = None) -> None:
        from arco.services.commands.runs import LaunchRequest, launch_run
        from arco.services.engines.dispatch import InProcessExecutor
        from arco.services.engines.local_runner import drive_run

        self._tick()
        selection = " or ".join(f'key:"{k}"' for k in keys)
        launched = launch_run(self.ws, LaunchRequest(selection, partition=partition))
        status = drive_run(
            self.ws, launched.run_id, InProcessExecutor(self.ws, self.definitions), poll_s=0
        )
        if status != "SUCCESS":
            raise RuntimeError(f"run of {keys} ended {status}")
        self.ws.compactor.compact_until_idle()

    def state(self, observe: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        from arco.domain.staleness import assess
        from arco.services.queries.definitions import current_definitions

        snapshot = self.ws.snapshot()
        defs = current_definitions(snapshot)
        assert defs is not None
        statuses = dict(snapshot.rows("partition_status").items())
        versions = {k[0]: r for k, r in snapshot.rows("asset_versions").items()}
        out = []
        for key, partition in observe:
            found = assess(defs, key, partition, statuses, versions)  # type: ignore[arg-type]
            row = statuses.get((key, partition or "")) or {}
            version = None
            if row.get("materialized_run_id"):
                version = row.get("materialized_data_version")
            if version is None:  # what Arco's provenance records for it (worker._input_versions)
                version = INITIAL_VERSION if defs.assets[key].compute is None else NULL_VERSION
            out.append(
                {
                    "asset": key,
                    "partition": partition,
                    "status": found.status,
                    "causes": [
                        [
                            c.code,
                            c.upstream[0] if c.upstream else None,
                            c.upstream[1] if c.upstream else None,
                        ]
                        for c in found.causes
                    ],
                    "data_version": version,
                }
            )
        return out


def staleness_answer(case: Mapping[str, Any]) -> Answer:
    world = StalenessWorld()
    reported = dict(case.get("reported", {}))
    world.deploy(build_definitions(case["assets"], reported))
    states = []
    for step in case["steps"]:
        if step["op"] == "materialize":
            world.materialize(step["keys"], step.get("partition"))
        elif step["op"] == "report":
            reported[step["key"]] = step["version"]
        elif step["op"] == "deploy":
            world.deploy(build_definitions(step["assets"], reported))
        states.append(world.state(case["observe"]))
    return {"ok": states}


def automation_answer(case: Mapping[str, Any]) -> Answer:
    from tests.differential.arco_automation import automation_answer_value

    try:
        return {"ok": automation_answer_value(case["scenario"])}
    except InvalidInput as exc:
        return {"error": f"InvalidInput: {exc}"}


ANSWERS: dict[str, Callable[[Mapping[str, Any]], Answer]] = {
    "cron": cron_answer,
    "cron_valid": cron_valid_answer,
    "partitions": partitions_answer,
    "mapping": mapping_answer,
    "selection": selection_answer,
    "data_version": data_version_answer,
    "staleness": staleness_answer,
    "automation": automation_answer,
}
