"""Operands whose result depends on memory or on time: `code_version_changed()` and
`in_latest_time_window(lookback)` (mutation survivors of `domain/automation_evaluation.py`,
issue 15)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_evaluation import evaluate_automation
from arco.domain.definitions import AssetNode, DefinitionsSnapshot
from arco.domain.partitions import (
    DailyPartitionsDefinition,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

AC = AutomationCondition
T0 = 1_706_783_400_000  # 2024-02-01T10:30Z
DAILY = DailyPartitionsDefinition(start_date="2024-01-28")


def _defs(condition: AutomationCondition, **fields: Any) -> DefinitionsSnapshot:
    return DefinitionsSnapshot(
        "loc", {"a": AssetNode("a", compute="m:a", automation_condition=condition, **fields)}
    )


def test_code_version_changed_holds_once_after_a_deploy_changes_it() -> None:
    memory: dict = {}
    seen = []
    for step, version in enumerate([None, None, "v1", "v1", "v2", None]):
        defs = _defs(AC.code_version_changed(), code_version=version)
        [a] = evaluate_automation(defs, {}, memory, None, T0 + step * 60_000)
        seen.append(set(a.requested))
        memory = {"a": a.memory}
    assert seen == [set(), set(), {""}, set(), {""}, {""}]


def test_the_latest_time_window_with_a_lookback_reaches_back_and_stops_at_the_start() -> None:
    def keys(lookback: timedelta | None, partitions: Any = DAILY, now: int = T0) -> set[str]:
        condition = AC.in_latest_time_window(lookback)
        [a] = evaluate_automation(_defs(condition, partitions=partitions), {}, {}, None, now)
        return set(a.result.sample) if a.result.true_count <= 20 else {"many"}

    assert keys(None) == {"2024-01-31"}
    assert keys(timedelta(days=2)) == {"2024-01-30", "2024-01-31"}
    assert keys(timedelta(hours=36)) == {"2024-01-30", "2024-01-31"}
    assert keys(timedelta(days=30)) == {"2024-01-28", "2024-01-29", "2024-01-30", "2024-01-31"}
    assert keys(None, now=1_706_400_000_000) == set()  # 2024-01-28: no window has ended
    by_color = MultiPartitionsDefinition(
        {"color": StaticPartitionsDefinition(["red", "blue"]), "day": DAILY}
    )
    assert keys(timedelta(days=2), partitions=by_color) == {
        "blue|2024-01-30",
        "blue|2024-01-31",
        "red|2024-01-30",
        "red|2024-01-31",
    }
    assert keys(None, partitions=StaticPartitionsDefinition(["x", "y"])) == {"x", "y"}


def test_a_recorded_tree_names_each_nodes_label_and_dependency() -> None:
    from arco.domain.definitions import AssetDepNode

    defs = DefinitionsSnapshot(
        "loc",
        {
            "up": AssetNode("up", compute="m:up"),
            "a": AssetNode(
                "a",
                compute="m:a",
                deps=(AssetDepNode("up"),),
                automation_condition=AC.any_deps_match(AC.missing()).with_label("up missing"),
            ),
        },
    )
    [a] = evaluate_automation(defs, {}, {}, None, T0, focus="")
    tree = a.result.to_json()
    assert tree["label"] == "up missing" and "key" not in tree and tree["holds"] is True
    [child] = tree["children"]
    assert child["key"] == "up" and "label" not in child and "holds" not in child
    [plain] = evaluate_automation(defs, {}, {}, None, T0)
    assert "holds" not in plain.result.to_json()  # only `why --partition` asks


@pytest.mark.parametrize(
    "remembering",
    [
        lambda: AC.in_latest_time_window().newly_true(),
        lambda: AC.in_latest_time_window().since(AC.newly_requested()),
        AC.code_version_changed,
    ],
)
def test_a_node_that_remembers_is_evaluated_even_when_its_result_cannot_matter(
    remembering: Any,
) -> None:
    # `missing()` is false (the asset is materialized): nothing after it in the AND can hold,
    # but what the remembering node saw must still be kept for the next evaluation
    from arco.domain.automation_evaluation import AssetFacts, Materialization

    facts = {"a": AssetFacts(materialized={"": Materialization("01HNQ0000000000000000000AA", 1)})}
    [a] = evaluate_automation(_defs(AC.missing() & remembering()), facts, {}, None, T0)
    assert a.requested == frozenset()
    assert a.memory.nodes or a.memory.code_versions
