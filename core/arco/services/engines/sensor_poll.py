"""Evaluating a poll sensor for a timer's order: the worker's job for `kind: sensor` orders.

The order names the cursor version the timer saw. If the published state has moved past it,
another evaluation already ran: nothing is evaluated (STALE). Otherwise the user's function
runs with the cursor, and `sensor.evaluated` is appended with an idempotency key naming the
version and this order (a redelivered order writes the same key: one effect). Two orders
racing from the same version both append; the fold keeps the first and records the other as
a stale SKIPPED tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco.domain.errors import InvalidInput, NotFound
from arco.domain.sensor_controller import SensorOrder
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SENSOR_STATE,
    poll_evaluation_key,
)
from arco.ledger.writer import NewEvent
from arco.sdk.sensors import SensorEvaluationContext
from arco.services.engines.sensor_evaluation import evaluate
from arco.services.queries.definitions import current_definitions
from arco.services.workspace import Workspace

if TYPE_CHECKING:
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
    if node is None or node.kind != "poll":
        raise NotFound(f"no deployed poll sensor {order.sensor!r} in workspace {ws.name!r}")
    definition = definitions.get_sensor(order.sensor)
    state = snapshot.rows(SENSOR_STATE.name).get((order.sensor,)) or {}
    if str(state.get("cursor_version") or "") != order.cursor_version:
        return SensorPollResult(order, "STALE")
    cursor = state.get("cursor")
    context = SensorEvaluationContext(
        sensor_name=order.sensor,
        cursor=cursor,
        last_evaluation_ms=state.get("last_evaluation_ms"),
    )
    evaluation = evaluate(definition, node, context, definitions.get_resources())
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
