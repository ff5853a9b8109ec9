"""Partitioned inputs of an unpartitioned asset, end to end (worker, fold, report), as Dagster:
a changed static partition makes the downstream STALE naming it; a daily parent read whole
records no provenance (Dagster's rule, checked by the differential suite), so it stays FRESH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.static_fan_in:defs"


def test_a_changed_upstream_partition_makes_the_unpartitioned_downstream_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_workspaces(LocalObjectStore(tmp_path), "fan")
    runner = CliRunner()

    def arco(*args: str) -> str:
        result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "fan", *args])
        assert result.exit_code == 0, result.output
        return result.output

    def run(selection: str, *partitions: str) -> None:
        arco("run", selection, *partitions, "--wait", "--definitions", LOCATION)

    arco("deploy", "--definitions", LOCATION)
    run("key:up", "--from", "a", "--to", "c")
    run("key:tup", "--from", "2024-01-01", "--to", "2024-01-03")
    run("key:down or key:tdown")

    def report(selection: str) -> dict[str, tuple[str, list[str]]]:
        items = json.loads(arco("staleness", selection, "--json"))["items"]
        return {
            i["asset"]: (
                i["status"],
                [f"{c['code']} {c.get('upstream_partition')}" for c in i["causes"]],
            )
            for i in items
        }

    assert report("key:down or key:tdown") == {"down": ("FRESH", []), "tdown": ("FRESH", [])}
    monkeypatch.setenv("ARCO_TEST_UP_VERSION", "2")
    run("key:up", "--partition", "b")
    run("key:tup", "--partition", "2024-01-02")
    expected = {"down": ("STALE", ["UPSTREAM_DATA_CHANGED b"]), "tdown": ("FRESH", [])}
    assert report("key:down or key:tdown") == expected
    assert {k: v for k, v in report("*").items() if k in expected} == expected
