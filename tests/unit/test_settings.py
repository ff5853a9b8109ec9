"""Workspace settings: the catalogue operators read in docs/operations.md, and how values given
as JSON or CLI text are read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from arco.domain.errors import InvalidInput
from arco.domain.settings import SETTINGS, parse_setting_value

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _documented() -> dict[str, tuple[str, str, str]]:
    rows = re.findall(
        r"^\| `([a-z_.]+)` \| (bool|int) \| `([^`]+)` \| (.+) \|$", OPERATIONS.read_text(), re.M
    )
    return {name: (kind, default, meaning) for name, kind, default, meaning in rows}


def test_every_setting_is_documented_with_its_type_default_and_meaning() -> None:
    def shown(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    catalogue = {
        name: (spec.type.__name__, shown(spec.default), spec.description)
        for name, spec in SETTINGS.items()
    }
    assert catalogue == _documented()


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("gc.enabled", True, True),
        ("gc.enabled", False, False),
        ("gc.enabled", "TRUE", True),
        ("gc.enabled", "false", False),
        ("gc.grace_minutes", 0, 0),
        ("gc.grace_minutes", 90, 90),
        ("gc.grace_minutes", "90", 90),
    ],
)
def test_values_are_read_as_the_settings_type(name: str, raw: Any, value: Any) -> None:
    parsed = parse_setting_value(name, raw)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("gc.enabled", "yes"),
        ("gc.enabled", 1),
        ("gc.grace_minutes", -1),
        ("gc.grace_minutes", True),
        ("gc.grace_minutes", "1.5"),
        ("gc.grace_minutes", "-1"),
        ("gc.grace_minutes", 1.0),
    ],
)
def test_a_value_of_another_type_is_refused_by_name(name: str, raw: Any) -> None:
    with pytest.raises(InvalidInput, match=f"setting '{name}' needs a (bool|int) value, got"):
        parse_setting_value(name, raw)


def test_an_unknown_setting_lists_the_known_ones() -> None:
    with pytest.raises(
        InvalidInput, match=r"unknown setting 'gc.enable'; known settings: automation"
    ):
        parse_setting_value("gc.enable", True)
