"""Canonical JSON, ledger times and list cursors: exact formats other parts rely on
(mutation survivors of the small domain modules, issue 15)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

import pytest

from arco.domain.canonical import canonical_json
from arco.domain.cursors import decode_cursor, encode_cursor
from arco.domain.envelope import format_time_ms, parse_time_ms
from arco.domain.errors import InvalidInput

NEW_YEAR_2024_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process in a time zone far from UTC (ledger times must not follow it)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"  # UTC+14
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_canonical_json_writes_text_as_utf8_and_refuses_non_numbers() -> None:
    assert canonical_json({"b": "é", "a": [1, 2]}) == '{"a":[1,2],"b":"é"}'.encode()
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError):
            canonical_json({"x": bad})


@pytest.mark.usefixtures("far_from_utc")
def test_ledger_times_are_utc_with_milliseconds_whatever_the_local_zone() -> None:
    assert format_time_ms(NEW_YEAR_2024_MS + 123) == "2024-01-01T00:00:00.123Z"
    parsed = parse_time_ms("2024-01-01T00:00:00.123Z")
    assert parsed == NEW_YEAR_2024_MS + 123 and type(parsed) is int


def test_an_empty_cursor_is_the_first_page_and_a_bad_one_is_refused() -> None:
    assert decode_cursor("", ("after",)) is None
    assert decode_cursor(None, ("after",)) is None
    position = {"after": "k", "n": 2}
    assert decode_cursor(encode_cursor(position), ("after",)) == position
    with pytest.raises(InvalidInput, match="invalid cursor"):
        decode_cursor(encode_cursor({"n": 2}), ("after",))


def test_a_committed_overlay_is_empty_and_reads_the_committed_state() -> None:
    from arco.domain.state import FoldState, StagedState
    from arco.domain.system_tables import LEDGER_OBJECTS

    staged = StagedState(FoldState())
    staged.put(LEDGER_OBJECTS, {"object_name": "o", "event_count": 1, "status": "folded"})
    committed = staged.commit()
    assert staged.changed_tables() == [] and list(staged.iter_changes("ledger_objects")) == []
    assert committed.rows("ledger_objects")[("o",)]["event_count"] == 1
    assert staged.get("ledger_objects", ("o",)) is not None  # now from the committed base


def test_ulids_cover_their_whole_range_and_clamp_outside_it() -> None:
    from arco.domain.ulid import (
        MAX_RANDOM,
        MAX_TIME_MS,
        deterministic_ulid,
        encode_ulid,
        ulid_floor,
        ulid_time_ms,
    )

    top = encode_ulid(MAX_TIME_MS, MAX_RANDOM)
    assert top == "7" + "Z" * 25 and ulid_time_ms(top) == MAX_TIME_MS
    for bad in ((MAX_TIME_MS + 1, 0), (0, MAX_RANDOM + 1), (-1, 0), (0, -1)):
        with pytest.raises(InvalidInput):
            encode_ulid(*bad)
    assert ulid_floor(-5) == ulid_floor(0) == "0" * 26
    assert ulid_floor(MAX_TIME_MS + 5) == encode_ulid(MAX_TIME_MS, 0)
    assert ulid_floor(1234) == encode_ulid(1234, 0)
    assert ulid_time_ms(deterministic_ulid(-1, "seed")) == 0
    assert ulid_time_ms(deterministic_ulid(MAX_TIME_MS + 1, "seed")) == MAX_TIME_MS
    assert (
        deterministic_ulid(5, "seed")
        == deterministic_ulid(5, "seed")
        != deterministic_ulid(5, "other")
    )


def test_a_table_spec_refuses_what_would_make_its_rows_ambiguous() -> None:
    from arco.domain.tables import ROW_VERSION, Column, TableSpec

    spec = TableSpec("t", ("a",), (Column("a", "string"), Column("b", "int64")))
    assert spec.column_names == ("a", "b", ROW_VERSION)
    assert [c.name for c in spec.all_columns] == ["a", "b", ROW_VERSION]
    refused = [
        (("a",), (Column("a", "string"), Column("a", "int64")), "duplicate column names"),
        (("a",), (Column("a", "string"), Column(ROW_VERSION, "string")), "added automatically"),
        (("z",), (Column("a", "string"),), "key"),
        ((), (Column("a", "string"),), "key"),
    ]
    for key, columns, message in refused:
        with pytest.raises(ValueError, match=message):
            TableSpec("t", key, columns)
