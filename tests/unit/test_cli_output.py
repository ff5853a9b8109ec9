"""The CLI's tables: drawn and shortened on a terminal, whole and tab-separated when piped."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from rich.console import Console

from arco.cli import output

LONG_ID = "run_01jf9k2m3n4p5q6r7s8t9v0w1x2y3z4a5b6c7d8e9f0g"


def test_piped_tables_are_whole_tab_separated_values(capsys: pytest.CaptureFixture[str]) -> None:
    output.print_table(
        "runs",
        ["run", "status", "error"],
        [
            (LONG_ID, "[red]FAILURE[/]", "line one\nline\ttwo"),
            ("r2", None, "a \\ b"),
        ],
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "run\tstatus\terror",
        f"{LONG_ID}\tFAILURE\tline one\\nline\\ttwo",
        "r2\t\ta \\\\ b",
    ]


def test_piped_values_are_never_shortened() -> None:
    assert output.shorten("6b86b273ff34fce19d6b", 12, keep=6) == "6b86b273ff34fce19d6b"


def test_on_a_terminal_tables_are_drawn_and_long_values_shortened(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=60, color_system=None)
    monkeypatch.setattr(output, "console", terminal)
    assert output.shorten("6b86b273ff34fce19d6b", 12, keep=6) == "6b86b2…"
    assert output.shorten("short", 12) == "short"
    output.print_table("runs", ["run", "status"], [("r1", "[red]FAILURE[/]")])
    drawn = buffer.getvalue()
    assert "│ r1" in drawn and "FAILURE" in drawn and "[red]" not in drawn


def test_a_long_message_is_not_wrapped_when_piped() -> None:
    """Rich wraps at 80 columns off a terminal unless told not to: a piped line stays whole."""
    message = "x" * 200
    out = subprocess.run(
        [sys.executable, "-c", f"from arco.cli.output import console; console.print({message!r})"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == message + "\n"
