"""The fold of automation events: the evaluator's compare-and-set, its tick history, the
state's last tick and evaluation time, and the requests it writes (mutation survivors of
`domain/automation.py`, issue 15)."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.automation import (
    AUTOMATION_EVALUATED,
    AUTOMATION_STATE,
    AUTOMATION_STATUS_CHANGED,
    AUTOMATION_TICKS,
    SENSOR_NAME,
    AutomationEvaluated,
    AutomationRunRequest,
    AutomationStatusChanged,
    fail_request,
    request_id,
    tick_of_request,
)
from arco.domain.catalog import default_registry
from arco.domain.fold import FoldContext
from arco.domain.schedules import RUN_REQUESTS
from arco.domain.state import StagedState
from arco.domain.tables import ROW_VERSION
from tests.factories import BASE_MS, FoldProjection, envelope, ulid_at

REGISTRY = default_registry()


def _evaluated(read: str, ms: int, **fields: Any) -> Any:
    payload = AutomationEvaluated(cursor_read_version=read, **fields)
    event_id = ulid_at(ms)
    return envelope(AUTOMATION_EVALUATED, payload, f"eval:{event_id}", ms, event_id)


def _started(ms: int = BASE_MS - 1000) -> Any:
    payload = AutomationStatusChanged(status="RUNNING", request_id="start")
    return envelope(AUTOMATION_STATUS_CHANGED, payload, "start", ms)


def _state(projection: FoldProjection) -> dict[str, Any]:
    return dict(projection.state.rows(AUTOMATION_STATE.name)[(SENSOR_NAME,)])


def _tick(projection: FoldProjection, tick_id: str) -> dict[str, Any]:
    return dict(projection.state.rows(AUTOMATION_TICKS.name)[(tick_id,)])


def _a_tick_of_two_requests() -> tuple[StagedState, FoldContext, Any]:
    """A folded evaluation that requested two runs, and a fold context over it."""
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    runs = [AutomationRunRequest(assets=["a"]), AutomationRunRequest(assets=["b"])]
    evaluation = _evaluated("", BASE_MS, runs=runs)
    projection.deliver(evaluation)
    staged = StagedState(projection.state)
    return staged, FoldContext(staged, REGISTRY, evaluation), evaluation


def test_an_applied_evaluation_is_counted_as_applied() -> None:
    projection = FoldProjection(REGISTRY)
    assert projection.deliver(_started()) == ["applied"]
    assert projection.deliver(_evaluated("", BASE_MS)) == ["applied"]


def test_the_state_remembers_the_last_tick_and_its_status_whatever_the_folding_order() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    first = _evaluated("", BASE_MS)
    second = _evaluated(first.event_id, BASE_MS + 60_000)
    projection.deliver(first)
    assert _state(projection)["last_tick_id"] == first.event_id
    projection.deliver(second)
    state = _state(projection)
    assert (state["last_tick_id"], state["last_tick_status"]) == (second.event_id, "SKIPPED")
    assert state["cursor_version"] == second.event_id
    # a racing evaluation from the first version, folded last but with an older id: a SKIPPED
    # (stale) tick of its own that does not become the last tick
    racing = _evaluated("", BASE_MS + 30_000)
    projection.deliver(racing)
    assert _tick(projection, racing.event_id)["skip_reason"] == "stale: another evaluation won"
    assert _state(projection)["last_tick_id"] == second.event_id


def test_an_evaluation_before_any_status_change_is_stopped_and_still_moves_the_version() -> None:
    projection = FoldProjection(REGISTRY)
    evaluation = _evaluated("", BASE_MS)
    assert projection.deliver(evaluation) == ["applied"]
    state = _state(projection)
    assert state["sensor"] == SENSOR_NAME and state["status"] is None
    assert state["cursor_version"] == evaluation.event_id  # the next one reads this version
    tick = _tick(projection, evaluation.event_id)
    assert (tick["status"], tick["skip_reason"]) == ("SKIPPED", "automation is stopped")
    # running by default (a default sensor's evaluation): applied from the empty state
    projection = FoldProjection(REGISTRY)
    running = _evaluated("", BASE_MS, default_running=True)
    projection.deliver(running)
    assert _state(projection)["last_evaluation_ms"] == BASE_MS


def test_the_last_evaluation_time_never_goes_back() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    first = _evaluated("", BASE_MS + 60_000)
    # the next evaluation's writer clock is behind (its id is still later: another writer)
    later = _evaluated(first.event_id, BASE_MS + 1_000)
    later = later.model_copy(update={"event_id": ulid_at(BASE_MS + 120_000)})
    projection.deliver(first, later)
    state = _state(projection)
    assert state["cursor_version"] == later.event_id
    assert state["last_evaluation_ms"] == BASE_MS + 60_000


def test_requests_are_stamped_with_their_tick() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    run = AutomationRunRequest(assets=["a"], partition_key=None)
    evaluation = _evaluated("", BASE_MS, runs=[run])
    projection.deliver(evaluation)
    row = projection.state.rows(RUN_REQUESTS.name)[(request_id(evaluation.event_id, 0),)]
    assert row[ROW_VERSION] == evaluation.event_id
    assert json.loads(row["asset_selection"]) == ["a"]


def test_a_request_id_names_its_tick_only_when_it_is_an_automation_request() -> None:
    assert tick_of_request(request_id("01TICK", 3)) == "01TICK"
    assert tick_of_request("schedule:01TICK:3") is None
    assert tick_of_request("automation:01TICK") is None
    assert tick_of_request("automation:01TICK:3:4") is None


def test_a_failed_request_adds_its_reason_to_the_ticks_errors() -> None:
    staged, ctx, evaluation = _a_tick_of_two_requests()
    fail_request(ctx, request_id(evaluation.event_id, 0), "no such asset")
    fail_request(ctx, request_id(evaluation.event_id, 1), "no code")
    fail_request(ctx, "automation:unknown:0", "ignored")  # a tick that is not there
    tick = staged.get(AUTOMATION_TICKS.name, (evaluation.event_id,))
    assert tick is not None and tick["status"] == "FAILURE"
    assert tick["error"] == ("run request 0 failed: no such asset\nrun request 1 failed: no code")


def test_a_ticks_requested_counts_are_listed_by_asset_name() -> None:
    from arco.domain.automation import AssetEvaluated

    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    assets = [
        AssetEvaluated(asset="b", requested=["x"], requested_count=2, memory={}),
        AssetEvaluated(asset="a", requested=["y"], requested_count=1, memory={}),
        AssetEvaluated(asset="c", requested=[], requested_count=0, memory={}),
    ]
    runs = [AutomationRunRequest(assets=["a", "b"], partition_key="x")]
    evaluation = _evaluated("", BASE_MS, assets=assets, runs=runs)
    projection.deliver(evaluation)
    assert _tick(projection, evaluation.event_id)["requested"] == '{"a": 1, "b": 2}'


def test_a_failed_evaluation_is_a_failure_tick_that_moves_the_version() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    failed = _evaluated("", BASE_MS, outcome="FAILED", error="ValueError: bad memory")
    projection.deliver(failed)
    tick = _tick(projection, failed.event_id)
    assert (tick["status"], tick["error"]) == ("FAILURE", "ValueError: bad memory")
    state = _state(projection)
    assert state["cursor_version"] == failed.event_id
    assert state["last_tick_status"] == "FAILURE"
    assert state.get("last_evaluation_ms") is None  # a failed evaluation evaluated nothing
    unexplained = _evaluated(failed.event_id, BASE_MS + 60_000, outcome="FAILED")
    projection.deliver(unexplained)
    assert _tick(projection, unexplained.event_id)["error"] == "automation evaluation failed"


def test_memory_and_tags_are_stored_as_key_sorted_json() -> None:
    # the controller compares an asset's new memory with the stored text to tell an
    # unchanged asset: the fold must store exactly `json.dumps(memory, sort_keys=True)`
    from arco.domain.automation import AUTOMATION_MEMORY, AssetEvaluated

    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    memory = {"requested": [], "nodes": {"z": ["1"], "a": []}, "evaluated_ms": 1}
    assets = [AssetEvaluated(asset="a", memory=memory)]
    runs = [AutomationRunRequest(assets=["a"], tags={"z": "1", "a": "2"})]
    evaluation = _evaluated("", BASE_MS, assets=assets, runs=runs)
    projection.deliver(evaluation)
    stored = projection.state.rows(AUTOMATION_MEMORY.name)[("a",)]["memory"]
    assert stored == json.dumps(memory, sort_keys=True)
    row = projection.state.rows(RUN_REQUESTS.name)[(request_id(evaluation.event_id, 0),)]
    tags = list(json.loads(row["tags"]))
    assert "z" in tags and tags == sorted(tags)


def test_a_tick_lists_every_run_made_from_its_requests() -> None:
    from arco.domain.automation import link_run

    staged, ctx, evaluation = _a_tick_of_two_requests()
    link_run(ctx, request_id(evaluation.event_id, 1), "run_b")
    link_run(ctx, request_id(evaluation.event_id, 0), "run_a")
    link_run(ctx, request_id(evaluation.event_id, 0), "run_a")  # a redelivery: listed once
    link_run(ctx, "schedule:x:0", "run_c")  # not an automation request: nothing to list
    tick = staged.get(AUTOMATION_TICKS.name, (evaluation.event_id,))
    assert tick is not None and json.loads(tick["run_ids"]) == ["run_a", "run_b"]


def test_an_evaluation_without_a_watermark_keeps_the_last_one() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    first = _evaluated("", BASE_MS, watermark="01W", recent=["01A"])
    projection.deliver(first)
    second = _evaluated(first.event_id, BASE_MS + 60_000, watermark="")
    projection.deliver(second)
    state = _state(projection)
    assert state["watermark"] == "01W" and json.loads(state["recent"]) == []


def test_a_range_requests_tags_are_stored_sorted_with_the_range_tags_among_them() -> None:
    projection = FoldProjection(REGISTRY)
    projection.deliver(_started())
    tags = {"arco/from_automation_condition": "true", "arco/asset_evaluation_id": "t"}
    run = AutomationRunRequest(
        assets=["d"], tags=tags, partition_range=("2024-01-01", "2024-01-03")
    )
    evaluation = _evaluated("", BASE_MS, runs=[run])
    projection.deliver(evaluation)
    row = projection.state.rows(RUN_REQUESTS.name)[(request_id(evaluation.event_id, 0),)]
    assert list(json.loads(row["tags"])) == [
        "arco/asset_evaluation_id",
        "arco/asset_partition_range_end",
        "arco/asset_partition_range_start",
        "arco/from_automation_condition",
    ]
    assert json.loads(row["tags"])["arco/asset_partition_range_end"] == "2024-01-03"
