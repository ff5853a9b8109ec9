"""A code location that cannot load is refused at deploy, naming the culprit and where."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from arco.domain.errors import InvalidInput
from arco.services.code_location import load_definitions


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:defs"


def test_a_resource_with_config_that_does_not_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _module(
        tmp_path,
        monkeypatch,
        "bad_resource_location",
        """
        import arco as dg

        class Client(dg.ConfigurableResource):
            pages: int

        defs = dg.Definitions(resources={"client": Client(pages="many")})
        """,
    )
    with pytest.raises(InvalidInput) as raised:
        load_definitions(reference)
    message = str(raised.value)
    assert "loading 'bad_resource_location' failed at " in message
    assert "bad_resource_location.py:7" in message and "ValidationError" in message
    assert "pages" in message


def test_a_config_class_that_cannot_be_checked_at_launch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _module(
        tmp_path,
        monkeypatch,
        "bad_config_location",
        """
        import arco as dg
        from pydantic import ConfigDict

        class Opaque:
            pass

        class Settings(dg.Config):
            model_config = ConfigDict(arbitrary_types_allowed=True)
            thing: Opaque

        @dg.asset
        def configured(config: Settings) -> None: ...

        defs = dg.Definitions(assets=[configured])
        """,
    )
    with pytest.raises(InvalidInput, match="asset 'configured': config class Settings cannot"):
        load_definitions(reference)
