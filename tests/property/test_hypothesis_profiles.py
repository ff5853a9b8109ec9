"""The hypothesis profiles of tests/conftest.py: `make test` (the default profile, ci) executes
the same examples on every run of the same commit; dev and fuzz draw new ones each time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

PROBE = Path(__file__).with_name("_probe_determinism.py")


def test_the_profiles_are_registered_as_documented() -> None:
    ci, dev, fuzz = (settings.get_profile(name) for name in ("ci", "dev", "fuzz"))
    assert ci.derandomize and ci.database is None and ci.deadline is None and ci.print_blob
    assert ci.max_examples <= 200, "make test stays fast"
    assert not dev.derandomize
    assert not fuzz.derandomize and fuzz.deadline is None and fuzz.max_examples >= 1_000


def test_the_profile_in_use_is_the_one_asked_for_else_ci() -> None:
    asked = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
    assert settings.get_current_profile_name() == asked


def _start(tmp_path: Path, name: str, profile: str | None) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / f"{name}.log"
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    if profile is not None:
        env["HYPOTHESIS_PROFILE"] = profile
    env["ARCO_EXAMPLES_LOG"] = str(log)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(PROBE)]
    # Run from tmp_path: the dev profile's example database (.hypothesis/) goes there.
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, log


def test_two_runs_with_the_default_profile_execute_the_same_examples(tmp_path: Path) -> None:
    """The probe property logs a digest of every ledger and delivery it is given; two runs
    with no HYPOTHESIS_PROFILE (as `make test`) log the same ones, a dev run other ones."""
    runs = {
        "first": _start(tmp_path, "first", None),
        "second": _start(tmp_path, "second", None),
        "dev": _start(tmp_path, "dev", "dev"),
    }
    logs = {}
    for name, (proc, log) in runs.items():
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{name} run failed:\n{output}"
        logs[name] = log.read_text(encoding="utf-8").splitlines()
    assert len(logs["first"]) == 30, "the probe ran its 30 examples"
    assert len(set(logs["first"])) > 20, "and they differ from each other"
    assert logs["second"] == logs["first"]
    assert logs["dev"] != logs["first"], "a randomized profile draws other examples"
