"""`stale_since`: the time of the event that made the earliest cause true, on a hand-built state
whose every value is worked out below, for the reference rules (`assess`) and the vectorised
report the service serves (`compute_report`), compared with the same literals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from arco.domain.runs import PARTITION_INPUTS, PARTITION_STATUS
from arco.domain.staleness import (
    CODE_VERSION_CHANGED,
    DEPENDENCY_ADDED,
    DEPENDENCY_REMOVED,
    UPSTREAM_DATA_CHANGED,
    UPSTREAM_MISSING,
    Assessment,
    Cause,
    assess,
)
from arco.projections.parquet import arrow_schema
from arco.sdk import Definitions, asset
from arco.services.queries.staleness_report import causes_json, compute_report

NOW = datetime(2024, 2, 1, tzinfo=UTC)


@asset(code_version="1")
def a() -> None: ...


@asset(deps=["a"], code_version="2")
def b() -> None: ...


@asset(deps=["a", "b"])
def c() -> None: ...


@asset(deps=["a"])
def d() -> None: ...


@asset(deps=["b"])
def e() -> None: ...


DEFS = Definitions(assets=[a, b, c, d, e]).snapshot("tests:staleness")


def status(name: str, ms: int, version: str, **extra: Any) -> dict[str, Any]:
    return {
        "asset": name,
        "partition": "",
        "materialized_run_id": f"run_{name}",
        "materialized_ms": ms,
        "materialized_code_version": None,
        "materialized_data_version": version,
        "materialized_data_version_since_ms": None,
        "materialized_version": f"v{ms}",
        **extra,
    }


# a: materialized at 5_000 with "x2", a version first seen at 4_000.
# b: materialized at 2_000 by code version "1" (deployed: "2", since 3_500), read a = "x1".
#    CODE since max(2_000, 3_500) = 3_500; DATA from a since max(2_000, 4_000) = 4_000.
#    stale_since = 3_500 (the earliest cause), although DATA sorts after CODE anyway.
# c: materialized at 6_000, read a = "x1" (changed at 4_000: before c ran, so since 6_000) and
#    b = "y" (b is materialized with "y": no change). stale_since = 6_000.
# d: materialized at 1_000, read a = "x1" and "gone" (no longer a dependency; deps changed at
#    7_000). a's version changed at 4_000 (appeared at 4_000): DATA since 4_000, REMOVED since
#    max(1_000, 7_000) = 7_000. stale_since = 4_000: the earliest, not the first listed cause.
# e: materialized at 8_000, read nothing; dependencies changed at 9_000 (b added). ADDED since
#    9_000. stale_since = 9_000.
STATUS = [
    status(
        "a", 5_000, "x2", materialized_code_version="1", materialized_data_version_since_ms=4_000
    ),
    status("b", 2_000, "y", materialized_code_version="1"),
    status("c", 6_000, "z"),
    status("d", 1_000, "w"),
    status("e", 8_000, "v"),
]
INPUTS = [
    ("b", "a", "x1"),
    ("c", "a", "x1"),
    ("c", "b", "y"),
    ("d", "a", "x1"),
    ("d", "gone", "q"),
]
VERSIONS = {
    "a": {"code_version_since_ms": 0, "deps_since_ms": 0},
    "b": {"code_version_since_ms": 3_500, "deps_since_ms": 0},
    "c": {"code_version_since_ms": 0, "deps_since_ms": 0},
    "d": {"code_version_since_ms": 0, "deps_since_ms": 7_000},
    "e": {"code_version_since_ms": 0, "deps_since_ms": 9_000},
}
# The codes are spelled out (not imported): they are part of the report's contract.
EXPECTED: dict[str, tuple[str, int | None, list[tuple[str, int]]]] = {
    "a": ("FRESH", None, []),
    "b": ("STALE", 3_500, [("CODE_VERSION_CHANGED", 3_500), ("UPSTREAM_DATA_CHANGED", 4_000)]),
    "c": ("STALE", 6_000, [("UPSTREAM_DATA_CHANGED", 6_000)]),
    "d": ("STALE", 4_000, [("UPSTREAM_DATA_CHANGED", 4_000), ("DEPENDENCY_REMOVED", 7_000)]),
    "e": ("STALE", 9_000, [("DEPENDENCY_ADDED", 9_000)]),
}


def _inputs_of() -> dict[tuple[str, str], dict[tuple[str, str], str]]:
    out: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
    for name, up, version in INPUTS:
        out.setdefault((name, ""), {})[(up, "")] = version
    return out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_reference_rules_give_the_worked_out_stale_since(name: str) -> None:
    statuses = {(r["asset"], r["partition"]): r for r in STATUS}
    got = assess(DEFS, name, None, statuses, VERSIONS, _inputs_of())
    want_status, want_since, want_causes = EXPECTED[name]
    assert got.status == want_status
    assert got.stale_since_ms == want_since
    assert [(c.code, c.since_ms) for c in got.causes] == want_causes


def test_the_report_gives_the_worked_out_stale_since() -> None:
    status_table = pa.Table.from_pylist(STATUS, schema=arrow_schema(PARTITION_STATUS))
    rows = [
        {"asset": n, "partition": "", "input_asset": u, "input_partition": "", "data_version": v}
        for n, u, v in INPUTS
    ]
    inputs = pa.Table.from_pylist(rows, schema=arrow_schema(PARTITION_INPUTS))
    report = compute_report(DEFS, status_table, inputs, VERSIONS, NOW)
    causes = causes_json(report.causes)
    got = {r["asset"]: r for r in report.partitions.to_pylist()}
    assert set(got) == set(EXPECTED)
    for name, (want_status, want_since, want_causes) in EXPECTED.items():
        assert (got[name]["status"], got[name]["stale_since_ms"]) == (want_status, want_since)
        found = [(c["code"], c["since_ms"]) for c in causes.get((name, ""), [])]
        assert found == want_causes, name


def test_an_upstream_change_without_a_recorded_appearance_dates_from_its_materialization() -> None:
    # a's row has no `materialized_data_version_since_ms`: the change dates from a's
    # materialization (5_000), later than b's (2_000).
    statuses = {
        ("a", ""): status("a", 5_000, "x2", materialized_code_version="1"),
        ("b", ""): status("b", 2_000, "y", materialized_code_version="2"),
    }
    got = assess(DEFS, "b", None, statuses, VERSIONS, {("b", ""): {("a", ""): "x1"}})
    assert [(c.code, c.since_ms) for c in got.causes] == [("UPSTREAM_DATA_CHANGED", 5_000)]
    assert got.stale_since_ms == 5_000


def test_a_missing_upstream_dates_from_the_partitions_own_materialization() -> None:
    statuses = {("b", ""): status("b", 2_000, "y", materialized_code_version="2")}
    got = assess(DEFS, "b", None, statuses, VERSIONS, {("b", ""): {("a", ""): "x1"}})
    assert [(c.code, c.since_ms) for c in got.causes] == [("UPSTREAM_MISSING", 2_000)]


def test_stale_since_is_the_earliest_cause_whatever_the_order() -> None:
    late = Cause(CODE_VERSION_CHANGED, 900)
    early = Cause(UPSTREAM_DATA_CHANGED, 100, ("a", None))
    assert Assessment("b", None, "STALE", (late, early)).stale_since_ms == 100
    assert Assessment("b", None, "FRESH").stale_since_ms is None


def test_the_reason_codes_are_the_documented_ones() -> None:
    from arco.domain.staleness import FRESHNESS_VIOLATED, REASONS

    assert REASONS == (
        "CODE_VERSION_CHANGED",
        "DEPENDENCY_ADDED",
        "DEPENDENCY_REMOVED",
        "FRESHNESS_VIOLATED",
        "UPSTREAM_DATA_CHANGED",
        "UPSTREAM_MISSING",
    )
    assert (CODE_VERSION_CHANGED, DEPENDENCY_ADDED, DEPENDENCY_REMOVED) == (
        "CODE_VERSION_CHANGED",
        "DEPENDENCY_ADDED",
        "DEPENDENCY_REMOVED",
    )
    assert (UPSTREAM_MISSING, UPSTREAM_DATA_CHANGED, FRESHNESS_VIOLATED) == (
        "UPSTREAM_MISSING",
        "UPSTREAM_DATA_CHANGED",
        "FRESHNESS_VIOLATED",
    )


def test_root_causes_follow_stale_upstreams_to_where_the_change_began() -> None:
    from arco.domain.staleness import root_causes

    code = Cause("CODE_VERSION_CHANGED", 1, None)
    a = Assessment("a", None, "STALE", (code,))
    via_a = Cause("UPSTREAM_DATA_CHANGED", 2, ("a", None))
    missing = Cause("UPSTREAM_MISSING", 3, ("x", None))
    b = Assessment("b", None, "STALE", (via_a, missing))
    via_b = Cause("UPSTREAM_DATA_CHANGED", 4, ("b", None))
    via_a_again = Cause("UPSTREAM_DATA_CHANGED", 5, ("a", None))
    c = Assessment("c", None, "STALE", (via_b, via_a_again))
    fresh = Assessment("f", None, "FRESH")
    via_fresh = Cause("UPSTREAM_DATA_CHANGED", 6, ("f", None))
    d = Assessment("d", None, "STALE", (via_fresh,))
    lookup = {("a", None): a, ("b", None): b, ("c", None): c, ("f", None): fresh}
    # c -> b -> a (code) and b's own missing upstream; a reached twice, listed once.
    assert root_causes(c, lookup) == [(("a", None), code), (("b", None), missing)]
    # data changed by a FRESH upstream: the change began there, reported on d itself.
    assert root_causes(d, lookup) == [(("d", None), via_fresh)]
    # a cycle (not in a real graph) stops instead of recursing forever
    loop = Assessment("b", None, "STALE", (Cause("UPSTREAM_DATA_CHANGED", 7, ("b", None)),))
    assert root_causes(loop, {("b", None): loop}) == [
        (("b", None), Cause("UPSTREAM_DATA_CHANGED", 7, ("b", None)))
    ]


def test_without_given_inputs_the_provenance_is_read_from_the_status_row() -> None:
    statuses = {
        ("a", ""): status("a", 5_000, "x2", materialized_code_version="1"),
        ("b", ""): status(
            "b",
            2_000,
            "y",
            materialized_code_version="2",
            materialized_input_versions='{"a": "x1"}',
        ),
    }
    got = assess(DEFS, "b", None, statuses, VERSIONS)
    assert [(c.code, c.since_ms) for c in got.causes] == [("UPSTREAM_DATA_CHANGED", 5_000)]
    statuses[("b", "")]["materialized_input_versions"] = None  # nothing recorded: nothing read
    assert assess(DEFS, "b", None, statuses, VERSIONS).status == "FRESH"


def test_a_removed_dependency_that_sorts_first_does_not_hide_the_others() -> None:
    statuses = {
        ("a", ""): status("a", 5_000, "x2", materialized_code_version="1"),
        ("d", ""): status("d", 1_000, "w"),
    }
    inputs = {("d", ""): {("_old", ""): "q", ("a", ""): "x1"}}  # "_old" < "a"
    got = assess(DEFS, "d", None, statuses, VERSIONS, inputs)
    assert [(c.code, c.upstream) for c in got.causes] == [
        ("DEPENDENCY_REMOVED", ("_old", None)),
        ("UPSTREAM_DATA_CHANGED", ("a", None)),
    ]


def test_causes_on_one_upstream_order_by_its_partition_then_code() -> None:
    from arco.domain.staleness import cause_order

    later = Cause("UPSTREAM_DATA_CHANGED", 1, ("a", "2024-01-02"))
    earlier = Cause("UPSTREAM_MISSING", 1, ("a", "2024-01-01"))
    own = Cause("CODE_VERSION_CHANGED", 9, None)
    same_partition = Cause("UPSTREAM_DATA_CHANGED", 1, ("a", "2024-01-01"))
    ordered = sorted([later, same_partition, earlier, own], key=cause_order("b"))
    assert ordered == [own, same_partition, earlier, later]


def test_a_cron_freshness_policy_is_violated_only_by_data_older_than_the_deadline() -> None:
    from arco.domain.definitions import FreshnessPolicy
    from arco.domain.staleness import freshness_violation

    policy = FreshnessPolicy(maximum_lag_minutes=10, cron_schedule="0 * * * *")
    now = datetime(2024, 2, 1, 12, 30, tzinfo=UTC)
    tick_ms = int(datetime(2024, 2, 1, 12, tzinfo=UTC).timestamp() * 1000)
    deadline = tick_ms - 600_000
    assert freshness_violation(policy, deadline, now) is None  # exactly at the deadline
    assert freshness_violation(policy, deadline - 1, now) == (tick_ms, deadline)


def test_a_cause_as_a_dict_names_its_upstream_and_drops_empty_evidence() -> None:
    cause = Cause("UPSTREAM_DATA_CHANGED", 5, ("a", "2024-01-01"), {"recorded": "x", "run": None})
    assert cause.as_dict() == {
        "code": "UPSTREAM_DATA_CHANGED",
        "since_ms": 5,
        "recorded": "x",
        "upstream_asset": "a",
        "upstream_partition": "2024-01-01",
    }
    assert Cause("CODE_VERSION_CHANGED", 1).as_dict() == {
        "code": "CODE_VERSION_CHANGED",
        "since_ms": 1,
    }


def test_freshness_boundaries() -> None:
    from arco.domain.definitions import FreshnessPolicy
    from arco.domain.staleness import freshness_violation

    now = datetime(2024, 2, 1, 12, 30, tzinfo=UTC)
    now_ms = int(now.timestamp() * 1000)
    lag = FreshnessPolicy(maximum_lag_minutes=1)
    assert freshness_violation(lag, now_ms - 60_000, now) is None  # exactly at the deadline
    assert freshness_violation(lag, now_ms - 60_001, now) == (now_ms - 1, now_ms - 1)
    # A cron without a lag: the data must be at least as new as the tick.
    cron = FreshnessPolicy(cron_schedule="0 * * * *")
    tick_ms = int(datetime(2024, 2, 1, 12, tzinfo=UTC).timestamp() * 1000)
    assert freshness_violation(cron, tick_ms, now) is None
    assert freshness_violation(cron, tick_ms - 1, now) == (tick_ms, tick_ms)


def test_an_upstream_row_never_materialized_has_no_current_version() -> None:
    # a's status row exists (an attempt failed) but nothing was materialized: b's input is
    # MISSING, whatever version the row may carry.
    failed_a = {**status("a", 5_000, "x1"), "materialized_run_id": None}
    statuses = {
        ("a", ""): failed_a,
        ("b", ""): status("b", 2_000, "y", materialized_code_version="2"),
    }
    got = assess(DEFS, "b", None, statuses, VERSIONS, {("b", ""): {("a", ""): "x1"}})
    assert [(c.code, c.since_ms) for c in got.causes] == [("UPSTREAM_MISSING", 2_000)]
