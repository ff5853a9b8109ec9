"""Declarative automation scenarios run by Dagster itself, for the differential suite.

Imported by `scripts/dagster_oracle.py` (in `.venv-dagster` only). A scenario is a graph with
automation conditions (Python expressions over `AutomationCondition`, evaluated here as in Arco)
and ticks, each with the events before it: runless materializations, runs starting (STARTED or
QUEUED), ending (success, failure, canceled, materializing some assets), failing, and the
previous tick's run requests executed. `evaluate_automation_conditions` evaluates every tick
with the cursor of the one before; `build_run_requests` groups what it requested. Runs are
simulated as Dagster's own tests do (`create_run_for_job` with an execution plan, which emits
the ASSET_MATERIALIZATION_PLANNED events `run_in_progress` reads); event times are frozen.
"""

# ruff: noqa
import datetime
import json
import logging
import sys
import uuid
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import dagster as dg  # noqa: E402
from dagster import (  # noqa: E402
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AutomationCondition,
    DagsterInstance,
    DagsterRunStatus,
)
from dagster._core.definitions.automation_tick_evaluation_context import (  # noqa: E402
    build_run_requests,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData  # noqa: E402
from dagster._core.execution.api import create_execution_plan  # noqa: E402
from dagster._core.storage.tags import (  # noqa: E402
    ASSET_EVALUATION_ID_TAG,
    AUTO_MATERIALIZE_TAG,
    AUTOMATION_CONDITION_TAG,
    PARTITION_NAME_TAG,
)
from dagster._core.test_utils import freeze_time  # noqa: E402

AC = AutomationCondition
UTC = datetime.timezone.utc


# ----------------------------------------------------------------------------- helpers
def parse_time(s):
    if isinstance(s, (int, float)):
        return datetime.datetime.fromtimestamp(s, UTC)
    dt = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _static_names():
    names = {}
    for n in dir(AutomationCondition):
        if n.startswith("_"):
            continue
        attr = AutomationCondition.__dict__.get(n)
        if isinstance(attr, staticmethod):
            names[n] = getattr(AutomationCondition, n)
    return names


EXPR_NS = {
    "AC": AC,
    "AutomationCondition": AC,
    "AssetSelection": AssetSelection,
    "AssetKey": AssetKey,
    "timedelta": datetime.timedelta,
    "datetime": datetime,
    "dg": dg,
    **_static_names(),
}


def build_condition(spec):
    """A condition is a python expression string, or a JSON tree:
    {"op": "and"|"or", "args": [c, ...]}     {"op": "not", "arg": c}
    {"op": "since", "trigger": c, "reset": c} {"op": "newly_true"|"since_last_handled", "arg": c}
    {"op": "with_label", "label": "x", "arg": c}   {"op": "without", "arg": c, "remove": c}
    {"op": "allow"|"ignore", "arg": c, "keys": ["A", ...]}
    {"op": "<any AutomationCondition static method>", "args": [...], "kwargs": {...}}
       (args that are dicts with "op" are built recursively;
        in_latest_time_window accepts {"lookback_hours": n})
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        return eval(spec, dict(EXPR_NS))  # noqa: S307 - trusted local scenario input
    op = spec["op"]

    def b(x):
        return (
            build_condition(x)
            if isinstance(x, (dict, str)) and (isinstance(x, str) or "op" in x)
            else x
        )

    if op == "and":
        out = b(spec["args"][0])
        for a in spec["args"][1:]:
            out = out & b(a)
        return out
    if op == "or":
        out = b(spec["args"][0])
        for a in spec["args"][1:]:
            out = out | b(a)
        return out
    if op == "not":
        return ~b(spec["arg"])
    if op == "since":
        return b(spec["trigger"]).since(b(spec["reset"]))
    if op == "newly_true":
        return b(spec["arg"]).newly_true()
    if op == "since_last_handled":
        return b(spec["arg"]).since_last_handled()
    if op == "with_label":
        return b(spec["arg"]).with_label(spec["label"])
    if op == "without":
        return b(spec["arg"]).without(b(spec["remove"]))
    if op in ("allow", "ignore"):
        sel = AssetSelection.assets(*spec["keys"])
        return getattr(b(spec["arg"]), op)(sel)
    if op == "in_latest_time_window" and "lookback_hours" in spec:
        return AC.in_latest_time_window(datetime.timedelta(hours=spec["lookback_hours"]))
    fn = getattr(AC, op)
    args = [b(a) for a in spec.get("args", [])]
    kwargs = {k: b(v) for k, v in spec.get("kwargs", {}).items()}
    return fn(*args, **kwargs)


def build_partitions_def(spec):
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"type": spec}
    t = spec["type"]
    if t == "daily":
        return dg.DailyPartitionsDefinition(start_date=spec.get("start", "2024-01-01"))
    if t == "hourly":
        return dg.HourlyPartitionsDefinition(start_date=spec.get("start", "2024-01-01-00:00"))
    if t == "static":
        return dg.StaticPartitionsDefinition(spec["keys"])
    raise ValueError(f"unknown partitions type {t}")


def build_mapping(m):
    if m is None:
        return None
    if m == "identity":
        return dg.IdentityPartitionMapping()
    if m == "all":
        return dg.AllPartitionMapping()
    if m == "last":
        return dg.LastPartitionMapping()
    if isinstance(m, dict) and "time_window" in m:
        return dg.TimeWindowPartitionMapping(**m["time_window"])
    raise ValueError(f"unknown mapping {m}")


def build_defs(scenario):
    assets = []
    for a in scenario["assets"]:
        deps = []
        for d in a.get("deps", []):
            if isinstance(d, str):
                deps.append(dg.AssetDep(d))
            else:
                deps.append(
                    dg.AssetDep(d["key"], partition_mapping=build_mapping(d.get("mapping")))
                )
        kwargs = dict(
            deps=deps,
            partitions_def=build_partitions_def(a.get("partitions")),
            automation_condition=build_condition(a.get("condition")),
            code_version=a.get("code_version"),
            group_name=a.get("group"),
        )
        if a.get("external"):
            kwargs.pop("code_version")
            assets.append(dg.AssetSpec(a["key"], **kwargs))
        else:

            def _make(spec_kwargs, key):
                @dg.asset(name=key, **spec_kwargs)
                def _fn():
                    return None

                return _fn

            assets.append(_make(kwargs, a["key"]))
    # a check of a partitioned asset is partitioned like it (Arco records results per partition)
    checks = [
        _check(a["key"], c["name"], c.get("blocking", False), a.get("partitions"))
        for a in scenario["assets"]
        for c in a.get("checks", [])
    ]
    return dg.Definitions(assets=assets, asset_checks=checks)


def _check(asset_key, name, blocking, partitions):
    @dg.asset_check(
        asset=asset_key,
        name=name,
        blocking=blocking,
        partitions_def=build_partitions_def(partitions),
    )
    def _fn():
        return dg.AssetCheckResult(passed=True)

    return _fn


def _fake_remote_origin(job_name):
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    return RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(
                loadable_target_origin=LoadableTargetOrigin(python_file=__file__)
            ),
            repository_name="__repository__",
        ),
        job_name=job_name,
    )


# ----------------------------------------------------------------------------- simulator
class Sim:
    def __init__(self, scenario):
        self.scenario = scenario
        self.defs = build_defs(scenario)
        self.asset_graph = self.defs.resolve_asset_graph()
        self.instance = DagsterInstance.ephemeral()
        self.cursor = None
        self.runs = {}  # name -> run_id
        self.prev_run_requests = []
        self.prev_eval_id = None
        self.emit_backfills = scenario.get("emit_backfills", True)

    # --- event helpers
    def _materialize_runless(self, key, partition, at):
        with freeze_time(at):
            self.instance.report_runless_asset_event(
                AssetMaterialization(asset_key=key, partition=partition)
            )

    def _check_runless(self, key, check, passed, partition, at):
        from dagster._core.definitions.asset_checks.asset_check_evaluation import (
            AssetCheckEvaluation,
            AssetCheckEvaluationTargetMaterializationData,
        )

        asset_key = AssetKey.from_user_string(key)
        records = self.instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=asset_key, asset_partitions=[partition] if partition else None
            ),
            limit=1,
        ).records
        target = (
            AssetCheckEvaluationTargetMaterializationData(
                storage_id=records[0].storage_id,
                run_id=records[0].event_log_entry.run_id,
                timestamp=records[0].timestamp,
            )
            if records
            else None
        )
        evaluation = AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=check,
            passed=passed,
            target_materialization_data=target,
            partition=partition,
        )
        run_id = records[0].event_log_entry.run_id if records else None
        with freeze_time(at):
            if run_id:  # as Dagster runs a check: in the run that materialized its asset
                run = self.instance.get_run_by_id(run_id)
                self.instance.report_dagster_event(
                    DagsterEvent(
                        event_type_value=DagsterEventType.ASSET_CHECK_EVALUATION.value,
                        job_name=run.job_name,
                        event_specific_data=evaluation,
                    ),
                    run_id=run_id,
                )
            else:
                self.instance.report_runless_asset_event(evaluation)

    def _create_run(self, name, assets, partition, status, at, tags=None):
        keys = [AssetKey.from_user_string(k) if isinstance(k, str) else k for k in assets]
        # the run plans only its own assets (the implicit job holds every asset)
        job_def = self.defs.resolve_implicit_job_def_def_for_assets(keys).get_subset(
            asset_selection=frozenset(keys)
        )
        plan = create_execution_plan(job_def, run_config={})
        run_id = str(uuid.uuid4())
        all_tags = dict(tags or {})
        if partition:
            all_tags[PARTITION_NAME_TAG] = partition
        queued = status == "QUEUED"  # QUEUED runs require a (fake) remote origin
        with freeze_time(at):
            self.instance.create_run_for_job(
                job_def=job_def,
                run_id=run_id,
                status=DagsterRunStatus(status),
                asset_selection=frozenset(keys),
                execution_plan=plan,
                tags=all_tags or None,
                remote_job_origin=_fake_remote_origin(job_def.name) if queued else None,
            )
        self.runs[name] = (run_id, keys, partition)
        return run_id

    def _end_run(self, name, status, materialize, at):
        run_id, keys, partition = self.runs[name]
        run = self.instance.get_run_by_id(run_id)
        to_mat = (
            keys
            if materialize is True
            else [AssetKey.from_user_string(k) for k in (materialize or [])]
        )
        with freeze_time(at):
            for k in to_mat:
                self.instance.report_dagster_event(
                    DagsterEvent(
                        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                        job_name=run.job_name,
                        event_specific_data=StepMaterializationData(
                            AssetMaterialization(asset_key=k, partition=partition)
                        ),
                    ),
                    run_id=run_id,
                )
            if status == "success":
                self.instance.report_dagster_event(
                    DagsterEvent(
                        event_type_value=DagsterEventType.RUN_SUCCESS.value,
                        job_name=run.job_name,
                    ),
                    run_id=run_id,
                )
            elif status == "failure":
                self.instance.report_run_failed(run)
            elif status == "canceled":
                self.instance.report_run_canceled(run)
            else:
                raise ValueError(status)

    def apply_event(self, ev, now, tick_idx):
        at = parse_time(ev["at"]) if "at" in ev else now - datetime.timedelta(seconds=1)
        t = ev["type"]
        if t == "materialize":
            for a in ev.get("assets") or [ev["asset"]]:
                self._materialize_runless(a, ev.get("partition"), at)
        elif t == "run_start":
            self._create_run(
                ev["run"],
                ev["assets"],
                ev.get("partition"),
                ev.get("status", "STARTED"),
                at,
                tags=ev.get("tags"),
            )
        elif t == "run_end":
            self._end_run(ev["run"], ev.get("status", "success"), ev.get("materialize"), at)
        elif t == "run_failed":
            name = ev.get("run") or f"_failed_{uuid.uuid4().hex[:6]}"
            self._create_run(name, ev["assets"], ev.get("partition"), "STARTED", at)
            self._end_run(name, "failure", ev.get("materialize"), at)
        elif t == "end_runs":  # every run started with this name prefix, still open
            for name in [n for n in self.runs if n.startswith(ev["prefix"])]:
                status = ev.get("status", "success")
                self._end_run(name, status, True if status == "success" else None, at)
            self.runs = {n: v for n, v in self.runs.items() if not n.startswith(ev["prefix"])}
        elif t == "check":  # a check's result for the latest materialization (runless)
            self._check_runless(ev["asset"], ev["check"], ev["passed"], ev.get("partition"), at)
        elif t == "execute_requested":
            status = ev.get("status", "success")
            prefix = ev.get("prefix", "req")
            for i, rr in enumerate(self.prev_run_requests):
                name = f"{prefix}{tick_idx - 1}_{i}"
                tags = {
                    AUTO_MATERIALIZE_TAG: "true",
                    AUTOMATION_CONDITION_TAG: "true",
                    ASSET_EVALUATION_ID_TAG: str(self.prev_eval_id),
                }
                for pk in rr["partition_keys"]:
                    n = name if len(rr["partition_keys"]) == 1 else f"{name}_{pk}"
                    self._create_run(n, rr["assets"], pk, "STARTED", at, tags=tags)
                    if status == "success":
                        self._end_run(n, "success", True, at)
                    elif status == "failure":
                        self._end_run(n, "failure", None, at)
        else:
            raise ValueError(f"unknown event type {t}")

    # --- evaluation
    def tick(self, idx, tick_spec):
        now = parse_time(tick_spec["now"])
        if tick_spec.get("redefine"):  # {"asset": <condition spec or null>} -> rebuild defs
            for a in self.scenario["assets"]:
                if a["key"] in tick_spec["redefine"]:
                    a["condition"] = tick_spec["redefine"][a["key"]]
            self.defs = build_defs(self.scenario)
            self.asset_graph = self.defs.resolve_asset_graph()
        for ev in tick_spec.get("events", []):
            self.apply_event(ev, now, idx)
        eval_id = self.cursor.evaluation_id if self.cursor else 0
        with freeze_time(now):
            result = dg.evaluate_automation_conditions(
                defs=self.defs, instance=self.instance, cursor=self.cursor, evaluation_time=now
            )
        self.cursor = result.cursor
        requested = {}
        for r in result.results:
            key = r.key
            if not isinstance(key, AssetKey):
                continue
            subset = r.true_subset
            if subset.is_empty:
                continue
            pks = (
                sorted(subset.expensively_compute_partition_keys())
                if subset.is_partitioned
                else [None]
            )
            requested[key.to_user_string()] = pks
        # also include neighbours pulled in by execution sets
        for k, pks in sorted(
            {
                ap.asset_key.to_user_string(): None
                for ap in result._requested_asset_partitions  # noqa: SLF001
            }.items()
        ):
            if k not in requested:
                requested[k] = sorted(
                    p for p in result.get_requested_partitions(AssetKey.from_user_string(k))
                ) or [None]
        run_requests = build_run_requests(
            entity_subsets=[s for s in result._requested_subsets if not s.is_empty],  # noqa: SLF001
            asset_graph=self.asset_graph,
            run_tags={},
            emit_backfills=self.emit_backfills,
        )
        runs = []
        self.prev_run_requests = []
        for rr in run_requests:
            if rr.requires_backfill_daemon():
                ags = rr.asset_graph_subset
                parts = {}
                for ap in ags.iterate_asset_partitions():
                    parts.setdefault(ap.asset_key.to_user_string(), []).append(ap.partition_key)
                runs.append(
                    {
                        "backfill": True,
                        "asset_partitions": {
                            k: sorted(v, key=str) for k, v in sorted(parts.items())
                        },
                    }
                )
                # for execute_requested: one run per (partition, asset-group)
                by_pk = {}
                for k, v in parts.items():
                    for pk in v:
                        by_pk.setdefault(pk, []).append(k)
                for pk, ks in by_pk.items():
                    self.prev_run_requests.append({"assets": sorted(ks), "partition_keys": [pk]})
            else:
                assets = sorted(k.to_user_string() for k in (rr.asset_selection or []))
                runs.append(
                    {
                        "backfill": False,
                        "assets": assets,
                        "checks": sorted(str(c) for c in (rr.asset_check_keys or [])) or None,
                        "partition_key": rr.partition_key,
                        "tags": dict(rr.tags),
                    }
                )
                self.prev_run_requests.append(
                    {"assets": assets, "partition_keys": [rr.partition_key]}
                )
        self.prev_eval_id = eval_id
        out = {
            "tick": idx,
            "now": now.isoformat(),
            "evaluation_id": eval_id,
            "requested": dict(sorted(requested.items())),
            "runs": runs,
        }
        if tick_spec.get("note"):
            out["note"] = tick_spec["note"]
        return out


def run_scenario(scenario):
    sim = Sim(scenario)
    return [sim.tick(i, t) for i, t in enumerate(scenario["ticks"])]
