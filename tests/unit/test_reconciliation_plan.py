"""The reconciliation plan's persisted parts: run keys (a run's idempotency across timer calls
and upgrades), the plan hash, the opted-in part of a run, the order of runs, and the log row
(mutation survivors of `domain/reconciliation.py`, issue 15)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from arco.domain.catalog import default_registry
from arco.domain.reconciliation import (
    RECONCILIATION_EVALUATED,
    ReconciliationEvaluated,
    RunOutcome,
    Target,
    plan_hash,
    plan_runs,
    run_key_of,
)
from tests.factories import BASE_MS, FoldProjection, envelope, ulid_at

CAUSE = {"category": "code_version", "message": "code version changed", "since": "2024-01-01"}


def _documented_hash(value: Any, length: int) -> str:
    """docs/staleness.md: SHA-256 of the canonical JSON (sorted keys, no spaces), in hex."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def test_a_run_key_is_the_hash_of_what_the_run_fixes_without_times() -> None:
    target = Target("a", "2024-01-02", "STALE", ({**CAUSE, "since_ms": 5},))
    evidence = [
        {
            "asset": "a",
            "partition": "2024-01-02",
            "status": "STALE",
            "causes": [{"category": "code_version", "message": "code version changed"}],
        }
    ]
    assert run_key_of([target]) == "reconcile-" + _documented_hash(evidence, 24)
    later = Target("a", "2024-01-02", "STALE", ({**CAUSE, "since": "2024-02-01"},))
    assert run_key_of([later]) == run_key_of([target])  # the same staleness, seen later


def test_a_plan_hash_is_the_hash_of_its_run_keys() -> None:
    runs = plan_runs([Target("a", None, "MISSING")], {"a": 0}, {"a": -1}, {})
    assert plan_hash(runs) == _documented_hash([runs[0].run_key], 24)


def test_the_opted_in_part_of_a_run_is_a_run_of_its_own() -> None:
    mine = Target("a", "k", "STALE", opted_in=True)
    other = Target("b", "k", "STALE")
    [run] = plan_runs([mine, other], {"a": 0, "b": 1}, {"a": 0, "b": 0}, {("a", "k"): 3})
    assert run.opted_in is False and run.assets == ("a", "b")
    part = run.opted_in_part()
    assert part is not None and part.opted_in is True
    assert (part.assets, part.targets, part.run_key) == (("a",), (mine,), run_key_of([mine]))
    assert part.order == run.order == (0, 3)
    assert run.as_dict()["targets"][1] == {
        "asset": "b",
        "partition": "k",
        "status": "STALE",
        "opted_in": False,
        "causes": [],
    }


def test_runs_come_in_asset_order_then_partition_order() -> None:
    targets = [Target("b", "x", "STALE"), Target("a", "y", "STALE"), Target("a", "x", "STALE")]
    order = {("a", "x"): 1, ("a", "y"): 0, ("b", "x"): 1}
    runs = plan_runs(targets, {"a": 0, "b": 1}, {"a": 0, "b": 5}, order)
    assert [(r.assets, r.partition, r.order) for r in runs] == [
        (("a",), "y", (0, 0)),
        (("a",), "x", (0, 1)),
        (("b",), "x", (1, 1)),
    ]
    # a partition with no position (an unpartitioned asset) comes first
    loose = plan_runs([Target("c", None, "MISSING")], {"c": 2}, {"c": -1}, {})
    assert loose[0].order == (2, 0)


def test_the_log_counts_each_outcome() -> None:
    def run(outcome: str, n: int) -> RunOutcome:
        return RunOutcome(run_key=f"k{n}", selection="key:a", outcome=outcome)  # type: ignore[arg-type]

    outcomes = ["launched", "would_launch", "held_by_rate_limit", "held_by_rate_limit"]
    outcomes += ["not_opted_in", "not_opted_in", "not_opted_in", "existing"]
    payload = ReconciliationEvaluated(
        trigger="timer",
        mode="execute",
        plan_hash="h",
        runs=[run(o, n) for n, o in enumerate(outcomes)],
    )
    projection = FoldProjection(default_registry())
    event = envelope(RECONCILIATION_EVALUATED, payload, "reconcile:h", BASE_MS, ulid_at(BASE_MS))
    assert projection.deliver(event) == ["applied"]
    row = projection.state.rows("reconciliation_log")[(event.event_id,)]
    counts = [row[k] for k in ("launched", "would_launch", "held_by_rate_limit", "not_opted_in")]
    assert counts == [1, 1, 2, 3]


def test_a_range_follows_the_partitions_order_not_their_names() -> None:
    # static keys listed z, a: positions 0 and 1 are consecutive, their names are not
    targets = [Target("s", "a", "STALE"), Target("s", "z", "STALE")]
    order = {("s", "z"): 0, ("s", "a"): 1}
    [run] = plan_runs(targets, {"s": 0}, {"s": 1}, order, 25, frozenset({1}))
    assert run.partition_range == ("z", "a")
