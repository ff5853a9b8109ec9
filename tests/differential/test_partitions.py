"""Time-window partitions against Dagster's definitions: keys at a time, first and last key,
windows of keys, the key holding an instant, membership of strings (hourly, daily, weekly,
monthly and custom crons; DST zones; custom formats; end offsets and end dates; exclusions)."""

from __future__ import annotations

from typing import Any

from tests.differential.helpers import compare_family


def test_time_window_partitions_agree_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("partitions", "partitions", dagster)
    assert tally.cases >= 150
