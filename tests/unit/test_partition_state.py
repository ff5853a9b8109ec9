"""How a partition's status row reads: MATERIALIZED, FAILED, IN_PROGRESS or MISSING."""

from __future__ import annotations

from typing import Any

import pytest

from arco.services.queries.runs import partition_state


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "materialized_run_id": None,
        "materialized_version": None,
        "attempt_status": None,
        "attempt_version": None,
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("status_row", "expected"),
    [
        (None, "MISSING"),
        (row(), "MISSING"),
        (row(attempt_status="STARTED", attempt_version="02"), "IN_PROGRESS"),
        (
            row(materialized_run_id="r1", materialized_version="01", attempt_status="STARTED"),
            "IN_PROGRESS",
        ),
        (row(attempt_status="FAILURE", attempt_version="02"), "FAILED"),
        # A failed attempt after good data: FAILED, but the materialization is still there.
        (
            row(
                materialized_run_id="r1",
                materialized_version="01",
                attempt_status="FAILURE",
                attempt_version="02",
            ),
            "FAILED",
        ),
        # A later success clears FAILED.
        (
            row(
                materialized_run_id="r2",
                materialized_version="03",
                attempt_status="SUCCESS",
                attempt_version="03",
            ),
            "MATERIALIZED",
        ),
        # A failure report that folded late (older) does not hide the newer success.
        (
            row(
                materialized_run_id="r2",
                materialized_version="03",
                attempt_status="FAILURE",
                attempt_version="02",
            ),
            "MATERIALIZED",
        ),
    ],
)
def test_partition_state(status_row: dict[str, Any] | None, expected: str) -> None:
    assert partition_state(status_row) == expected
