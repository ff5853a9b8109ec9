"""Evaluating a poll sensor for a timer's order: the worker's job for `kind: sensor` orders.

The order names the cursor version the timer saw. If the published state has moved past it,
another evaluation already ran: nothing is evaluated (STALE). Otherwise the user's function
runs with the cursor, and `sensor.evaluated` is appended with an idempotency key naming the
version and this order (a redelivered order writes the same key: one effect). Two orders
racing from the same version both append; the fold keeps the first and records the other as
a stale SKIPPED tick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from arco.domain.errors import InvalidInput, NotFound
from arco.domain.observations import OBSERVATION_RUN
from arco.domain.runs import PARTITION_STATUS, RUNS, TASKS
from arco.domain.sensor_controller import SensorOrder
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SENSOR_STATE,
    poll_evaluation_key,
)
from arco.ledger.writer import NewEvent
from arco.sdk.assets import AssetKey
from arco.sdk.sensor_state import (
    AssetMaterialization,
    DagsterRun,
    EventLogEntry,
    EventLogRecord,
    SensorInstance,
)
from arco.sdk.sensors import MultiAssetSensorEvaluationContext, SensorEvaluationContext
from arco.services.engines.sensor_evaluation import evaluate
from arco.services.queries.definitions import current_definitions, dynamic_partition_keys
from arco.services.queries.runs import rows_where
from arco.services.workspace import Workspace

if TYPE_CHECKING:
    from arco.projections.cache import Snapshot
    from arco.sdk import Definitions


@dataclass
class SensorPollResult:
    order: SensorOrder
    outcome: str  # REQUESTED | SKIPPED | FAILED | STALE
    run_requests: int = 0
    error: str | None = None
    ledger_object: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sensor": self.order.sensor,
            "dispatch_name": self.order.dispatch_name,
            "outcome": self.outcome,
            "run_requests": self.run_requests,
            "error": self.error,
            "ledger_object": self.ledger_object,
        }


def evaluate_poll_sensor(
    ws: Workspace, definitions: Definitions, order: SensorOrder
) -> SensorPollResult:
    """Run one poll evaluation; InvalidInput / NotFound for an order that can never run."""
    if order.workspace != ws.name:
        raise InvalidInput(f"order for workspace {order.workspace!r} sent to {ws.name!r}")
    snapshot = ws.snapshot()
    deployed = current_definitions(snapshot)
    node = None if deployed is None else deployed.sensors.get(order.sensor)
    if deployed is None or node is None or node.kind != "poll":
        raise NotFound(f"no deployed poll sensor {order.sensor!r} in workspace {ws.name!r}")
    definition = definitions.get_sensor(order.sensor)
    state = snapshot.rows(SENSOR_STATE.name).get((order.sensor,)) or {}
    if str(state.get("cursor_version") or "") != order.cursor_version:
        return SensorPollResult(order, "STALE")
    cursor = state.get("cursor")
    instance = PublishedStateInstance(snapshot, ws.lookback_ms)
    context: SensorEvaluationContext
    if definition.flavor == "multi_asset":
        context = MultiAssetSensorEvaluationContext(
            sensor_name=order.sensor,
            cursor=cursor,
            last_evaluation_ms=state.get("last_evaluation_ms"),
            instance=instance,
            monitored_asset_keys=node.monitored_assets,
        )
    else:
        context = SensorEvaluationContext(
            sensor_name=order.sensor,
            cursor=cursor,
            last_evaluation_ms=state.get("last_evaluation_ms"),
            instance=instance,
        )
    evaluation = evaluate(
        definition,
        node,
        context,
        definitions.get_resources(),
        {k: a.partitions is not None for k, a in deployed.assets.items()},
    )
    payload = evaluation.event(
        node,
        cursor_read_version=order.cursor_version,
        cursor_before=cursor,
        cursor_after=evaluation.cursor_after,
    )
    key = poll_evaluation_key(order.sensor, order.cursor_version, order.dispatch_name)
    appended = ws.writer.append([NewEvent(SENSOR_EVALUATED, payload, key)])
    return SensorPollResult(
        order,
        evaluation.outcome,
        run_requests=len(evaluation.run_requests),
        error=evaluation.error,
        ledger_object=appended.object_name,
    )


class PublishedStateInstance(SensorInstance):
    """`context.instance` for a sensor evaluated by a worker: the published state it read."""

    def __init__(self, snapshot: Snapshot, lookback_ms: int) -> None:
        self._snapshot = snapshot
        self.lookback_ms = lookback_ms

    def get_dynamic_partitions(self, partitions_def_name: str) -> list[str]:
        return list(dynamic_partition_keys(self._snapshot).get(partitions_def_name, []))

    def latest_materialization(self, asset_key: str, after: str | None) -> EventLogRecord | None:
        table = self._snapshot.table(PARTITION_STATUS.name)
        version = table.column("materialized_version")
        mask = pc.and_(
            pc.and_(pc.equal(table.column("asset"), asset_key), pc.greater(version, after or "")),
            # Sensors watch materializations; an observation is not one.
            pc.not_equal(table.column("materialized_run_id"), OBSERVATION_RUN),
        )
        found = table.filter(pc.fill_null(mask, False))
        if not found.num_rows:
            return None
        newest = found.sort_by([("materialized_version", "descending")]).slice(0, 1)
        (row,) = newest.to_pylist()
        entry = EventLogEntry(
            run_id=row["materialized_run_id"],
            timestamp=row["materialized_ms"] / 1000,
            asset_materialization=AssetMaterialization(
                AssetKey(asset_key),
                row["partition"] or None,
                json.loads(row["materialized_metadata"] or "{}"),
            ),
        )
        return EventLogRecord(row["materialized_version"], entry)

    def runs_ended_since(
        self, statuses: Sequence[str], since_ms: int
    ) -> list[tuple[int, DagsterRun, str | None]]:
        table = self._snapshot.table(RUNS.name)
        mask = pc.and_(
            pc.is_in(table.column("status"), value_set=pa.array(list(statuses), pa.string())),
            pc.greater(table.column("finished_ms"), since_ms),
        )
        ended = table.filter(pc.fill_null(mask, False))
        rows = ended.sort_by([("finished_ms", "ascending"), ("run_id", "ascending")]).to_pylist()
        failed = rows_where(self._snapshot, TASKS.name, "run_id", [r["run_id"] for r in rows])
        errors: dict[str, list[str]] = {}
        for task in sorted(failed, key=lambda t: (t["run_id"], t["index"])):
            if task["status"] == "FAILURE" and task["error"]:
                label = task["asset"] + (f"[{task['partition']}]" if task["partition"] else "")
                errors.setdefault(task["run_id"], []).append(f"{label} failed: {task['error']}")
        return [
            (
                int(row["finished_ms"]),
                _run(row),
                row["error"] or "\n".join(errors.get(row["run_id"], [])) or None,
            )
            for row in rows
        ]

    def last_run_end_ms(self) -> int | None:
        value = pc.max(self._snapshot.table(RUNS.name).column("finished_ms")).as_py()
        return None if value is None else int(value)


def _run(row: dict[str, Any]) -> DagsterRun:
    tags = json.loads(row["tags"] or "{}")
    return DagsterRun(
        run_id=row["run_id"],
        status=row["status"],
        tags=tags,
        job_name=None,  # runs do not record the job that requested them
        asset_selection=frozenset(AssetKey(a) for a in json.loads(row["assets"] or "[]")),
    )
