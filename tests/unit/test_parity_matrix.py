"""The parity-matrix checker: the real matrix passes, and each kind of dishonesty is caught.

Most tests check one rule on a one-row matrix in a tiny repository, with a stand-in for the
pytest collection (so they stay fast). The tests of what pytest's collection reveals (skipped,
xfail, fixtures, helpers, collection errors) share one real collection of a repository full of
such cases, made once per module by the checker's own pytest subprocess.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "parity_matrix", REPO / "scripts/parity_matrix.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


pm = _load_checker()

HEADER = ",".join(pm.COLUMNS)
TEST_SOURCE = """
def test_ok():
    pass


class TestGroup:
    def test_inside(self):
        pass
"""
ADR_SOURCE = """# Deviations

## Decision

1. **The first deviation.** Text.
2. **The second.** Text.

<a id="custom-anchor"></a>
"""


def good_row(**overrides: str) -> dict[str, str]:
    row = {
        "id": "FND-01",
        "area": "Foundation",
        "capability": "Something testable",
        "arco_feature": "A feature",
        "status": "Implemented",
        "proof_level": "unit",
        "code": "core/arco/thing.py",
        "tests": "tests/unit/test_thing.py::test_ok",
        "ci": "make test",
        "owner": "foundation",
        "notes": "",
    }
    row.update(overrides)
    return row


def make_repo(root: Path, rows: list[dict[str, str]], render: bool = True) -> Path:
    """A tiny repository with one code file, one test file, one ADR and a matrix of `rows`."""
    (root / "core/arco").mkdir(parents=True)
    (root / "core/arco/thing.py").write_text("VALUE = 1\n")
    (root / "tests/unit").mkdir(parents=True)
    (root / "tests/unit/test_thing.py").write_text(TEST_SOURCE)
    (root / "docs/adr").mkdir(parents=True)
    (root / "docs/adr/0008-deviations.md").write_text(ADR_SOURCE)
    (root / "docs/parity").mkdir(parents=True)
    lines = [HEADER]
    for row in rows:
        lines.append(",".join(f'"{row[c]}"' for c in pm.COLUMNS))
    (root / pm.CSV_PATH).write_text("\n".join(lines) + "\n")
    if render:
        assert pm.main(["render", "--root", str(root)]) == 0
    return root


def collected_as_written(root: Path, files: Sequence[str]) -> Any:
    """A stand-in for pytest: every `test_*` function of TEST_SOURCE, collected and runnable."""
    ids = ["test_ok", "TestGroup::test_inside"]
    return pm.Collection(
        items={
            f"{path}::{name}": pm.Collected(f"{path}::{name}")
            for path in files
            if path == "tests/unit/test_thing.py"
            for name in ids
        }
    )


def problems_for(tmp_path: Path, **overrides: str) -> list[str]:
    root = make_repo(tmp_path, [good_row(**overrides)])
    problems: list[str] = pm.check(root, collector=collected_as_written)
    return problems


# --- the real matrix ---------------------------------------------------------------------------


def test_row_fields_match_the_csv_header() -> None:
    assert tuple(f.name for f in fields(pm.Row)) == pm.COLUMNS


def test_the_real_matrix_passes() -> None:
    assert pm.check(REPO) == []


def test_the_real_matrix_has_every_status_known_a_ci_command_and_an_owner() -> None:
    rows = pm.read_rows(REPO / pm.CSV_PATH)
    assert len(rows) >= 40
    assert {row.status for row in rows} <= set(pm.STATUSES)
    assert all(row.ci == "make test" for row in rows)
    assert {row.owner for row in rows} <= set(pm.OWNERS)


# --- static rules ------------------------------------------------------------------------------


def test_a_healthy_small_matrix_passes_with_the_real_collection(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(
        tmp_path, [good_row(), good_row(id="FND-02", tests="tests/unit/test_thing.py")]
    )
    assert pm.check(root) == []
    assert pm.main(["check", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "parity matrix OK: 2 rows (Implemented 2," in out
    assert "2 tests collected" in out


def test_a_class_method_node_id_is_found(tmp_path: Path) -> None:
    assert problems_for(tmp_path, tests="tests/unit/test_thing.py::TestGroup::test_inside") == []


def test_missing_test_file_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, tests="tests/unit/test_gone.py::test_ok")
    assert problems == [
        "FND-01: test 'tests/unit/test_gone.py::test_ok': file tests/unit/test_gone.py "
        "does not exist"
    ]


def test_missing_test_function_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, tests="tests/unit/test_thing.py::test_renamed")
    assert len(problems) == 1
    assert "defines no function or class 'test_renamed'" in problems[0]


def test_a_method_outside_its_class_is_not_found(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, tests="tests/unit/test_thing.py::TestGroup::test_ok")
    assert len(problems) == 1 and "TestGroup::test_ok" in problems[0]


@pytest.mark.parametrize(
    "ref", ["tests/unit/test_thing.py::", "tests/unit/test_thing.py::test_ok[]"]
)
def test_malformed_node_ids_are_refused(tmp_path: Path, ref: str) -> None:
    problems = problems_for(tmp_path, tests=ref)
    assert len(problems) == 1 and "malformed test id" in problems[0], problems


def test_implemented_without_code_is_reported(tmp_path: Path) -> None:
    assert problems_for(tmp_path, code="") == ["FND-01: Implemented but names no code"]


def test_implemented_without_tests_or_ci_is_reported(tmp_path: Path) -> None:
    assert problems_for(tmp_path, tests="", ci="") == [
        "FND-01: Implemented but names no test",
        "FND-01: Implemented but names no CI command",
    ]


def test_missing_code_path_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, code="core/arco/thing.py;core/arco/other.py")
    assert problems == ["FND-01: code path core/arco/other.py does not exist"]


def test_paths_outside_the_repository_are_refused(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, code="../secret.py")
    assert problems == ["FND-01: code '../secret.py': use a repo-relative path"]


def test_unknown_status_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, status="Done")
    assert len(problems) == 1 and "unknown status 'Done'" in problems[0]


def test_partial_without_notes_is_reported(tmp_path: Path) -> None:
    assert problems_for(tmp_path, status="Partial") == [
        "FND-01: Partial rows must explain themselves in notes"
    ]


def test_a_missing_owner_is_reported(tmp_path: Path) -> None:
    assert problems_for(tmp_path, owner="") == ["FND-01: empty owner"]


def test_an_owner_outside_the_fixed_set_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, owner="alice")
    assert len(problems) == 1 and "unknown owner 'alice'" in problems[0]


def test_a_wrong_proof_level_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, proof_level="integration")
    assert problems == [
        "FND-01: proof_level 'integration' needs a cited test under tests/integration or "
        "tests/stack or tests/infra or tests/contract; the cited tests are under tests/unit"
    ]


def test_a_proof_level_is_met_by_any_one_cited_test(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row(proof_level="integration")])
    (root / "tests/integration").mkdir()
    (root / "tests/integration/test_flow.py").write_text("def test_flow():\n    pass\n")
    row = pm.Row(
        **good_row(
            proof_level="integration",
            tests="tests/unit/test_thing.py::test_ok;tests/integration/test_flow.py",
        )
    )
    assert pm._level_problems(row, row.id) == []
    assert set(pm.PROOF_DIRS) == set(pm.PROOF_LEVELS)


def test_an_unknown_proof_level_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, proof_level="vibes")
    assert len(problems) == 1 and "unknown proof_level 'vibes'" in problems[0]


def test_an_exception_linking_its_adr_entry_passes(tmp_path: Path) -> None:
    for anchor in ("entry-2", "decision", "custom-anchor"):
        notes = f"See docs/adr/0008-deviations.md#{anchor}."
        assert problems_for(tmp_path / anchor, status="Exception", notes=notes) == []


def test_an_exception_without_an_adr_link_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, status="Exception", notes="Deliberate, trust me.")
    assert problems == [
        "FND-01: Exception notes must link the ADR entry that records the deviation "
        "(docs/adr/<file>.md#<anchor>)"
    ]


def test_an_exception_linking_the_adr_file_without_an_entry_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, status="Exception", notes="See docs/adr/0008-deviations.md")
    assert len(problems) == 1 and "must link the ADR entry" in problems[0]


def test_an_exception_linking_an_entry_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    notes = "See docs/adr/0008-deviations.md#entry-3"
    problems = problems_for(tmp_path, status="Exception", notes=notes)
    assert problems == [
        "FND-01: notes link docs/adr/0008-deviations.md#entry-3, but "
        "docs/adr/0008-deviations.md has no anchor 'entry-3'",
        "FND-01: Exception notes must link the ADR entry that records the deviation "
        "(docs/adr/<file>.md#<anchor>)",
    ]


def test_notes_linking_a_missing_doc_are_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, notes="Design: docs/design/gone.md.")
    assert problems == ["FND-01: notes link docs/design/gone.md, which does not exist"]


def test_anchors_are_headings_explicit_ids_and_numbered_entries() -> None:
    text = "# Title\n## A `code` heading, with punctuation!\n## Dup\n## Dup\n```\n# not\n```\n"
    text += '1. first\n  2. nested is not an entry\n10. tenth\n<a name="n1"></a> <span id="i1">\n'
    assert pm.anchors(text) == {
        "title",
        "a-code-heading-with-punctuation",
        "dup",
        "dup-1",
        "entry-1",
        "entry-10",
        "n1",
        "i1",
    }


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row(), good_row()])
    assert pm.check(root, collector=collected_as_written) == ["FND-01: id used 2 times"]


def test_stale_markdown_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row()])
    md = root / pm.MD_PATH
    md.write_text(md.read_text().replace("Something testable", "Something else"))
    problems = pm.check(root, collector=collected_as_written)
    assert len(problems) == 1 and "out of date with the CSV" in problems[0]


def test_missing_markdown_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row()], render=False)
    problems = pm.check(root, collector=collected_as_written)
    assert len(problems) == 1 and "is missing" in problems[0]


def test_wrong_header_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, [good_row()])
    csv_path = root / pm.CSV_PATH
    csv_path.write_text(csv_path.read_text().replace("proof_level", "proof", 1))
    problems = pm.check(root, collector=collected_as_written)
    assert len(problems) == 1 and "header must be" in problems[0]
    assert pm.main(["check", "--root", str(root)]) == 1
    assert "header must be" in capsys.readouterr().err


def test_render_groups_rows_by_area_and_escapes_pipes() -> None:
    rows = [
        pm.Row(**good_row(capability="keys joined with `|`")),
        pm.Row(**good_row(id="SCH-01", area="Scheduling", status="Planned", code="", tests="")),
    ]
    text = pm.render(rows)
    assert text.index("## Foundation") < text.index("## Scheduling")
    assert "keys joined with `\\|`" in text
    assert "Rows: 2 (Implemented 1, Partial 0, Designed 0, Planned 1, Exception 0)." in text
    assert "| tests | ci | owner | notes |" in text
    assert "| `make test` | foundation |" in text


# --- what pytest's collection reveals ----------------------------------------------------------

CASES = """
import pytest


def test_ok():
    pass


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.skipif(True, reason="always true here")
def test_skipped_if_true():
    pass


@pytest.mark.skipif(False, reason="only where the tool is missing")
def test_skipped_elsewhere():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(False, reason="never here")
def test_xfail_that_does_not_apply():
    pass


@pytest.fixture
def a_fixture():
    return 1


def helper():
    pass


@pytest.mark.parametrize(
    "n", [1, pytest.param(2, marks=pytest.mark.xfail(strict=True, reason="two is broken"))]
)
def test_params(n):
    assert n == 1


@pytest.mark.skip(reason="the whole class")
class TestSkippedGroup:
    def test_inside(self):
        pass
"""
MODULES = {
    "tests/unit/test_cases.py": CASES,
    "tests/unit/test_all_fine.py": "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n",
    "tests/unit/test_module_xfail.py": (
        "import pytest\n\npytestmark = pytest.mark.xfail(reason='the module')\n\n\n"
        "def test_m():\n    assert False\n"
    ),
    "tests/unit/test_module_skip.py": (
        "import pytest\n\npytest.skip('not on this platform', allow_module_level=True)\n\n\n"
        "def test_never():\n    pass\n"
    ),
    "tests/unit/test_broken.py": "import not_a_module_anywhere\n\n\ndef test_x():\n    pass\n",
    "tests/unit/test_nothing.py": "def helper():\n    pass\n",
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A repository full of cases, collected once by the checker's real pytest subprocess."""
    root = tmp_path_factory.mktemp("cases")
    for path, source in {**MODULES, "core/arco/thing.py": "VALUE = 1\n"}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(source)
    return root, pm.collect_tests(root, sorted(MODULES))


def problems_of(collected: tuple[Path, Any], tests: str) -> list[str]:
    root, collection = collected
    assert collection.failure is None, collection.failure
    problems: list[str] = pm.row_problems([pm.Row(**good_row(tests=tests))], root, collection)
    return problems


def test_a_collected_runnable_test_passes(collected: tuple[Path, Any]) -> None:
    assert problems_of(collected, "tests/unit/test_cases.py::test_ok") == []
    assert problems_of(collected, "tests/unit/test_all_fine.py") == []


def test_a_skipped_test_is_reported(collected: tuple[Path, Any]) -> None:
    assert problems_of(collected, "tests/unit/test_cases.py::test_skipped") == [
        "FND-01: test 'tests/unit/test_cases.py::test_skipped': test_skipped is skipped here "
        "(not today)"
    ]


def test_a_skipif_that_applies_here_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py::test_skipped_if_true")
    assert len(problems) == 1 and "is skipped here (always true here)" in problems[0]


def test_a_skipif_that_does_not_apply_here_passes_and_is_noted(
    collected: tuple[Path, Any],
) -> None:
    ref = "tests/unit/test_cases.py::test_skipped_elsewhere"
    assert problems_of(collected, ref) == []
    rows = [pm.Row(**good_row(tests=ref))]
    assert pm.conditional_skips(rows, collected[1]) == [
        "FND-01: tests/unit/test_cases.py::test_skipped_elsewhere runs here but is skipped "
        "when: only where the tool is missing"
    ]


def test_a_test_in_a_skipped_class_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py::TestSkippedGroup::test_inside")
    assert len(problems) == 1 and "is skipped here (the whole class)" in problems[0]


def test_an_xfail_test_is_reported(collected: tuple[Path, Any]) -> None:
    assert problems_of(collected, "tests/unit/test_cases.py::test_xfail") == [
        "FND-01: test 'tests/unit/test_cases.py::test_xfail': test_xfail is marked xfail "
        "(known bug)"
    ]
    assert problems_of(collected, "tests/unit/test_cases.py::test_xfail_that_does_not_apply") == []


def test_an_xfail_case_of_a_parametrized_test_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py::test_params")
    assert len(problems) == 1
    assert "test_params[2] is marked xfail (two is broken)" in problems[0]
    assert problems_of(collected, "tests/unit/test_cases.py::test_params[1]") == []
    missing = problems_of(collected, "tests/unit/test_cases.py::test_params[3]")
    assert len(missing) == 1 and "collects no case [3] of 'test_params'" in missing[0]


def test_a_file_with_a_skipped_or_xfail_test_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py")
    assert len(problems) == 5  # skip, skipif, xfail, xfail[2], the skipped class' test
    assert problems_of(collected, "tests/unit/test_module_xfail.py") == [
        "FND-01: test 'tests/unit/test_module_xfail.py': test_m is marked xfail (the module)"
    ]


def test_a_module_skipped_at_import_is_reported(collected: tuple[Path, Any]) -> None:
    assert problems_of(collected, "tests/unit/test_module_skip.py::test_never") == [
        "FND-01: test 'tests/unit/test_module_skip.py::test_never': "
        "tests/unit/test_module_skip.py is skipped as a whole: not on this platform"
    ]


def test_a_fixture_is_not_a_test(collected: tuple[Path, Any]) -> None:
    assert problems_of(collected, "tests/unit/test_cases.py::a_fixture") == [
        "FND-01: test 'tests/unit/test_cases.py::a_fixture': 'a_fixture' is a pytest fixture, "
        "not a test"
    ]


def test_a_helper_is_not_a_test(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py::helper")
    assert len(problems) == 1 and "'helper' is not collected by pytest as a test" in problems[0]
    problems = problems_of(collected, "tests/unit/test_nothing.py")
    assert problems == [
        "FND-01: test 'tests/unit/test_nothing.py': pytest collects no test from "
        "tests/unit/test_nothing.py"
    ]


def test_a_missing_test_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_cases.py::test_gone")
    assert len(problems) == 1 and "defines no function or class 'test_gone'" in problems[0]


def test_a_file_that_fails_to_collect_is_reported(collected: tuple[Path, Any]) -> None:
    problems = problems_of(collected, "tests/unit/test_broken.py::test_x")
    assert len(problems) == 1
    assert "tests/unit/test_broken.py fails to collect" in problems[0]
    assert "not_a_module_anywhere" in problems[0]


def test_check_reports_a_skipped_test_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo(tmp_path, [good_row(tests="tests/unit/test_thing.py::test_ok")])
    (root / "tests/unit/test_thing.py").write_text(
        "import pytest\n\n\n@pytest.mark.skip(reason='later')\ndef test_ok():\n    pass\n"
    )
    assert pm.main(["check", "--root", str(root)]) == 1
    assert "test_ok is skipped here (later)" in capsys.readouterr().err
