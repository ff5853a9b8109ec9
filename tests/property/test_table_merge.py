"""The vectorised Arrow merge of base + deltas equals applying the rows one by one."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.tables import Column, Key, Row, TableSpec
from arco.projections.parquet import arrow_to_rows, conform, merge_arrow, rows_to_arrow
from tests.property.budget import examples

SPEC = TableSpec(
    "t", key=("a", "b"), columns=(Column("a", "string"), Column("b", "int64"), Column("v", "int64"))
)

keys = st.tuples(st.sampled_from(["x", "y", "z\x1fq", ""]), st.integers(0, 3))
ops = st.lists(st.tuples(keys, st.one_of(st.none(), st.integers(0, 99))), max_size=12)


def row(key: Key, value: int, version: str) -> Row:
    return {"a": key[0], "b": key[1], "v": value, "row_version": version}


@examples(300, deadline=None)
@given(ops, st.lists(ops, max_size=5))
def test_merge_matches_sequential_application(base_ops, delta_ops):  # type: ignore[no-untyped-def]
    expected: dict[Key, Row] = {}
    for key, value in base_ops:
        if value is not None:
            expected[key] = row(key, value, "0")
    base = rows_to_arrow(SPEC, expected.values())
    deltas = []
    for n, changes in enumerate(delta_ops, start=1):
        final = {}
        for key, value in changes:  # within one delta, one entry per key (the last)
            final[key] = value
        upserts = [row(k, v, str(n)) for k, v in final.items() if v is not None]
        deletes = [k for k, v in final.items() if v is None]
        deltas.append(rows_to_arrow(SPEC, upserts, deletes, delta=True))
        for k, v in final.items():
            if v is None:
                expected.pop(k, None)
            else:
                expected[k] = row(k, v, str(n))
    merged, _ = arrow_to_rows(SPEC, merge_arrow(SPEC, base, *deltas))
    assert merged == expected


def test_a_file_without_a_new_column_reads_it_as_null() -> None:
    old = pa.table({"a": ["x"], "b": [1], "row_version": ["01"]})
    rows, _ = arrow_to_rows(SPEC, conform(SPEC, old))
    assert rows == {("x", 1): {"a": "x", "b": 1, "v": None, "row_version": "01"}}
