"""`arco sql`: DuckDB over the published state, each table merged as readers see it."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.runs_graph:defs"
Run = Callable[..., tuple[int, str]]


@pytest.fixture
def arco(tmp_path: Path) -> Run:
    runner = CliRunner()
    create_workspaces(LocalObjectStore(tmp_path), "sql")

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "sql", *args])
        return result.exit_code, result.output

    assert invoke("deploy", "--definitions", LOCATION)[0] == 0
    # Two runs, compacted apart: partition_status gets a base file and then a delta that
    # rewrites rows of the first (bad_metric's 2024-01-05 fails in both).
    for first, last in (("2024-01-04", "2024-01-05"), ("2024-01-05", "2024-01-06")):
        invoke("run", "key:raw_events or key:bad_metric", "--from", first, "--to", last,
               "--wait", "--definitions", LOCATION)  # fmt: skip
    return invoke


def count(out: str) -> int:
    _header, value = out.splitlines()
    return int(value)


def test_counts_agree_with_arco_partitions_not_with_the_raw_files(
    arco: Run, tmp_path: Path
) -> None:
    code, out = arco("partitions", "bad_metric", "--json")
    listed = [p for p in json.loads(out)["partitions"] if p["status"] != "MISSING"]
    assert sorted(p["partition"] for p in listed) == ["2024-01-04", "2024-01-05", "2024-01-06"]
    code, out = arco("sql", "select count(*) from partition_status where asset = 'bad_metric'")
    assert code == 0, out
    assert count(out) == len(listed) == 3
    code, out = arco("sql", "select count(*) as n from partition_status")
    assert count(out) == 6  # raw_events and bad_metric, 3 days each
    # Reading the table folder directly counts the rows the later files superseded too.
    folder = tmp_path / "workspaces" / "sql" / "state" / "tables" / "partition_status"
    raw_rows = sum(pq.read_metadata(f).num_rows for f in folder.glob("*.parquet"))
    assert raw_rows > 6

    code, out = arco(
        "sql",
        "select partition, attempt_status from partition_status "
        "where asset = 'bad_metric' order by partition",
        "--json",
    )
    assert json.loads(out) == [
        {"partition": "2024-01-04", "attempt_status": "SUCCESS"},
        {"partition": "2024-01-05", "attempt_status": "FAILURE"},
        {"partition": "2024-01-06", "attempt_status": "SUCCESS"},
    ]
    # Values print as they are (no markup read into them); view names in any case.
    code, out = arco("sql", "SELECT '[/tmp/x] a[b]c' AS v, count(*) AS n FROM RUNS")
    assert code == 0 and out.splitlines()[1] == "[/tmp/x] a[b]c\t2", out
    code, out = arco("sql", "select run_id, status from runs order by run_id", "--csv")
    lines = out.splitlines()
    assert lines[0] == "run_id,status" and len(lines) == 3
    assert {line.split(",")[1] for line in lines[1:]} == {"FAILURE"}


def test_the_staleness_views_need_a_report(arco: Run) -> None:
    code, out = arco("staleness", "--json", "--limit", "1")
    summary = json.loads(out)["summary"]
    code, out = arco("sql", "select status, count(*) as n from staleness group by status", "--json")
    assert code == 0, out
    counted = {row["status"]: row["n"] for row in json.loads(out)}
    assert counted == {s: summary[s] for s in ("FRESH", "STALE", "MISSING") if summary[s]}


def test_bad_queries_are_clear_errors(arco: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = arco("sql", "select * from nope")
    assert code == 2 and "nope does not exist" in out and "partition_status" in out
    code, out = arco("sql", "select * from read_csv('/etc/passwd')")
    assert code == 2 and "disabled by configuration" in out  # no file outside the state
    code, out = arco("sql", "  ")
    assert code == 2 and "give a query" in out
    code, out = arco("sql", "--views", "--json")
    keys = {v["view"]: v["key"] for v in json.loads(out)}
    assert keys["partition_status"] == ["asset", "partition"] and keys["staleness"] == []
    assert keys["runs"] == ["run_id"]
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the extra were not installed
    code, out = arco("sql", "select 1")
    assert code == 2 and "pip install 'arco[sql]'" in out
