"""Mutation testing of Arco's decision core (`make mutate`; issue 15). Not part of `make test`.

A small, dependency-free mutation tester in the style of mutmut, built for this repository's
layout (the package lives under `core/`, installed editable) and for a shared 2-core machine:

1. One *coverage pass* runs the fast suites (tests/unit and tests/property) once, in this
   process, tracing which lines of each target module every test executes, and which tests pass.
2. Each *mutant* is one small AST change (operators, comparisons, boolean connectives, `not`,
   constants, `return x` -> `return None`, `x = e` -> `x = None`, a dropped keyword argument,
   `min`<->`max`, `any`<->`all`, `break`<->`continue`). Mutants are run in a child forked from
   the warm process: a mutant inside a function body patches that function's `__code__` (so
   every reference, including `from m import f` copies, sees it); a mutant at module level
   (a default, a class attribute, a constant) re-imports `arco` and the tests with the mutated
   module served from memory. Nothing is ever written to the source tree.
3. The child runs, with `-x`, only the passing tests that executed the mutated lines (tests
   that killed earlier mutants of the module first, then the fastest). A mutant evaluated at
   import (module level, or in a function only the import runs, such as an `install()`)
   re-imports and runs every passing test. A failing run kills the mutant; a run past its
   time budget is a *timeout* (counted apart); a mutant no test executes is *uncovered*.

Mutants that cannot change behaviour are listed, with the reason, in docs/parity/mutation.md
(rows `| `module:function:kind:description` | reason |`); they are reported as *equivalent*.
Not mutated: docstrings, annotations and type aliases, imports, decorators, `TYPE_CHECKING`
blocks, `__all__`, asserts, f-strings, exception messages and log lines.

Usage:
    python scripts/mutate.py [MODULE ...] [--survivors-only] [--list] [--summary]
MODULE is a path under core/arco (e.g. domain/fold.py) or a dotted name (arco.domain.fold);
default: every module of DEFAULT_MODULES (the decision modules first, then the rest of
core/arco/domain). Results: build/mutate/<module>.json and a summary
table on stdout (the format of docs/parity/mutation.md).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import importlib.abc
import importlib.util
import json
import os
import re
import signal
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
STATE_DIR = ROOT / "build" / "mutate"
DOC = ROOT / "docs" / "parity" / "mutation.md"
# The fast suites; the API's and entry points' own auth tests (seconds: they are what proves
# `services/auth.py`'s gates); the automation timer on the local store, and the differential
# automation scenarios (Dagster answers once per process, Arco's side takes 1.5 s).
TEST_PATHS = [
    "tests/unit",
    "tests/property",
    "tests/integration/test_api_auth.py",
    "tests/integration/test_entry_auth.py",
    "tests/integration/test_automation.py",
    "tests/integration/test_automation_cli_api.py",
    "tests/differential/test_automation.py",
]
# The domain, then the services that decide effects (the controllers are in the domain).
DEFAULT_MODULES = [
    "domain/fold.py",
    "domain/schedule_controller.py",
    "domain/sensor_controller.py",
    "domain/run_requests.py",
    "domain/backfill_controller.py",
    "domain/backfills.py",
    "domain/staleness.py",
    "domain/run_controller.py",
    "domain/runs.py",
    "domain/schedules.py",
    "domain/sensors.py",
    "domain/cron.py",
    "domain/partitions/base.py",
    "domain/partitions/static.py",
    "domain/partitions/dynamic.py",
    "domain/partitions/multi.py",
    "domain/partitions/subsets.py",
    "domain/partitions/time_window.py",
    "domain/partition_mappings/base.py",
    "domain/partition_mappings/simple.py",
    "domain/partition_mappings/multi.py",
    "domain/partition_mappings/time_window.py",
    "domain/selection.py",
    "domain/data_versions.py",
]
# The rest of the domain, so a module added there is mutated without being listed.
DEFAULT_MODULES += sorted(
    str(path.relative_to(CORE / "arco"))
    for path in (CORE / "arco" / "domain").rglob("*.py")
    if path.name != "__init__.py" and str(path.relative_to(CORE / "arco")) not in DEFAULT_MODULES
)
# The services that decide effects outside the domain: who may call at all.
DEFAULT_MODULES += ["services/auth.py"]

# --- mutants ------------------------------------------------------------------------------

_BINOP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
    ast.BitXor: ast.BitAnd,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}
_CMP = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SWAP_CALLS = {"min": "max", "max": "min", "any": "all", "all": "any"}
_OP_TEXT = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass
class Mutant:
    module: str  # path under core/arco, e.g. domain/fold.py
    index: int  # position of the node in ast.walk order
    variant: int  # which change, when a node admits several
    kind: str
    line: int
    end_line: int
    description: str
    qualname: str | None  # the function whose body holds it; None: module level
    status: str = "pending"  # killed | survived | uncovered | timeout | equivalent | error
    tests_run: int = 0
    killer: str | None = None
    seconds: float = 0.0
    ordinal: int = 1  # the n-th mutant of the module with this scope, kind and description

    @property
    def key(self) -> str:
        """What the mutant changes and in which function, not the line it is on:
        `module:scope:kind:description`, with `#n` for the n-th identical change in one scope.
        A key survives edits elsewhere in the module, so the equivalents listed in
        docs/parity/mutation.md stay attached to their mutants."""
        suffix = f"#{self.ordinal}" if self.ordinal > 1 else ""
        return f"{self.module}:{self.qualname or '<module>'}:{self.kind}:{self.description}{suffix}"

    @property
    def where(self) -> str:
        return f"{self.module}:{self.line}"


def _number(mutants: list[Mutant]) -> list[Mutant]:
    """Set each mutant's ordinal among identical changes of its scope (in discovery order)."""
    seen: dict[tuple[str | None, str, str], int] = {}
    for m in mutants:
        same = (m.qualname, m.kind, m.description)
        seen[same] = m.ordinal = seen.get(same, 0) + 1
    return mutants


def load_state(module: str) -> list[Mutant]:
    """The mutants of the last run of `module` (build/mutate), keyed as today."""
    path = _state_path(module)
    if not path.exists():
        return []
    return _number([Mutant(**d) for d in json.loads(path.read_text())])


def _short(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, imports, TYPE_CHECKING blocks,
    `__all__`, exception messages and f-strings (their text is not behaviour we pin)."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    typing_names = (
        *("Literal", "Mapping", "Sequence", "Callable", "Iterable", "Union", "Optional"),
        *("tuple", "dict", "list", "set", "frozenset", "type"),
    )
    for statement in tree.body:  # type aliases (`Dynamic = Mapping[str, Sequence[str]]`)
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.Subscript)
            and ast.unparse(statement.value.value).split(".")[-1] in typing_names
        ):
            mark(statement)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            mark(body[0])
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            mark(node)  # an attribute docstring: a string evaluated and discarded
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            mark(node.returns)
            for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                mark(a.annotation)
            for a in (node.args.vararg, node.args.kwarg):
                if a is not None:
                    mark(a.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for deco in node.decorator_list:
                mark(deco)  # @dataclass(frozen=True, slots=True), @lru_cache(maxsize=...)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        elif (
            isinstance(node, ast.Import | ast.ImportFrom | ast.JoinedStr | ast.Assert)
            or (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
            or (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id in ("__all__", "__slots__")
                    for t in node.targets
                )
            )
        ):
            mark(node)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for arg in node.exc.args:
                mark(arg)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("debug", "info", "warning", "error", "exception"):
                mark(node)  # log lines
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            # typing subscripts (Literal[...], Mapping[...]) in aliases/casts
            base = ast.unparse(node.value)
            if base.split(".")[-1] in (
                "Literal",
                "Annotated",
                "Mapping",
                "Sequence",
                "Optional",
                "Union",
                "dict",
                "list",
                "tuple",
                "set",
                "frozenset",
                "type",
                "Callable",
                "Iterable",
                "Iterator",
                "ClassVar",
                "Final",
            ) and not isinstance(node.slice, ast.Constant | ast.Name | ast.Attribute):
                mark(node)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("cast", "typing.cast"):
            mark(node.args[0] if node.args else None)
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("TypeVar", "NewType"):
            mark(node)
    return skip


def _changes(node: ast.AST) -> Iterator[tuple[str, str]]:
    """(kind, description) of each change this node admits, in a stable order."""
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINOP:
        new = _BINOP[type(node.op)]
        yield "binop", f"{_OP_TEXT[type(node.op)]} -> {_OP_TEXT[new]} in {_short(node)}"
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _CMP:
                new = _CMP[type(op)]
                yield "cmp", f"#{i} {_OP_TEXT[type(op)]} -> {_OP_TEXT[new]} in {_short(node)}"
    elif isinstance(node, ast.BoolOp):
        other = "or" if isinstance(node.op, ast.And) else "and"
        yield "bool", f"{_OP_TEXT[type(node.op)]} -> {other} in {_short(node)}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
        yield "unary", f"drop {'not' if isinstance(node.op, ast.Not) else '-'} in {_short(node)}"
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            yield "const", f"{v} -> {not v}"
        elif isinstance(v, int | float) and not isinstance(v, bool):
            yield "const", f"{v!r} -> {v + 1!r}"
        elif isinstance(v, str):
            yield "const", f"{v!r} -> {'XX' + v + 'XX'!r}"
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return", f"return {_short(node.value)} -> return None"
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        if isinstance(node.targets[0], ast.Name | ast.Attribute | ast.Subscript) and not (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            yield "assign", f"{_short(node.targets[0])} = ... -> None"
    elif isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg is not None:
                yield "kwarg", f"drop {kw.arg}= in {_short(node)}"
        if isinstance(node.func, ast.Name) and node.func.id in _SWAP_CALLS:
            yield "call", f"{node.func.id} -> {_SWAP_CALLS[node.func.id]}"
    elif isinstance(node, ast.Break):
        yield "flow", "break -> continue"
    elif isinstance(node, ast.Continue):
        yield "flow", "continue -> break"


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    out: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        out[id(child)] = (parent, name, i)
            elif isinstance(value, ast.AST):
                out[id(value)] = (parent, name, None)
    return out


def _enclosing_function(
    node: ast.AST, parents: dict[int, tuple[ast.AST, str, int | None]]
) -> str | None:
    """Qualname of the outermost function whose *body* holds node (None: evaluated at import
    or class creation: defaults, decorators, class attributes, module statements)."""
    chain: list[tuple[ast.AST, str]] = []
    current = node
    while id(current) in parents:
        parent, fieldname, _ = parents[id(current)]
        chain.append((parent, fieldname))
        current = parent
    chain.reverse()  # from the module down
    names: list[str] = []
    for parent, fieldname in chain:
        if isinstance(parent, ast.ClassDef):
            if fieldname != "body":
                return None
            names.append(parent.name)
        elif isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef):
            if fieldname != "body":
                return None
            names.append(parent.name)
            return ".".join(names)
        elif isinstance(parent, ast.Lambda):
            return None
    return None


def _is_lambda_inside(node: ast.AST, parents: dict[int, tuple[ast.AST, str, int | None]]) -> bool:
    current = node
    while id(current) in parents:
        parent = parents[id(current)][0]
        if isinstance(parent, ast.Lambda):
            return True
        current = parent
    return False


def discover(module: str, source: str | None = None) -> list[Mutant]:
    """The mutants of `module` (a path under core/arco), of its current source by default."""
    if source is None:
        source = (CORE / "arco" / module).read_text()
    tree = ast.parse(source)
    skip = _skipped_nodes(tree)
    parents = _parents(tree)
    out: list[Mutant] = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        for variant, (kind, description) in enumerate(_changes(node)):
            qualname = _enclosing_function(node, parents)
            if qualname is not None and _is_lambda_inside(node, parents):
                qualname = None
            out.append(
                Mutant(
                    module=module,
                    index=index,
                    variant=variant,
                    kind=kind,
                    line=node.lineno,  # type: ignore[attr-defined]
                    end_line=node.end_lineno or node.lineno,  # type: ignore[attr-defined]
                    description=description,
                    qualname=qualname,
                )
            )
    return _number(out)


def mutated_tree(m: Mutant) -> ast.Module:
    tree = ast.parse((CORE / "arco" / m.module).read_text())
    parents = _parents(tree)
    node = next(n for i, n in enumerate(ast.walk(tree)) if i == m.index)
    variant = m.variant

    def replace(new: ast.AST) -> None:
        parent, name, i = parents[id(node)]
        ast.copy_location(new, node)
        if i is None:
            setattr(parent, name, new)
        else:
            getattr(parent, name)[i] = new

    if isinstance(node, ast.BinOp | ast.AugAssign):
        node.op = _BINOP[type(node.op)]()
    elif isinstance(node, ast.Compare):
        positions = [i for i, op in enumerate(node.ops) if type(op) in _CMP]
        i = positions[variant]
        node.ops[i] = _CMP[type(node.ops[i])]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        replace(node.operand)
    elif isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            node.value = not v
        elif isinstance(v, int | float):
            node.value = v + 1
        else:
            node.value = "XX" + v + "XX"
    elif isinstance(node, ast.Return):
        node.value = ast.copy_location(ast.Constant(None), node.value)  # type: ignore[arg-type]
    elif isinstance(node, ast.Assign):
        node.value = ast.copy_location(ast.Constant(None), node.value)
    elif isinstance(node, ast.Call):
        named = [k for k in node.keywords if k.arg is not None]
        if variant < len(named):
            node.keywords.remove(named[variant])
        else:
            assert isinstance(node.func, ast.Name)
            node.func = ast.copy_location(
                ast.Name(_SWAP_CALLS[node.func.id], ast.Load()), node.func
            )
    elif isinstance(node, ast.Break):
        replace(ast.Continue())
    elif isinstance(node, ast.Continue):
        replace(ast.Break())
    ast.fix_missing_locations(tree)
    return tree


# --- the coverage pass --------------------------------------------------------------------


def _probed(stmts: list[ast.stmt], in_function: bool, lines: list[set[int]]) -> list[ast.stmt]:
    """`stmts` with `_arco_mutate_hit_(n)` before each statement inside a function body; probe
    n stands for the lines of its statement (of a compound statement: its header lines)."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            stmt.body = _probed(stmt.body, True, lines)
            out.append(stmt)
            continue
        if isinstance(stmt, ast.ClassDef):
            stmt.body = _probed(stmt.body, in_function, lines)
            out.append(stmt)
            continue
        body = getattr(stmt, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            last = max(body[0].lineno - 1, stmt.lineno)
        else:
            last = stmt.end_lineno or stmt.lineno
        for name in ("body", "orelse", "finalbody"):
            value = getattr(stmt, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(stmt, name, _probed(value, in_function, lines))
        for handler in getattr(stmt, "handlers", None) or []:
            handler.body = _probed(handler.body, in_function, lines)
        for case in getattr(stmt, "cases", None) or []:
            case.body = _probed(case.body, in_function, lines)
        if in_function:
            lines.append(set(range(stmt.lineno, last + 1)))
            hit = ast.Name("_arco_mutate_hit_", ast.Load())
            out.append(
                ast.copy_location(ast.Expr(ast.Call(hit, [ast.Constant(len(lines) - 1)], [])), stmt)
            )
        out.append(stmt)
    return out


@dataclass
class Coverage:
    lines: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # module -> test -> lines
    unpatched: dict[str, set[str]] = field(default_factory=dict)  # module -> qualnames
    passed: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)
    exit_code: int = 0


def _instrument(
    module: str, hits: set[tuple[str, int]]
) -> tuple[list[set[int]], set[str], list[Any]]:
    """Patch the live functions of `module` with probed code: (lines of each probe, qualnames
    that could not be patched, the undo list)."""
    live_module = importlib.import_module(_dotted(module))
    path = str(CORE / "arco" / module)
    tree = ast.parse(Path(path).read_text())
    lines: list[set[int]] = []
    tree.body = _probed(tree.body, False, lines)
    ast.fix_missing_locations(tree)
    code = compile(tree, path, "exec")
    live_module.__dict__["_arco_mutate_hit_"] = lambda n, _m=module: hits.add((_m, n))
    undo: list[Any] = []
    unpatched: set[str] = set()
    for new in _code_objects(code):
        if new is code or new.co_name.startswith("<") or "<locals>" in new.co_qualname:
            continue
        owner: Any = live_module
        for part in new.co_qualname.split("."):
            owner = vars(owner).get(part) if hasattr(owner, "__dict__") else None
        if isinstance(owner, type):
            continue  # a class body
        live = _live_function(live_module, new.co_qualname)
        if live is None or live.__code__.co_freevars != new.co_freevars:
            unpatched.add(new.co_qualname)
            continue
        undo.append((live, live.__code__))
        live.__code__ = new
    return lines, unpatched, undo


def coverage_pass(modules: list[str], test_paths: list[str]) -> Coverage:
    import pytest

    hits: set[tuple[str, int]] = set()
    cov = Coverage(lines={m: {} for m in modules})
    probes: dict[str, list[set[int]]] = {}
    undo: list[Any] = []
    for module in modules:
        probes[module], cov.unpatched[module], module_undo = _instrument(module, hits)
        undo.extend(module_undo)

    class Plugin:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
            hits.clear()
            # A cached function (the event catalog's installers behind `default_registry`)
            # runs for the first test that needs it only: with the caches cleared, every test
            # that depends on it records its lines, and so is chosen to run its mutants.
            _clear_caches()
            start = time.perf_counter()
            yield
            cov.durations[item.nodeid] = time.perf_counter() - start
            for module, n in hits:
                cov.lines[module].setdefault(item.nodeid, set()).update(probes[module][n])

        def pytest_runtest_logreport(self, report: Any) -> None:
            if report.when == "call" and report.passed:
                cov.passed.add(report.nodeid)
            elif report.failed:
                cov.passed.discard(report.nodeid)

    # The parity matrix's tests check docs/parity against pytest's collection (each starts a
    # pytest process): slow, and about the documents, not the decision core.
    ignored = ["--ignore=tests/unit/test_parity_matrix.py"]
    args = ["-q", "-p", "no:cacheprovider", "--no-header", *ignored, *test_paths]
    rc = pytest.main(args, [Plugin()])
    for live, code in undo:
        live.__code__ = code
    cov.exit_code = int(rc)
    print(f"coverage pass: pytest exit {rc}, {len(cov.passed)} passing tests", flush=True)
    return cov


# --- running one mutant -------------------------------------------------------------------


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, fullname: str, code: types.CodeType, path: str) -> None:
        self.fullname, self.code, self.path = fullname, code, path

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.fullname:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.path)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        module.__file__ = self.path
        exec(self.code, module.__dict__)


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _live_function(module: types.ModuleType, qualname: str) -> types.FunctionType | None:
    obj: Any = module
    parts = qualname.split(".")
    for i, part in enumerate(parts):
        container = obj
        obj = vars(container).get(part) if hasattr(container, "__dict__") else None
        if obj is None:
            return None
        if i < len(parts) - 1:
            continue
    for attr in ("__func__", "fget", "func", "__wrapped__"):
        while hasattr(obj, attr) and not isinstance(obj, types.FunctionType):
            obj = getattr(obj, attr)
    return obj if isinstance(obj, types.FunctionType) else None


# Process-wide memos of pure results that are not `lru_cache`s: cleared with the caches, so a
# mutant behind one is run, not answered from what the coverage pass remembered.
MEMOS = {
    "arco.domain.partitions.time_window": ("_GRANULAR_ENOUGH",),
    "arco.domain.definitions": ("_CONDITIONS",),
}


def _clear_caches() -> None:
    for dotted, names in MEMOS.items():
        if dotted in sys.modules:
            for memo in names:
                getattr(sys.modules[dotted], memo).clear()  # AttributeError: renamed? update MEMOS
    for name, module in list(sys.modules.items()):
        if not name.startswith("arco") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, functools._lru_cache_wrapper):
                value.cache_clear()
            elif isinstance(value, type):
                for attr in list(vars(value).values()):
                    inner = getattr(attr, "__func__", attr)
                    if isinstance(inner, functools._lru_cache_wrapper):
                        inner.cache_clear()


def _dotted(module: str) -> str:
    return "arco." + module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _child(m: Mutant, tests: list[str], killer_file: str, reimport: bool) -> int:
    """In the forked child: install the mutant, run the tests, return pytest's exit code (the
    first failing test's id goes to `killer_file`)."""
    import pytest

    path = str(CORE / "arco" / m.module)
    code = compile(mutated_tree(m), path, "exec")
    dotted = _dotted(m.module)
    patched = False
    if not reimport and m.qualname is not None and dotted in sys.modules:
        new = next((c for c in _code_objects(code) if c.co_qualname == m.qualname), None)
        live = _live_function(sys.modules[dotted], m.qualname)
        if (
            new is not None
            and live is not None
            and live.__code__.co_qualname == m.qualname
            and live.__code__.co_freevars == new.co_freevars
        ):
            live.__code__ = new
            patched = True
    if not patched:  # module level: re-import arco and the tests, the mutant served from memory
        from hypothesis import settings

        # tests/conftest.py registers its profiles from the current one: re-import it from
        # hypothesis' default, as the first import did.
        settings.load_profile("default")
        for name in list(sys.modules):
            # (the differential oracle's answers are kept: they do not depend on Arco)
            purged = name == "arco" or name.startswith(("arco.", "tests"))
            if purged and name != "tests.differential.oracle":
                del sys.modules[name]
        sys.meta_path.insert(0, _MutantFinder(dotted, code, path))
        try:  # a module that no longer imports fails every test that needs it
            importlib.import_module(dotted)
        except Exception as exc:
            Path(killer_file).write_text(f"import {dotted}: {type(exc).__name__}")
            return 1
    _clear_caches()
    # (The hypothesis profile is the suite's own, inherited from the coverage pass: tests
    # that check it must pass in the children as they did there.)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    class Killer:
        def pytest_runtest_logreport(self, report: Any) -> None:
            if report.failed and not os.path.exists(killer_file):
                Path(killer_file).write_text(report.nodeid)

    args = ["-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    return int(pytest.main(args, [Killer()]))


def run_mutant(m: Mutant, tests: list[str], budget: float, reimport: bool = False) -> str:
    """Run one mutant in a forked child; its status (the killing test in `m.killer`)."""
    if not tests:
        return "uncovered"
    killer_file = str(STATE_DIR / f"killer.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(killer_file)
    started = time.monotonic()
    status = _run_child(m, tests, budget, killer_file, reimport)
    if status == "error" and not os.path.exists(killer_file):
        # Usually a test id that no longer exists (the suites were edited since the coverage
        # pass): run the files those tests are in instead.
        files = list(dict.fromkeys(t.split("::", 1)[0] for t in tests))
        status = _run_child(m, files, budget, killer_file, reimport)
    m.seconds = round(time.monotonic() - started, 2)
    with contextlib.suppress(FileNotFoundError):
        m.killer = Path(killer_file).read_text()
        os.unlink(killer_file)
    return status


def _run_child(m: Mutant, tests: list[str], budget: float, killer_file: str, reimport: bool) -> str:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setpgid(0, 0)
            rc = _child(m, tests, killer_file, reimport)
        except BaseException:
            rc = 99
        os._exit(rc)
    deadline = time.monotonic() + budget
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            if rc == 0:
                return "survived"
            # 1: a test failed (a mutant that breaks the import is caught before pytest, as
            # a failure); a child killed by a signal crashed. 2, 3, 4, 5 (collection errors,
            # pytest's own trouble, no tests) and 99 (the mutant could not be installed) say
            # nothing about the tests: errors.
            return "killed" if rc == 1 or rc < 0 else "error"
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.02)


def _equivalents() -> dict[str, str]:
    """Mutant key (`module:scope:kind:description`) -> reason, from the doc's equivalents."""
    if not DOC.exists():
        return {}
    out: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"^\| `([^`]+)` \| (.+) \|$", line.strip())
        if match and match.group(1).count(":") >= 3:
            out[match.group(1).replace("\\|", "|")] = match.group(2).strip()
    return out


def _state_path(module: str) -> Path:
    return STATE_DIR / (module.replace("/", ".").removesuffix(".py") + ".json")


def summarize(modules: list[str]) -> str:
    equivalents = _equivalents()
    rows = [
        "| module | mutants | killed | timeout | equivalent | survived | uncovered | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for module in modules:
        mutants = load_state(module)
        if not mutants:
            continue
        counts: dict[str, int] = {}
        for m in mutants:
            status = "equivalent" if m.status == "survived" and m.key in equivalents else m.status
            counts[status] = counts.get(status, 0) + 1
        total = len(mutants) - counts.get("timeout", 0)
        killed = counts.get("killed", 0)
        score = 100.0 * (killed + counts.get("equivalent", 0)) / total if total else 100.0
        rows.append(
            f"| `{module}` | {len(mutants)} | {killed} | {counts.get('timeout', 0)} | "
            f"{counts.get('equivalent', 0)} | {counts.get('survived', 0)} | "
            f"{counts.get('uncovered', 0)} | {score:.1f}% |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("modules", nargs="*", help="paths under core/arco or dotted names")
    parser.add_argument(
        "--survivors-only",
        action="store_true",
        help="rerun only the last survivors and undecided mutants, not those the doc lists as "
        "equivalent (resumes a run)",
    )
    parser.add_argument(
        "--recheck-equivalents",
        action="store_true",
        help="with --survivors-only, also run the mutants docs/parity/mutation.md explains as "
        "equivalent, and name those a test now kills (their row is then wrong)",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--summary", action="store_true", help="print the table and stop")
    parser.add_argument("--tests", nargs="*", default=TEST_PATHS, help="suites to run")
    parser.add_argument(
        "--max-tests",
        type=int,
        default=None,
        metavar="N",
        help="a first, quick pass: run at most N of each mutant's selected tests (those that "
        "killed mutants of the module first, then the fastest). A survivor may then be killed "
        "by a test left out: rerun the survivors without it (--survivors-only) before "
        "recording them",
    )
    args = parser.parse_args(argv)
    modules = [
        m if m.endswith(".py") else m.removeprefix("arco.").replace(".", "/") + ".py"
        for m in (args.modules or DEFAULT_MODULES)
    ]
    if args.summary:
        print(summarize(modules))
        return 0
    if args.list:
        for module in modules:
            for m in discover(module):
                print(f"{m.key}  [line {m.line}]")
        return 0
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    cov = coverage_pass(modules, args.tests)
    if not cov.passed or cov.exit_code not in (0, 1):
        print("the coverage pass did not run the suites: nothing to mutate against")
        return 2
    equivalents = _equivalents()
    for module in modules:
        mutants = discover(module)
        previous: dict[str, dict[str, Any]] = {}
        if args.survivors_only:
            previous = {m.key: asdict(m) for m in load_state(module)}
        per_test = cov.lines[module]
        kills: dict[str, int] = {}  # tests that killed mutants of this module run first
        started = time.monotonic()
        for done, m in enumerate(mutants):
            if done and done % 50 == 0:
                print(f"  ... {done}/{len(mutants)}", flush=True)
            if done and done % 10 == 0:  # an interrupted run keeps what it decided
                _state_path(module).write_text(json.dumps([asdict(m) for m in mutants], indent=1))
            old = previous.get(m.key)
            rerun = ("pending", "survived", "uncovered", "error")
            if args.recheck_equivalents:
                rerun += ("equivalent",)
            if old is not None and old["status"] not in rerun:
                m.status, m.killer = old["status"], old.get("killer")
                if m.killer:
                    kills[m.killer] = kills.get(m.killer, 0) + 1
                continue
            if args.survivors_only and m.key in equivalents and not args.recheck_equivalents:
                # Examined and explained (the doc says why): a survivor would run every
                # selected test again only to survive again.
                m.status = "equivalent"
                continue
            lines = set(range(m.line, m.end_line + 1))
            reimport = m.qualname is None or m.qualname in cov.unpatched[module]
            if not reimport:
                tests = [t for t, hit in per_test.items() if t in cov.passed and hit & lines]
                # No test runs it: code run only at import (an `install()` called while the
                # catalog is built), or dead code. Re-import, and let every test look.
                reimport = not tests
            if reimport:  # import-time state: any test may observe it
                tests = sorted(cov.passed)
            # killers of this module's mutants first, then (for an import-time mutant, which
            # any test may observe) the tests that run the module's code, the fastest first
            tests.sort(
                key=lambda t: (-kills.get(t, 0), not per_test.get(t), cov.durations.get(t, 1.0))
            )
            if args.max_tests is not None:
                tests = tests[: args.max_tests]
            budget = 20.0 + 5.0 * sum(cov.durations.get(t, 1.0) for t in tests)
            m.tests_run = len(tests)
            # The tests that killed mutants of this module first, alone: most mutants die
            # there, without collecting the whole selection.
            first = [t for t in tests[:10] if kills.get(t)]
            m.status = "survived"
            if first and len(first) < len(tests):
                m.status = run_mutant(m, first, budget, reimport)
            if m.status != "killed":
                m.status = run_mutant(m, tests, budget, reimport)
            if m.status == "killed" and m.killer:
                kills[m.killer] = kills.get(m.killer, 0) + 1
            if m.status == "killed" and m.key in equivalents:
                print(f"  listed as equivalent, killed by {m.killer}: {m.key}", flush=True)
            if m.status == "survived" and m.key in equivalents and args.max_tests is None:
                # (after a quick pass it stays a survivor: the full rerun decides)
                m.status = "equivalent"
            if m.status in ("survived", "uncovered", "error"):
                print(f"  {m.status:9} {m.key}  (line {m.line})", flush=True)
        _state_path(module).write_text(json.dumps([asdict(m) for m in mutants], indent=1))
        print(f"{module}: {len(mutants)} mutants in {time.monotonic() - started:.0f}s", flush=True)
    print(summarize(modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
