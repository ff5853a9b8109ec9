"""The mutation record (docs/parity/mutation.md) stays attached to the code: every mutant it
calls equivalent is a mutant of the current source, and a mutant's key does not move when code
elsewhere in its module does."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_tool", REPO / "scripts/mutate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_listed_equivalent_is_a_mutant_of_the_current_code() -> None:
    mutate = _mutate()
    equivalents = mutate._equivalents()
    assert len(equivalents) > 200  # the table was found
    modules = sorted({key.split(":", 1)[0] for key in equivalents})
    alive = {m.key for module in modules for m in mutate.discover(module)}
    stale = sorted(key for key in equivalents if key not in alive)
    assert not stale, (
        "docs/parity/mutation.md lists equivalents that are no longer mutants of the code "
        "(rerun scripts/mutate.py on the module and list them again): " + "\n".join(stale)
    )


def test_keys_survive_edits_elsewhere_in_the_module() -> None:
    mutate = _mutate()
    module = "domain/fold.py"
    source = (REPO / "core/arco" / module).read_text()
    before = [m.key for m in mutate.discover(module, source)]
    edited = source + "\n\ndef _added_later(x: int) -> int:\n    return x + 1\n"
    edited = "# a comment that shifts every line\n" * 7 + edited
    after = [m.key for m in mutate.discover(module, edited)]
    assert set(before) <= set(after)
    assert {key.split(":")[1] for key in set(after) - set(before)} == {"_added_later"}
    assert len(set(before)) == len(before)  # every mutant has its own key
    assert {m.line for m in mutate.discover(module, edited)} != {
        m.line for m in mutate.discover(module, source)
    }


def test_identical_changes_in_one_scope_are_numbered() -> None:
    mutate = _mutate()
    source = "def f(a, b):\n    return a + 1, b + 1\n"
    keys = [m.key for m in mutate.discover("domain/fold.py", source) if m.kind == "binop"]
    assert keys == [
        "domain/fold.py:f:binop:+ -> - in a + 1",
        "domain/fold.py:f:binop:+ -> - in b + 1",
    ]
    consts = [m.key for m in mutate.discover("domain/fold.py", source) if m.kind == "const"]
    assert consts == ["domain/fold.py:f:const:1 -> 2", "domain/fold.py:f:const:1 -> 2#2"]
