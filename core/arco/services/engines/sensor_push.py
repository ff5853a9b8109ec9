"""The `sensor_push` function's job: one Pub/Sub push in, one durable evaluation out.

    (caller verified by the entry point's gate) -> parse (push envelope or CloudEvent)
    -> route to a push sensor -> evaluate the user's function -> append `sensor.evaluated` -> 200

Answers: 200 once the evaluation is in the ledger (a redelivered message appends the same
idempotency key, which the fold takes once; the same id with other content is a conflict the
fold records); 4xx for an authenticated request that can never succeed, after keeping it whole
under `quarantine/push/` with a `sensor.push_quarantined` event; 503 only when something
transient failed (the store), so Pub/Sub redelivers.

Import-light on purpose (a cold start pays for every import): the ledger writer, the store and
the user's code location, never pyarrow. It never reads projections: whether the sensor is
stopped is the fold's decision, made from the event.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from arco.domain.definitions import DefinitionsSnapshot, SensorNode
from arco.domain.errors import ArcoError
from arco.domain.sensors import (
    SENSOR_EVALUATED,
    SENSOR_PUSH_QUARANTINED,
    PushedMessage,
    PushQuarantined,
    message_fingerprint,
    push_evaluation_key,
    push_quarantine_key,
)
from arco.ledger.writer import LedgerWriter, NewEvent
from arco.sdk.sensors import PubSubMessage, PushSensorContext
from arco.services.engines.sensor_evaluation import evaluate
from arco.storage.layout import WorkspaceLayout
from arco.storage.port import ObjectStore

if TYPE_CHECKING:
    from arco.sdk import Definitions

# Ids and names become parts of idempotency keys, which refuse control characters.
_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]{1,1000}")
SENSOR_PATH_PREFIX = "/sensors/"
SENSOR_ATTRIBUTE = "arco-sensor"
# Headers never written to the quarantine (credentials).
_SECRET_HEADERS = ("authorization", "cookie", "x-serverless-authorization")


@dataclass(frozen=True)
class PushAnswer:
    """The HTTP answer: status and JSON body."""

    status: int
    body: dict[str, Any]


class _Rejected(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        sensor: str | None = None,
        subscription: str | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.code, self.reason = status, code, reason
        self.sensor, self.subscription, self.message_id = sensor, subscription, message_id


@dataclass(frozen=True)
class _Push:
    message: PubSubMessage
    data_b64: str
    subscription: str | None


@dataclass
class PushHandler:
    """Handles pushes for one workspace with one code location (built once per instance)."""

    store: ObjectStore
    writer: LedgerWriter
    definitions: Definitions

    def __post_init__(self) -> None:
        self.layout = WorkspaceLayout(self.writer.workspace)
        self.snapshot: DefinitionsSnapshot = self.definitions.snapshot("sensor_push")

    def handle(self, body: bytes, headers: Mapping[str, str], path: str) -> PushAnswer:
        """Answer one push request. Never raises for bad input: that is a 4xx."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            push = _parse(body, lower)
            node = self._route(push, path)
        except _Rejected as rejected:
            return self._quarantine(rejected, body, lower, path)
        definition = self.definitions.get_sensor(node.name)
        evaluation = evaluate(
            definition,
            node,
            PushSensorContext(sensor_name=node.name, message=push.message),
            self.definitions.get_resources(),
            {k: a.partitions is not None for k, a in self.snapshot.assets.items()},
        )
        payload = evaluation.event(
            node,
            message_id=push.message.message_id,
            message=PushedMessage(
                data_b64=push.data_b64,
                attributes=dict(push.message.attributes),
                publish_time=push.message.publish_time,
                ordering_key=push.message.ordering_key,
                subscription=push.subscription,
            ),
        )
        key = push_evaluation_key(
            node.name,
            push.subscription,
            push.message.message_id,
            message_fingerprint(payload.message),
        )
        try:
            appended = self.writer.append([NewEvent(SENSOR_EVALUATED, payload, key)])
        except ArcoError as exc:
            return _transient(f"the evaluation could not be made durable: {exc}")
        return PushAnswer(
            200,
            {
                "sensor": node.name,
                "message_id": push.message.message_id,
                "outcome": evaluation.outcome,
                "run_requests": len(evaluation.run_requests),
                "ledger_object": appended.object_name,
            },
        )

    # -- steps --

    def _route(self, push: _Push, path: str) -> SensorNode:
        """The push sensor a request is for: named by the endpoint path `/sensors/<name>` or
        the `arco-sensor` attribute (Eventarc triggers), else by the envelope's subscription."""
        message = push.message
        named = None
        if path.startswith(SENSOR_PATH_PREFIX):
            named = path[len(SENSOR_PATH_PREFIX) :].strip("/")
        named = named or message.attributes.get(SENSOR_ATTRIBUTE)
        ids = {"subscription": push.subscription, "message_id": message.message_id}
        if named:
            node = self.snapshot.sensors.get(named)
            if node is None:
                raise _Rejected(404, "unknown_sensor", f"no sensor named {named!r}", **ids)
            if node.kind != "push":
                raise _Rejected(
                    404,
                    "not_a_push_sensor",
                    f"sensor {named!r} is a {node.kind} sensor, not a push sensor",
                    sensor=named,
                    **ids,
                )
            return node
        if push.subscription:
            short = push.subscription.rsplit("/", 1)[-1]
            for node in self.snapshot.sensors.values():
                if node.kind == "push" and node.subscription_name == short:
                    return node
            raise _Rejected(
                404,
                "unknown_subscription",
                f"no push sensor is bound to subscription {push.subscription!r}",
                **ids,
            )
        raise _Rejected(
            404,
            "unknown_sensor",
            "the request names no sensor: push to /sensors/<name>, set the 'arco-sensor' "
            "attribute, or send the push envelope's 'subscription'",
            **ids,
        )

    def _quarantine(
        self, rejected: _Rejected, body: bytes, headers: Mapping[str, str], path: str
    ) -> PushAnswer:
        """Keep the refused (authenticated) request whole, record it, answer."""
        digest = hashlib.sha256(body).hexdigest()
        object_key = self.layout.push_quarantine_key(digest)
        document = {
            "reason": rejected.reason,
            "http_status": rejected.status,
            "path": path,
            "headers": {k: v for k, v in sorted(headers.items()) if k not in _SECRET_HEADERS},
            "body_b64": base64.b64encode(body).decode("ascii"),
            "body_bytes": len(body),
        }
        try:
            # The same body refused twice is one object (the first document stays).
            self.store.create(object_key, json.dumps(document, sort_keys=True).encode())
            self.writer.append(
                [
                    NewEvent(
                        SENSOR_PUSH_QUARANTINED,
                        PushQuarantined(
                            object_key=object_key,
                            reason=rejected.reason[:2000],
                            http_status=rejected.status,
                            sensor=rejected.sensor,
                            subscription=rejected.subscription,
                            message_id=rejected.message_id,
                        ),
                        push_quarantine_key(object_key),
                    )
                ]
            )
        except ArcoError as exc:
            return _transient(f"the refused request could not be quarantined: {exc}")
        return PushAnswer(
            rejected.status,
            {
                "error": {"code": rejected.code, "message": rejected.reason},
                "quarantine": object_key,
            },
        )


def _transient(message: str) -> PushAnswer:
    return PushAnswer(503, {"error": {"code": "unavailable", "message": message}})


def _parse(body: bytes, headers: Mapping[str, str]) -> _Push:
    """A Pub/Sub push envelope, or an Eventarc CloudEvent (binary or structured mode)."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Rejected(400, "not_json", f"the request body is not JSON ({exc})") from exc
    except RecursionError as exc:
        raise _Rejected(400, "not_json", "the request body is nested too deeply") from exc
    event_id = headers.get("ce-id")
    if headers.get("content-type", "").startswith("application/cloudevents+json"):
        if not isinstance(document, dict):
            raise _Rejected(400, "not_a_push", "a structured CloudEvent must be a JSON object")
        event_id = document.get("id") if isinstance(document.get("id"), str) else None
        document = document.get("data")
    if not isinstance(document, dict) or not isinstance(document.get("message"), dict):
        raise _Rejected(
            400,
            "not_a_push",
            "not a Pub/Sub push: expected a JSON object with a 'message' object "
            "(the push envelope, or a CloudEvent's MessagePublishedData)",
        )
    message: dict[str, Any] = document["message"]
    subscription = document.get("subscription")
    if subscription is not None and (
        not isinstance(subscription, str) or not _PRINTABLE.fullmatch(subscription)
    ):
        raise _Rejected(400, "bad_field", "'subscription' must be a string of printable characters")
    message_id = message.get("messageId") or message.get("message_id") or event_id
    if not isinstance(message_id, str) or not message_id or len(message_id) > 500:
        raise _Rejected(
            400,
            "no_message_id",
            "the message has no messageId (Pub/Sub always sends one)",
            subscription=subscription,
        )
    if not _PRINTABLE.fullmatch(message_id):
        raise _Rejected(
            400,
            "bad_message_id",
            "the messageId has control characters (Pub/Sub ids are printable)",
            subscription=subscription,
        )
    ids = {"subscription": subscription, "message_id": message_id}
    data_b64 = message.get("data") or ""
    if not isinstance(data_b64, str):
        raise _Rejected(400, "bad_data", "message.data must be a base64 string", **ids)
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _Rejected(
            400, "bad_data", f"message.data is not valid base64 ({exc})", **ids
        ) from exc
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
    ):
        raise _Rejected(
            400, "bad_attributes", "message.attributes must map strings to strings", **ids
        )
    publish_time = message.get("publishTime") or message.get("publish_time")
    ordering_key = message.get("orderingKey") or message.get("ordering_key")
    return _Push(
        message=PubSubMessage(
            data=data,
            attributes=attributes,
            message_id=message_id,
            publish_time=publish_time if isinstance(publish_time, str) else None,
            ordering_key=ordering_key if isinstance(ordering_key, str) else None,
            subscription=subscription,
        ),
        data_b64=data_b64,
        subscription=subscription,
    )
