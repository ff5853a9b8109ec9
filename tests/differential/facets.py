"""Cutting one case's two answers into facets (see `compare.Facet`), family by family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.differential.compare import Case, Facet, ok


def _whole(family: str, case: Case, name: str, dagster: Any, arco: Any) -> list[Facet]:
    return [Facet(family, case, name, dagster, arco)]


def cron_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    return _whole("cron", case, "ticks", dagster, arco)


def cron_valid_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    return _whole("cron_valid", case, "valid", dagster, arco)


def partitions_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    family = "partitions"
    if "ok" not in dagster or "ok" not in arco:
        return _whole(family, case, "definition", dagster, arco)
    d, a = dagster["ok"], arco["ok"]
    out = [
        Facet(family, case, "keys", ok(d["keys"]), ok(a["keys"]), {"now": case["now"]}),
        Facet(family, case, "first", d["first"], a["first"], derived_from="keys"),
        Facet(family, case, "last", d["last"], a["last"], derived_from="keys"),
    ]
    for i, ((d_key, d_window), (a_key, a_window)) in enumerate(
        zip(d["windows"], a["windows"], strict=False)
    ):
        out.append(
            Facet(
                family,
                case,
                f"window[{i}]",
                ok([d_key, d_window]),
                ok([a_key, a_window]),
                {"key": d_key},
                derived_from="keys" if d_key != a_key else None,
            )
        )
    for i, (query, d_key, a_key) in enumerate(
        zip(case["ts_queries"], d["key_for_ts"], a["key_for_ts"], strict=True)
    ):
        extra = {"ts": query[0], "end_closed": query[1]}
        out.append(Facet(family, case, f"key_for_ts[{i}]", d_key, a_key, extra))
    for i, (candidate, d_has, a_has) in enumerate(
        zip(case["candidates"], d["has_key"], a["has_key"], strict=True)
    ):
        extra = {"candidate": candidate, "dagster_keys": d["keys"]}
        out.append(Facet(family, case, f"has_key[{i}]", d_has, a_has, extra))
    return out


def mapping_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    family = "mappings"
    if case.get("infer") or "ok" not in dagster or "ok" not in arco:
        return _whole(family, case, "infer" if case.get("infer") else "definition", dagster, arco)
    d, a = dagster["ok"], arco["ok"]
    out = []
    for name, keys in (("upstream", "down_keys"), ("downstream", "up_keys")):
        if name in d or name in a:
            extra = {"keys": d.get(keys)}
            out.append(Facet(family, case, name, d.get(name), a.get(name), extra))
    return out


def selection_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    return _whole("selection", case, "selected", dagster, arco)


def data_version_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    return _whole("data_versions", case, "hash", dagster, arco)


_CATEGORY = {
    "CODE_VERSION_CHANGED": "CODE",
    "DEPENDENCY_ADDED": "DEPENDENCIES",
    "DEPENDENCY_REMOVED": "DEPENDENCIES",
    "UPSTREAM_DATA_CHANGED": "DATA",
    "UPSTREAM_MISSING": "DATA",
}


def dagster_cause(cause: list[Any]) -> list[Any]:
    category, reason, dependency, dependency_partition = cause
    if category == "DEPENDENCIES":
        kind = "removed" if reason.startswith("removed") else "added"
        return [category, kind, dependency, dependency_partition]
    return [category, None, dependency, dependency_partition]


def arco_cause(cause: list[Any]) -> list[Any]:
    code, upstream, upstream_partition = cause
    kind = {"DEPENDENCY_ADDED": "added", "DEPENDENCY_REMOVED": "removed"}.get(code)
    return [_CATEGORY[code], kind, upstream, upstream_partition]


def staleness_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    """Per step and observed asset partition: status and causes (category, added/removed for
    dependency causes, the upstream asset and partition), in Dagster's order; and the current
    data version, in scenarios where every data version is reproducible (no run id in it)."""
    if "ok" not in dagster or "ok" not in arco:
        return _whole("staleness", case, "scenario", dagster, arco)
    out = []
    for step, (d_state, a_state) in enumerate(zip(dagster["ok"], arco["ok"], strict=True)):
        for d_row, a_row in zip(d_state, a_state, strict=True):
            where = f"step {step} {d_row['asset']}[{d_row['partition'] or ''}]"
            extra: Mapping[str, Any] = {
                "step_index": step,
                "asset": d_row["asset"],
                "partition": d_row["partition"],
                "step": case["steps"][step],
                "dagster_causes": d_row["causes"],
                "arco_causes": a_row["causes"],
            }
            d_status = [d_row["status"], [dagster_cause(c) for c in d_row["causes"]]]
            a_status = [a_row["status"], [arco_cause(c) for c in a_row["causes"]]]
            out.append(Facet("staleness", case, where, ok(d_status), ok(a_status), extra))
            if case.get("deterministic"):
                out.append(
                    Facet(
                        "data_versions_e2e",
                        case,
                        where,
                        ok(d_row["data_version"]),
                        ok(a_row["data_version"]),
                        extra,
                    )
                )
    return out


def automation_facets(case: Case, dagster: Any, arco: Any) -> list[Facet]:
    """Per tick: the asset partitions requested (`automation`), and how they were grouped into
    runs (`automation_runs`: Dagster's runs, or a backfill's partitions)."""
    if "ok" not in dagster or "ok" not in arco:
        return _whole("automation", case, "scenario", dagster, arco)
    out = []
    for d_tick, a_tick in zip(dagster["ok"], arco["ok"], strict=True):
        index = d_tick["tick"]
        extra = {"tick": index, "dagster_runs": d_tick["runs"], "arco_runs": a_tick["runs"]}
        out.append(
            Facet(
                "automation",
                case,
                f"tick {index} requested",
                ok(d_tick["requested"]),
                ok(a_tick["requested"]),
                extra,
            )
        )
        out.append(
            Facet(
                "automation_runs",
                case,
                f"tick {index} runs",
                ok(sorted(_dagster_runs(d_tick["runs"]))),
                ok(sorted(_arco_runs(a_tick["runs"]))),
                extra,
                derived_from=f"tick {index} requested",
            )
        )
    return out


def _dagster_runs(runs: list[dict[str, Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for run in runs:
        if run.get("backfill"):
            parts = run["asset_partitions"]
            out.append(
                ["backfill", sorted(parts), sorted({p for v in parts.values() for p in v}, key=str)]
            )
        else:
            out.append(["run", sorted(run["assets"]), [run["partition_key"]]])
    return out


def _arco_runs(runs: list[dict[str, Any]]) -> list[list[Any]]:
    return [["run", sorted(run["assets"]), run["partition_keys"]] for run in runs]


FACETS = {
    "cron": cron_facets,
    "cron_valid": cron_valid_facets,
    "partitions": partitions_facets,
    "mapping": mapping_facets,
    "selection": selection_facets,
    "data_version": data_version_facets,
    "staleness": staleness_facets,
    "automation": automation_facets,
}
