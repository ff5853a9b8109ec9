"""Cloud Functions entry points, served by functions-framework's own app."""

from __future__ import annotations

from pathlib import Path

import pytest
from functions_framework import create_app

from arco.bootstrap import instance
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

MAIN = str(Path(__file__).resolve().parents[2] / "functions" / "main.py")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ARCO_STORE", f"file://{tmp_path}")
    monkeypatch.setenv("ARCO_WORKSPACE", "fn")
    # These tests are about what the functions do; who may call them: test_entry_auth.py.
    monkeypatch.setenv("ARCO_AUTH", "off-loopback")
    create_workspaces(LocalObjectStore(tmp_path), "fn")
    import sys

    sys.modules.pop("main", None)  # each test gets fresh per-instance caches
    return tmp_path


def test_api_and_compactor_functions(env: Path) -> None:
    api = create_app(target="api", source=MAIN).test_client()
    assert api.get("/healthz").status_code == 200
    response = api.put("/v1/workspaces/fn/settings/runs.max_in_flight", json={"value": 6})
    assert response.status_code == 202
    bad = api.put("/v1/workspaces/fn/settings/runs.max_in_flight", json={"value": "x"})
    assert bad.status_code == 400 and "error" in bad.json  # type: ignore[operator]
    assert len(list(LocalObjectStore(env).list("workspaces/fn/ledger/"))) == 1

    compactor = create_app(target="compactor", source=MAIN).test_client()
    response = compactor.post("/")
    assert response.status_code == 200
    assert response.json["steps"][0]["published"] is True  # type: ignore[index]
    state = api.get("/v1/workspaces/fn/state").json
    assert state["manifest_id"] == 1  # type: ignore[index]


def test_timer_function_checks_its_queue_and_schedules_one_successor(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arco.cloud.tasks import RecordingTimerQueue

    queue_path = "projects/p/locations/l/queues/arco-timer"
    monkeypatch.setenv("ARCO_TIMER_QUEUE", queue_path)
    monkeypatch.setenv("ARCO_TIMER_URL", "https://timer.example/")
    monkeypatch.setenv("ARCO_TIMER_INTERVAL_S", "60")
    app = create_app(target="timer", source=MAIN)
    queue = RecordingTimerQueue()
    instance("timer").timer_queue = queue  # type: ignore[misc]  # the faithful fake answers AlreadyExists
    client = app.test_client()

    wrong = client.post("/", json={}, headers={"X-CloudTasks-QueueName": "other-queue"})
    assert wrong.status_code == 403 and "queue" in wrong.json["error"]["message"]  # type: ignore[index]
    assert not queue.created

    first = client.post("/", json={}, headers={"X-CloudTasks-QueueName": "arco-timer"})
    assert first.status_code == 200
    successor = first.json["next"]  # type: ignore[index]
    assert successor["created"] is True and successor["fire_at"] % 60 == 0
    assert successor["task"] == f"timer-fn-{successor['fire_at']}"
    # A duplicate delivery (same slot) asks for the same name and is refused by the queue.
    again = client.post("/", json={}, headers={"X-CloudTasks-QueueName": queue_path})
    assert again.status_code == 200
    if again.json["next"]["fire_at"] == successor["fire_at"]:  # type: ignore[index]
        assert again.json["next"]["created"] is False  # type: ignore[index]
    assert len(queue.created) in (1, 2)


def test_worker_runs_an_order_and_nudges_the_timer_once(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from arco.cloud.tasks import RecordingTimerQueue
    from arco.services.code_location import load_definitions
    from arco.services.commands.deploy import deploy
    from arco.services.commands.runs import LaunchRequest, launch_run
    from arco.services.engines.dispatch import NoWorkers
    from arco.services.engines.timer import run_timer
    from arco.services.queries.runs import run_status
    from arco.services.workspace import Workspace

    location = "tests.fixtures.runs_graph:defs"
    monkeypatch.setenv("ARCO_TIMER_QUEUE", "projects/p/locations/l/queues/arco-timer")
    monkeypatch.setenv("ARCO_TIMER_URL", "https://timer.example/")
    monkeypatch.setenv("ARCO_DEFINITIONS", location)
    ws = Workspace(LocalObjectStore(env), "fn", lookback_ms=3_600_000)
    deploy(ws, load_definitions(location).snapshot(location), "test")
    ws.compactor.compact_until_idle()
    launched = launch_run(ws, LaunchRequest("key:raw_events", partition="2024-01-01"))
    waiting = NoWorkers()
    run_timer(ws, datetime.now(tz=UTC), dispatcher=waiting)
    (order,) = waiting.pending

    app = create_app(target="worker", source=MAIN)

    queue = RecordingTimerQueue()
    instance("worker").timer_queue = queue  # type: ignore[misc]
    client = app.test_client()
    headers = {"X-CloudTasks-QueueName": "arco-timer"}
    first = client.post("/", json=order.to_json(), headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["result"]["outcome"] == "SUCCESS"  # type: ignore[index]
    assert first.json["nudge"]["created"] is True  # type: ignore[index]
    # Cloud Tasks redelivers: the reports are deduplicated and the nudge is not repeated.
    again = client.post("/", json=order.to_json(), headers=headers)
    assert again.status_code == 200
    assert again.json["nudge"] in (None, {"task": first.json["nudge"]["task"], "created": False})  # type: ignore[index]
    assert list(queue.created) == [f"nudge-{order.dispatch_name}"]
    ws.compactor.compact_until_idle()
    assert run_status(ws, launched.run_id)["status"] == "SUCCESS"


def test_the_scheduler_backstop_calls_the_timer_without_a_queue_header(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cloud Scheduler sends no X-CloudTasks-QueueName: the token (here: auth off on loopback)
    decides, and the call restarts the chain."""
    from arco.cloud.tasks import RecordingTimerQueue

    monkeypatch.setenv("ARCO_TIMER_QUEUE", "projects/p/locations/l/queues/arco-timer")
    monkeypatch.setenv("ARCO_TIMER_URL", "https://timer.example/")
    app = create_app(target="timer", source=MAIN)
    queue = RecordingTimerQueue()
    instance("timer").timer_queue = queue  # type: ignore[misc]
    response = app.test_client().post("/", json={})
    assert response.status_code == 200, response.json
    assert len(queue.created) == 1


class _BrokenQueue:
    def schedule(self, *args: object) -> bool:
        raise RuntimeError("queue unreachable")


def test_a_successor_that_cannot_be_scheduled_is_a_503_not_a_crash(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The call's own work is kept and reported; the platform retries it (and so schedules the
    successor again)."""
    monkeypatch.setenv("ARCO_TIMER_QUEUE", "projects/p/locations/l/queues/arco-timer")
    monkeypatch.setenv("ARCO_TIMER_URL", "https://timer.example/")
    app = create_app(target="timer", source=MAIN)
    instance("timer").timer_queue = _BrokenQueue()  # type: ignore[assignment]
    response = app.test_client().post("/", json={})
    assert response.status_code == 503
    assert response.json["timer"] is not None  # type: ignore[index]
    assert "queue unreachable" in response.json["next"]["error"]  # type: ignore[index]


def test_an_unexpected_error_is_a_json_500(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(target="compactor", source=MAIN)

    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr(instance("compactor"), "workspace", boom)
    response = app.test_client().post("/")
    assert response.status_code == 500
    assert response.json == {"error": {"code": "internal", "message": "RuntimeError: boom"}}


def test_a_worker_without_its_code_location_is_misconfigured(env: Path) -> None:
    """Nothing a caller sends can fix a missing ARCO_DEFINITIONS: 500, not a 4xx."""
    client = create_app(target="sensor_push", source=MAIN).test_client()
    response = client.post("/", json={"message": {"data": "", "messageId": "m"}})
    assert response.status_code == 500
    assert response.json["error"]["code"] == "misconfigured"  # type: ignore[index]
    assert "ARCO_DEFINITIONS" in response.json["error"]["message"]  # type: ignore[index]


def test_a_deeply_nested_body_is_a_400_json_answer(env: Path) -> None:
    """50k nested brackets (within the size limit): a JSON 400, which the platform does not
    redeliver forever, not a RecursionError turned into an HTML 500."""
    client = create_app(target="worker", source=MAIN).test_client()
    response = client.post("/", data=b"[" * 50_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json["error"]["message"]  # type: ignore[index]
