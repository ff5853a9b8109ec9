"""The evaluator's rules that a review found unguarded: a condition that raises or recurses
fails alone, late materializations count once, a cron tick that counted is remembered, and
listed keys survive a deleted dynamic partition."""

from __future__ import annotations

from arco.domain.automation import AutomationEvaluated
from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_controller import (
    AutomationInputs,
    decode_memory,
    encode_memory,
    evaluate_conditions,
)
from arco.domain.automation_evaluation import (
    AssetFacts,
    AssetMemory,
    Materialization,
    Updates,
    evaluate_automation,
    next_updates,
)
from arco.domain.definitions import AssetDepNode, AssetNode, DefinitionsSnapshot
from arco.domain.partitions import DailyPartitionsDefinition, DynamicPartitionsDefinition
from arco.domain.ulid import encode_ulid

AC = AutomationCondition
T0 = 1_706_783_400_000  # 2024-02-01T10:30Z


def snapshot(*nodes: AssetNode) -> DefinitionsSnapshot:
    return DefinitionsSnapshot("loc", {n.key: n for n in nodes})


def test_any_downstream_conditions_inside_a_descendants_condition_does_not_recurse() -> None:
    adc = AC.any_downstream_conditions()
    defs = snapshot(
        AssetNode("a", compute="m:a", automation_condition=adc),
        AssetNode(
            "b",
            deps=(AssetDepNode("a"),),
            compute="m:b",
            automation_condition=(AC.missing() | adc).with_label("mine"),
        ),
    )
    [a, b] = evaluate_automation(defs, {}, {}, None, T0)
    assert (a.error, b.error) == (None, None)
    assert a.requested == frozenset({""})  # b's `missing()` asks for it
    assert b.requested == frozenset({""})


def test_one_assets_failing_condition_does_not_stop_the_others() -> None:
    defs = snapshot(
        AssetNode("a", compute="m:a", automation_condition=AC.missing()),
        AssetNode("b", compute="m:b", automation_condition=AC.missing()),
    )

    class Broken(dict):  # type: ignore[type-arg]
        def get(self, key: object, default: object = None) -> object:
            if key == "a":
                raise RuntimeError("no facts for a")
            return super().get(key, default)

    [a, b] = evaluate_automation(defs, Broken(), {}, None, T0)
    assert a.error == "RuntimeError: no facts for a" and a.requested == frozenset()
    assert b.error is None and b.requested == frozenset({""})


def test_a_selection_naming_an_asset_no_longer_deployed_selects_nothing_of_it() -> None:
    defs = snapshot(
        AssetNode("a", compute="m:a"),
        AssetNode(
            "b",
            deps=(AssetDepNode("a"),),
            compute="m:b",
            automation_condition=AC.any_deps_match(AC.missing()).ignore("key:gone"),
        ),
    )
    [b] = evaluate_automation(defs, {}, {}, None, T0)
    assert b.error is None and b.requested == frozenset({""})


def test_a_late_materialization_counts_once() -> None:
    watermark = encode_ulid(T0, 5)
    late = encode_ulid(T0 - 60_000, 1)  # folded after the watermark, within the lookback
    seen = encode_ulid(T0 - 30_000, 2)
    old = encode_ulid(T0 - 600_000, 3)  # before the lookback: seen by an earlier evaluation
    previous = Updates(watermark=watermark, recent=frozenset({seen, watermark}))
    defs = snapshot(
        *(
            AssetNode(k, compute=f"m:{k}", automation_condition=AC.newly_updated())
            for k in ("late", "seen", "old", "new")
        )
    )
    facts = {
        "late": AssetFacts(materialized={"": Materialization(late, T0 - 60_000)}),
        "seen": AssetFacts(materialized={"": Materialization(seen, T0 - 30_000)}),
        "old": AssetFacts(materialized={"": Materialization(old, T0 - 600_000)}),
        "new": AssetFacts(materialized={"": Materialization(encode_ulid(T0 + 1, 9), T0 + 1)}),
    }
    memory = {k: AssetMemory(evaluated_ms=T0) for k in facts}
    results = evaluate_automation(defs, facts, memory, previous, T0 + 60_000, lookback_ms=120_000)
    assert {e.asset for e in results if e.requested} == {"late", "new"}
    after = next_updates(facts, previous, 120_000)
    assert after.watermark == encode_ulid(T0 + 1, 9)
    assert late in after.recent and old not in after.recent
    again = evaluate_automation(defs, facts, memory, after, T0 + 120_000, lookback_ms=120_000)
    assert not any(e.requested for e in again)  # counted once


def test_an_evaluation_where_a_cron_tick_counted_is_recorded() -> None:
    # in progress across the tick: nothing requested, but the tick is spent (as in Dagster)
    defs = snapshot(
        AssetNode(
            "a",
            compute="m:a",
            automation_condition=AC.cron_tick_passed("0 * * * *") & ~AC.in_progress(),
        )
    )
    state = {"status": "RUNNING", "cursor_version": "v", "last_evaluation_ms": T0}
    memory = {"a": '{"code_versions": {}, "nodes": {}, "partitions": "", "requested": []}'}
    running = {"a": AssetFacts(run_in_progress=frozenset({""}))}
    at_the_hour = T0 + 30 * 60_000 + 10_000  # 11:00:10
    inputs = AutomationInputs(state=state, memory=memory, facts=running)
    [event] = evaluate_conditions(defs, inputs, at_the_hour)  # recorded, though idle
    later = {**state, "cursor_version": event.event_id, "last_evaluation_ms": at_the_hour}
    done = AutomationInputs(state=later, memory=memory, facts={})
    after = evaluate_conditions(defs, done, at_the_hour + 120_000)
    assert not any(e.payload.runs for e in after if isinstance(e.payload, AutomationEvaluated))


def test_listed_dynamic_keys_survive_a_deleted_key() -> None:
    regions = DynamicPartitionsDefinition(name="regions")
    defs = snapshot(AssetNode("a", partitions=regions, compute="m:a"))
    keys = [f"p{i:02d}" for i in range(20)]
    memory = AssetMemory(evaluated_ms=T0, requested=frozenset(keys))
    stored = encode_memory(defs, "a", memory, {"regions": keys})
    assert stored["requested"] == keys  # listed, not a range over insertion order
    after = decode_memory(defs, "a", stored, T0, {"regions": keys[1:]})
    assert after.requested == frozenset(keys)


def test_an_evaluation_reuses_the_last_one_only_when_nothing_it_read_was_new() -> None:
    # `~missing().newly_true()` is false for a partition the evaluation it appears in, true at
    # the next: the evaluation where it was newly true must not be reused as a fixed point.
    daily = DailyPartitionsDefinition(start_date="2024-01-30")
    condition = AC.in_latest_time_window() & ~AC.missing().newly_true()
    defs = snapshot(AssetNode("a", partitions=daily, compute="m:a", automation_condition=condition))
    day = 86_400_000
    memory: dict[str, AssetMemory] = {}
    requested = []
    for now in (T0, T0 + day, T0 + day + 3_600_000, T0 + day + 7_200_000):
        [a] = evaluate_automation(defs, {}, memory, Updates(), now)
        memory = {"a": a.memory}
        requested.append(sorted(a.requested))
    assert requested == [[], [], ["2024-02-01"], ["2024-02-01"]]
    # the last one is a fixed point: reused as it was
    [again] = evaluate_automation(defs, {}, memory, Updates(), T0 + day + 10_800_000)
    assert again.memory is memory["a"] and again.requested == frozenset({"2024-02-01"})


def test_a_dynamic_key_replaced_by_another_is_not_taken_for_the_same_inputs() -> None:
    regions = DynamicPartitionsDefinition(name="regions")
    defs = snapshot(
        AssetNode("a", partitions=regions, compute="m:a", automation_condition=AC.missing())
    )
    memory: dict[str, AssetMemory] = {}
    for now in (T0, T0 + 60_000):  # the second evaluation is quiet: a fixed point
        [a] = evaluate_automation(defs, {}, memory, Updates(), now, dynamic={"regions": ["eu"]})
        memory = {"a": a.memory}
    assert a.memory.quiet_inputs and a.requested == frozenset({"eu"})
    # "eu" deleted, "us" added: as many keys as before, but other ones
    [a] = evaluate_automation(
        defs, {}, memory, Updates(), T0 + 120_000, dynamic={"regions": ["us"]}
    )
    assert a.requested == frozenset({"us"})
