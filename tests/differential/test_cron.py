"""Cron ticks and cron validity against Dagster's `cron_string_iterator` (ascending and
descending, single strings and lists, DST-changing zones) and `is_valid_cron_string`."""

from __future__ import annotations

from typing import Any

from tests.differential.helpers import compare_family


def test_cron_ticks_agree_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("cron", "cron", dagster)
    assert tally.facets >= 300


def test_cron_validity_agrees_with_dagster(dagster: dict[str, Any]) -> None:
    tally = compare_family("cron_valid", "cron_valid", dagster)
    assert tally.facets >= 100
