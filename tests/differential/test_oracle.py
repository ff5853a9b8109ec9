"""The oracle itself: every case answered, by the expected Dagster, from fixed seeds."""

from __future__ import annotations

import json
from typing import Any

from tests.differential.cases import (
    cron_cases,
    data_version_cases,
    mapping_cases,
    partition_cases,
    selection_cases,
    staleness_cases,
)
from tests.differential.helpers import cases_of


def test_every_case_has_an_answer(dagster: dict[str, Any]) -> None:
    families = ("cron", "cron_valid", "partitions", "mapping", "selection", "data_version")
    ids = {c["id"] for f in (*families, "staleness") for c in cases_of(f)}
    assert ids <= set(dagster)


def test_cases_are_the_same_on_every_run() -> None:
    for generate in (
        cron_cases,
        partition_cases,
        mapping_cases,
        selection_cases,
        data_version_cases,
        staleness_cases,
    ):
        assert json.dumps(generate()) == json.dumps(generate())
