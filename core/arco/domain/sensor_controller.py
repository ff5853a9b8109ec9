"""What the timer decides about sensors at `now`. Pure: state in, events and orders out.

- Poll sensors that are running and due (Dagster's rule: never evaluated, or at least the
  minimum interval since the last evaluation) get a `SensorOrder`: a worker evaluates the
  user's function with the cursor of the version named in the order.
- Asset and run-status sensors need no user code: the timer evaluates them here, from the
  `partition_status` and `runs` tables. Their cursor is the newest time they have seen; they
  look back `lookback_ms` before it (objects may fold late) and rely on run keys — one per
  materialization or per run outcome, claimed forever — so nothing fires twice. They record
  a tick only when something new appeared: an idle sensor writes nothing.

Two timers deciding at the same instant build identical events (same keys, same ids).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from arco.domain.definitions import DefinitionsSnapshot, SensorNode
from arco.domain.envelope import NewEvent
from arco.domain.errors import InvalidInput
from arco.domain.run_identity import sensor_scope
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SensorEvaluated,
    SensorRunRequest,
    is_due,
    is_running,
    poll_evaluation_key,
)
from arco.domain.tables import Row
from arco.domain.ulid import deterministic_ulid

ORDER_KIND = "sensor"


@dataclass(frozen=True, slots=True)
class SensorOrder:
    """Evaluate poll sensor `sensor` from cursor version `cursor_version` (timer slot
    `slot_ms`). The dispatch name is the Cloud Tasks task id: one per sensor, version and slot,
    so duplicate timer calls dispatch once and a lost evaluation is retried next slot."""

    workspace: str
    sensor: str
    cursor_version: str
    slot_ms: int

    @property
    def dispatch_name(self) -> str:
        body = f"{self.workspace}\x00{self.sensor}\x00{self.cursor_version}\x00{self.slot_ms}"
        return "sensor-" + hashlib.sha256(body.encode()).hexdigest()[:40]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": ORDER_KIND,
            "workspace": self.workspace,
            "sensor": self.sensor,
            "cursor_version": self.cursor_version,
            "slot_ms": self.slot_ms,
        }

    @classmethod
    def from_json(cls, data: object) -> SensorOrder:
        """Parse a worker request body; InvalidInput naming the field at fault."""
        if not isinstance(data, Mapping) or data.get("kind") != ORDER_KIND:
            raise InvalidInput("a sensor order is a JSON object with kind 'sensor'")
        for name, kind in (
            ("workspace", str),
            ("sensor", str),
            ("cursor_version", str),
            ("slot_ms", int),
        ):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidInput(f"sensor order field {name!r} must be a {kind.__name__}")
        return cls(data["workspace"], data["sensor"], data["cursor_version"], data["slot_ms"])


@dataclass
class SensorDecisions:
    events: list[NewEvent] = field(default_factory=list)
    orders: list[SensorOrder] = field(default_factory=list)
    evaluated: int = 0


@dataclass(frozen=True)
class SensorInputs:
    """What the built-in sensors read: materializations, finished runs, claimed run keys."""

    materializations: Sequence[Row] = ()
    finished_runs: Sequence[Row] = ()
    claimed: Mapping[str, frozenset[str]] = field(default_factory=dict)


def evaluate_sensors(
    workspace: str,
    defs: DefinitionsSnapshot,
    states: Mapping[str, Row],
    inputs: SensorInputs,
    now_ms: int,
    lookback_ms: int,
) -> SensorDecisions:
    """Orders for due poll sensors, evaluations of due built-in sensors."""
    decisions = SensorDecisions()
    for name, node in defs.sensors.items():
        state = states.get(name)
        if node.kind == "push" or not is_running(state, node.default_status == "RUNNING"):
            continue
        if not is_due(state, node.minimum_interval_seconds, now_ms):
            continue
        decisions.evaluated += 1
        try:
            _evaluate(workspace, defs, name, node, state, inputs, now_ms, lookback_ms, decisions)
        except Exception as exc:
            # One sensor's trouble is a FAILURE tick of that sensor; the others go on.
            version = str((state or {}).get("cursor_version") or "")
            payload = SensorEvaluated(
                sensor=name,
                kind=node.kind,
                outcome="FAILED",
                error=f"the timer could not evaluate this sensor: {type(exc).__name__}: {exc}",
                cursor_read_version=version,
                cursor_before=(state or {}).get("cursor"),
                default_running=node.default_status == "RUNNING",
            )
            key = poll_evaluation_key(name, version, f"failed-{now_ms}")
            decisions.events.append(
                NewEvent(SENSOR_EVALUATED, payload, key, event_id=deterministic_ulid(now_ms, key))
            )
    return decisions


def _evaluate(
    workspace: str,
    defs: DefinitionsSnapshot,
    name: str,
    node: SensorNode,
    state: Row | None,
    inputs: SensorInputs,
    now_ms: int,
    lookback_ms: int,
    decisions: SensorDecisions,
) -> None:
    """One due sensor: an order to the worker (poll), or a built-in evaluation's event."""
    version = str((state or {}).get("cursor_version") or "")
    if node.kind == "poll":
        slot = node.minimum_interval_seconds * 1000
        decisions.orders.append(SensorOrder(workspace, name, version, now_ms // slot * slot))
        return
    cursor = (state or {}).get("cursor")
    since = _cursor_ms(cursor) - lookback_ms
    claimed = inputs.claimed.get(name, frozenset())
    if node.kind == "asset":
        found = _new_materializations(defs, node, inputs.materializations, since, claimed)
    else:
        found = _new_run_outcomes(node, inputs.finished_runs, since, claimed)
    if not found:
        return  # nothing new: no tick, nothing written
    newest = max(ms for ms, _ in found)
    payload = SensorEvaluated(
        sensor=name,
        kind=node.kind,
        outcome="REQUESTED",
        cursor_read_version=version,
        cursor_before=cursor,
        cursor_after=str(max(newest, _cursor_ms(cursor))),
        run_requests=[request for _, request in found],
        default_running=node.default_status == "RUNNING",
    )
    keys = "\x00".join(str(r.run_key) for _, r in found)
    evaluation_id = hashlib.sha256(keys.encode()).hexdigest()[:16]
    key = poll_evaluation_key(name, version, evaluation_id)
    decisions.events.append(
        NewEvent(SENSOR_EVALUATED, payload, key, event_id=deterministic_ulid(now_ms, key))
    )


def _cursor_ms(cursor: object) -> int:
    try:
        return int(str(cursor))
    except ValueError:
        return 0  # an operator's free-form cursor: look at everything


def _same_partitions(defs: DefinitionsSnapshot, monitored: str, targets: Iterable[str]) -> bool:
    partitions = defs.assets[monitored].partitions
    return all(defs.assets[t].partitions == partitions for t in targets)


def _new_materializations(
    defs: DefinitionsSnapshot,
    node: SensorNode,
    rows: Sequence[Row],
    since_ms: int,
    claimed: frozenset[str],
) -> list[tuple[int, SensorRunRequest]]:
    """One request per materialization of a monitored asset not yet claimed, oldest first."""
    found = []
    for row in rows:
        asset, ms = row["asset"], row.get("materialized_ms")
        if asset not in node.monitored_assets or ms is None or ms < since_ms:
            continue
        partition = row.get("partition") or None
        run_key = f"{asset}|{partition or ''}|{row['materialized_version']}"
        if run_key in claimed:
            continue
        # The target runs for the same partition when it is partitioned like the monitored
        # asset; an unpartitioned target runs whole.
        keep = partition if _same_partitions(defs, asset, node.target) else None
        found.append(
            (
                int(ms),
                SensorRunRequest(
                    run_key=run_key,
                    partition_key=keep,
                    asset_selection=list(node.target),
                    tags={"arco/triggering_asset": asset},
                ),
            )
        )
    found.sort(key=lambda item: (item[0], str(item[1].run_key)))
    return found


def _new_run_outcomes(
    node: SensorNode, rows: Sequence[Row], since_ms: int, claimed: frozenset[str]
) -> list[tuple[int, SensorRunRequest]]:
    """One request per run of the monitored assets that reached a watched status."""
    found = []
    own_scope = sensor_scope(node.name)
    for row in rows:
        ms, status = row.get("finished_ms"), row.get("status")
        if ms is None or ms < since_ms or status not in node.run_statuses:
            continue
        if row.get("scope") == own_scope:
            continue  # never react to the runs this sensor started
        assets = set(json.loads(row.get("assets") or "[]"))
        if node.monitored_assets and not assets & set(node.monitored_assets):
            continue
        run_key = f"{row['run_id']}|{status}"
        if run_key in claimed:
            continue
        found.append(
            (
                int(ms),
                SensorRunRequest(
                    run_key=run_key,
                    asset_selection=list(node.target),
                    tags={"arco/triggering_run": str(row["run_id"])},
                ),
            )
        )
    found.sort(key=lambda item: (item[0], str(item[1].run_key)))
    return found
