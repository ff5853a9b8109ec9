"""`executed_with_tags(tag_keys=..., tag_values=...)`: the run of the asset's latest
materialization had the tags (Dagster 1.13's `LatestRunExecutedWithTagsCondition`)."""

from __future__ import annotations

from typing import Any

import pytest

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.automation_evaluation import AssetFacts, Materialization, evaluate_automation
from arco.domain.definitions import AssetNode, DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.domain.partitions import StaticPartitionsDefinition

AC = AutomationCondition
T0 = 1_706_783_400_000
RUN_TAGS = {
    "r1": {"team": "data", "source": "backfill"},
    "r2": {"team": "ml"},
    "r3": {},
}


def _requested(condition: AutomationCondition, materialized: dict[str, Materialization]) -> Any:
    partitions = None if set(materialized) <= {""} else StaticPartitionsDefinition(["x", "y"])
    defs = DefinitionsSnapshot(
        "loc",
        {"a": AssetNode("a", compute="m:a", partitions=partitions, automation_condition=condition)},
    )
    facts = {"a": AssetFacts(materialized=materialized)}
    [a] = evaluate_automation(defs, facts, {}, None, T0, run_tags=RUN_TAGS)
    assert a.error is None, a.error
    return set(a.requested)


@pytest.mark.parametrize(
    ("condition", "run", "holds"),
    [
        (AC.executed_with_tags(), "r3", True),
        (AC.executed_with_tags(tag_keys={"team"}), "r1", True),
        (AC.executed_with_tags(tag_keys={"team", "source"}), "r2", False),
        (AC.executed_with_tags(tag_values={"team": "ml"}), "r2", True),
        (AC.executed_with_tags(tag_values={"team": "ml"}), "r1", False),
        (AC.executed_with_tags(tag_keys={"team"}, tag_values={"source": "backfill"}), "r1", True),
        (AC.executed_with_tags(tag_keys={"team"}, tag_values={"source": "x"}), "r1", False),
        (AC.executed_with_tags(), None, False),  # a materialization outside any run
        (AC.executed_with_tags(), "unknown-run", False),
    ],
)
def test_the_latest_materializations_run_must_have_the_tags(
    condition: AutomationCondition, run: str | None, holds: bool
) -> None:
    latest = {"": Materialization("01B", 2, run)}
    assert _requested(condition, latest) == ({""} if holds else set())


def test_of_a_partitioned_asset_only_the_partition_materialized_last_can_hold() -> None:
    materialized = {"x": Materialization("01B", 2, "r1"), "y": Materialization("01A", 9, "r1")}
    assert _requested(AC.executed_with_tags(tag_keys={"team"}), materialized) == {"x"}


def test_nothing_materialized_holds_nothing() -> None:
    defs = DefinitionsSnapshot(
        "loc", {"a": AssetNode("a", compute="m:a", automation_condition=AC.executed_with_tags())}
    )
    [a] = evaluate_automation(defs, {}, {}, None, T0, run_tags=RUN_TAGS)
    assert a.requested == frozenset()


def test_its_name_and_snapshot_are_dagsters() -> None:
    condition = AC.executed_with_tags(tag_keys={"b", "a"}, tag_values={"k": "v", "c": "d"})
    assert condition.name == "executed_with_tags(tag_keys={a,b}, tag_values={c:d,k:v})"
    assert AC.executed_with_tags().name == "executed_with_tags"
    assert AutomationCondition.from_json(condition.to_json()) == condition
    assert condition.to_json()["tag_values"] == [["c", "d"], ["k", "v"]]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AC.executed_with_tags(tag_keys="team"), "tag_keys must be a set"),
        (lambda: AC.executed_with_tags(tag_keys={"a", ""}), "tag_keys must be a set"),
        (lambda: AC.executed_with_tags(tag_values={"k": 1}), "tag_values must map"),
        (lambda: AC.executed_with_tags(tag_values=[("k",)]), "tag_values must map"),
        (lambda: AC.executed_with_tags(tag_values=5), "tag_values must map"),
        (lambda: AutomationCondition("missing", tag_keys=("a",)), "only executed_with_tags"),
        (lambda: AutomationCondition("missing", tag_values=(("a", "b"),)), "only executed_with"),
    ],
)
def test_tags_are_checked_when_the_condition_is_built(build: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^(executed_with_tags: )?{message}"):
        build()
