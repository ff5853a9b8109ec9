"""Automation conditions on asset checks: `check_passed()`, `check_failed()`,
`any_checks_match`, `all_checks_match` and `all_deps_blocking_checks_passed()` (Dagster
1.13's), evaluated per partition against the latest materialization."""

from __future__ import annotations

import pytest

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_controller import asset_facts
from arco.domain.automation_evaluation import AssetFacts, Materialization, evaluate_automation
from arco.domain.definitions import AssetDepNode, AssetNode, CheckNode, DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.partitions import StaticPartitionsDefinition

AC = AutomationCondition
T0 = 1_706_783_400_000  # 2024-02-01T10:30Z
COLORS = StaticPartitionsDefinition(["blue", "red"])
CHECKS = (CheckNode("not_empty", blocking=True), CheckNode("fresh"), CheckNode("unique", True))


def _defs(condition: AutomationCondition, partitions: object = None) -> DefinitionsSnapshot:
    nodes = [
        AssetNode("up", compute="m:up", checks=CHECKS, partitions=partitions),  # type: ignore[arg-type]
        AssetNode(
            "down",
            deps=(AssetDepNode("up"),),
            compute="m:down",
            partitions=partitions,  # type: ignore[arg-type]
            automation_condition=condition,
        ),
    ]
    return DefinitionsSnapshot("loc", {n.key: n for n in nodes})


def _up_alone(condition: AutomationCondition) -> DefinitionsSnapshot:
    """`up`, with its checks, as the only asset, under `condition`."""
    node = AssetNode("up", compute="m:up", checks=CHECKS, automation_condition=condition)
    return DefinitionsSnapshot("loc", {"up": node})


def _facts(
    passed: dict[str, set[str]], failed: dict[str, set[str]] | None = None
) -> dict[str, AssetFacts]:
    up = AssetFacts(
        checks_passed={name: frozenset(p) for name, p in passed.items()},
        checks_failed={name: frozenset(p) for name, p in (failed or {}).items()},
    )
    return {"up": up}


def _requested(condition: AutomationCondition, facts: dict[str, AssetFacts], **kw: object) -> set:
    defs = _defs(condition, kw.get("partitions"))
    [down] = evaluate_automation(defs, facts, {}, None, T0)
    assert down.error is None, down.error
    return set(down.requested)


def test_all_deps_blocking_checks_passed_needs_every_blocking_check_and_only_those() -> None:
    condition = AC.all_deps_blocking_checks_passed()
    blocking_passed = {"not_empty": {""}, "unique": {""}}
    assert _requested(condition, _facts(blocking_passed)) == {""}
    assert _requested(condition, _facts({"not_empty": {""}})) == set()  # unique not run
    failed = _facts({"not_empty": {""}}, {"unique": {""}})
    assert _requested(condition, failed) == set()
    # the non-blocking check does not count, failed or not
    assert _requested(condition, _facts(blocking_passed, {"fresh": {""}})) == {""}


def test_checks_conditions_are_read_per_partition() -> None:
    condition = AC.all_deps_blocking_checks_passed()
    facts = _facts({"not_empty": {"blue", "red"}, "unique": {"red"}}, {"unique": {"blue"}})
    assert _requested(condition, facts, partitions=COLORS) == {"red"}


def test_any_and_all_checks_match_of_an_asset_with_no_checks() -> None:
    lonely = DefinitionsSnapshot(
        "loc",
        {
            "a": AssetNode(
                "a",
                compute="m:a",
                automation_condition=AC.all_checks_match(AC.check_passed()).with_label("all"),
            ),
            "b": AssetNode(
                "b", compute="m:b", automation_condition=AC.any_checks_match(AC.check_passed())
            ),
        },
    )
    [a, b] = evaluate_automation(lonely, {}, {}, None, T0)
    assert (a.requested, b.requested) == (frozenset({""}), frozenset())  # all of none: true


def test_check_failed_and_any_checks_match_on_the_asset_itself() -> None:
    defs = _up_alone(AC.any_checks_match(AC.check_failed()))
    failing = _facts({"not_empty": {""}}, {"fresh": {""}})
    [up] = evaluate_automation(defs, failing, {}, None, T0)
    assert up.requested == frozenset({""})
    blocking_only = _up_alone(AC.any_checks_match(AC.check_failed(), blocking_only=True))
    [up] = evaluate_automation(blocking_only, failing, {}, None, T0)
    assert up.requested == frozenset()  # only `fresh` failed, and it does not block
    [up] = evaluate_automation(blocking_only, _facts({}, {"unique": {""}}), {}, None, T0)
    assert up.requested == frozenset({""})


def test_a_checks_tree_shows_each_check_by_its_key() -> None:
    condition = AC.all_checks_match(~AC.check_failed(), blocking_only=True)
    [up] = evaluate_automation(_up_alone(condition), _facts({}, {"unique": {""}}), {}, None, T0)
    node = up.result
    assert node.name == "all_checks_match (blocking only)"
    assert [(c.key, c.true_count) for c in node.children] == [
        ("up:not_empty", 1),
        ("up:unique", 0),
    ]


def test_a_check_is_never_requested_on_its_own() -> None:
    # Dagster: a check without a condition of its own is not in the tick's requests, so
    # `will_be_requested()` of a check is false even while its asset is requested.
    condition = AC.all_checks_match(AC.will_be_requested())
    defs = DefinitionsSnapshot(
        "loc",
        {
            "up": AssetNode("up", compute="m:up", checks=CHECKS, automation_condition=AC.missing()),
            "down": AssetNode(
                "down",
                deps=(AssetDepNode("up"),),
                compute="m:down",
                automation_condition=AC.all_deps_match(condition),
            ),
        },
    )
    up, down = evaluate_automation(defs, {}, {}, None, T0)
    assert up.requested == frozenset({""}) and down.requested == frozenset()


def test_only_a_result_for_the_latest_materialization_counts() -> None:
    partition_rows = [
        {"asset": "up", "partition": "", "materialized_version": "v2", "materialized_ms": 2},
    ]
    check_rows = [
        {"asset": "up", "partition": "", "check_name": "old", "passed": True,
         "materialized_version": "v1"},
        {"asset": "up", "partition": "", "check_name": "ok", "passed": True,
         "materialized_version": "v2"},
        {"asset": "up", "partition": "", "check_name": "bad", "passed": False,
         "materialized_version": "v2"},
        {"asset": "other", "partition": "", "check_name": "ok", "passed": True,
         "materialized_version": "v2"},
        {"asset": "up", "partition": "gone", "check_name": "ok", "passed": True,
         "materialized_version": "v2"},
    ]  # fmt: skip
    facts, _ = asset_facts(["up"], partition_rows, {}, {}, check_rows)
    assert facts["up"].materialized == {"": Materialization("v2", 2)}
    assert facts["up"].checks_passed == {"ok": frozenset({""})}
    assert facts["up"].checks_failed == {"bad": frozenset({""})}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AC.any_checks_match(AC.missing()), "not missing"),
        (lambda: AC.all_checks_match(AC.check_passed().since(AC.check_failed())), "not SINCE"),
        (lambda: AC.any_checks_match(AC.check_passed(), blocking_only=1), "blocking_only"),  # type: ignore[arg-type]
        (lambda: AutomationCondition("missing", blocking_only=True), "blocking_only"),
        (lambda: AutomationCondition("any_checks"), "takes 1 operand"),
        (lambda: AutomationCondition("all_checks"), "takes 1 operand"),
    ],
)
def test_conditions_on_checks_hold_only_what_describes_a_check(build: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "condition",
    [AC.check_passed(), AC.eager() & ~AC.check_failed(), AC.any_deps_match(AC.check_passed())],
)
def test_a_check_operand_outside_a_checks_operator_is_refused_on_the_asset(
    condition: AutomationCondition,
) -> None:
    with pytest.raises(InvalidInput, match="describes a check: use it inside"):
        AssetNode("a", compute="m:a", automation_condition=condition)


def test_a_checks_condition_survives_the_snapshot() -> None:
    condition = AC.eager() & AC.all_deps_blocking_checks_passed()
    defs = _defs(condition)
    again = DefinitionsSnapshot.from_json(defs.to_json())
    assert again.assets["down"].automation_condition == condition
    assert again.content_hash == defs.content_hash
    node = AutomationCondition.from_json(AC.any_checks_match(AC.check_passed()).to_json())
    assert node.blocking_only is False


def test_a_deploy_that_changes_the_checks_is_evaluated_again() -> None:
    """A quiet evaluation reuses the last result while nothing it read changed; the definitions
    are part of what it read (here: the parent's check stops blocking)."""
    from arco.domain.automation_evaluation import next_updates

    def defs(blocking: bool) -> DefinitionsSnapshot:
        up = AssetNode("up", compute="m:up", checks=(CheckNode("c1", blocking=blocking),))
        down = AssetNode(
            "down",
            deps=(AssetDepNode("up"),),
            compute="m:down",
            automation_condition=AC.eager() & AC.all_deps_blocking_checks_passed(),
        )
        return DefinitionsSnapshot("loc", {"up": up, "down": down})

    before = {
        "up": AssetFacts(
            materialized={"": Materialization("01HNQ0000000000000000000AA", T0 - 1000)}
        )
    }
    failed = {
        "up": AssetFacts(
            materialized={"": Materialization("01HNQ1000000000000000000AB", T0 + 30_000)},
            checks_failed={"c1": frozenset({""})},
        )
    }
    memory: dict = {}
    updates = None
    requested = []
    for step, (facts, blocking) in enumerate(
        [(before, True), (failed, True), (failed, True), (failed, True), (failed, False)]
    ):
        evaluations = evaluate_automation(
            defs(blocking), facts, memory, updates, T0 + step * 60_000
        )
        [down] = [e for e in evaluations if e.asset == "down"]
        requested.append(set(down.requested))
        memory = {e.asset: e.memory for e in evaluations}
        updates = next_updates(facts, updates, 120_000)
    assert requested == [set(), set(), set(), set(), {""}]


def test_a_check_of_a_partition_being_run_again_or_whose_run_failed_counts_neither_way() -> None:
    partition_rows = [
        {"asset": "up", "partition": p, "materialized_version": "v1", "materialized_ms": 1}
        for p in ("a", "b", "c")
    ]
    partition_rows[2] |= {"attempt_status": "FAILURE", "attempt_version": "v2"}
    check_rows = [
        {"asset": "up", "partition": p, "check_name": "ok", "passed": passed,
         "materialized_version": "v1"}
        for p, passed in (("a", True), ("b", True), ("c", False))
    ]  # fmt: skip
    facts, _ = asset_facts(["up"], partition_rows, {"up": {"b"}}, {}, check_rows)
    assert facts["up"].checks_passed == {"ok": frozenset({"a"})}  # b is being run again
    assert facts["up"].checks_failed == {}  # c's last attempt failed after its check ran


def test_allow_and_ignore_do_not_select_checks() -> None:
    with pytest.raises(InvalidInput, match="does not select an asset's checks"):
        AC.any_checks_match(AC.check_failed()).allow("key:a")
    with pytest.raises(InvalidInput, match="does not select an asset's checks"):
        (AC.eager() & AC.any_checks_match(AC.check_failed())).ignore("key:a")
    gated = (AC.eager() & AC.all_deps_blocking_checks_passed()).allow("key:a")
    assert gated.uses("all_checks")  # the dependency operator takes the selection


def test_a_checks_operator_holds_and_or_not_of_check_operands() -> None:
    condition = AC.any_checks_match((AC.check_passed() & ~AC.check_failed()) | AC.check_failed())
    assert condition.uses("check_passed") and condition.blocking_only is False


def test_the_checks_conditions_have_dagsters_names_and_labels() -> None:
    assert AC.any_checks_match(AC.check_passed()).name == "any_checks_match"
    assert AC.all_checks_match(AC.check_passed(), blocking_only=True).name == (
        "all_checks_match (blocking only)"
    )
    gate = AC.all_deps_blocking_checks_passed()
    assert gate.label == "all_deps_blocking_checks_passed"
    [checks] = gate.operands
    assert checks.label == "all_blocking_checks_passed" and checks.blocking_only is True
    assert checks.operands[0].describe() == "(check_passed() | will_be_requested())"
