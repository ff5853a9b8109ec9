"""The differential suite's fixtures: Dagster's answers to every case, from one subprocess of
`.venv-dagster` per session; missing Dagster skips the suite with a message (fails in CI)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.differential.cases import all_cases
from tests.differential.compare import TALLIES, summary_lines
from tests.differential.oracle import DAGSTER_VERSION, OracleMissing, ask_dagster


@pytest.fixture(scope="session")
def dagster() -> dict[str, Any]:
    """{case id: Dagster's answer} for every case of every family."""
    try:
        version, answers = ask_dagster(all_cases())
    except OracleMissing as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    if version != DAGSTER_VERSION:
        pytest.fail(
            f".venv-dagster has dagster {version}, the suite expects {DAGSTER_VERSION}: "
            "rebuild it (`rm -rf .venv-dagster && make dagster`)"
        )
    return answers


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLIES:
        return
    terminalreporter.section("differential: agreement with Dagster " + DAGSTER_VERSION)
    for line in summary_lines():
        terminalreporter.write_line(line)
