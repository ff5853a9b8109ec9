"""Printing for the CLI: JSON for scripts, rich tables for people, errors on stderr.

On a terminal, tables are drawn (and cut to its width); piped or redirected, they are written
whole, tab-separated with a header line, and long lines are never wrapped, as `gh` does."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
from rich.table import Table
from rich.text import Text

console = Console(soft_wrap=not sys.stdout.isatty())
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_model(model: Any, value: Any) -> None:
    """Print `value` as the API's response model `model` (a model class, or `list[Model]`): the
    `--json` of a command is the same shape, checked the same way, as the HTTP API's answer."""
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(model)
    checked = adapter.validate_python(value)
    print_json(adapter.dump_python(checked, mode="json", exclude_unset=True))


def shorten(text: str, width: int, keep: int | None = None) -> str:
    """`text` cut to its first `keep` (width - 1) characters and '…' when longer than `width`,
    on a terminal only: piped, values stay whole."""
    if len(text) <= width or not console.is_terminal:
        return text
    return text[: width - 1 if keep is None else keep] + "…"


def _cell(value: Any, markup: bool) -> str:
    """A whole value on one line (its markup rendered when it has some): tabs and line breaks
    would split it."""
    text = "" if value is None else str(value)
    if markup:
        with contextlib.suppress(MarkupError):  # not markup after all: the value as it is
            text = Text.from_markup(text).plain
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def print_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], markup: bool = True
) -> None:
    """Rows of values (with rich markup when `markup`; raw data such as `arco sql` results
    pass False, so brackets in them are printed as they are)."""
    if not console.is_terminal:
        lines = [
            "\t".join(columns),
            *("\t".join(_cell(v, markup) for v in row) for row in rows),
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, no_wrap=index == 0)  # names stay whole and greppable
    for row in rows:
        cells = ["" if v is None else str(v) for v in row]
        table.add_row(*(cells if markup else [escape(c) for c in cells]))
    console.print(table)


STATUS_STYLE = {"ok": "[green]ok[/]", "warning": "[yellow]warning[/]", "error": "[red]error[/]"}
