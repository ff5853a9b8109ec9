"""The timer's automation step, pure: when it evaluates, how requests become runs, what an
idle or broken evaluation writes, and the memory's stored form."""

from __future__ import annotations

import json

from arco.domain.automation import AutomationEvaluated
from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_controller import (
    AutomationInputs,
    decode_memory,
    encode_memory,
    evaluate_conditions,
    group_runs,
)
from arco.domain.automation_evaluation import AssetMemory
from arco.domain.definitions import AssetDepNode, AssetNode, DefinitionsSnapshot
from arco.domain.partitions import DailyPartitionsDefinition, StaticPartitionsDefinition

AC = AutomationCondition

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
NOW_MS = 1_706_783_400_000  # 2024-02-01T10:30Z


def defs() -> DefinitionsSnapshot:
    nodes = [
        AssetNode("a", compute="m:a"),
        AssetNode("b", deps=(AssetDepNode("a"),), compute="m:b", automation_condition=AC.eager()),
        AssetNode("c", compute="m:c", automation_condition=AC.missing()),
        AssetNode("d", partitions=DAILY, compute="m:d"),
        AssetNode("e", partitions=DAILY, compute="m:e"),
        AssetNode("f", partitions=StaticPartitionsDefinition(["x", "y"]), compute="m:f"),
    ]
    return DefinitionsSnapshot("loc", {n.key: n for n in nodes})


def test_runs_group_by_partition_across_assets_and_ranges_per_asset() -> None:
    runs = group_runs(
        defs(),
        {
            "b": frozenset({""}),
            "c": frozenset({""}),
            "d": frozenset({"2024-01-05"}),
            "e": frozenset({"2024-01-05", "2024-01-02", "2024-01-03"}),
            "f": frozenset({"x", "y"}),
        },
    )
    shown = [(r.assets, r.partition_key, r.partition_range) for r in runs]
    assert shown == [
        (["b", "c"], None, None),  # every unpartitioned request in one run
        (["d", "e"], "2024-01-05", None),  # one partition key: one run across assets
        (["e"], None, ("2024-01-02", "2024-01-03")),  # consecutive keys of the same assets
        (["f"], "x", None),  # static keys are not merged into ranges
        (["f"], "y", None),
    ]


def test_a_child_requested_for_one_key_runs_with_its_parent_for_that_key() -> None:
    runs = group_runs(
        defs(),
        {"d": frozenset({"2024-01-30", "2024-01-31"}), "e": frozenset({"2024-01-31"})},
    )
    assert [(r.assets, r.partition_key, r.partition_range) for r in runs] == [
        (["d"], "2024-01-30", None),
        (["d", "e"], "2024-01-31", None),
    ]


def test_memory_is_stored_as_keys_or_as_ranges_and_read_back() -> None:
    days = frozenset(f"2024-01-{d:02d}" for d in range(1, 21)) - {"2024-01-10"}
    memory = AssetMemory(
        evaluated_ms=NOW_MS,
        requested=days,
        nodes={"n1": frozenset({"2024-01-01"}), "n2@d": days},
        code_versions={"n3": "v1"},
        partitions="p",
    )
    stored = encode_memory(defs(), "e", memory)
    assert stored["requested"] == {
        "ranges": [["2024-01-01", "2024-01-09"], ["2024-01-11", "2024-01-20"]]
    }
    assert stored["nodes"]["n1"] == ["2024-01-01"]
    assert decode_memory(defs(), "e", json.loads(json.dumps(stored)), NOW_MS) == memory


def inputs(state: dict[str, object] | None, **kwargs: object) -> AutomationInputs:
    return AutomationInputs(state=state, memory={}, facts={}, **kwargs)  # type: ignore[arg-type]


def test_nothing_is_evaluated_when_stopped_or_not_due() -> None:
    assert evaluate_conditions(defs(), inputs(None), NOW_MS) == []  # stopped by default
    stopped = {"status": "STOPPED", "cursor_version": ""}
    assert evaluate_conditions(defs(), inputs(stopped), NOW_MS) == []
    recent = {"status": "RUNNING", "cursor_version": "v", "last_evaluation_ms": NOW_MS - 29_999}
    assert evaluate_conditions(defs(), inputs(recent), NOW_MS) == []
    due = {**recent, "last_evaluation_ms": NOW_MS - 30_000}
    [event] = evaluate_conditions(defs(), inputs(due), NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.cursor_read_version == "v"


def test_an_idle_evaluation_writes_nothing() -> None:
    state: dict[str, object] = {"status": "RUNNING", "cursor_version": ""}
    [first] = evaluate_conditions(defs(), inputs(state), NOW_MS)
    assert isinstance(first.payload, AutomationEvaluated)
    memory = {a.asset: json.dumps(a.memory) for a in first.payload.assets}
    assert set(memory) == {"b", "c"}
    after = {**state, "cursor_version": first.event_id, "last_evaluation_ms": NOW_MS}
    again = AutomationInputs(state=after, memory=memory, facts={})
    assert evaluate_conditions(defs(), again, NOW_MS + 60_000) != []  # c is missing: requested
    quiet = AutomationInputs(state=after, memory=memory, facts={}, dry_run=False)
    events = evaluate_conditions(
        DefinitionsSnapshot("loc", {k: n for k, n in defs().assets.items() if k != "c"}),
        quiet,
        NOW_MS + 60_000,
    )
    assert events and isinstance(events[0].payload, AutomationEvaluated)
    assert events[0].payload.forget == ["c"]  # its condition is gone: its memory too


def test_a_broken_evaluation_is_a_failed_tick_with_its_reason() -> None:
    state = {"status": "RUNNING", "cursor_version": "v", "last_evaluation_ms": 0}
    broken = AutomationInputs(state=state, memory={"b": "not json"}, facts={})
    [event] = evaluate_conditions(defs(), broken, NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.outcome == "FAILED"
    assert event.payload.error is not None and event.payload.error.startswith("JSONDecodeError")
