"""The parity-matrix checker: the real matrix passes, and each kind of dishonesty is caught."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import fields
from pathlib import Path
from types import ModuleType

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
        "notes": "",
    }
    row.update(overrides)
    return row


def make_repo(root: Path, rows: list[dict[str, str]], render: bool = True) -> Path:
    """A tiny repository with one code file, one test file, one doc and a matrix of `rows`."""
    (root / "core/arco").mkdir(parents=True)
    (root / "core/arco/thing.py").write_text("VALUE = 1\n")
    (root / "tests/unit").mkdir(parents=True)
    (root / "tests/unit/test_thing.py").write_text(TEST_SOURCE)
    (root / "docs/adr").mkdir(parents=True)
    (root / "docs/adr/0008-deviations.md").write_text("# Deviations\n")
    (root / "docs/parity").mkdir(parents=True)
    lines = [HEADER]
    for row in rows:
        lines.append(",".join(f'"{row[c]}"' for c in pm.COLUMNS))
    (root / pm.CSV_PATH).write_text("\n".join(lines) + "\n")
    if render:
        assert pm.main(["render", "--root", str(root)]) == 0
    return root


def problems_for(tmp_path: Path, **overrides: str) -> list[str]:
    problems: list[str] = pm.check(make_repo(tmp_path, [good_row(**overrides)]))
    return problems


def test_row_fields_match_the_csv_header() -> None:
    assert tuple(f.name for f in fields(pm.Row)) == pm.COLUMNS


def test_the_real_matrix_passes() -> None:
    assert pm.check(REPO) == []


def test_the_real_matrix_has_every_status_known_and_a_ci_command() -> None:
    rows = pm.read_rows(REPO / pm.CSV_PATH)
    assert len(rows) >= 40
    assert {row.status for row in rows} <= set(pm.STATUSES)
    assert all(row.ci == "make test" for row in rows)


def test_a_healthy_small_matrix_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(
        tmp_path, [good_row(), good_row(id="FND-02", tests="tests/unit/test_thing.py")]
    )
    assert pm.check(root) == []
    assert pm.main(["check", "--root", str(root)]) == 0
    assert "parity matrix OK: 2 rows (Implemented 2," in capsys.readouterr().out


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


def test_parametrized_node_ids_are_refused(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, tests="tests/unit/test_thing.py::test_ok[memory]")
    assert len(problems) == 1 and "without parametrization" in problems[0]


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


def test_exception_must_link_an_existing_doc(tmp_path: Path) -> None:
    linked = problems_for(tmp_path, status="Exception", notes="See docs/adr/0008-deviations.md.")
    assert linked == []


def test_exception_linking_no_doc_is_reported(tmp_path: Path) -> None:
    problems = problems_for(tmp_path, status="Exception", notes="See docs/adr/9999-nothing.md")
    assert problems == ["FND-01: Exception notes must link an existing file in docs/"]


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row(), good_row()])
    assert pm.check(root) == ["FND-01: id used 2 times"]


def test_stale_markdown_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(tmp_path, [good_row()])
    md = root / pm.MD_PATH
    md.write_text(md.read_text().replace("Something testable", "Something else"))
    problems = pm.check(root)
    assert len(problems) == 1 and "out of date with the CSV" in problems[0]
    assert pm.main(["check", "--root", str(root)]) == 1
    assert "out of date with the CSV" in capsys.readouterr().err


def test_missing_markdown_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row()], render=False)
    problems = pm.check(root)
    assert len(problems) == 1 and "is missing" in problems[0]


def test_wrong_header_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path, [good_row()])
    csv_path = root / pm.CSV_PATH
    csv_path.write_text(csv_path.read_text().replace("proof_level", "proof", 1))
    problems = pm.check(root)
    assert len(problems) == 1 and "header must be" in problems[0]


def test_render_groups_rows_by_area_and_escapes_pipes() -> None:
    rows = [
        pm.Row(**good_row(capability="keys joined with `|`")),
        pm.Row(**good_row(id="SCH-01", area="Scheduling", status="Planned", code="", tests="")),
    ]
    text = pm.render(rows)
    assert text.index("## Foundation") < text.index("## Scheduling")
    assert "keys joined with `\\|`" in text
    assert "Rows: 2 (Implemented 1, Partial 0, Designed 0, Planned 1, Exception 0)." in text
