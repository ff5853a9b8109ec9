"""Reconciliation plans group consecutive stale keys into range runs (issue 18), as a
backfill's chunks: the same targets, a handful of runs instead of one per partition."""

from __future__ import annotations

from arco.domain.reconciliation import PlannedRun, Target, plan_runs

HOURLY, STATIC, DYNAMIC = 0, 1, 2
GROUP_OF = {"events": HOURLY, "sessions": HOURLY, "regions": STATIC, "tenants": DYNAMIC}
ORDER = {"events": 0, "sessions": 1, "regions": 2, "tenants": 3}
RANGED = frozenset({HOURLY, STATIC})


def _targets(
    asset: str, positions: list[int]
) -> tuple[list[Target], dict[tuple[str, str | None], int]]:
    targets = [Target(asset, f"k{p:04d}", "STALE") for p in positions]
    return targets, {(asset, f"k{p:04d}"): p for p in positions}


def _spans(runs: list[PlannedRun]) -> list[tuple[str | None, tuple[str, str] | None, int]]:
    return [(r.partition, r.partition_range, len(r.targets)) for r in runs]


def test_252_stale_hours_are_eleven_runs_of_at_most_25() -> None:
    targets, order = _targets("events", list(range(252)))
    runs = plan_runs(targets, ORDER, GROUP_OF, order, 25, RANGED)
    assert _spans(runs) == [
        *((None, (f"k{lo:04d}", f"k{lo + 24:04d}"), 25) for lo in range(0, 250, 25)),
        (None, ("k0250", "k0251"), 2),
    ]
    assert [t for r in runs for t in r.targets] == targets  # every target, once, in order


def test_one_key_per_run_without_ranges() -> None:
    targets, order = _targets("events", [0, 1, 2])
    assert _spans(plan_runs(targets, ORDER, GROUP_OF, order, 1, RANGED)) == [
        ("k0000", None, 1),
        ("k0001", None, 1),
        ("k0002", None, 1),
    ]
    assert _spans(plan_runs(targets, ORDER, GROUP_OF, order)) == _spans(
        plan_runs(targets, ORDER, GROUP_OF, order, 1, RANGED)
    )


def test_a_gap_or_other_assets_end_a_range() -> None:
    events, order = _targets("events", [0, 1, 2, 4, 5, 6, 7])
    sessions, more = _targets("sessions", [5, 6])
    runs = plan_runs(events + sessions, ORDER, GROUP_OF, order | more, 25, RANGED)
    assert [(r.partition, r.partition_range, r.assets) for r in runs] == [
        (None, ("k0000", "k0002"), ("events",)),  # position 3 is not stale
        ("k0004", None, ("events",)),
        (None, ("k0005", "k0006"), ("events", "sessions")),  # sessions too: its own range
        ("k0007", None, ("events",)),
    ]


def test_static_keys_range_and_dynamic_keys_never_do() -> None:
    regions, order = _targets("regions", [0, 1, 2])
    tenants, more = _targets("tenants", [0, 1, 2])
    runs = plan_runs(regions + tenants, ORDER, GROUP_OF, order | more, 25, RANGED)
    assert [(r.assets, r.partition, r.partition_range) for r in runs] == [
        (("regions",), None, ("k0000", "k0002")),
        (("tenants",), "k0000", None),
        (("tenants",), "k0001", None),
        (("tenants",), "k0002", None),
    ]


def test_a_range_runs_key_is_what_it_fixes_and_opt_in_keeps_the_range() -> None:
    targets = [Target("events", f"k{p:04d}", "STALE", opted_in=True) for p in range(3)]
    order = {("events", t.partition): p for p, t in enumerate(targets)}
    [run] = plan_runs(targets, ORDER, GROUP_OF, order, 25, RANGED)
    again = plan_runs(list(reversed(targets)), ORDER, GROUP_OF, order, 25, RANGED)
    assert again == [run]  # the same staleness, the same run and key
    assert run.opted_in_part() is run and run.as_dict()["partition_range"] == ["k0000", "k0002"]
    mixed = [*targets, Target("sessions", "k0001", "STALE", opted_in=False)]
    runs = plan_runs(mixed, ORDER, GROUP_OF, order | {("sessions", "k0001"): 1}, 25, RANGED)
    assert [(r.partition, r.partition_range, r.assets) for r in runs] == [
        ("k0000", None, ("events",)),
        ("k0001", None, ("events", "sessions")),
        ("k0002", None, ("events",)),
    ]
    part = runs[1].opted_in_part()
    assert part is not None and part.assets == ("events",) and part.run_key != runs[1].run_key


def test_the_plan_refuses_a_run_size_out_of_bounds() -> None:
    import pytest

    from arco.domain.errors import InvalidInput
    from arco.services.queries.reconciliation import PlanQuery

    for size in (0, 10_001):
        with pytest.raises(InvalidInput, match="max_partitions_per_run must be between 1 and"):
            PlanQuery(max_partitions_per_run=size).validate()
    PlanQuery(max_partitions_per_run=10_000).validate()
