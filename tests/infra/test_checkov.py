"""checkov finds nothing in infra/: every check passes or is skipped inline with a reason.

checkov lives in its own venv (.venv-checkov, `make checkov`): its dependencies (an old fork of
python-hcl2 among them) would conflict with the project's.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.infra.conftest import INFRA, REPO

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"


def _run_checkov() -> dict[str, Any]:
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "--compact",
            "--quiet",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"checkov gave no JSON report (exit {result.returncode}): {result.stderr}")
    return report


@pytest.mark.skipif(
    not CHECKOV.exists(), reason="checkov is not installed: run `make checkov` (.venv-checkov)"
)
def test_checkov_finds_nothing() -> None:
    report = _run_checkov()
    summary = report["summary"]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    assert summary["failed"] == 0
    # A file checkov cannot parse is a file it does not check.
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
