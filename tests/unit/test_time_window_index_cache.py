"""A time-window definition remembers each key's window number (issue 18: 10,000 run requests
name the same keys): asking again answers as the first time, excluded and out-of-bounds keys
included."""

from __future__ import annotations

from datetime import UTC, datetime

from arco.domain.partitions import TimeWindowPartitionsDefinition

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def _daily() -> TimeWindowPartitionsDefinition:
    return TimeWindowPartitionsDefinition(
        "0 0 * * *",
        "2024-01-01",
        "%Y-%m-%d",
        end="2024-02-01",
        exclusions=["0 0 * * SAT"],  # Saturdays are not partitions
    )


def test_asking_again_answers_as_the_first_time() -> None:
    daily = _daily()
    keys = ["2024-01-02", "2024-01-06", "2024-02-01", "2024-01-32", "nope", "2024-01-31"]
    expected = [True, False, False, False, False, True]  # a Saturday; past the end; not a date
    for _ in range(3):
        assert [daily.has_key(k, NOW) for k in keys] == expected
    assert not daily.has_key(["2024-01-02"], NOW)  # type: ignore[arg-type]
    fresh = _daily()
    assert [fresh.key_index(k) for k in ("2024-01-02", "2024-01-31")] == [
        daily.key_index("2024-01-02"),
        daily.key_index("2024-01-31"),
    ]
