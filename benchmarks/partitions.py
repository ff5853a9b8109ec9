"""Partition keys of long time-window definitions (issue 18): daily over 100 years ≤ 0.05 s,
hourly over 10 years in New York ≤ 0.1 s.

Each case runs in a fresh process: the definition is built (its calendar and zone tables
computed) and all its keys listed at `NOW`; the warm figure lists them again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.fresh import in_fresh_process

NOW = datetime(2025, 1, 1, tzinfo=UTC)
CASES: dict[str, dict[str, Any]] = {
    "daily_100y_utc": {"kind": "daily", "start": "1925-01-01", "tz": "UTC", "budget": 0.05},
    "hourly_10y_new_york": {
        "kind": "hourly",
        "start": "2015-01-01-00:00",
        "tz": "America/New_York",
        "budget": 0.1,
    },
    "daily_100y_new_york": {
        "kind": "daily",
        "start": "1925-01-01",
        "tz": "America/New_York",
        "budget": None,
    },
}


def cold(case: dict[str, Any]) -> dict[str, Any]:
    from arco.domain.partitions import DailyPartitionsDefinition, HourlyPartitionsDefinition

    kind = DailyPartitionsDefinition if case["kind"] == "daily" else HourlyPartitionsDefinition
    started = time.perf_counter()
    definition = kind(start_date=case["start"], timezone=case["tz"])
    built = time.perf_counter()
    keys = definition.keys(NOW)
    done = time.perf_counter()
    definition.keys(NOW)
    warm = time.perf_counter() - done
    return {
        "keys": len(keys),
        "first": keys[0],
        "last": keys[-1],
        "cold_seconds": round(done - started, 4),
        "cold_build_seconds": round(built - started, 4),
        "warm_seconds": round(warm, 4),
    }


def measure(quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"now": NOW.isoformat(), "budgets": []}
    for name, case in CASES.items():
        result = in_fresh_process("benchmarks.partitions:cold", case)
        out[name] = result
        if case["budget"] is not None:
            out["budgets"].append(
                {
                    "name": f"{result['keys']} keys of {name}, fresh process",
                    "value": result["cold_seconds"],
                    "budget": f"<= {case['budget']} s",
                    "met": result["cold_seconds"] <= case["budget"],
                }
            )
    return out
