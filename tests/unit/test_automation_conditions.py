"""AutomationCondition: Dagster's constructors and operators, the snapshot form, validation, and
memory ids that survive edits elsewhere in a tree."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest

from arco.domain.automation_conditions import (
    AutomationCondition,
    deps_depth,
    memory_ids,
    strip_downstream,
    structure,
)
from arco.domain.errors import InvalidInput
from arco.sdk import AssetSelection

AC = AutomationCondition


def test_composites_have_dagsters_structure() -> None:
    eager = AC.eager()
    assert eager.label == "eager" and eager.kind == "and"
    assert [o.label or o.name for o in eager.operands] == [
        "in_latest_time_window",
        "SINCE",
        "NOT",
        "NOT",
        "NOT",
    ]
    trigger, handled = eager.operands[1].operands
    assert [o.label for o in trigger.operands] == ["newly_missing", "any_deps_updated"]
    assert handled.label == "handled"
    assert [o.kind for o in handled.operands] == [
        "newly_requested",
        "newly_updated",
        "initial_evaluation",
    ]
    on_cron = AC.on_cron("0 * * * *")
    assert on_cron.label == "on_cron(0 * * * *, UTC)"
    assert on_cron.operands[2].label == "all_deps_updated_since_cron(0 * * * *, UTC)"
    assert AC.on_missing().operands[1].label == "missing_since_last_handled"


def test_and_or_flatten_unlabelled_parts_only() -> None:
    a, b, c = AC.missing(), AC.newly_updated(), AC.execution_failed()
    assert (a & b & c).operands == (a, b, c)
    assert (a | b | c).operands == (a, b, c)
    assert len((AC.eager() & a).operands) == 2  # a labelled AND stays whole
    assert (~a).kind == "not" and (~a).operands == (a,)
    assert (a & (b | c)).operands[1].kind == "or"


def test_without_removes_an_operand_of_an_and_and_keeps_its_label() -> None:
    lighter = AC.eager().without(~AC.any_deps_missing())
    assert lighter.label == "eager" and len(lighter.operands) == 4
    with pytest.raises(InvalidInput, match="not an operand"):
        AC.eager().without(AC.missing())
    with pytest.raises(InvalidInput, match="built with &"):
        AC.missing().without(AC.missing())
    with pytest.raises(InvalidInput, match="at least two"):
        (AC.missing() & AC.newly_updated()).without(AC.missing())


def test_allow_and_ignore_reach_every_dependency_operator_below() -> None:
    condition = AC.eager().ignore(AssetSelection.assets("b")).allow("key:c")
    deps = [n for n in condition.walk() if n.kind in ("any_deps", "all_deps")]
    assert len(deps) == 3
    assert all(n.ignore_selection == "key:b" for n in deps), [n.ignore_selection for n in deps]
    assert all(n.allow_selection == "key:c" for n in deps)
    twice = AC.any_deps_match(AC.missing()).ignore("key:b").ignore("key:c")
    assert twice.ignore_selection == "(key:b) or (key:c)"
    with pytest.raises(InvalidInput, match="dependencies"):
        AC.missing().allow("key:b")
    with pytest.raises(InvalidInput, match="bad selection"):
        AC.any_deps_updated().ignore("key:(")


def test_the_snapshot_form_round_trips_and_refuses_what_it_does_not_know() -> None:
    for condition in (
        AC.eager(),
        AC.on_cron("0 9 * * MON", "Europe/Berlin"),
        AC.on_missing(),
        AC.in_latest_time_window(timedelta(days=2)) & AC.code_version_changed(),
        AC.any_downstream_conditions().with_label("mine"),
        AC.eager().ignore("key:b"),
    ):
        assert AC.from_json(condition.to_json()) == condition
    with pytest.raises(InvalidInput, match="unknown automation condition 'sometimes'"):
        AC.from_json({"kind": "sometimes"})
    with pytest.raises(InvalidInput, match="unknown fields"):
        AC.from_json({"kind": "missing", "extra": 1})
    with pytest.raises(InvalidInput, match="takes 1 operand"):
        AC.from_json({"kind": "not", "operands": []})
    with pytest.raises(InvalidInput, match="takes no operands"):
        AC.from_json({"kind": "missing", "operands": [{"kind": "missing"}]})
    with pytest.raises(InvalidInput, match="invalid cron string"):
        AC.cron_tick_passed("every minute")
    with pytest.raises(InvalidInput, match="unknown timezone"):
        AC.on_cron("0 * * * *", "Mars/Base")
    with pytest.raises(InvalidInput, match="positive duration"):
        AC.in_latest_time_window(timedelta(0))
    with pytest.raises(InvalidInput, match="combines AutomationConditions"):
        AC.missing() & "x"  # type: ignore[operator]
    node = AC.missing()
    for _ in range(63):
        node = ~node  # 64 levels: accepted
    with pytest.raises(InvalidInput, match="deeper than 64"):
        ~node  # noqa: B018


def test_memory_ids_ignore_labels_position_and_wrapping_but_not_structure() -> None:
    since = AC.missing().newly_true().since_last_handled()
    alone = memory_ids(since)
    wrapped = memory_ids((AC.in_latest_time_window() & since.with_label("x")).with_label("y"))
    assert set(alone.values()) == set(wrapped.values())  # same memory after the edit
    other = memory_ids(AC.newly_updated().newly_true().since_last_handled())
    assert not set(alone.values()) & set(other.values())
    twice = memory_ids(since | since)  # one tree, the same node twice: two memories
    assert len(set(twice.values())) == 4


def test_a_nested_any_downstream_conditions_counts_as_false() -> None:
    adc = AC.any_downstream_conditions()
    assert strip_downstream(adc) is None
    assert strip_downstream(adc & AC.missing()) is None
    assert strip_downstream(adc | AC.missing()) == AC.missing()
    labelled = (adc | AC.missing()).with_label("kept")
    assert strip_downstream(labelled) == labelled
    assert strip_downstream(AC.eager()) == AC.eager()


def test_a_condition_reads_as_the_expression_that_built_it() -> None:
    # What `arco automation why` and the API show for an unlabelled condition (a labelled
    # part, such as Dagster's in_progress, shows its label).
    condition = (AC.missing() & ~AC.in_progress()) | AC.newly_updated().since(AC.newly_requested())
    assert condition.describe() == (
        "((missing() & ~in_progress) | newly_updated().since(newly_requested()))"
    )
    assert AC.cron_tick_passed("0 * * * *").describe() == "cron_tick_passed(0 * * * *, UTC)"
    assert AC.any_deps_match(AC.missing()).newly_true().describe() == (
        "any_deps_match(missing()).newly_true()"
    )


def test_a_label_has_at_most_200_characters() -> None:
    assert AC.missing().with_label("x" * 200).label == "x" * 200
    with pytest.raises(InvalidInput, match="label must be 1-200 characters"):
        AC.missing().with_label("x" * 201)


def test_a_condition_read_from_a_snapshot_has_at_most_2000_nodes() -> None:
    def wide(nodes: int) -> dict[str, object]:
        return {"kind": "or", "operands": [{"kind": "missing"}] * (nodes - 1)}

    assert len(list(AC.from_json(wide(2_000)).walk())) == 2_000
    with pytest.raises(InvalidInput, match="more than 2000 nodes"):
        AC.from_json(wide(2_001))


def test_stripping_nested_downstream_conditions_keeps_the_other_operands() -> None:
    adc = AC.any_downstream_conditions()
    stripped = strip_downstream(AC.missing() | adc | AC.in_progress())
    assert stripped == AC.missing() | AC.in_progress()


def test_the_depth_of_dependency_operators_is_their_deepest_nesting() -> None:
    one = AC.any_deps_match(AC.missing())
    assert [deps_depth(c) for c in (AC.missing(), one, AC.missing() & one)] == [0, 1, 1]
    two = AC.all_deps_match(AC.any_deps_match(AC.missing()))
    assert deps_depth(one | two) == 2
    assert deps_depth(AC.eager()) == 1


def test_a_conditions_structure_names_its_nodes_without_labels() -> None:
    # The structure names a condition's memory: its text is part of the stored state.
    labelled = (AC.missing() & ~AC.in_progress()).with_label("quiet")
    # (in_progress is Dagster's labelled OR of run_in_progress and backfill_in_progress)
    assert structure(labelled) == "AND[missing,NOT[OR[run_in_progress,backfill_in_progress]]]"
    assert structure(AC.any_deps_match(AC.missing())) == "any_deps_match[missing]"


def test_uses_finds_a_kind_anywhere_in_the_tree() -> None:
    assert (AC.missing() & ~AC.any_downstream_conditions()).uses("any_downstream_conditions")
    assert not AC.eager().uses("any_downstream_conditions")


def test_a_conditions_repr_shows_its_fields_not_its_private_depth() -> None:
    shown = repr(AC.missing())
    assert shown.startswith("AutomationCondition(kind='missing', operands=()")
    assert "_depth" not in shown


def test_code_version_changed_remembers_the_version_it_saw() -> None:
    assert set(memory_ids(AC.missing() & AC.code_version_changed())) == {(1,)}


def test_all_deps_updated_since_cron_is_in_utc_unless_told() -> None:
    assert AC.all_deps_updated_since_cron("0 * * * *").label == (
        "all_deps_updated_since_cron(0 * * * *, UTC)"
    )


def test_without_may_leave_two_operands_and_no_fewer() -> None:
    a, b, c = AC.missing(), AC.newly_updated(), AC.newly_requested()
    assert (a & b & c).without(c) == a & b
    with pytest.raises(InvalidInput, match="at least two operands"):
        (a & b).without(b)


def test_a_lookback_names_its_seconds() -> None:
    assert AC.in_latest_time_window(timedelta(hours=1)).name == "in_latest_time_window(3600s)"
    assert AC.in_latest_time_window().name == "in_latest_time_window"


@pytest.mark.parametrize("data", [{}, "missing", {"kind": 1}, None])
def test_a_snapshot_condition_is_an_object_with_a_kind(data: object) -> None:
    with pytest.raises(InvalidInput, match="must be an object with a kind"):
        AC.from_json(data)


def test_composite_labels_are_dagsters() -> None:
    # Dagster 1.13.29's labels (get_label()) of these composites and their parts.
    assert AC.any_deps_missing().label == "any_deps_missing"
    assert AC.any_deps_in_progress().label == "any_deps_in_progress"
    assert AC.on_missing().label == "on_missing"
    updated = AC.any_deps_updated()
    assert updated.operands[0].operands[0].label == "newly_updated_without_root"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "newly_true"}, "'newly_true' takes 1 operand"),
        ({"kind": "any_deps", "operands": [{"kind": "missing"}] * 2}, "'any_deps' takes 1"),
        ({"kind": "all_deps"}, "'all_deps' takes 1 operand"),
        ({"kind": "since", "operands": [{"kind": "missing"}]}, "'since' takes 2 operand"),
        ({"kind": "and", "operands": []}, "'and' needs operands"),
        ({"kind": "or", "operands": []}, "'or' needs operands"),
        ({"kind": "missing", "timezone": "UTC"}, "'missing' takes no cron schedule"),
        ({"kind": "missing", "ignore_selection": "a"}, "only dependency conditions hold"),
        ({"kind": "missing", "allow_selection": "a"}, "only dependency conditions hold"),
        ({"kind": "in_latest_time_window", "lookback_seconds": 0}, "lookback must be a positive"),
    ],
)
def test_a_condition_refuses_a_shape_dagster_cannot_build(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        AC.from_json(data)


def test_a_condition_accepts_what_dagster_builds() -> None:
    assert AC.from_json({"kind": "cron_tick_passed", "cron": "0 * * * *"}).timezone is None
    assert AC.in_latest_time_window(1).lookback_seconds == 1
    assert AC.in_latest_time_window(0.5).lookback_seconds == 0.5
    every = AC.all_deps_match(AC.missing()).allow(AssetSelection.assets("a"))
    assert every.allow_selection is not None and every.operands == (AC.missing(),)
    assert every.describe() == f"all_deps_match (allow {every.allow_selection})(missing())"


def test_nesting_is_counted_along_the_deepest_branch() -> None:
    deep = AC.missing()
    for _ in range(63):
        deep = ~deep  # 64 levels
    with pytest.raises(InvalidInput, match="nested deeper than 64"):
        _ = deep & AC.missing()  # 65 along the deep branch, 2 along the other


def test_and_or_flatten_both_sides() -> None:
    a, b, c = AC.missing(), AC.newly_updated(), AC.newly_requested()
    assert len((a & (b & c)).operands) == 3
    assert len((a | (b | c)).operands) == 3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AC.missing() & 1, "& combines AutomationConditions, not int"),
        (lambda: AC.missing() | "x", r"\| combines AutomationConditions, not str"),
        (lambda: AC.missing().since(None), "since combines AutomationConditions, not NoneType"),
        (lambda: AC.any_deps_match(AC.missing()).allow(5), r"^allow\(\) takes an asset selection"),
        (lambda: AC.any_deps_match(AC.missing()).ignore(5), r"^ignore\(\) takes an asset"),
    ],
)
def test_operators_name_what_they_were_given(build: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build()


def test_memory_ids_are_the_hash_of_structure_and_occurrence() -> None:
    # The ids are stored (automation memory): their text is a format.
    def expected(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    twice = AC.missing().newly_true() | AC.missing().newly_true()
    assert memory_ids(twice) == {
        (0,): expected("newly_true[missing]#1"),
        (1,): expected("newly_true[missing]#2"),
    }


def _reference_depth(c: AutomationCondition) -> int:
    below = max((_reference_depth(o) for o in c.operands), default=0)
    return below + (c.kind in ("any_deps", "all_deps"))


@pytest.mark.parametrize(
    "build",
    [
        AutomationCondition.eager,
        lambda: AutomationCondition.on_cron("0 * * * *"),
        AutomationCondition.on_missing,
        AutomationCondition.all_deps_blocking_checks_passed,
        lambda: AutomationCondition.any_deps_match(
            AutomationCondition.any_deps_match(AutomationCondition.in_latest_time_window())
        ),
        lambda: AutomationCondition.eager().without(~AutomationCondition.any_deps_missing()),
        lambda: AutomationCondition.eager().with_label("mine").allow("key:a"),
        lambda: AutomationCondition.any_downstream_conditions() | AutomationCondition.missing(),
        lambda: AutomationCondition.any_checks_match(AutomationCondition.check_passed()),
    ],
)
def test_what_a_tree_holds_is_derived_once_and_agrees_with_walking_it(build: Any) -> None:
    # built here, not at collection: the tree is derived by the code under test
    from arco.domain.automation_conditions import deps_depth, misplaced_check_operand

    condition = build()

    nodes = list(condition.walk())
    for kind in {n.kind for n in nodes} | {"check_passed", "any_downstream_conditions"}:
        assert condition.uses(kind) == any(n.kind == kind for n in nodes)
    assert deps_depth(condition) == _reference_depth(condition)
    clocked = [n for n in nodes if n.kind in ("cron_tick_passed", "in_latest_time_window")]
    assert list(condition.clocked()) == clocked
    assert misplaced_check_operand(condition) is None
    assert misplaced_check_operand(~condition | AutomationCondition.check_failed()) == (
        "check_failed"
    )
    assert misplaced_check_operand(AutomationCondition.check_passed() & condition) == (
        "check_passed"
    )
