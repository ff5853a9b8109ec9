"""Shared helpers of the infra tests: the repository's paths and a writer of small modules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
ARCO_MODULE = INFRA / "modules" / "arco"

WriteModule = Callable[..., Path]


@pytest.fixture
def write_module(tmp_path: Path) -> WriteModule:
    """Write HCL (dedented) into a fresh module directory: `main` to main.tf, each keyword
    argument to `<name>.tf`; return the directory."""
    counter = iter(range(1000))

    def write(main: str, **files: str) -> Path:
        directory = tmp_path / f"module{next(counter)}"
        directory.mkdir()
        for stem, text in {"main": main, **files}.items():
            (directory / f"{stem}.tf").write_text(dedent(text))
        return directory

    return write
