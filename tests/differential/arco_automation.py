"""Arco's side of the automation scenarios: the same graph, events and ticks as
`scripts/dagster_oracle_automation.py`, through Arco's own code path.

Each tick builds the evaluator's inputs from a simulated world (materializations, runs in
progress, failed attempts), asks the timer's pure controller (`evaluate_conditions`) for its
`automation.evaluated` event, folds it with the real registry (compare-and-set, memory, run
requests), and answers with the run requests the fold wrote: their assets and partitions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from arco.domain.automation import (
    AUTOMATION_MEMORY,
    AUTOMATION_STATE,
    AUTOMATION_STATUS_CHANGED,
    SENSOR_NAME,
    AutomationStatusChanged,
)
from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_controller import AutomationInputs, evaluate_conditions
from arco.domain.automation_evaluation import AssetFacts, Materialization
from arco.domain.catalog import default_registry
from arco.domain.definitions import AssetDepNode, AssetNode, CheckNode, DefinitionsSnapshot
from arco.domain.partition_mappings import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    PartitionMapping,
    TimeWindowPartitionMapping,
)
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
)
from arco.domain.schedules import RUN_REQUESTS
from arco.domain.ulid import encode_ulid
from arco.sdk import AssetSelection
from tests.factories import FoldProjection, envelope

UTC = dt.UTC


def _time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _namespace() -> dict[str, Any]:
    names: dict[str, Any] = {
        "AC": AutomationCondition,
        "AutomationCondition": AutomationCondition,
        "AssetSelection": AssetSelection,
        "timedelta": dt.timedelta,
    }
    for name in dir(AutomationCondition):
        if not name.startswith("_") and isinstance(
            AutomationCondition.__dict__.get(name), staticmethod
        ):
            names[name] = getattr(AutomationCondition, name)
    return names


def build_condition(spec: Any) -> AutomationCondition | None:
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise ValueError("Arco's side reads conditions written as Python expressions")
    value = eval(spec, _namespace())
    assert isinstance(value, AutomationCondition)
    return value


def _partitions(spec: Any) -> PartitionsDefinition | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = {"type": spec}
    kind = spec["type"]
    if kind == "daily":
        return DailyPartitionsDefinition(start_date=spec.get("start", "2024-01-01"))
    if kind == "hourly":
        return HourlyPartitionsDefinition(start_date=spec.get("start", "2024-01-01-00:00"))
    if kind == "static":
        return StaticPartitionsDefinition(spec["keys"])
    raise ValueError(f"unknown partitions {kind!r}")


def _mapping(spec: Any) -> PartitionMapping | None:
    if spec is None:
        return None
    if spec == "identity":
        return IdentityPartitionMapping()
    if spec == "all":
        return AllPartitionMapping()
    if spec == "last":
        return LastPartitionMapping()
    if isinstance(spec, dict) and "time_window" in spec:
        return TimeWindowPartitionMapping(**spec["time_window"])
    raise ValueError(f"unknown mapping {spec!r}")


def build_definitions(scenario: Mapping[str, Any]) -> DefinitionsSnapshot:
    nodes = {}
    for asset in scenario["assets"]:
        deps = []
        for dep in asset.get("deps", []):
            if isinstance(dep, str):
                deps.append(AssetDepNode(dep))
            else:
                deps.append(AssetDepNode(dep["key"], _mapping(dep.get("mapping"))))
        nodes[asset["key"]] = AssetNode(
            key=asset["key"],
            deps=tuple(deps),
            code_version=asset.get("code_version"),
            partitions=_partitions(asset.get("partitions")),
            compute=None if asset.get("external") else f"scenario:{asset['key']}",
            automation_condition=build_condition(asset.get("condition")),
            checks=tuple(
                CheckNode(c["name"], c.get("blocking", False)) for c in asset.get("checks", [])
            ),
        )
    return DefinitionsSnapshot("scenario", nodes)


class ArcoAutomationSim:
    """A world (materializations, runs, attempts) and Arco's automation over it."""

    def __init__(self, scenario: Mapping[str, Any]) -> None:
        self.scenario = json.loads(json.dumps(scenario))
        self.defs = build_definitions(self.scenario)
        self.projection = FoldProjection(default_registry())
        self.sequence = 0
        self.materialized: dict[tuple[str, str], Materialization] = {}
        self.attempts: dict[tuple[str, str], tuple[str, str]] = {}  # -> (status, version)
        self.runs: dict[str, tuple[str, list[str], str | None, str]] = {}
        self.run_targets: dict[str, frozenset[str]] = {}
        self.run_tags: dict[str, dict[str, str]] = {}
        self.previous_runs: list[dict[str, Any]] = []
        # (asset, partition, check) -> (passed, the materialization it ran against)
        self.checks: dict[tuple[str, str, str], tuple[bool, str]] = {}

    # -- the world -----------------------------------------------------------------------------

    def _version(self, at: dt.datetime) -> str:
        self.sequence += 1
        return encode_ulid(_ms(at), self.sequence)

    def _keys(self, partition: str | None) -> str:
        return partition or ""

    def _materialize(
        self, asset: str, partition: str | None, at: dt.datetime, run: str | None
    ) -> None:
        self.materialized[(asset, self._keys(partition))] = Materialization(
            self._version(at), _ms(at), run
        )

    def _start(
        self, name: str, assets: list[str], partition: str | None, status: str, at: dt.datetime
    ) -> None:
        run_id = f"run-{name}"
        self.runs[name] = (run_id, list(assets), partition, status)
        self.run_targets[run_id] = frozenset(assets)
        for asset in assets:
            self.attempts[(asset, self._keys(partition))] = ("STARTED", self._version(at))

    def _end(self, name: str, status: str, materialize: Any, at: dt.datetime) -> None:
        run_id, assets, partition, _ = self.runs[name]
        made = assets if materialize is True else list(materialize or [])
        for asset in made:
            self._materialize(asset, partition, at, run_id)
        for asset in assets:
            final = "SUCCESS" if status == "success" and asset in made else status.upper()
            if status == "success" and asset not in made:
                final = "SUCCESS"
            self.attempts[(asset, self._keys(partition))] = (final, self._version(at))
        self.runs[name] = (run_id, assets, partition, status.upper())

    def apply(self, event: Mapping[str, Any], now: dt.datetime, tick: int) -> None:
        at = _time(event["at"]) if "at" in event else now - dt.timedelta(seconds=1)
        kind = event["type"]
        if kind == "materialize":
            for asset in event.get("assets") or [event["asset"]]:
                self._materialize(asset, event.get("partition"), at, None)
        elif kind == "run_start":
            self._start(
                event["run"],
                event["assets"],
                event.get("partition"),
                event.get("status", "STARTED"),
                at,
            )
            self.run_tags[f"run-{event['run']}"] = dict(event.get("tags") or {})
        elif kind == "run_end":
            self._end(event["run"], event.get("status", "success"), event.get("materialize"), at)
        elif kind == "run_failed":
            name = event.get("run") or f"failed-{tick}-{self.sequence}"
            self._start(name, event["assets"], event.get("partition"), "STARTED", at)
            self._end(name, "failure", event.get("materialize"), at)
        elif kind == "end_runs":  # every run started with this name prefix, still open
            for name in [n for n in self.runs if n.startswith(event["prefix"])]:
                status = event.get("status", "success")
                self._end(name, status, True if status == "success" else None, at)
            self.runs = {n: v for n, v in self.runs.items() if not n.startswith(event["prefix"])}
        elif kind == "check":  # a check's result for the partition's latest materialization
            partition = self._keys(event.get("partition"))
            latest = self.materialized[(event["asset"], partition)]
            key = (event["asset"], partition, event["check"])
            self.checks[key] = (bool(event["passed"]), latest.version)
        elif kind == "execute_requested":
            status = event.get("status", "success")
            prefix = event.get("prefix", "req")
            for i, run in enumerate(self.previous_runs):
                for key in run["partition_keys"]:
                    name = f"{prefix}{tick - 1}_{i}"
                    if len(run["partition_keys"]) > 1:
                        name = f"{name}_{key}"
                    self._start(name, run["assets"], key, "STARTED", at)
                    if status in ("success", "failure"):
                        self._end(name, status, True if status == "success" else None, at)
        else:
            raise ValueError(f"unknown event {kind!r}")

    def facts(self) -> dict[str, AssetFacts]:
        materialized: dict[str, dict[str, Materialization]] = {}
        for (asset, key), m in self.materialized.items():
            materialized.setdefault(asset, {})[key] = m
        running: dict[str, set[str]] = {}
        failed: dict[str, set[str]] = {}
        for (asset, key), (status, version) in self.attempts.items():
            if status in ("STARTED", "QUEUED"):
                running.setdefault(asset, set()).add(key)
            mat = self.materialized.get((asset, key))
            if status == "FAILURE" and (mat is None or mat.version < version):
                failed.setdefault(asset, set()).add(key)
        passed: dict[str, dict[str, set[str]]] = {}
        check_failed: dict[str, dict[str, set[str]]] = {}
        for (asset, key, name), (ok, version) in self.checks.items():
            if self.materialized[(asset, key)].version == version:  # ran against the latest
                by_check = passed if ok else check_failed
                by_check.setdefault(asset, {}).setdefault(name, set()).add(key)
        return {
            asset: AssetFacts(
                materialized=materialized.get(asset, {}),
                run_in_progress=frozenset(running.get(asset, ())),
                failed=frozenset(failed.get(asset, ())),
                checks_passed={n: frozenset(p) for n, p in passed.get(asset, {}).items()},
                checks_failed={n: frozenset(p) for n, p in check_failed.get(asset, {}).items()},
            )
            for asset in self.defs.assets
        }

    # -- a tick --------------------------------------------------------------------------------

    def tick(self, index: int, spec: Mapping[str, Any]) -> dict[str, Any]:
        now = _time(spec["now"])
        if spec.get("redefine"):
            for asset in self.scenario["assets"]:
                if asset["key"] in spec["redefine"]:
                    asset["condition"] = spec["redefine"][asset["key"]]
            self.defs = build_definitions(self.scenario)
        for event in spec.get("events", []):
            self.apply(event, now, index)
        if index == 0:  # started before the first tick (the tester evaluates from the start)
            self._deliver(
                AUTOMATION_STATUS_CHANGED,
                AutomationStatusChanged(status="RUNNING", request_id="start"),
                "start",
                encode_ulid(_ms(now) - 60_000, 0),
                _ms(now) - 60_000,
            )
        state = self.projection.state
        row = dict(state.rows(AUTOMATION_STATE.name)[(SENSOR_NAME,)])
        memory = {k[0]: r["memory"] for k, r in state.rows(AUTOMATION_MEMORY.name).items()}
        inputs = AutomationInputs(
            state=row,
            memory=memory,
            facts=self.facts(),
            run_targets=self.run_targets,
            run_tags=self.run_tags,
        )
        events = evaluate_conditions(self.defs, inputs, _ms(now))
        before = set(state.rows(RUN_REQUESTS.name))
        for new in events:
            assert new.event_id is not None and isinstance(new.payload, BaseModel)
            self._deliver(new.type, new.payload, new.idempotency_key, new.event_id, _ms(now))
        rows = self.projection.state.rows(RUN_REQUESTS.name)
        created = [rows[k] for k in sorted(set(rows) - before)]
        return self._answer(index, now, created)

    def _deliver(self, type_: str, payload: BaseModel, key: str, event_id: str, ms: int) -> None:
        self.projection.deliver(envelope(type_, payload, key, ms, event_id))

    def _answer(
        self, index: int, now: dt.datetime, requests: list[dict[str, Any]]
    ) -> dict[str, Any]:
        requested: dict[str, list[str | None]] = {}
        runs: list[dict[str, Any]] = []
        self.previous_runs = []
        for request in requests:
            assets = json.loads(request["asset_selection"])
            tags = json.loads(request["tags"] or "{}")
            start = tags.get("arco/asset_partition_range_start")
            end = tags.get("arco/asset_partition_range_end")
            if start is not None and end is not None:
                definition = self.defs.assets[assets[0]].partitions
                assert definition is not None
                space = definition.key_space()
                lo, hi = space.index_of(start), space.index_of(end)
                assert lo is not None and hi is not None
                keys: list[str | None] = list(space.keys_between(lo, hi + 1))
            else:
                keys = [request["partition_key"]]
            for asset in assets:
                requested.setdefault(asset, []).extend(keys)
            runs.append({"assets": sorted(assets), "partition_keys": keys})
            self.previous_runs.append({"assets": sorted(assets), "partition_keys": keys})
        return {
            "tick": index,
            "now": now.isoformat(),
            "requested": {a: sorted(k, key=str) for a, k in sorted(requested.items())},
            "runs": runs,
        }


def automation_answer_value(scenario: Mapping[str, Any]) -> list[dict[str, Any]]:
    sim = ArcoAutomationSim(scenario)
    return [sim.tick(i, t) for i, t in enumerate(scenario["ticks"])]
