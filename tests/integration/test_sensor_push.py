"""The `sensor_push` function under functions-framework: push envelopes and CloudEvents in,
durable evaluations out; malformed or unauthenticated requests quarantined, never evaluated."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from arco.domain.sensors import SENSOR_EVALUATED
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import now_of
from tests.oidc import PUSH_EMAIL, CertServer
from tests.workspaces import create_workspaces

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")
LOCATION = "tests.fixtures.sensors_graph:defs"
SUBSCRIPTION = "projects/test-project/subscriptions/orders-landed"
AUDIENCE = "https://sensor-push.example/"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARCO_STORE", f"file://{tmp_path}")
    monkeypatch.setenv("ARCO_WORKSPACE", "push")
    monkeypatch.setenv("ARCO_DEFINITIONS", LOCATION)
    # What the function does with a push; who may push is test_entry_auth.py's and below.
    monkeypatch.setenv("ARCO_AUTH", "off-loopback")
    create_workspaces(LocalObjectStore(tmp_path), "push")
    sys.modules.pop("main", None)  # fresh per-instance caches
    return tmp_path


@pytest.fixture
def ws(env: Path) -> Workspace:
    # The real clock: the function (another writer) stamps its objects with it too.
    workspace = Workspace(LocalObjectStore(env), "push", lookback_ms=3_600_000)
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def client(ws: Workspace) -> Any:
    return create_app(target="sensor_push", source=MAIN).test_client()


def envelope(
    message_id: str | None = "m-1",
    data: bytes | str = b'{"day": "2024-01-02"}',
    attributes: dict[str, str] | None = None,
    subscription: str | None = SUBSCRIPTION,
) -> dict[str, Any]:
    encoded = base64.b64encode(data).decode() if isinstance(data, bytes) else data
    message: dict[str, Any] = {"data": encoded, "publishTime": "2024-02-01T00:00:00.000Z"}
    if attributes:
        message["attributes"] = attributes
    if message_id is not None:
        message["messageId"] = message_id
    body: dict[str, Any] = {"message": message}
    if subscription is not None:
        body["subscription"] = subscription
    return body


def ledger_events(ws: Workspace) -> list[dict[str, Any]]:
    prefix = ws.layout.ledger_prefix
    events = []
    for item in ws.store.list(prefix):
        stored = ws.store.get(item.key)
        assert stored is not None
        events.extend(json.loads(stored.data)["events"])
    return events


def evaluations(ws: Workspace) -> list[dict[str, Any]]:
    return [e for e in ledger_events(ws) if e["type"] == SENSOR_EVALUATED]


def ticks(ws: Workspace, sensor: str = "orders_landed") -> list[dict[str, Any]]:
    ws.compactor.compact_until_idle()
    rows = ws.snapshot().rows("sensor_ticks")
    return [row for key, row in sorted(rows.items()) if key[0] == sensor]


def test_a_push_is_evaluated_once_and_its_request_becomes_a_run(client: Any, ws: Workspace) -> None:
    first = client.post("/", json=envelope("m-1"))
    assert first.status_code == 200, first.json
    assert first.json["outcome"] == "REQUESTED" and first.json["run_requests"] == 1
    # Pub/Sub delivers at least once: the same message id again is a 2xx with no new effect.
    again = client.post("/", json=envelope("m-1"))
    assert again.status_code == 200
    assert len(evaluations(ws)) == 2  # both durable ...
    [tick] = ticks(ws)  # ... folded once
    assert (tick["status"], tick["message_id"]) == ("SUCCESS", "m-1")
    assert json.loads(tick["run_keys"]) == ["m-1"]

    result = run_timer(ws, now_of(ws))
    assert result.runs_requested == 1
    runs = ws.snapshot().rows("runs")
    [run] = runs.values()
    assert (run["source"], run["partition"], run["scope"]) == (
        "sensor",
        "2024-01-02",
        "sensor:orders_landed",
    )
    assert json.loads(run["tags"])["feed"] == "orders"
    assert json.loads(run["tags"])["arco/sensor_name"] == "orders_landed"
    [tick] = ticks(ws)
    assert json.loads(tick["run_ids"]) == [run["run_id"]]


def test_skip_reasons_and_failures_are_recorded_ticks(client: Any, ws: Workspace) -> None:
    skipped = client.post("/", json=envelope("m-skip", attributes={"skip": "holiday"}))
    failed = client.post("/", json=envelope("m-boom", data=b"boom"))
    # A function that raises is a FAILURE tick, answered 200: redelivering would fail again.
    assert (skipped.status_code, failed.status_code) == (200, 200)
    assert (skipped.json["outcome"], failed.json["outcome"]) == ("SKIPPED", "FAILED")
    by_message = {t["message_id"]: t for t in ticks(ws)}
    assert by_message["m-skip"]["status"] == "SKIPPED"
    assert by_message["m-skip"]["skip_reason"] == "holiday"
    assert by_message["m-boom"]["status"] == "FAILURE"
    assert "the orders feed sent garbage" in by_message["m-boom"]["error"]
    # The message itself is in the ledger, whole: nothing is lost.
    [boom] = [e for e in evaluations(ws) if e["payload"]["message_id"] == "m-boom"]
    assert base64.b64decode(boom["payload"]["message"]["data_b64"]) == b"boom"


def test_cloud_events_binary_and_structured_are_accepted(client: Any, ws: Workspace) -> None:
    data = envelope("ce-1", subscription="projects/p/subscriptions/eventarc-us-sub-123")
    data["message"]["attributes"] = {"arco-sensor": "orders_landed"}
    binary = client.post(
        "/",
        json=data,
        headers={
            "ce-specversion": "1.0",
            "ce-id": "ce-1",
            "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
            "ce-source": "//pubsub.googleapis.com/projects/p/topics/orders",
        },
    )
    assert binary.status_code == 200, binary.json
    structured = client.post(
        "/sensors/orders_landed",
        data=json.dumps(
            {
                "specversion": "1.0",
                "id": "ce-2",
                "type": "google.cloud.pubsub.topic.v1.messagePublished",
                "source": "//pubsub.googleapis.com/projects/p/topics/orders",
                "data": envelope(None, subscription=None),  # the id comes from the event
            }
        ),
        content_type="application/cloudevents+json",
    )
    assert structured.status_code == 200, structured.json
    assert {t["message_id"] for t in ticks(ws)} == {"ce-1", "ce-2"}


def test_a_push_to_a_stopped_sensor_is_a_skipped_tick(client: Any, ws: Workspace) -> None:
    from arco.domain.sensors import SENSOR_STATUS_CHANGED, SensorStatusChanged
    from arco.ledger.writer import NewEvent

    stop = SensorStatusChanged(sensor="orders_landed", status="STOPPED", request_id="r1")
    ws.writer.append([NewEvent(SENSOR_STATUS_CHANGED, stop, "stop-1")])
    time.sleep(0.01)  # event ids order the fold: the stop comes first
    assert client.post("/", json=envelope("m-stopped")).status_code == 200
    [tick] = ticks(ws)
    assert (tick["status"], tick["skip_reason"]) == ("SKIPPED", "sensor is stopped")
    assert ws.snapshot().table("run_requests").num_rows == 0


MALFORMED = [
    pytest.param(b"not json", {}, "/", 400, "not_json", id="not-json"),
    pytest.param(b'{"hello": 1}', {}, "/", 400, "not_a_push", id="not-an-envelope"),
    pytest.param(
        json.dumps(envelope(data="%%%not-base64")).encode(), {}, "/", 400, "bad_data", id="b64"
    ),
    pytest.param(
        json.dumps(envelope(message_id=None)).encode(), {}, "/", 400, "no_message_id", id="no-id"
    ),
    pytest.param(
        json.dumps(envelope(message_id="m\x01\n")).encode(),
        {},
        "/",
        400,
        "bad_message_id",
        id="control-characters",
    ),
    pytest.param(b"[" * 100_000, {}, "/", 400, "not_json", id="nested-100k"),
    pytest.param(
        json.dumps(envelope(subscription="projects/p/subscriptions/nobody")).encode(),
        {},
        "/",
        404,
        "unknown_subscription",
        id="unknown-subscription",
    ),
    pytest.param(
        json.dumps(envelope()).encode(), {}, "/sensors/nope", 404, "unknown_sensor", id="unknown"
    ),
    pytest.param(
        json.dumps(envelope()).encode(),
        {},
        "/sensors/new_files",
        404,
        "not_a_push_sensor",
        id="poll-sensor",
    ),
]


@pytest.mark.parametrize(("body", "headers", "path", "status", "code"), MALFORMED)
def test_malformed_pushes_are_refused_quarantined_and_never_evaluated(
    client: Any,
    ws: Workspace,
    body: bytes,
    headers: dict[str, str],
    path: str,
    status: int,
    code: str,
) -> None:
    response = client.post(path, data=body, headers=headers, content_type="application/json")
    assert response.status_code == status
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    quarantined = ws.store.get(response.json["quarantine"])
    assert quarantined is not None
    document = json.loads(quarantined.data)
    assert base64.b64decode(document["body_b64"]) == body and document["http_status"] == status
    assert evaluations(ws) == []
    ws.compactor.compact_until_idle()
    [row] = ws.snapshot().rows("push_quarantine").values()
    assert (row["object_key"], row["http_status"]) == (response.json["quarantine"], status)
    # The same request again is the same quarantine object (and one row).
    client.post(path, data=body, headers=headers, content_type="application/json")
    ws.compactor.compact_until_idle()
    assert len(ws.snapshot().rows("push_quarantine")) == 1


@pytest.fixture
def certs() -> Iterator[CertServer]:
    with CertServer() as server:
        yield server


@pytest.fixture
def authed(ws: Workspace, certs: CertServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("ARCO_AUTH", "oidc")
    monkeypatch.setenv("ARCO_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("ARCO_INVOKERS", PUSH_EMAIL)
    monkeypatch.setenv("ARCO_CERTS_URL", certs.url)
    sys.modules.pop("main", None)
    return create_app(target="sensor_push", source=MAIN).test_client()


def store_listing(ws: Workspace) -> list[tuple[str, int]]:
    return [(o.key, o.size) for o in ws.store.list("")]


def test_push_authentication(authed: Any, ws: Workspace, certs: CertServer) -> None:
    """Only the subscription's service account gets in; a refused push writes nothing (anyone
    can send those, so keeping them would let anyone fill the bucket)."""
    before = store_listing(ws)
    missing = authed.post("/", json=envelope("a-2"))
    assert missing.status_code == 401
    assert "missing bearer token" in missing.json["error"]["message"]
    wrong_audience = {"Authorization": "Bearer " + certs.token("https://elsewhere/")}
    refused = authed.post("/", json=envelope("a-3"), headers=wrong_audience)
    assert refused.status_code == 401
    assert "audience" in refused.json["error"]["message"]
    wrong_account = {"Authorization": "Bearer " + certs.token(AUDIENCE, email="x@evil.example")}
    assert authed.post("/", json=envelope("a-4"), headers=wrong_account).status_code == 403
    assert store_listing(ws) == before

    good = {"Authorization": "Bearer " + certs.token(AUDIENCE)}
    assert authed.post("/", json=envelope("a-1"), headers=good).status_code == 200
    assert [e["payload"]["message_id"] for e in evaluations(ws)] == ["a-1"]
    # A forged push carrying the real message's id cannot pre-empt it: it is refused unsigned.
    forged = envelope("a-1", data=b'{"day": "1999-01-01"}')
    assert authed.post("/", json=forged).status_code == 401
    [tick] = ticks(ws)
    assert tick["message_id"] == "a-1" and tick["status"] == "SUCCESS"


def test_the_same_message_id_with_other_data_is_a_conflict_not_a_drop(
    client: Any, ws: Workspace
) -> None:
    """With auth off (a local stack), a second message under a delivered id is still never
    dropped silently: both are durable, the first is applied, the second is a conflict doctor
    shows."""
    assert client.post("/", json=envelope("c-1")).status_code == 200
    other = envelope("c-1", data=b'{"day": "2024-01-05"}')
    assert client.post("/", json=other).status_code == 200
    assert len(evaluations(ws)) == 2
    [tick] = ticks(ws)
    assert tick["message_id"] == "c-1"
    [conflict] = ws.snapshot().rows("push_quarantine").values()
    assert conflict["http_status"] == 409 and conflict["message_id"] == "c-1"
    from arco.services.operations.doctor import run_doctor

    [push] = [f for f in run_doctor(ws) if f.check == "push"]
    assert push.status == "warning" and "other content" in push.details[0]["action"]


def test_certificates_out_of_reach_is_transient(
    authed: Any, ws: Workspace, certs: CertServer
) -> None:
    token = certs.token(AUDIENCE)
    certs.status = 503
    response = authed.post("/", json=envelope("t-1"), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503  # Pub/Sub redelivers; nothing written
    assert ledger_events(ws) == [e for e in ledger_events(ws) if e["type"] != SENSOR_EVALUATED]
    assert list(ws.store.list(f"{ws.layout.root}quarantine/")) == []


def test_the_worker_function_evaluates_poll_sensor_orders(ws: Workspace) -> None:
    from arco.domain.sensor_controller import SensorOrder
    from tests.fixtures.sensors_graph import INBOX

    worker = create_app(target="worker", source=MAIN).test_client()
    INBOX.files, INBOX.fail = ["2024-01-02-a"], False
    try:
        order = SensorOrder("push", "new_files", "", 0)
        answer = worker.post("/", json=order.to_json())
        assert answer.status_code == 200, answer.json
        assert answer.json["sensor"]["outcome"] == "REQUESTED"
        # Redelivered by Cloud Tasks before the compactor ran: the same key, one effect.
        assert worker.post("/", json=order.to_json()).status_code == 200
        [tick] = ticks(ws, "new_files")
        assert (tick["status"], tick["cursor_after"]) == ("SUCCESS", "2024-01-02-a")
        # Once folded, an order from the old version is STALE and evaluates nothing.
        calls = INBOX.calls
        assert worker.post("/", json=order.to_json()).json["sensor"]["outcome"] == "STALE"
        assert INBOX.calls == calls
    finally:
        INBOX.files, INBOX.calls = [], 0

    bad = worker.post("/", json={"kind": "sensor", "workspace": "push", "sensor": 3})
    assert bad.status_code == 400 and "sensor" in bad.json["error"]["message"]
    unknown = worker.post("/", json=SensorOrder("push", "orders_landed", "", 0).to_json())
    assert unknown.status_code == 404  # a push sensor is never polled


def test_a_push_costs_one_write_and_no_read(ws: Workspace) -> None:
    """The push path reads nothing (no projection, no state): one create per message, and a
    refused request one quarantine object plus its record."""
    from arco.domain.catalog import default_registry
    from arco.ledger.writer import LedgerWriter
    from arco.services.code_location import load_definitions
    from arco.services.engines.sensor_push import PushHandler
    from arco.storage.recording import RecordingObjectStore

    store = RecordingObjectStore(ws.store)
    writer = LedgerWriter(store, ws.name, default_registry(), ws.clock, "test", ws.lookback_ms)
    handler = PushHandler(store, writer, load_definitions(LOCATION))
    answer = handler.handle(json.dumps(envelope("cost-1")).encode(), {}, "/")
    assert answer.status == 200
    assert [c.op for c in store.calls] == ["create"]
    store.reset()
    refused = handler.handle(b"not json", {}, "/")
    assert refused.status == 400
    assert [c.op for c in store.calls] == ["create", "create"]  # the object, its record


def test_the_push_path_never_imports_pyarrow(tmp_path: Path) -> None:
    """A cold sensor_push instance: import the entry points, build the instance, verify the
    caller, answer a push; pyarrow (the projections' library) stays out of the process."""
    import subprocess

    create_workspaces(LocalObjectStore(tmp_path), "cold")
    script = f"""
import json, os, sys
os.environ.update(ARCO_STORE="file://{tmp_path}", ARCO_WORKSPACE="cold",
                  ARCO_DEFINITIONS="{LOCATION}", ARCO_AUTH="off-loopback")
from functions_framework import create_app
client = create_app(target="sensor_push", source="functions/main.py").test_client()
answer = client.post("/", json={json.dumps(envelope("cold-1"))})
print(answer.status_code, "pyarrow" in sys.modules)
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=True
    )
    assert done.stdout.split() == ["200", "False"], done.stderr
