"""Dagster's answers to the differential suite's cases (tests/differential).

Runs under `.venv-dagster/bin/python` (Dagster 1.13.29 in a virtualenv of its own: `make
dagster`), never in Arco's environment, and imports nothing from Arco. Reads a JSON list of
cases on stdin and writes `{"dagster": version, "answers": {case id: answer}}` on stdout.

Every answer is `{"ok": value}` or `{"error": "ExceptionType: message"}`; a case that takes
more than a few seconds is cut off with an error, so one runaway case cannot hang the suite.
Each case names its family:

- `cron`: the next (or previous) ticks of a cron string or list, from an instant, in a zone;
- `cron_valid`: whether Dagster accepts a cron string;
- `partitions`: the keys of a time-window partitions definition at a time, its first and
  last key, the windows of some keys, the key holding some instants, membership of strings;
- `mapping`: upstream keys (and required-but-nonexistent keys) of downstream keys, and
  downstream keys of upstream keys, through a partition mapping; or the inferred mapping;
- `selection`: the assets a selection string resolves to on a graph;
- `data_version`: the logical data version of a code version and input data versions;
- `staleness`: a scripted history (materializations, redeploys) run with
  `materialize_to_memory` on one ephemeral instance; after every step, each asset's
  status, stale causes and current data version;
- `automation`: a declarative automation scenario (`dagster_oracle_automation.py`); per tick,
  the asset partitions requested and the runs.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

CASE_TIMEOUT_S = 10


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _error(exc: BaseException) -> dict[str, str]:
    message = str(exc).strip().splitlines()
    return {"error": f"{type(exc).__name__}: {message[0] if message else ''}"[:300]}


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": fn()}
    except CaseTimeout:
        raise
    except Exception as exc:
        return _error(exc)


def _instant(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --------------------------------------------------------------------------- cron


def cron_case(case: Mapping[str, Any]) -> Any:
    from dagster._utils.schedules import (
        cron_string_iterator,
        is_valid_cron_schedule,
        schedule_execution_time_iterator,
    )

    cron = case["cron"]
    if not is_valid_cron_schedule(cron):
        raise ValueError(f"invalid cron schedule {cron!r}")
    ascending = not case.get("descending", False)
    if isinstance(cron, str):
        ticks = cron_string_iterator(case["start"], cron, case["tz"], ascending=ascending)
    else:
        ticks = schedule_execution_time_iterator(case["start"], cron, case["tz"], ascending)
    return [t.isoformat() for t in itertools.islice(ticks, case["n"])]


def cron_valid_case(case: Mapping[str, Any]) -> Any:
    from dagster._utils.schedules import is_valid_cron_string

    return bool(is_valid_cron_string(case["cron"]))


# --------------------------------------------------------------------------- partitions


def build_partitions(spec: Mapping[str, Any] | None) -> Any:
    import dagster as dg

    if spec is None:
        return None
    kind = spec["class"]
    if kind == "static":
        return dg.StaticPartitionsDefinition(list(spec["keys"]))
    if kind == "multi":
        return dg.MultiPartitionsDefinition(
            {name: build_partitions(d) for name, d in spec["dims"].items()}
        )
    common: dict[str, Any] = {"timezone": spec.get("timezone", "UTC")}
    if spec.get("fmt") is not None:
        common["fmt"] = spec["fmt"]
    if spec.get("end_offset"):
        common["end_offset"] = spec["end_offset"]
    if spec.get("exclusions"):
        common["exclusions"] = list(spec["exclusions"])
    if kind == "cron":
        return dg.TimeWindowPartitionsDefinition(
            cron_schedule=spec["cron"], start=spec["start"], end=spec.get("end"), **common
        )
    if spec.get("end") is not None:
        common["end_date"] = spec["end"]
    for name in ("minute_offset", "hour_offset", "day_offset"):
        if spec.get(name) is not None:
            common[name] = spec[name]
    classes = {
        "hourly": dg.HourlyPartitionsDefinition,
        "daily": dg.DailyPartitionsDefinition,
        "weekly": dg.WeeklyPartitionsDefinition,
        "monthly": dg.MonthlyPartitionsDefinition,
    }
    return classes[kind](start_date=spec["start"], **common)


def partitions_case(case: Mapping[str, Any]) -> Any:
    import dagster as dg

    now = _instant(case["now"])
    with dg.partition_loading_context(effective_dt=now):
        definition = build_partitions(case["def"])
        keys = list(definition.get_partition_keys())
        out: dict[str, Any] = {
            "keys": keys,
            "first": _attempt(definition.get_first_partition_key),
            "last": _attempt(definition.get_last_partition_key),
        }
        windows = []
        for index in case.get("sample", []):
            if not keys:
                break
            key = keys[index % len(keys)]

            def window(key: str = key) -> list[str]:
                w = definition.time_window_for_partition_key(key)
                return [w.start.isoformat(), w.end.isoformat()]

            windows.append([key, _attempt(window)])
        out["windows"] = windows
        out["key_for_ts"] = [
            _attempt(lambda q=q: definition.get_partition_key_for_timestamp(q[0], end_closed=q[1]))
            for q in case.get("ts_queries", [])
        ]
        out["has_key"] = [
            _attempt(lambda k=k: bool(definition.has_partition_key(k)))
            for k in case.get("candidates", [])
        ]
        return out


# --------------------------------------------------------------------------- mappings


def build_mapping(spec: Mapping[str, Any] | None) -> Any:
    import dagster as dg

    if spec is None:
        return None
    kind = spec["class"]
    if kind == "time_window":
        return dg.TimeWindowPartitionMapping(
            start_offset=spec.get("start_offset", 0),
            end_offset=spec.get("end_offset", 0),
            allow_nonexistent_upstream_partitions=spec.get("allow_nonexistent", False),
        )
    if kind == "identity":
        return dg.IdentityPartitionMapping()
    if kind == "all":
        return dg.AllPartitionMapping()
    if kind == "last":
        return dg.LastPartitionMapping()
    if kind == "static":
        return dg.StaticPartitionMapping({k: list(v) for k, v in spec["mapping"].items()})
    if kind == "specific":
        return dg.SpecificPartitionsPartitionMapping(list(spec["keys"]))
    if kind == "multi_to_single":
        return dg.MultiToSingleDimensionPartitionMapping(spec.get("dimension"))
    if kind == "multi":
        return dg.MultiPartitionMapping(
            {
                upstream_dim: dg.DimensionPartitionMapping(
                    dimension_name=m["dimension"], partition_mapping=build_mapping(m["mapping"])
                )
                for upstream_dim, m in spec["dims"].items()
            }
        )
    raise ValueError(f"unknown mapping {kind!r}")


def _pick(definition: Any, picks: Sequence[Any]) -> list[str]:
    """Keys named by index into the definition's keys (ints) or literally (strings)."""
    keys = list(definition.get_partition_keys()) if definition is not None else []
    out = []
    for pick in picks:
        if isinstance(pick, str):
            out.append(pick)
        elif keys:
            out.append(keys[pick % len(keys)])
    return list(dict.fromkeys(out))


def mapping_case(case: Mapping[str, Any]) -> Any:
    import dagster as dg
    from dagster._core.definitions.partitions.utils.mapping import infer_partition_mapping

    now = _instant(case["now"])
    with dg.partition_loading_context(effective_dt=now):
        upstream = build_partitions(case["upstream"])
        downstream = build_partitions(case["downstream"])
        if case.get("infer"):
            return type(infer_partition_mapping(None, downstream, upstream)).__name__
        mapping = build_mapping(case["mapping"])
        out: dict[str, Any] = {}
        down_keys = _pick(downstream, case.get("down", []))
        out["down_keys"] = down_keys

        def upstream_of() -> dict[str, list[str]]:
            subset = (
                downstream.subset_with_partition_keys(down_keys) if downstream is not None else None
            )
            result = mapping.get_upstream_mapped_partitions_result_for_partitions(
                subset, downstream, upstream
            )
            return {
                "keys": sorted(result.partitions_subset.get_partition_keys()),
                "missing": sorted(result.required_but_nonexistent_subset.get_partition_keys()),
            }

        if upstream is not None:  # an unpartitioned upstream has no keys to map to
            out["upstream"] = _attempt(upstream_of)
        up_keys = _pick(upstream, case.get("up", []))
        out["up_keys"] = up_keys

        def downstream_of() -> list[str]:
            subset = upstream.subset_with_partition_keys(up_keys)
            result = mapping.get_downstream_partitions_for_partitions(subset, upstream, downstream)
            return sorted(result.get_partition_keys())

        if upstream is not None and downstream is not None:
            out["downstream"] = _attempt(downstream_of)
        return out


# --------------------------------------------------------------------------- selection


def _asset_key(key: str) -> Any:
    import dagster as dg

    return dg.AssetKey(key.split("/"))


def selection_case(case: Mapping[str, Any]) -> Any:
    import dagster as dg

    graph_id = json.dumps(case["assets"], sort_keys=True)
    graph = _GRAPHS.get(graph_id)
    if graph is None:
        specs = []
        for a in case["assets"]:
            spec = dg.AssetSpec(
                _asset_key(a["key"]),
                deps=[_asset_key(d) for d in a.get("deps", [])],
                group_name=a.get("group"),
                tags=a.get("tags") or None,
                owners=a.get("owners") or None,
                kinds=set(a.get("kinds") or ()) or None,
            )
            specs.append(_executable(spec))
        graph = dg.Definitions(assets=specs).resolve_asset_graph()
        _GRAPHS[graph_id] = graph
    selected = dg.AssetSelection.from_string(case["selection"]).resolve(graph)
    return sorted("/".join(k.path) for k in selected)


_GRAPHS: dict[str, Any] = {}


def _executable(spec: Any) -> Any:
    import dagster as dg

    @dg.multi_asset(specs=[spec], name="op_" + "__".join(spec.key.path))
    def _compute() -> None:
        return None

    return _compute


# --------------------------------------------------------------------------- data versions


def data_version_case(case: Mapping[str, Any]) -> Any:
    from dagster._core.definitions.data_version import DataVersion, compute_logical_data_version

    code_version = case["code_version"] if case["code_version"] is not None else case["run_id"]
    inputs = {_asset_key(k): DataVersion(v) for k, v in case["inputs"].items()}
    return compute_logical_data_version(code_version, inputs).value


# --------------------------------------------------------------------------- staleness


def _build_assets(assets: Sequence[Mapping[str, Any]], reported: dict[str, str]) -> list[Any]:
    import dagster as dg

    out: list[Any] = []
    for a in assets:
        key = _asset_key(a["key"])
        partitions = build_partitions(a.get("partitions"))
        deps = [
            dg.AssetDep(_asset_key(d["key"]), partition_mapping=build_mapping(d.get("mapping")))
            for d in a.get("deps", [])
        ]
        if a.get("external"):
            spec = dg.AssetSpec(key, deps=deps, partitions_def=partitions)
            out.append(dg.AssetsDefinition(specs=[spec]))
            continue
        compute = dg.asset(
            key=key, deps=deps, code_version=a.get("code_version"), partitions_def=partitions
        )(_body(a["key"], reported))
        out.append(compute)
    return out


def _body(name: str, reported: Mapping[str, str]) -> Callable[[], Any]:
    """An asset function (unannotated: Dagster reads annotations) that returns the data
    version `reported` holds for it at the time it runs, if any."""
    import dagster as dg

    def compute():  # type: ignore[no-untyped-def]
        version = reported.get(name)
        return dg.MaterializeResult(
            data_version=dg.DataVersion(version) if version is not None else None
        )

    compute.__name__ = "compute_" + name.replace("/", "__")
    return compute


def _state(instance: Any, assets_defs: list[Any], keys: Sequence[tuple[str, str | None]]) -> Any:
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._time import get_current_datetime

    graph = AssetGraph.from_assets(assets_defs)
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    resolver = CachingStaleStatusResolver(
        instance=instance, asset_graph=graph, loading_context=view
    )
    out = []
    for key, partition in keys:
        asset_key = _asset_key(key)
        causes = [
            [
                c.category.value,
                c.reason,
                "/".join(c.dependency.asset_key.path) if c.dependency else None,
                c.dependency.partition_key if c.dependency else None,
            ]
            for c in resolver.get_stale_causes(asset_key, partition)
        ]
        out.append(
            {
                "asset": key,
                "partition": partition,
                "status": resolver.get_status(asset_key, partition).value,
                "causes": causes,
                "data_version": resolver.get_current_data_version(asset_key, partition).value,
            }
        )
    return out


def staleness_case(case: Mapping[str, Any]) -> Any:
    import dagster as dg

    instance = dg.DagsterInstance.ephemeral()
    reported: dict[str, str] = dict(case.get("reported", {}))
    assets = [dict(a) for a in case["assets"]]
    assets_defs = _build_assets(assets, reported)
    states = []
    for step in case["steps"]:
        op = step["op"]
        if op == "materialize":
            selection = [_asset_key(k) for k in step["keys"]]
            result = dg.materialize_to_memory(
                assets_defs,
                instance=instance,
                selection=selection,
                partition_key=step.get("partition"),
                raise_on_error=False,
            )
            if not result.success:
                raise RuntimeError(f"materialization failed at step {step}")
        elif op == "report":
            reported[step["key"]] = step["version"]
        elif op == "deploy":
            assets = [dict(a) for a in step["assets"]]
            assets_defs = _build_assets(assets, reported)
        else:
            raise ValueError(f"unknown step {op!r}")
        states.append(_state(instance, assets_defs, [tuple(k) for k in case["observe"]]))
    return states


# --------------------------------------------------------------------------- automation


def automation_case(case: Mapping[str, Any]) -> Any:
    """Per tick: the asset partitions Dagster's evaluator requested, and its runs."""
    import copy

    from dagster_oracle_automation import run_scenario

    return run_scenario(copy.deepcopy(dict(case["scenario"])))


# --------------------------------------------------------------------------- main

FAMILIES: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "cron": cron_case,
    "cron_valid": cron_valid_case,
    "partitions": partitions_case,
    "mapping": mapping_case,
    "selection": selection_case,
    "data_version": data_version_case,
    "staleness": staleness_case,
    "automation": automation_case,
}


def answer(case: Mapping[str, Any]) -> dict[str, Any]:
    try:
        with _time_limit(CASE_TIMEOUT_S):
            return {"ok": FAMILIES[case["family"]](case)}
    except Exception as exc:
        result = _error(exc)
        if case.get("debug"):
            result["traceback"] = traceback.format_exc()
        return result


def main() -> int:
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    import dagster

    cases = json.load(sys.stdin)
    answers = {case["id"]: answer(case) for case in cases}
    json.dump({"dagster": dagster.__version__, "answers": answers}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
