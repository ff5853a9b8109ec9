"""The timer's automation step, pure: when it evaluates, how requests become runs, what an
idle or broken evaluation writes, and the memory's stored form."""

from __future__ import annotations

import json
from typing import Any

from arco.domain.automation import AutomationEvaluated
from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_controller import (
    AutomationInputs,
    asset_facts,
    decode_memory,
    decode_subset,
    encode_memory,
    encode_subset,
    evaluate_conditions,
    group_runs,
    watched_assets,
)
from arco.domain.automation_evaluation import AssetFacts, AssetMemory, Materialization
from arco.domain.definitions import AssetDepNode, AssetNode, DefinitionsSnapshot
from arco.domain.partitions import DailyPartitionsDefinition, StaticPartitionsDefinition
from arco.domain.ulid import deterministic_ulid

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


def test_asset_facts_read_materializations_failures_and_runs_in_progress() -> None:
    rows = [
        # an asset not asked for (first: the rows after it are still read)
        {"asset": "zz", "partition": "", "materialized_version": "V6", "materialized_ms": 1},
        # a time without a materialization id is no materialization
        {"asset": "c", "partition": "x", "materialized_version": None, "materialized_ms": 5},
        # materialized, then a later attempt failed: failed
        {
            "asset": "d",
            "partition": "2024-01-01",
            "materialized_version": "V1",
            "materialized_ms": 10,
            "materialized_run_id": "r1",
            "attempt_status": "FAILURE",
            "attempt_version": "V2",
        },
        # failed, then materialized by a later attempt: not failed
        {
            "asset": "d",
            "partition": "2024-01-02",
            "materialized_version": "V4",
            "materialized_ms": 20,
            "materialized_run_id": "",
            "attempt_status": "FAILURE",
            "attempt_version": "V3",
        },
        # never materialized, the attempt failed
        {
            "asset": "c",
            "partition": None,
            "materialized_version": None,
            "materialized_ms": None,
            "attempt_status": "FAILURE",
            "attempt_version": "V5",
        },
        # an asset not asked for
        {"asset": "zz", "partition": "", "materialized_version": "V6", "materialized_ms": 1},
    ]
    facts, run_ids = asset_facts(["c", "d"], rows, {"d": {"2024-01-03"}}, {"c": {""}})
    assert facts == {
        "c": AssetFacts(failed=frozenset({""}), backfill_in_progress=frozenset({""})),
        "d": AssetFacts(
            materialized={
                "2024-01-01": Materialization("V1", 10, "r1"),
                "2024-01-02": Materialization("V4", 20, None),
            },
            run_in_progress=frozenset({"2024-01-03"}),
            failed=frozenset({"2024-01-01"}),
        ),
    }
    assert run_ids == {"r1"}


def test_watched_assets_reach_as_far_up_as_the_conditions_look() -> None:
    def node(key: str, up: str | None, condition: AutomationCondition | None) -> AssetNode:
        deps = (AssetDepNode(up),) if up else ()
        return AssetNode(key, deps=deps, compute=f"m:{key}", automation_condition=condition)

    two_up = AC.any_deps_match(AC.any_deps_match(AC.missing()))
    chain = [node("a", None, None), node("b", "a", None), node("c", "b", None)]
    looks_up = DefinitionsSnapshot("loc", {n.key: n for n in [*chain, node("d", "c", two_up)]})
    assert watched_assets(looks_up) == ["b", "c", "d"]
    # A condition reading its descendants' conditions looks as far up as the deepest one.
    downstream = node("x", "a", AC.any_downstream_conditions())
    nodes = [*chain, node("d", "c", two_up), downstream]
    assert watched_assets(DefinitionsSnapshot("loc", {n.key: n for n in nodes})) == [
        "a",
        "b",
        "c",
        "d",
        "x",
    ]


def test_memory_subsets_of_up_to_16_keys_are_listed_and_longer_ones_ranged() -> None:
    sixteen = frozenset(f"2024-01-{d:02d}" for d in range(1, 17))
    assert encode_subset(DAILY, sixteen, {}) == sorted(sixteen)
    assert encode_subset(DAILY, sixteen | {"2024-01-17"}, {}) == {
        "ranges": [["2024-01-01", "2024-01-17"]]
    }


def test_a_node_evaluated_on_a_dependency_stores_the_dependencys_partitions() -> None:
    # c is unpartitioned; its node `n@d` remembers partitions of d (daily): stored as ranges.
    days = frozenset(f"2024-01-{d:02d}" for d in range(1, 21))
    memory = AssetMemory(evaluated_ms=NOW_MS, requested=frozenset({""}), nodes={"n@d": days})
    stored = encode_memory(defs(), "c", memory)
    assert stored["nodes"]["n@d"] == {"ranges": [["2024-01-01", "2024-01-20"]]}
    assert decode_memory(defs(), "c", stored, NOW_MS).nodes["n@d"] == days


def test_an_evaluation_records_the_trees_of_its_first_100_requesting_assets() -> None:
    nodes = [
        AssetNode(f"a{i:03d}", compute="m:a", automation_condition=AC.missing()) for i in range(101)
    ]
    many = DefinitionsSnapshot("loc", {n.key: n for n in nodes})
    state = {"status": "RUNNING", "cursor_version": ""}
    [event] = evaluate_conditions(many, inputs(state), NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    recorded = [a.result is not None for a in event.payload.assets]
    assert len(recorded) == 101 and recorded.count(True) == 100 and recorded[-1] is False


def test_an_evaluation_lists_the_first_20_requested_partitions_and_counts_them_all() -> None:
    node = AssetNode("d", partitions=DAILY, compute="m:d", automation_condition=AC.missing())
    state = {"status": "RUNNING", "cursor_version": ""}
    one = DefinitionsSnapshot("loc", {"d": node})
    [event] = evaluate_conditions(one, inputs(state), NOW_MS)  # 31 days of January missing
    assert isinstance(event.payload, AutomationEvaluated)
    [d] = event.payload.assets
    assert d.requested_count == 31
    assert d.requested == [f"2024-01-{day:02d}" for day in range(1, 21)]


RUNNING = {"status": "RUNNING", "cursor_version": "v", "last_evaluation_ms": 0}


def test_no_condition_watches_no_asset() -> None:
    plain = DefinitionsSnapshot("loc", {"a": AssetNode("a", compute="m:a")})
    assert watched_assets(plain) == []


def test_a_subset_that_cannot_be_read_is_empty() -> None:
    ranges = {"ranges": [["2024-01-05", "2024-01-03"], ["nope", "2024-01-02"]]}
    assert decode_subset(DAILY, ranges, {}) == frozenset()  # reversed, unknown first key
    assert decode_subset(None, {"ranges": [["2024-01-01", "2024-01-02"]]}, {}) == frozenset()
    assert decode_subset(DAILY, "garbage", {}) == frozenset()


def test_memory_keeps_its_quiet_inputs_digest() -> None:
    memory = AssetMemory(evaluated_ms=NOW_MS, requested=frozenset(), quiet_inputs="d1")
    stored = json.loads(json.dumps(encode_memory(defs(), "c", memory)))
    assert decode_memory(defs(), "c", stored, NOW_MS).quiet_inputs == "d1"


def test_a_run_lists_its_assets_in_topological_order() -> None:
    up = AssetNode("z_up", partitions=DAILY, compute="m:z")
    down = AssetNode("a_down", deps=(AssetDepNode("z_up"),), partitions=DAILY, compute="m:a")
    graph = DefinitionsSnapshot("loc", {"z_up": up, "a_down": down})
    day = frozenset({"2024-01-05"})
    [run] = group_runs(graph, {"a_down": day, "z_up": day})
    assert run.assets == ["z_up", "a_down"]


def test_an_evaluation_reads_dynamic_partitions() -> None:
    from arco.domain.partitions import DynamicPartitionsDefinition

    node = AssetNode(
        "g",
        partitions=DynamicPartitionsDefinition("customers"),
        compute="m:g",
        automation_condition=AC.missing(),
    )
    graph = DefinitionsSnapshot("loc", {"g": node})
    state = AutomationInputs(
        state=RUNNING, memory={}, facts={}, dynamic={"customers": ["acme", "bolt"]}
    )
    [event] = evaluate_conditions(graph, state, NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert [(r.assets, r.partition_key) for r in event.payload.runs] == [
        (["g"], "acme"),
        (["g"], "bolt"),
    ]


def test_executed_with_root_target_reads_the_targets_of_the_materializing_run() -> None:
    # b asks whether a dependency was materialized by a run that targeted b.
    condition = AC.any_deps_match(AC.executed_with_root_target())
    up = AssetNode("a", compute="m:a")
    node = AssetNode("b", deps=(AssetDepNode("a"),), compute="m:b", automation_condition=condition)
    graph = DefinitionsSnapshot("loc", {"a": up, "b": node})
    version = deterministic_ulid(NOW_MS, "m")
    facts = {"a": AssetFacts(materialized={"": Materialization(version, NOW_MS, "r1")})}
    for targets, runs in (({"a", "b"}, [["b"]]), ({"a"}, [])):
        given = AutomationInputs(
            state=RUNNING, memory={}, facts=facts, run_targets={"r1": frozenset(targets)}
        )
        [event] = evaluate_conditions(graph, given, NOW_MS)
        assert isinstance(event.payload, AutomationEvaluated)
        assert [r.assets for r in event.payload.runs] == runs


def test_an_evaluation_says_what_it_evaluated_against() -> None:
    [event] = evaluate_conditions(defs(), inputs(RUNNING, dry_run=True), NOW_MS)
    payload = event.payload
    assert isinstance(payload, AutomationEvaluated)
    assert payload.definitions_hash == defs().content_hash
    assert payload.assets_evaluated == 2  # b and c have conditions
    assert payload.dry_run is True and payload.runs == [] and payload.held


def _folded(
    event: Any, state: dict[str, object], memory: dict[str, str], now_ms: int
) -> tuple[dict[str, object], dict[str, str]]:
    """The automation state and memory once `event` is folded (as the fold records them)."""
    payload = event.payload
    memory = {**memory, **{a.asset: json.dumps(a.memory, sort_keys=True) for a in payload.assets}}
    state = {
        **state,
        "cursor_version": event.event_id,
        "last_evaluation_ms": now_ms,
        "watermark": payload.watermark,
        "recent": json.dumps(payload.recent),
    }
    return state, memory


def test_an_evaluation_with_nothing_new_writes_nothing() -> None:
    # The first evaluation records b's memory, the second only the digest of its quiet
    # inputs; from then on nothing changes and nothing is written.
    quiet = DefinitionsSnapshot(
        "loc", {"b": AssetNode("b", compute="m:b", automation_condition=AC.newly_updated())}
    )
    state: dict[str, object] = dict(RUNNING)
    memory: dict[str, str] = {}
    shown = []
    for step in range(2):
        [event] = evaluate_conditions(
            quiet, AutomationInputs(state=state, memory=memory, facts={}), NOW_MS + step * 60_000
        )
        assert isinstance(event.payload, AutomationEvaluated) and event.payload.runs == []
        shown += [a.result is not None for a in event.payload.assets]
        state, memory = _folded(event, state, memory, NOW_MS + step * 60_000)
    assert "quiet_inputs" in json.loads(memory["b"])
    assert shown == [True, False]  # a first evaluation's tree is recorded, requesting or not
    idle = AutomationInputs(state=state, memory=memory, facts={})
    assert evaluate_conditions(quiet, idle, NOW_MS + 120_000) == []


def test_memory_of_assets_that_lost_their_condition_is_forgotten_even_with_none_left() -> None:
    plain = DefinitionsSnapshot("loc", {"b": AssetNode("b", compute="m:b")})
    memory = {"b": json.dumps({"requested": [], "nodes": {}})}
    [event] = evaluate_conditions(
        plain, AutomationInputs(state=RUNNING, memory=memory, facts={}), NOW_MS
    )
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.forget == ["b"]


def test_a_late_materialization_within_the_lookback_is_new_and_past_it_is_not() -> None:
    # The previous evaluation saw materializations up to `watermark`; a materialization with
    # an id 60 s older, not seen then, folded since: new within a 120 s lookback, not within 10 s.
    node = AssetNode("b", compute="m:b", automation_condition=AC.newly_updated())
    graph = DefinitionsSnapshot("loc", {"b": node})
    watermark = deterministic_ulid(NOW_MS, "w")
    late = deterministic_ulid(NOW_MS - 60_000, "late")
    state = {**RUNNING, "last_evaluation_ms": NOW_MS, "watermark": watermark, "recent": "[]"}
    facts = {"b": AssetFacts(materialized={"": Materialization(late, NOW_MS - 60_000)})}
    seen = AutomationInputs(state=state, memory={}, facts=facts)
    [within] = evaluate_conditions(graph, seen, NOW_MS + 60_000, lookback_ms=120_000)
    assert isinstance(within.payload, AutomationEvaluated) and within.payload.runs
    [past] = evaluate_conditions(graph, seen, NOW_MS + 60_000, lookback_ms=10_000)
    assert isinstance(past.payload, AutomationEvaluated) and past.payload.runs == []


def test_a_one_key_range_is_that_key() -> None:
    one = {"ranges": [["2024-01-03", "2024-01-03"]]}
    assert decode_subset(DAILY, one, {}) == frozenset({"2024-01-03"})


def test_a_materialization_whose_blocking_check_failed_is_not_a_failure_here() -> None:
    # One event both materialized the partition and failed its attempt (a blocking check):
    # the partition is materialized; only a later failed attempt makes it failed.
    row = {
        "asset": "d",
        "partition": "2024-01-01",
        "materialized_version": "V1",
        "materialized_ms": 10,
        "attempt_status": "FAILURE",
        "attempt_version": "V1",
    }
    facts, _ = asset_facts(["d"], [row], {}, {})
    assert facts["d"].failed == frozenset() and "2024-01-01" in facts["d"].materialized


def test_a_failed_evaluation_names_the_definitions_it_read() -> None:
    broken = AutomationInputs(state=RUNNING, memory={"b": "not json"}, facts={})
    [event] = evaluate_conditions(defs(), broken, NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.definitions_hash == defs().content_hash


def test_the_hourly_limit_holds_runs_only_past_it() -> None:
    # b and c are requested in one run (both unpartitioned): a limit of 1 holds nothing.
    limited = AutomationInputs(state=RUNNING, memory={}, facts={}, max_runs_per_hour=1)
    [event] = evaluate_conditions(defs(), limited, NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert len(event.payload.runs) == 1
    assert (event.payload.held, event.payload.held_reason) == ([], None)


def test_a_dry_run_requests_nothing_and_remembers_nothing_requested() -> None:
    [event] = evaluate_conditions(defs(), inputs(RUNNING, dry_run=True), NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.held and event.payload.runs == []
    assert [(a.requested, a.memory["requested"]) for a in event.payload.assets] == [([], [])] * len(
        event.payload.assets
    )


def test_the_unpartitioned_run_lists_its_assets_in_topological_order() -> None:
    up = AssetNode("z_up", compute="m:z")
    down = AssetNode("a_down", deps=(AssetDepNode("z_up"),), compute="m:a")
    graph = DefinitionsSnapshot("loc", {"z_up": up, "a_down": down})
    [run] = group_runs(graph, {"a_down": frozenset({""}), "z_up": frozenset({""})})
    assert run.assets == ["z_up", "a_down"]


def test_a_cron_tick_that_counted_is_recorded_even_when_nothing_else_changed() -> None:
    # Each condition looks at its cron tick, then refuses its (missing) asset: nothing is ever
    # requested. A minutely tick counts at every evaluation, a daily one at none; once their
    # memories settle nothing else changes, but each minutely tick that counted must move
    # "the previous evaluation" past it.
    def at_tick(cron: str) -> AC:
        return AC.cron_tick_passed(cron) & ~AC.missing()

    ticking = DefinitionsSnapshot(
        "loc",
        {
            "dly": AssetNode("dly", compute="m:dly", automation_condition=at_tick("0 0 * * *")),
            "m": AssetNode("m", compute="m:m", automation_condition=at_tick("* * * * *")),
        },
    )
    state: dict[str, object] = dict(RUNNING)
    memory: dict[str, str] = {}
    recorded = []
    for step in range(5):
        now = NOW_MS + step * 60_000
        inputs = AutomationInputs(state=state, memory=memory, facts={})
        events = evaluate_conditions(ticking, inputs, now)
        for event in events:
            assert isinstance(event.payload, AutomationEvaluated) and event.payload.runs == []
            state, memory = _folded(event, state, memory, now)
        recorded.append([a.asset for e in events for a in e.payload.assets])  # type: ignore[union-attr]
    assert recorded == [["dly", "m"], ["dly"], [], [], []]  # no memory moves after the 2nd
    assert state["last_evaluation_ms"] == NOW_MS + 4 * 60_000  # yet each one is recorded


def test_one_assets_broken_condition_is_its_own_error(monkeypatch: Any) -> None:
    from arco.domain import automation_evaluation

    real = automation_evaluation._Evaluation.evaluate

    def evaluate(self: Any, asset: str, condition: AC) -> Any:
        if asset == "b":
            raise RuntimeError("boom")
        return real(self, asset, condition)

    monkeypatch.setattr(automation_evaluation._Evaluation, "evaluate", evaluate)
    [event] = evaluate_conditions(defs(), inputs(dict(RUNNING)), NOW_MS)
    payload = event.payload
    assert isinstance(payload, AutomationEvaluated) and payload.outcome != "FAILED"
    assert payload.asset_errors == {"b": "RuntimeError: boom"}
    assert [r.assets for r in payload.runs] == [["c"]]  # c is evaluated and requested


def test_a_failed_evaluations_error_is_kept_to_20000_characters(monkeypatch: Any) -> None:
    from arco.domain import automation_controller

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("x" * 30_000)

    monkeypatch.setattr(automation_controller, "_evaluation", broken)
    [event] = evaluate_conditions(defs(), inputs(dict(RUNNING)), NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    error = event.payload.error
    assert error is not None and len(error) == 20_000 and error.startswith("ValueError: xxx")


def test_a_failed_evaluation_of_automation_running_by_default_says_so(monkeypatch: Any) -> None:
    # (the fold records a FAILURE tick, not a stopped one, when no operator ever started it)
    from arco.domain import automation_controller

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(automation_controller, "_evaluation", broken)
    running = DefinitionsSnapshot("loc", dict(defs().assets), automation_default_running=True)
    [event] = evaluate_conditions(running, inputs(None), NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated)
    assert event.payload.outcome == "FAILED" and event.payload.default_running is True
