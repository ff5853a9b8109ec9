"""Running Dagster: `scripts/dagster_oracle.py` in `.venv-dagster`, once per test session.

Dagster lives in a virtualenv of its own (`make dagster`, like the Cloud Tasks emulator's
`.venv-tasks-emu`): its dependencies are not Arco's. Every case of every family goes to one
subprocess on stdin; the answers come back as JSON on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DAGSTER_VENV = REPO / ".venv-dagster"
DAGSTER_PYTHON = DAGSTER_VENV / "bin" / "python"
ORACLE = REPO / "scripts" / "dagster_oracle.py"
DAGSTER_VERSION = "1.13.29"
TIMEOUT_S = 180


class OracleMissing(Exception):
    """`.venv-dagster` is not there: the suite skips (fails in CI)."""


class OracleFailed(Exception):
    """The oracle ran but gave no usable answer."""


def missing_message() -> str:
    return (
        f"Dagster is not installed ({DAGSTER_PYTHON.relative_to(REPO)} is missing); run "
        "`make dagster` (`make test` does it) to build .venv-dagster with "
        f"dagster=={DAGSTER_VERSION}"
    )


# Answers already given in this process, by the cases' JSON: a process that runs the suite
# again (scripts/mutate.py's forked children, one per mutant) asks Dagster once.
_ANSWERED: dict[str, tuple[str, dict[str, Any]]] = {}


def ask_dagster(cases: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """(Dagster's version, {case id: answer}) for every case, from one subprocess."""
    asked = json.dumps(cases, sort_keys=True)
    if asked not in _ANSWERED:
        _ANSWERED[asked] = _ask(cases)
    return _ANSWERED[asked]


def _ask(cases: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    if not DAGSTER_PYTHON.exists():
        raise OracleMissing(missing_message())
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("DAGSTER_HOME", None)  # the oracle uses ephemeral instances only
    result = subprocess.run(
        [str(DAGSTER_PYTHON), str(ORACLE)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=REPO,
        env=env,
    )
    if result.returncode != 0:
        raise OracleFailed(
            f"{ORACLE.name} exited with {result.returncode}: {result.stderr[-3000:]}"
        )
    try:
        reply = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise OracleFailed(
            f"{ORACLE.name} gave no JSON ({exc}); stderr: {result.stderr[-3000:]}"
        ) from exc
    return str(reply["dagster"]), dict(reply["answers"])
