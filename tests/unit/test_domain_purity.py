"""The domain is pure: no clock, no environment, no I/O. import-linter covers imports; this
covers calls that an import check cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "core" / "arco" / "domain"
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("os", "environ"),
    ("os", "getenv"),
    ("os", "urandom"),
    ("random", "random"),
}
FORBIDDEN_IMPORTS = {"os", "time", "random", "socket", "subprocess", "pathlib", "uuid"}


def test_domain_reads_no_clock_environment_or_randomness() -> None:
    problems = []
    for path in sorted(DOMAIN.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and (node.value.id, node.attr) in FORBIDDEN_CALLS
            ):
                problems.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
            if isinstance(node, ast.Import):
                problems += [
                    f"{path.name}:{node.lineno} import {a.name}"
                    for a in node.names
                    if a.name.split(".")[0] in FORBIDDEN_IMPORTS
                ]
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").split(".")[0] in FORBIDDEN_IMPORTS
            ):
                problems.append(f"{path.name}:{node.lineno} from {node.module}")
    assert problems == []


def test_the_check_can_fail(tmp_path: Path) -> None:
    tree = ast.parse("import time\nx = datetime.now()\n")
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert found and found[0].attr == "now"
