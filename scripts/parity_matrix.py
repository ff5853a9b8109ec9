"""The Dagster parity matrix: render `matrix.md` from `matrix.csv`, and check that both are honest.

    python scripts/parity_matrix.py render   # docs/parity/matrix.csv -> docs/parity/matrix.md
    python scripts/parity_matrix.py check    # exit 1 with a list of problems; else a summary

The CSV is the source of truth; the markdown is generated. The rules come from
docs/parity/charter.md: an Implemented row names code that exists, tests that pytest collects
and would run (not skipped, not xfail, not a fixture or a helper) at the proof level the row
claims, the CI command and an owner; a Partial row says what is missing; an Exception row links
the ADR entry that records the deliberate difference.

`check` runs pytest once, `--collect-only`, over every cited test file, with this file loaded
as a plugin (`-p parity_matrix`): at the end of collection the plugin writes, for each
collected item, whether its skip / skipif / xfail marks (on the function, its class, its
module's `pytestmark` or its `pytest.param`) apply here, using pytest's own evaluation. A
`pytest.skip()` called while a test or fixture runs cannot be seen at collection; the suite's
fixtures fail instead of skipping when `CI` is set.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
CSV_PATH = Path("docs/parity/matrix.csv")
MD_PATH = Path("docs/parity/matrix.md")

COLUMNS = (
    "id",
    "area",
    "capability",
    "arco_feature",
    "status",
    "proof_level",
    "code",
    "tests",
    "ci",
    "owner",
    "notes",
)
STATUSES = ("Implemented", "Partial", "Designed", "Planned", "Exception")
NEEDS_NOTES = ("Partial", "Exception")

# Where a test must live to prove a row at each proof level: a row's proof level is met when
# at least one of its cited tests lives under one of these directories.
PROOF_DIRS: dict[str, tuple[str, ...]] = {
    "unit": ("tests/unit",),
    "property": ("tests/property",),
    "contract": ("tests/contract",),
    "integration": ("tests/integration", "tests/stack", "tests/infra", "tests/contract"),
    "e2e": ("tests/stack",),
}
PROOF_LEVELS = tuple(PROOF_DIRS)

# Who answers for a row. One word per area of the code base, not a person.
OWNERS: dict[str, str] = {
    "foundation": "storage protocol, ledger, compaction, rebuild, doctor, gc",
    "scheduling": "schedules, sensors, the timer's automation steps",
    "partitions": "partition definitions, mappings, backfills, partition status",
    "runs": "runs, run identity, re-execution, operator UX",
    "staleness": "staleness report and reconciliation",
    "security": "authentication, roles, workspaces",
    "deployment": "terraform, packaging, the local stack, limits",
    "definitions": "the user API: assets, resources, config, IO managers, jobs, checks",
}

_DOCS_LINK = re.compile(r"docs/[A-Za-z0-9_./-]*[A-Za-z0-9_/-](?:#[A-Za-z0-9_-]+)?")
_ADR_LINK = re.compile(r"^docs/adr/[A-Za-z0-9_.-]+\.md#")
_COLLECT_REPORT_ENV = "PARITY_MATRIX_COLLECT_REPORT"
_COLLECT_TIMEOUT_S = 300


class MatrixError(Exception):
    """The CSV cannot be read as a matrix at all (missing file, wrong header)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One matrix row, exactly as in the CSV."""

    id: str
    area: str
    capability: str
    arco_feature: str
    status: str
    proof_level: str
    code: str
    tests: str
    ci: str
    owner: str
    notes: str

    @property
    def code_paths(self) -> list[str]:
        return _split(self.code)

    @property
    def test_refs(self) -> list[str]:
        return _split(self.tests)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def read_rows(csv_path: Path) -> list[Row]:
    """The rows of the matrix CSV; raises MatrixError if it is missing or its header is wrong."""
    if not csv_path.is_file():
        raise MatrixError(f"{csv_path} does not exist")
    with csv_path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise MatrixError(
                f"{csv_path}: header must be {','.join(COLUMNS)}, "
                f"got {','.join(reader.fieldnames or ())}"
            )
        return [Row(**{c: (record.get(c) or "").strip() for c in COLUMNS}) for record in reader]


# ---------------------------------------------------------------------------------------------
# Rendering


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _path_links(refs: Sequence[str]) -> str:
    links = []
    for ref in refs:
        path = ref.split("::", 1)[0]
        # Links are relative to docs/parity/, where matrix.md lives.
        links.append(f"[`{_cell(ref)}`](../../{path})")
    return "<br>".join(links)


def status_counts(rows: Sequence[Row]) -> Counter[str]:
    return Counter(row.status for row in rows)


def _counts_text(rows: Sequence[Row]) -> str:
    counts = status_counts(rows)
    return ", ".join(f"{status} {counts.get(status, 0)}" for status in STATUSES)


def render(rows: Sequence[Row]) -> str:
    """The markdown form of the matrix: a header with the rules, then one table per area."""
    out = [
        "# Dagster parity matrix",
        "",
        "<!-- Generated by `python scripts/parity_matrix.py render` from matrix.csv. "
        "Do not edit by hand. -->",
        "",
        "Source of truth: [`matrix.csv`](matrix.csv). Scope and rules: [charter](charter.md).",
        "Edit the CSV, run `python scripts/parity_matrix.py render`, commit both files.",
        "`make parity` (part of `make test`) runs `scripts/parity_matrix.py check`, which fails "
        "when:",
        "",
        "- this file is not what `render` produces from the CSV;",
        "- a row has an unknown status, proof level or owner, or a duplicate id;",
        "- an **Implemented** row lacks code, tests, the CI command or an owner;",
        "- a code path or test file does not exist;",
        "- a cited test is not collected by pytest (a typo, a fixture, a helper, a collection "
        "error), or is skipped or xfail here;",
        "- no cited test lives where the row's proof level says (unit: `tests/unit`; property: "
        "`tests/property`; contract: `tests/contract`; integration: `tests/integration`, "
        "`tests/stack`, `tests/infra` or `tests/contract`; e2e: `tests/stack`);",
        "- a **Partial** row does not say what is missing, an **Exception** row does not link "
        "its ADR entry (`docs/adr/<file>.md#<anchor>`), or a linked doc or anchor does not "
        "exist.",
        "",
        "Statuses: **Implemented** (code + CI-run test), **Partial** (notes say what is missing),",
        "**Designed** (documented, not proven), **Planned** (intended), **Exception** (deliberate",
        "difference, documented).",
        "",
        f"Rows: {len(rows)} ({_counts_text(rows)}).",
    ]
    areas: list[str] = []
    for row in rows:
        if row.area not in areas:
            areas.append(row.area)
    for area in areas:
        out += [
            "",
            f"## {_cell(area)}",
            "",
            "| id | capability | Arco feature | status | proof | code | tests | ci | owner "
            "| notes |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            if row.area != area:
                continue
            cells = [
                _cell(row.id),
                _cell(row.capability),
                _cell(row.arco_feature),
                f"**{_cell(row.status)}**",
                _cell(row.proof_level),
                _path_links(row.code_paths),
                _path_links(row.test_refs),
                f"`{_cell(row.ci)}`" if row.ci else "",
                _cell(row.owner),
                _cell(row.notes),
            ]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Collecting the cited tests (one pytest --collect-only subprocess)


@dataclass(frozen=True, slots=True)
class Collected:
    """One item pytest collected, with the skip and xfail marks that apply to it here."""

    nodeid: str
    skip: str | None = None  # the reason, when a skip or a true skipif applies
    xfail: str | None = None  # the reason, when an xfail applies
    conditional_skips: tuple[str, ...] = ()  # reasons of skipif marks that do not apply here


@dataclass(slots=True)
class Collection:
    """What pytest collected from the cited files."""

    items: dict[str, Collected] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # file -> why it failed to collect
    skipped_files: dict[str, str] = field(default_factory=dict)  # file -> module-level skip
    failure: str | None = None  # pytest itself did not run or report

    def file_items(self, path: str) -> list[Collected]:
        prefix = path + "::"
        return [item for nodeid, item in self.items.items() if nodeid.startswith(prefix)]


Collector = Callable[[Path, Sequence[str]], Collection]


def collect_tests(root: Path, files: Sequence[str]) -> Collection:
    """Collect `files` (repo-relative) with pytest in one subprocess, reporting marks."""
    if not files:
        return Collection()
    with tempfile.TemporaryDirectory(prefix="parity-collect-") as tmp:
        report = Path(tmp) / "collected.json"
        env = dict(os.environ)
        env[_COLLECT_REPORT_ENV] = str(report)
        here = str(Path(__file__).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            Path(__file__).stem,
            "--continue-on-collection-errors",
            f"--rootdir={root}",
            *files,
        ]
        try:
            result = subprocess.run(
                command,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=_COLLECT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Collection(failure=f"pytest --collect-only took over {_COLLECT_TIMEOUT_S} s")
        if not report.is_file():
            tail = (result.stdout + result.stderr).strip().splitlines()[-5:]
            return Collection(
                failure=f"pytest --collect-only wrote no report (exit {result.returncode}): "
                + " / ".join(tail)
            )
        data = json.loads(report.read_text(encoding="utf-8"))
    return Collection(
        items={
            item["nodeid"]: Collected(
                nodeid=item["nodeid"],
                skip=item["skip"],
                xfail=item["xfail"],
                conditional_skips=tuple(item["conditional_skips"]),
            )
            for item in data["items"]
        },
        errors=dict(data["errors"]),
        skipped_files=dict(data["skipped_files"]),
    )


# The pytest plugin half: active only in the subprocess above (the environment names the report).

_collect_errors: dict[str, str] = {}
_skipped_files: dict[str, str] = {}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text


def pytest_collectreport(report: Any) -> None:
    if not os.environ.get(_COLLECT_REPORT_ENV) or "::" in report.nodeid:
        return
    if report.failed:
        _collect_errors[report.nodeid] = _last_line(str(report.longrepr))
    elif report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _skipped_files[report.nodeid] = reason.removeprefix("Skipped: ")


def pytest_collection_finish(session: Any) -> None:
    path = os.environ.get(_COLLECT_REPORT_ENV)
    if not path:
        return
    from _pytest.outcomes import OutcomeException
    from _pytest.skipping import evaluate_skip_marks, evaluate_xfail_marks

    items = []
    for item in session.items:
        try:
            skip = evaluate_skip_marks(item)
            xfail = evaluate_xfail_marks(item)
        except (Exception, OutcomeException) as exc:  # a skipif condition that cannot evaluate
            _collect_errors.setdefault(item.nodeid, f"its skip/xfail marks do not evaluate: {exc}")
            continue
        conditional = [
            str(mark.kwargs.get("reason", "")) or "skipif"
            for mark in item.iter_markers(name="skipif")
            if mark.args or "condition" in mark.kwargs
        ]
        items.append(
            {
                "nodeid": item.nodeid,
                "skip": skip.reason if skip is not None else None,
                "xfail": (xfail.reason or "xfail") if xfail is not None else None,
                "conditional_skips": [] if skip is not None else conditional,
            }
        )
    Path(path).write_text(
        json.dumps(
            {"items": items, "errors": _collect_errors, "skipped_files": _skipped_files},
            indent=1,
        ),
        encoding="utf-8",
    )


# ---------------------------------------------------------------------------------------------
# Checking


def _repo_path(root: Path, path: str) -> Path | None:
    """`root / path` if `path` is a plain relative path inside the repository, else None."""
    candidate = Path(path)
    if candidate.is_absolute() or ".." in candidate.parts or "\\" in path:
        return None
    return root / candidate


@dataclass(frozen=True, slots=True)
class TestRef:
    """A cited test: a file, optionally a class/function chain, optionally a parametrization."""

    text: str
    path: str
    names: tuple[str, ...]
    param: str | None  # the text between the brackets, when the citation names one case

    @classmethod
    def parse(cls, text: str) -> TestRef:
        base, bracket, rest = text.partition("[")
        path, *names = base.split("::")
        param = rest[:-1] if bracket and rest.endswith("]") else (rest if bracket else None)
        return cls(text, path, tuple(names), param)

    @property
    def nodeid(self) -> str:
        return "::".join((self.path, *self.names))


def _find_def(source: str, names: Sequence[str]) -> ast.AST | None:
    """The def/class node for the chain `names` (e.g. ["TestX", "test_y"]), or None."""
    scope: ast.AST = ast.parse(source)
    for name in names:
        found = next(
            (
                node
                for node in ast.walk(scope)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.name == name
                and node is not scope
            ),
            None,
        )
        if found is None:
            return None
        scope = found
    return scope


def defines(source: str, names: Sequence[str]) -> bool:
    """True if `source` defines the def/class chain `names` (e.g. ["TestX", "test_y"])."""
    return _find_def(source, names) is not None


def _is_fixture(node: ast.AST) -> bool:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = ast.unparse(target)
        if name in ("fixture", "pytest.fixture") or name.endswith(".fixture"):
            return True
    return False


def _not_collected_reason(target: Path, ref: TestRef) -> str:
    """Why a name pytest did not collect is not a test: missing, a fixture, or a helper."""
    try:
        node = _find_def(target.read_text(encoding="utf-8"), ref.names)
    except (SyntaxError, UnicodeDecodeError) as exc:
        return f"cannot parse {ref.path}: {exc}"
    chain = "::".join(ref.names)
    if node is None:
        return f"{ref.path} defines no function or class {chain!r}"
    if _is_fixture(node):
        return f"{chain!r} is a pytest fixture, not a test"
    if ref.param is not None:
        return f"pytest collects no case [{ref.param}] of {chain!r}"
    return f"{chain!r} is not collected by pytest as a test (a helper, or a misnamed test?)"


def _matching(collection: Collection, ref: TestRef) -> list[Collected]:
    if not ref.names:
        return collection.file_items(ref.path)
    nodeid = ref.nodeid
    if ref.param is not None:
        wanted = f"{nodeid}[{ref.param}]"
        return [item for key, item in collection.items.items() if key == wanted]
    return [
        item
        for key, item in collection.items.items()
        if key == nodeid or key.startswith((nodeid + "[", nodeid + "::"))
    ]


def _static_test_problems(ref: TestRef, root: Path, where: str) -> list[str]:
    """Problems visible without pytest: the path, and the shape of the citation."""
    target = _repo_path(root, ref.path)
    if target is None:
        return [f"{where}: use a repo-relative path"]
    if not target.is_file():
        return [f"{where}: file {ref.path} does not exist"]
    if any(not name for name in ref.names) or (ref.param is not None and not ref.param):
        return [f"{where}: malformed test id (use path::name, path::Class::name or path::name[id])"]
    if ref.param is not None and not ref.text.endswith("]"):
        return [f"{where}: malformed test id (an unclosed '[')"]
    return []


def _collected_test_problems(
    ref: TestRef, root: Path, where: str, collection: Collection
) -> list[str]:
    """Problems pytest's collection shows: not collected, skipped, xfail."""
    if collection.failure is not None:
        return []  # reported once for the whole matrix
    for scope, error in collection.errors.items():  # the file, or a directory (its conftest)
        if "::" not in scope and (ref.path == scope or ref.path.startswith(f"{scope}/")):
            return [f"{where}: {scope or 'the test tree'} fails to collect: {error}"]
    if ref.path in collection.skipped_files:
        return [f"{where}: {ref.path} is skipped as a whole: {collection.skipped_files[ref.path]}"]
    matches = _matching(collection, ref)
    if not matches:
        if not ref.names:
            return [f"{where}: pytest collects no test from {ref.path}"]
        item_error = collection.errors.get(ref.nodeid)
        if item_error is not None:
            return [f"{where}: {item_error}"]
        target = _repo_path(root, ref.path)
        assert target is not None
        return [f"{where}: {_not_collected_reason(target, ref)}"]
    problems = []
    for item in matches:
        name = item.nodeid.removeprefix(ref.path + "::")
        if item.skip is not None:
            problems.append(f"{where}: {name} is skipped here ({item.skip})")
        if item.xfail is not None:
            problems.append(f"{where}: {name} is marked xfail ({item.xfail})")
    return problems


def _level_problems(row: Row, label: str) -> list[str]:
    if not row.test_refs or row.proof_level not in PROOF_DIRS:
        return []
    dirs = PROOF_DIRS[row.proof_level]
    paths = [TestRef.parse(ref).path for ref in row.test_refs]
    if any(path.startswith(tuple(d + "/" for d in dirs)) for path in paths):
        return []
    return [
        f"{label}: proof_level {row.proof_level!r} needs a cited test under "
        f"{' or '.join(dirs)}; the cited tests are under "
        f"{', '.join(sorted({path.rsplit('/', 1)[0] for path in paths}))}"
    ]


_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_HTML_ID = re.compile(r"""\b(?:id|name)\s*=\s*["']([^"']+)["']""")
_LIST_ENTRY = re.compile(r"^(\d+)\.\s")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = _MD_LINK.sub(r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """The anchors a markdown document offers.

    Headings (GitHub's slugs, duplicates numbered), explicit `id=` / `name=` attributes, and
    `entry-N` for each top-level numbered list item `N.` (ADR 0008 is such a list).
    """
    found: set[str] = set()
    seen: Counter[str] = Counter()
    in_code = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        heading = _HEADING.match(line)
        if heading:
            slug = github_slug(heading.group(1))
            found.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
        entry = _LIST_ENTRY.match(line)
        if entry:
            found.add(f"entry-{int(entry.group(1))}")
        found.update(_HTML_ID.findall(line))
    return found


def _doc_links(notes: str) -> list[str]:
    return [link.rstrip(".") for link in _DOCS_LINK.findall(notes)]


def _notes_problems(row: Row, label: str, root: Path) -> list[str]:
    problems = []
    adr_links = []
    for link in _doc_links(row.notes):
        path, _, anchor = link.partition("#")
        target = _repo_path(root, path)
        if target is None or not target.exists():
            problems.append(f"{label}: notes link {path}, which does not exist")
            continue
        if anchor:
            if not target.is_file() or anchor not in anchors(target.read_text(encoding="utf-8")):
                problems.append(f"{label}: notes link {link}, but {path} has no anchor {anchor!r}")
                continue
            if _ADR_LINK.match(link):
                adr_links.append(link)
    if row.status == "Exception" and not adr_links:
        problems.append(
            f"{label}: Exception notes must link the ADR entry that records the deviation "
            "(docs/adr/<file>.md#<anchor>)"
        )
    return problems


def row_problems(
    rows: Sequence[Row], root: Path, collection: Collection | None = None
) -> list[str]:
    """Every rule violation in `rows`, as one readable line each.

    With `collection` (what pytest collected from the cited files) the cited tests are also
    checked to be collected and neither skipped nor xfail; without it only their files and
    definitions are.
    """
    problems: list[str] = []
    seen: Counter[str] = Counter(row.id for row in rows)
    for row_id, count in sorted(seen.items()):
        if count > 1:
            problems.append(f"{row_id or '<empty id>'}: id used {count} times")
    if collection is not None and collection.failure is not None:
        problems.append(f"cannot collect the cited tests: {collection.failure}")
    for index, row in enumerate(rows, start=2):  # line 1 is the header
        label = row.id or f"line {index}"
        for column in ("id", "area", "capability", "status", "owner"):
            if not getattr(row, column):
                problems.append(f"{label}: empty {column}")
        if row.status and row.status not in STATUSES:
            problems.append(
                f"{label}: unknown status {row.status!r} (use one of {', '.join(STATUSES)})"
            )
        if row.proof_level and row.proof_level not in PROOF_LEVELS:
            problems.append(
                f"{label}: unknown proof_level {row.proof_level!r} "
                f"(use one of {', '.join(PROOF_LEVELS)})"
            )
        if row.owner and row.owner not in OWNERS:
            problems.append(
                f"{label}: unknown owner {row.owner!r} (use one of {', '.join(OWNERS)})"
            )
        if row.status == "Implemented":
            if not row.code_paths:
                problems.append(f"{label}: Implemented but names no code")
            if not row.test_refs:
                problems.append(f"{label}: Implemented but names no test")
            if not row.ci:
                problems.append(f"{label}: Implemented but names no CI command")
            if not row.proof_level:
                problems.append(f"{label}: Implemented but names no proof_level")
        if row.status in NEEDS_NOTES and not row.notes:
            problems.append(f"{label}: {row.status} rows must explain themselves in notes")
        problems.extend(_notes_problems(row, label, root))
        for path in row.code_paths:
            target = _repo_path(root, path)
            if target is None:
                problems.append(f"{label}: code {path!r}: use a repo-relative path")
            elif not target.exists():
                problems.append(f"{label}: code path {path} does not exist")
        for text in row.test_refs:
            ref = TestRef.parse(text)
            where = f"{label}: test {text!r}"
            static = _static_test_problems(ref, root, where)
            problems.extend(static)
            if not static and collection is not None:
                problems.extend(_collected_test_problems(ref, root, where, collection))
        problems.extend(_level_problems(row, label))
    return problems


def cited_files(rows: Iterable[Row], root: Path) -> list[str]:
    """The existing test files the rows cite, sorted, each once."""
    files = set()
    for row in rows:
        for text in row.test_refs:
            path = TestRef.parse(text).path
            target = _repo_path(root, path)
            if target is not None and target.is_file():
                files.add(path)
    return sorted(files)


def conditional_skips(rows: Sequence[Row], collection: Collection) -> list[str]:
    """Cited tests that run here but carry a skipif that may apply elsewhere (not a failure)."""
    notes = []
    for row in rows:
        for text in row.test_refs:
            for item in _matching(collection, TestRef.parse(text)):
                for reason in item.conditional_skips:
                    notes.append(f"{row.id}: {item.nodeid} runs here but is skipped when: {reason}")
    return sorted(set(notes))


def markdown_problems(rows: Sequence[Row], md_path: Path) -> list[str]:
    """A problem if `md_path` is not exactly what `render` makes of `rows`."""
    if not md_path.is_file():
        return [f"{md_path} is missing: run `python scripts/parity_matrix.py render`"]
    if md_path.read_text(encoding="utf-8") != render(rows):
        return [
            f"{md_path} is out of date with the CSV: run `python scripts/parity_matrix.py render`"
        ]
    return []


def check(root: Path, collector: Collector = collect_tests) -> list[str]:
    """Every problem with the matrix of the repository at `root` (empty when all is well)."""
    try:
        rows = read_rows(root / CSV_PATH)
    except MatrixError as exc:
        return [str(exc)]
    collection = collector(root, cited_files(rows, root))
    return row_problems(rows, root, collection) + markdown_problems(rows, root / MD_PATH)


def summary(rows: Sequence[Row]) -> str:
    return f"parity matrix OK: {len(rows)} rows ({_counts_text(rows)})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("command", choices=("render", "check"))
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root
    try:
        rows = read_rows(root / CSV_PATH)
    except MatrixError as exc:
        print(f"parity matrix: {exc}", file=sys.stderr)
        return 1
    if args.command == "render":
        (root / MD_PATH).write_text(render(rows), encoding="utf-8")
        print(f"wrote {MD_PATH} ({len(rows)} rows)")
        return 0
    started = time.monotonic()
    collection = collect_tests(root, cited_files(rows, root))
    problems = row_problems(rows, root, collection) + markdown_problems(rows, root / MD_PATH)
    for note in conditional_skips(rows, collection):
        print(f"  note: {note}", file=sys.stderr)
    if problems:
        print(f"parity matrix: {len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    print(f"{summary(rows)}; {len(collection.items)} tests collected in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
