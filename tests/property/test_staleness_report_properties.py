"""The vectorised staleness report equals the reference rules on arbitrary states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from arco.domain.runs import PARTITION_INPUTS, PARTITION_STATUS
from arco.domain.staleness import Key, assess
from arco.projections.parquet import arrow_schema
from arco.sdk import AssetSpec, DailyPartitionsDefinition, Definitions, asset
from arco.services.queries.staleness_report import causes_json, compute_report
from tests.property.budget import examples

daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")
NOW = datetime(2024, 2, 1, tzinfo=UTC)
KEYS = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
VERSIONS = ["x", "y", "z"]
State = tuple[Any, list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]


def defs_for(code: str | None, external_a: bool) -> Any:
    """`a` external (declared without code) or not; the others have code."""

    @asset(partitions_def=daily, code_version=code, name="a")
    def a_with_code() -> None: ...

    @asset(partitions_def=daily, deps=["a"], code_version="1")
    def b() -> None: ...

    @asset(partitions_def=daily, deps=["a", "b"])
    def c() -> None: ...

    @asset(deps=["a"])
    def flat() -> None: ...

    a = AssetSpec("a", partitions_def=daily, code_version=code) if external_a else a_with_code
    return Definitions(assets=[a, b, c, flat]).snapshot("prop")


@st.composite
def states(draw: st.DrawFn) -> State:
    defs = defs_for(draw(st.sampled_from(["1", "2", None])), draw(st.booleans()))
    status: list[dict[str, Any]] = []
    inputs: list[dict[str, Any]] = []
    for name in ("a", "b", "c", "flat"):
        keys = [""] if name == "flat" else KEYS
        for key in keys:
            if not draw(st.booleans()):
                continue
            ms = draw(st.integers(1_000, 9_000))
            status.append(
                {
                    "asset": name,
                    "partition": key,
                    "materialized_run_id": f"run_{name}{key}",
                    "materialized_ms": ms,
                    "materialized_code_version": draw(st.sampled_from(["1", "2", None])),
                    "materialized_data_version": draw(st.sampled_from(VERSIONS)),
                    "materialized_data_version_since_ms": draw(
                        st.one_of(st.none(), st.integers(0, ms))
                    ),
                    "materialized_version": f"v{ms}",
                }
            )
            for upstream in ("a", "b", "gone"):
                if not draw(st.booleans()):
                    continue
                up_key = "" if upstream == "gone" else (key or draw(st.sampled_from(KEYS)))
                inputs.append(
                    {
                        "asset": name,
                        "partition": key,
                        "input_asset": upstream,
                        "input_partition": up_key,
                        "data_version": draw(st.sampled_from([*VERSIONS, "NULL", "INITIAL"])),
                    }
                )
    versions = {
        asset: {
            "code_version_since_ms": draw(st.integers(0, 10_000)),
            "deps_since_ms": draw(st.integers(0, 10_000)),
        }
        for asset in ("a", "b", "c", "flat")
    }
    return defs, status, inputs, versions


def tables(
    status_rows: list[dict[str, Any]], input_rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], pa.Table, pa.Table]:
    """One row per key, as the tables hold them: the rows, and the two tables."""
    status_rows = list({(r["asset"], r["partition"]): r for r in status_rows}.values())
    key_of = lambda r: (r["asset"], r["partition"], r["input_asset"], r["input_partition"])  # noqa: E731
    input_rows = list({key_of(r): r for r in input_rows}.values())
    status = pa.Table.from_pylist(status_rows, schema=arrow_schema(PARTITION_STATUS))
    inputs = pa.Table.from_pylist(input_rows, schema=arrow_schema(PARTITION_INPUTS))
    return status_rows, input_rows, status, inputs


@examples(150, deadline=None)
@given(states())
def test_the_report_equals_the_reference_rules(
    state: State,
) -> None:
    defs, status_rows, input_rows, versions = state
    status_rows, input_rows, status, inputs = tables(status_rows, input_rows)
    report = compute_report(defs, status, inputs, versions, NOW)
    grouped = causes_json(report.causes)

    statuses = {(r["asset"], r["partition"]): r for r in status_rows}
    inputs_of: dict[Key, dict[Key, str]] = {}
    for r in input_rows:
        inputs_of.setdefault((r["asset"], r["partition"]), {})[
            (r["input_asset"], r["input_partition"])
        ] = r["data_version"]
    assert report.partitions.num_rows == 3 * len(KEYS) + 1
    for row in report.partitions.to_pylist():
        expected = assess(
            defs, row["asset"], row["partition"] or None, statuses, versions, inputs_of
        )
        got = grouped.get((row["asset"], row["partition"]), [])
        assert (row["status"], row["stale_since_ms"]) == (
            expected.status,
            expected.stale_since_ms,
        ), (row, got)
        assert got == [c.as_dict() for c in expected.causes]


@examples(100, deadline=None)
@given(states(), st.sets(st.sampled_from(["a", "b", "c", "flat"]), min_size=1))
def test_a_report_over_some_assets_is_the_full_report_for_them(
    state: State, chosen: set[str]
) -> None:
    """A selection reads fewer rows, never other facts: the unpartitioned `flat` alone reads
    `a`'s daily partitions, which no selected asset has."""
    defs, status_rows, input_rows, versions = state
    _, _, status, inputs = tables(status_rows, input_rows)
    full = compute_report(defs, status, inputs, versions, NOW)
    order = [a for a in defs.topological_order() if a in chosen]
    part = compute_report(defs, status, inputs, versions, NOW, order)

    def rows(report: Any) -> list[tuple[Any, ...]]:
        return [
            (r["asset"], r["partition"], r["status"], r["stale_since_ms"])
            for r in report.partitions.to_pylist()
            if r["asset"] in chosen
        ]

    assert rows(part) == rows(full)
    causes = causes_json(full.causes)
    assert causes_json(part.causes) == {k: v for k, v in causes.items() if k[0] in chosen}
