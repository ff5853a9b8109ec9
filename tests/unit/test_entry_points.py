"""functions/main.py only translates: it reaches Arco through the composition root, and the
ingest entry points stay light (no pyarrow at import)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_functions_reach_arco_only_through_the_composition_root() -> None:
    tree = ast.parse((REPO / "functions" / "main.py").read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("arco")
    }
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("arco")
    }
    assert imported == {"arco.bootstrap", "arco.function_endpoints"}


def test_importing_the_entry_points_loads_no_pyarrow() -> None:
    script = (
        "import sys\n"
        "import functions.main, arco.bootstrap, arco.function_endpoints, arco.services.auth\n"
        "print('pyarrow' in sys.modules, 'google.auth' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.split() == ["False", "False"], done.stderr
