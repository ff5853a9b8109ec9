"""The engine functions' HTTP contract: verify the caller, then one engine call, a JSON answer.

    timer        Cloud Tasks (and the Cloud Scheduler backstop): run the controllers, then
                 schedule the next timer call, whatever happened in this one
    worker       Cloud Tasks: run one dispatched attempt of one task, or evaluate one poll sensor
    compactor    Cloud Scheduler / bucket notifications: fold and publish
    sensor_push  Pub/Sub push or Eventarc: evaluate a push sensor for one message

Every call is identified by the instance's gate first. A refused call (401, 403, or 500 when
auth is not configured) reads and writes nothing: one log line and a counter. After that, 4xx
answers a request that can never succeed as sent, 503 asks the platform to redeliver.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from arco.domain.errors import (
    ArcoError,
    AuthUnavailable,
    Forbidden,
    InvalidInput,
    Misconfigured,
    NotFound,
    Refused,
    Unauthenticated,
)
from arco.services.auth import Caller, NotConfigured

if TYPE_CHECKING:
    from arco.bootstrap import Entry, Instance
    from arco.domain.access import Identity

log = logging.getLogger("arco.functions")

# A task order or sensor order is a few hundred bytes; anything far larger is not one.
MAX_ORDER_BYTES = 64 * 1024

# Refused calls per (entry point, status), for this instance: what an operator graphs.
REFUSALS: Counter[tuple[str, int]] = Counter()


@dataclass(frozen=True)
class HttpCall:
    """What an entry point needs of a request (headers lower-cased)."""

    body: bytes
    headers: Mapping[str, str]
    path: str = "/"
    peer: str | None = None

    @classmethod
    def of(cls, body: bytes, headers: Mapping[str, str], path: str, peer: str | None) -> HttpCall:
        return cls(body, {k.lower(): v for k, v in headers.items()}, path, peer)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    return Answer(status, {"error": {"code": code, "message": message}}, dict(headers))


def _refused(entry: str, status: int, code: str, message: str, **headers: str) -> Answer:
    REFUSALS[(entry, status)] += 1
    log.warning("%s refused a call (%d %s): %s", entry, status, code, message)
    return error(status, code, message, **headers)


@dataclass
class Endpoints:
    """The four engine entry points of one instance (the API is `Instance.api_app`)."""

    instance: Instance

    def call(self, entry: Entry, call: HttpCall) -> Answer:
        """Identify the caller, then run `entry`. Never raises."""
        try:
            identity = self.instance.gate(entry).identify(Caller(call.headers, call.peer))
        except Unauthenticated as exc:
            return _refused(
                entry, 401, "unauthenticated", str(exc), **{"WWW-Authenticate": "Bearer"}
            )
        except Forbidden as exc:
            return _refused(entry, 403, "forbidden", str(exc))
        except NotConfigured as exc:
            return _refused(entry, 500, "auth_not_configured", str(exc))
        except AuthUnavailable as exc:
            return error(503, "unavailable", str(exc))
        handlers: dict[str, Callable[[HttpCall, Identity], Answer]] = {
            "timer": self.timer,
            "worker": self.worker,
            "compactor": self.compactor,
            "sensor_push": self.sensor_push,
        }
        try:
            return handlers[entry](call, identity)
        except Forbidden as exc:
            return _refused(entry, 403, "forbidden", str(exc))
        except InvalidInput as exc:
            return error(400, "invalid_input", str(exc))
        except NotFound as exc:
            return error(404, "not_found", str(exc))
        except Refused as exc:
            return error(409, "conflict", str(exc))
        except Misconfigured as exc:
            log.error("%s is misconfigured: %s", entry, exc)
            return error(500, "misconfigured", str(exc))
        except ArcoError as exc:
            status = 503 if exc.retryable else 500
            return error(status, type(exc).__name__, str(exc))
        except Exception as exc:  # a JSON answer, never the platform's HTML page
            log.exception("%s failed", entry)
            return error(500, "internal", f"{type(exc).__name__}: {exc}")

    # -- engines --

    def timer(self, call: HttpCall, identity: Identity) -> Answer:
        """Run the controllers as of now; the successor is scheduled even if this call fails,
        so one bad call never stops the chain."""
        from arco.clock import clock_now
        from arco.services.engines.timer import run_timer

        settings = self.instance.settings
        # Cloud Scheduler (the backstop) sends no queue header; a header naming another queue
        # is refused. The token already said the caller is an invoker.
        if call.headers.get("x-cloudtasks-queuename") is not None:
            self._check_queue(call, settings.timer_queue)
        ws = self.instance.workspace()
        now = clock_now(ws.clock)
        body: dict[str, Any] = {"timer": None, "next": None}
        try:
            body["timer"] = run_timer(ws, now, dispatcher=self.instance.dispatcher()).as_dict()
        finally:
            body["next"] = self._schedule_successor(ws.name, int(now.timestamp()))
        if body["next"] is not None and "error" in body["next"]:
            return Answer(503, body)  # the platform retries this call, which schedules it again
        return Answer(200, body)

    def _schedule_successor(self, workspace: str, now_s: int) -> dict[str, Any] | None:
        """Schedule the next timer call (named by its slot: duplicates are one task). A failure
        here is reported, never raised: it must not hide what happened in the call."""
        from arco.cloud.tasks import timer_task_id
        from arco.services.engines.timer import next_slot

        settings = self.instance.settings
        if not (settings.timer_queue and settings.timer_url):
            return None
        slot = next_slot(now_s, settings.timer_interval_s)
        task_id = timer_task_id(workspace, slot)
        try:
            created = self.instance.timer_queue.schedule(
                task_id, settings.timer_url, slot, {"workspace": workspace, "slot": slot}
            )
        except Exception as exc:
            log.exception("could not schedule the next timer call %s", task_id)
            return {"task": task_id, "fire_at": slot, "error": f"{type(exc).__name__}: {exc}"}
        return {"task": task_id, "fire_at": slot, "created": created}

    def worker(self, call: HttpCall, identity: Identity) -> Answer:
        """One order from the worker queue, for a workspace this deployment serves."""
        from arco.domain.run_controller import TaskOrder
        from arco.domain.sensor_controller import SensorOrder
        from arco.services.engines.sensor_poll import evaluate_poll_sensor
        from arco.services.engines.worker import execute_task

        settings = self.instance.settings
        self._check_queue(call, settings.worker_queue)
        document = parse_json(call.body, MAX_ORDER_BYTES)
        if isinstance(document, dict) and document.get("kind") == "sensor":
            sensor_order = SensorOrder.from_json(document)
            ws = self.instance.directory.open(sensor_order.workspace)
            result = evaluate_poll_sensor(ws, self.instance.definitions, sensor_order)
            nudge = (
                self._nudge(ws.name, sensor_order.dispatch_name) if result.run_requests else None
            )
            return Answer(200, {"sensor": result.as_dict(), "nudge": nudge})
        order = TaskOrder.from_json(document)
        ws = self.instance.directory.open(order.workspace)
        outcome = execute_task(ws, self.instance.definitions, order, settings.heartbeat_interval_s)
        # Ask for a timer call now, so what waits for this task is dispatched without waiting
        # for the next slot. Named per attempt: a redelivered order nudges once.
        nudge = (
            self._nudge(ws.name, order.dispatch_name)
            if outcome.outcome not in ("STALE", "CLAIMED")
            else None
        )
        return Answer(200, {"result": outcome.as_dict(), "nudge": nudge})

    def compactor(self, call: HttpCall, identity: Identity) -> Answer:
        """Compact the configured workspace until idle (bounded)."""
        results = self.instance.workspace().compactor.compact_until_idle(max_steps=20)
        return Answer(200, {"steps": [r.as_dict() for r in results]})

    def sensor_push(self, call: HttpCall, identity: Identity) -> Answer:
        answer = self.instance.push_handler.handle(call.body, call.headers, call.path)
        return Answer(answer.status, answer.body)

    # -- helpers --

    def _check_queue(self, call: HttpCall, expected: str | None) -> None:
        """The queue-name header, a secondary check after the token: Cloud Tasks sets it."""
        from arco.services.engines.timer import from_expected_queue

        if not from_expected_queue(call.headers.get("x-cloudtasks-queuename"), expected):
            raise Forbidden("calls must come from the configured queue")

    def _nudge(self, workspace: str, dispatch_name: str) -> dict[str, Any] | None:
        settings = self.instance.settings
        if not (settings.timer_queue and settings.timer_url):
            return None
        task_id = f"nudge-{dispatch_name}"
        try:
            created = self.instance.timer_queue.schedule(
                task_id, settings.timer_url, None, {"workspace": workspace, "nudge": True}
            )
        except Exception as exc:  # the attempt is reported; the next timer slot picks it up
            log.warning("could not nudge the timer (%s): %s", task_id, exc)
            return {"task": task_id, "error": f"{type(exc).__name__}: {exc}"}
        return {"task": task_id, "created": created}


def parse_json(body: bytes, limit: int) -> Any:
    """A JSON body, or InvalidInput (too large, not JSON, nested too deep)."""
    if len(body) > limit:
        raise InvalidInput(f"body is {len(body)} bytes; at most {limit} are accepted")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"body is not JSON ({exc})") from exc
    except RecursionError as exc:
        raise InvalidInput("body is nested too deeply") from exc
