"""Push sensors end to end through real parts: Google's Pub/Sub emulator pushes to the
`sensor_push` function served by functions-framework in its own process; the timer in this
process turns the evaluations into runs.

The emulator (google-cloud-cli-pubsub-emulator, Java) is part of the machine image; where it is
missing the tests skip with a message, except in CI where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arco.domain.sensors import SENSOR_EVALUATED
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.conftest import _free_port
from tests.integration.processes import (
    ServedFunction as Function,
)
from tests.integration.processes import (
    serve_function,
    start_process,
    stop_process,
    tail,
    wait_listening,
)
from tests.workspaces import create_workspaces

SDK_ROOTS = (Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk"))
EMULATOR_BIN = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
FUNCTIONS_FRAMEWORK = Path(sys.executable).parent / "functions-framework"
LOCATION = "tests.fixtures.sensors_graph:defs"
PROJECT = "test-project"
WORKSPACE = "pubsub"
DELIVERY_TIMEOUT_S = 30.0


def _emulator() -> Path | None:
    roots = list(SDK_ROOTS)
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(os.path.realpath(gcloud)).parents[1])
    for root in roots:
        if (root / EMULATOR_BIN).exists():
            return root / EMULATOR_BIN
    return None


@dataclass
class PubSub:
    host: str
    publisher: Any
    subscriber: Any

    def topic(self, name: str) -> str:
        path = self.publisher.topic_path(PROJECT, name)
        self.publisher.create_topic(name=path)
        return str(path)

    def push_subscription(self, name: str, topic: str, endpoint: str) -> str:
        path = self.subscriber.subscription_path(PROJECT, name)
        self.subscriber.create_subscription(
            request={
                "name": path,
                "topic": topic,
                "push_config": {"push_endpoint": endpoint},
                "retry_policy": {
                    "minimum_backoff": {"seconds": 1},
                    "maximum_backoff": {"seconds": 2},
                },
            }
        )
        return str(path)

    def publish(self, topic: str, data: bytes, **attributes: str) -> str:
        return str(self.publisher.publish(topic, data, **attributes).result(timeout=10))


@pytest.fixture(scope="module")
def pubsub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PubSub]:
    binary = _emulator()
    if binary is None or shutil.which("java") is None:
        message = (
            "Google's Pub/Sub emulator is not installed (google-cloud-cli-pubsub-emulator and "
            "Java 17 come with the machine image)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = tmp_path_factory.mktemp("pubsub") / "emulator.log"
    proc = start_process([str(binary), "--host=127.0.0.1", f"--port={port}"], dict(os.environ), log)
    host = f"127.0.0.1:{port}"
    saved = os.environ.get("PUBSUB_EMULATOR_HOST")
    os.environ["PUBSUB_EMULATOR_HOST"] = host  # the clients read it when they are created
    try:
        wait_listening(proc, port, "the Pub/Sub emulator", log)
        from google.cloud import pubsub_v1

        yield PubSub(host, pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient())
    finally:
        if saved is None:
            os.environ.pop("PUBSUB_EMULATOR_HOST", None)
        else:
            os.environ["PUBSUB_EMULATOR_HOST"] = saved
        stop_process(proc)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pubsub-store")
    create_workspaces(LocalObjectStore(path), WORKSPACE)
    return path


# functions/main.py with a fault injected around it (production code carries none).
FAULTY_MAIN = Path(__file__).resolve().parents[1] / "fixtures" / "faulty_functions.py"


def _serve_sensor_push(store_dir: Path, log: Path, faults: int = 0) -> Iterator[Function]:
    env = {
        "ARCO_STORE": f"file://{store_dir}",
        "ARCO_WORKSPACE": WORKSPACE,
        "ARCO_DEFINITIONS": LOCATION,
        "FAIL_AFTER_APPEND": str(faults),
    }
    with serve_function("sensor_push", env, log, source=FAULTY_MAIN) as fn:
        yield fn


@pytest.fixture(scope="module")
def push_fn(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    yield from _serve_sensor_push(store_dir, tmp_path_factory.mktemp("fn") / "push.log")


@pytest.fixture(scope="module")
def flaky_fn(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Function]:
    """Answers 500 once, after the evaluation is durable: the worst moment to fail."""
    log = tmp_path_factory.mktemp("fn") / "flaky.log"
    yield from _serve_sensor_push(store_dir, log, faults=1)


@pytest.fixture(scope="module")
def ws(store_dir: Path) -> Workspace:
    workspace = Workspace(LocalObjectStore(store_dir), WORKSPACE, source="test")  # SystemClock
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def _evaluations(ws: Workspace, message_id: str) -> list[dict[str, Any]]:
    found = []
    for listed in ws.store.list(ws.layout.ledger_prefix):
        stored = ws.store.get(listed.key)
        assert stored is not None
        for event in json.loads(stored.data)["events"]:
            if event["type"] == SENSOR_EVALUATED and event["payload"]["message_id"] == message_id:
                found.append(event)
    return found


def _wait_for(ws: Workspace, message_id: str, count: int, fn: Function) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    while len(_evaluations(ws, message_id)) < count:
        if time.monotonic() > deadline:
            pytest.fail(
                f"message {message_id} was evaluated {len(_evaluations(ws, message_id))} "
                f"time(s), expected {count}; the function's output:\n{tail(fn.log)}"
            )
        time.sleep(0.2)


def _runs_of(ws: Workspace, sensor: str) -> list[dict[str, Any]]:
    run_timer(ws, datetime.now(UTC))
    rows = ws.snapshot().rows("runs").values()
    return [r for r in rows if r["scope"] == f"sensor:{sensor}"]


def _tick(ws: Workspace, message_id: str) -> list[dict[str, Any]]:
    ws.compactor.compact_until_idle()
    rows = ws.snapshot().rows("sensor_ticks").values()
    return [r for r in rows if r["message_id"] == message_id]


def test_published_messages_are_pushed_evaluated_and_become_runs(
    pubsub: PubSub, push_fn: Function, ws: Workspace
) -> None:
    topic = pubsub.topic("orders")
    # Bound by its subscription: the envelope names it, the sensor declares it.
    pubsub.push_subscription("orders-landed", topic, push_fn.url + "/")
    first = pubsub.publish(topic, b'{"day": "2024-01-02"}')
    second = pubsub.publish(topic, b'{"day": "2024-01-03"}')
    skipped = pubsub.publish(topic, b"{}", skip="no orders today")
    for message_id in (first, second, skipped):
        _wait_for(ws, message_id, 1, push_fn)

    runs = _runs_of(ws, "orders_landed")
    assert sorted(r["partition"] for r in runs) == ["2024-01-02", "2024-01-03"]
    assert {r["run_key"] for r in runs} == {first, second}
    [skip_tick] = _tick(ws, skipped)
    assert (skip_tick["status"], skip_tick["skip_reason"]) == ("SKIPPED", "no orders today")
    [tick] = _tick(ws, first)
    assert tick["status"] == "SUCCESS" and len(json.loads(tick["run_ids"])) == 1


def test_a_500_after_the_append_is_redelivered_and_takes_effect_once(
    pubsub: PubSub, flaky_fn: Function, ws: Workspace
) -> None:
    topic = pubsub.topic("orders-retry")
    # Bound by the endpoint path (how an Eventarc trigger's own subscription reaches a sensor).
    pubsub.push_subscription("orders-retry-push", topic, flaky_fn.url + "/sensors/orders_landed")
    message_id = pubsub.publish(topic, b'{"day": "2024-01-04"}')
    _wait_for(ws, message_id, 2, flaky_fn)  # the 500, then the redelivery
    time.sleep(1.5)  # a third delivery would come within the 1-2 s backoff
    assert len(_evaluations(ws, message_id)) == 2

    assert len(_tick(ws, message_id)) == 1
    runs = [r for r in _runs_of(ws, "orders_landed") if r["run_key"] == message_id]
    assert len(runs) == 1 and runs[0]["partition"] == "2024-01-04"


def test_the_same_message_id_delivered_twice_by_hand_has_one_effect(
    push_fn: Function, ws: Workspace
) -> None:
    import base64

    body = json.dumps(
        {
            "subscription": f"projects/{PROJECT}/subscriptions/orders-landed",
            "message": {
                "data": base64.b64encode(b'{"day": "2024-01-05"}').decode(),
                "messageId": "by-hand-1",
                "publishTime": "2026-11-24T00:00:00.000Z",
            },
        }
    ).encode()
    for _ in range(2):
        request = urllib.request.Request(
            push_fn.url + "/", body, {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    assert len(_evaluations(ws, "by-hand-1")) == 2
    assert len(_tick(ws, "by-hand-1")) == 1
    runs = [r for r in _runs_of(ws, "orders_landed") if r["run_key"] == "by-hand-1"]
    assert len(runs) == 1
