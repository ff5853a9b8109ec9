"""Printing for the CLI: JSON for scripts, rich tables for people, errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_model(model: Any, value: Any) -> None:
    """Print `value` as the API's response model `model` (a model class, or `list[Model]`): the
    `--json` of a command is the same shape, checked the same way, as the HTTP API's answer."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(model)
    checked = adapter.validate_python(value)
    print_json(adapter.dump_python(checked, mode="json", exclude_unset=True))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index == 0)  # names stay whole and greppable
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


STATUS_STYLE = {"ok": "[green]ok[/]", "warning": "[yellow]warning[/]", "error": "[red]error[/]"}
