"""Every tick of a 7-day window for 10,000 schedules (issue 18: ≤ 1.1 s).

Two workloads: the schedules share 12 (cron, timezone) pairs, as a workspace built from a few
templates does, or each has its own pair (10,000 distinct). Timed in a fresh process (the
cron strings parsed, the zones' offset tables built: nothing cached) and again warm in the same
process; ticks are produced as epoch seconds (`CronSchedule.instants_between`, what the timer
uses), and the cost of turning them into aware datetimes (`ticks_between`) is given beside.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from typing import Any

from benchmarks.fresh import in_fresh_process

START = datetime(2024, 10, 28, tzinfo=UTC)  # the week holds New York's fall-back
DAYS = 7
CRONS = ["0 * * * *", "*/15 * * * *", "0 0 * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 1 * *"]
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Pacific/Auckland",
]


def shared_pairs(count: int) -> list[tuple[str, str]]:
    """`count` schedules over 12 (cron, timezone) pairs: 6 crons x 2 zones."""
    pairs = [(c, z) for z in ZONES[:2] for c in CRONS]
    return list(islice(cycle(pairs), count))


def distinct_pairs(count: int) -> list[tuple[str, str]]:
    """`count` different (cron, timezone) pairs, the six shapes of CRONS in equal numbers:
    each shape's variants (minute, hour) crossed with as many zones as it takes."""
    from zoneinfo import available_timezones

    america = sorted(z for z in available_timezones() if z.startswith("America/"))
    zones = list(dict.fromkeys(ZONES + america))
    shapes = [
        [f"{m} * * * *" for m in range(60)],
        [f"{m}-59/15 * * * *" for m in range(15)],
        [f"{m} {h} * * *" for h in range(24) for m in range(60)],
        [f"{m} {h} * * 1-5" for h in range(24) for m in range(60)],
        [f"{m} {h},{h + 12} * * *" for h in range(12) for m in range(60)],
        [f"{m} {h} 1 * *" for h in range(24) for m in range(60)],
    ]
    per_shape = -(-count // len(shapes))
    by_shape = [[(cron, zone) for zone in zones for cron in crons][:per_shape] for crons in shapes]
    assert all(len(group) == per_shape for group in by_shape), "not enough zones"
    return [pair for group in zip(*by_shape, strict=True) for pair in group][:count]


def _window(pairs: list[tuple[str, str]], as_datetimes: bool) -> tuple[float, int, float]:
    from arco.domain.cron import CronSchedule

    low = int(START.timestamp())
    high = low + DAYS * 86_400 - 1
    started = time.perf_counter()
    schedules = [(CronSchedule.parse(cron), tz) for cron, tz in pairs]
    parsed = time.perf_counter()
    ticks = 0
    if as_datetimes:
        after, until = START - timedelta(seconds=1), START + timedelta(days=DAYS, seconds=-1)
        for schedule, tz in schedules:
            ticks += len(schedule.ticks_between(after, until, tz))
    else:
        for schedule, tz in schedules:
            ticks += len(schedule.instants_between(low, high, tz))
    done = time.perf_counter()
    return done - started, ticks, parsed - started


def cold(argument: dict[str, Any]) -> dict[str, Any]:
    """In a fresh process: the window cold, then warm, then as datetimes."""
    pairs = (shared_pairs if argument["workload"] == "shared" else distinct_pairs)(
        argument["count"]
    )
    cold_s, ticks, parse_s = _window(pairs, as_datetimes=False)
    warm_s, _, _ = _window(pairs, as_datetimes=False)
    datetimes_s, same, _ = _window(pairs, as_datetimes=True)
    assert same == ticks
    return {
        "pairs": len(set(pairs)),
        "ticks": ticks,
        "cold_seconds": round(cold_s, 3),
        "cold_parse_seconds": round(parse_s, 3),
        "warm_seconds": round(warm_s, 3),
        "warm_datetimes_seconds": round(datetimes_s, 3),
    }


def measure(quick: bool) -> dict[str, Any]:
    count = 2_000 if quick else 10_000
    out: dict[str, Any] = {"schedules": count, "days": DAYS, "budgets": []}
    for workload in ("shared", "distinct"):
        result = in_fresh_process("benchmarks.cron:cold", {"workload": workload, "count": count})
        out[workload] = result
        out["budgets"].append(
            {
                "name": f"every tick of {DAYS} days for {count} schedules, "
                f"{result['pairs']} (cron, timezone) pairs, fresh process",
                "value": result["cold_seconds"],
                "budget": "<= 1.1 s",
                "met": result["cold_seconds"] <= 1.1,
            }
        )
    return out
