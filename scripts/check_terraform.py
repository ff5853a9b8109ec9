"""Validate the Terraform in infra/ offline: what `terraform validate` would catch, and more.

    .venv/bin/python scripts/check_terraform.py            # infra/; exit 1 with a list of problems
    .venv/bin/python scripts/check_terraform.py DIR ...    # other module directories (recursively)

`terraform validate` needs the provider binary, which cannot be downloaded here. This reads every
`.tf` file with python-hcl2 and checks each module (a directory) against the Google provider's
schema, extracted by scripts/terraform_schema.py into
tests/fixtures/terraform/google_provider_schema.json:

- resource and data source types the provider does not have;
- arguments and blocks a type (or a nested block, at any depth, `dynamic` blocks included) does
  not have, an argument written as a block or a block as an argument, and a single block given
  twice; meta-arguments (count, for_each, depends_on, provider, lifecycle, provisioner,
  connection) are understood;
- required arguments and blocks that are missing;
- references to undeclared variables (`var.x`), locals, data sources, resources and modules, and
  to outputs a local child module does not declare;
- module calls with a local source: arguments the child does not declare, and child variables
  without a default that are not given.

It also holds the deployed environment of each function to core: `function_env_problems` checks
that every Cloud Function of infra/modules/arco sets exactly `FUNCTION_ENV[entry point]` of
arco.services.config (run by the CLI, and by tests/infra/test_function_env.py).

The parsing relies on python-hcl2 8 (`__is_block__` markers); expressions are read as text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
ARCO_MODULE = INFRA / "modules" / "arco"
SCHEMA_PATH = ROOT / "tests" / "fixtures" / "terraform" / "google_provider_schema.json"

Json = dict[str, Any]

_OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True)
_BLOCK = "__is_block__"

TOP_LEVEL = frozenset(
    {
        "terraform",
        "provider",
        "variable",
        "locals",
        "output",
        "resource",
        "data",
        "module",
        "moved",
        "import",
        "check",
        "removed",
    }
)
# Types of Terraform's built-in provider, which has no schema in the fixture.
BUILTIN_TYPES = frozenset({"terraform_data", "terraform_remote_state"})

RESOURCE_META_ATTRS = frozenset({"count", "for_each", "depends_on", "provider"})
RESOURCE_META_BLOCKS = frozenset({"lifecycle", "provisioner", "connection"})
DATA_META_BLOCKS = frozenset({"lifecycle"})
MODULE_META = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})

CONDITION: Json = {"attributes": {"condition": True, "error_message": True}, "blocks": {}}


def _schema(attributes: Mapping[str, bool], blocks: Mapping[str, Json] | None = None) -> Json:
    return {"attributes": dict(attributes), "blocks": dict(blocks or {})}


def _single(block: Json, required: bool = False) -> Json:
    return {"nesting": "single", "required": required, "block": block}


def _list(block: Json, required: bool = False) -> Json:
    return {"nesting": "list", "required": required, "block": block}


LIFECYCLE = _schema(
    {
        "create_before_destroy": False,
        "prevent_destroy": False,
        "ignore_changes": False,
        "replace_triggered_by": False,
    },
    {"precondition": _list(CONDITION), "postcondition": _list(CONDITION)},
)
VARIABLE = _schema(
    {
        "description": False,
        "type": False,
        "default": False,
        "sensitive": False,
        "nullable": False,
        "ephemeral": False,
    },
    {"validation": _list(CONDITION)},
)
OUTPUT = _schema(
    {"description": False, "value": True, "sensitive": False, "depends_on": False},
    {"precondition": _list(CONDITION)},
)
DYNAMIC_ARGS = frozenset({"for_each", "iterator", "labels"})

# References in expressions. The look-behind keeps `each.value.var.x` or `"a.var.b"` out.
_REF_VAR = re.compile(r"(?<![\w.\-])var\.([A-Za-z_][\w-]*)")
_REF_LOCAL = re.compile(r"(?<![\w.\-])local\.([A-Za-z_][\w-]*)")
_REF_DATA = re.compile(r"(?<![\w.\-])data\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)")
_REF_MODULE = re.compile(r"(?<![\w.\-])module\.([A-Za-z_][\w-]*)(?:\.([A-Za-z_][\w-]*))?")
_REF_RESOURCE = re.compile(r"(?<![\w.\-])([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)")


@dataclass(frozen=True)
class Problem:
    file: Path
    where: str
    message: str

    def __str__(self) -> str:
        return f"{_display(self.file)}: {self.where}: {self.message}"


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


@dataclass
class Module:
    """The parsed .tf files of one directory, and what they declare."""

    directory: Path
    files: dict[Path, Json] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def items(self, kind: str) -> Iterator[tuple[Path, Json]]:
        """(file, one entry of a top-level kind) for every file."""
        for path, document in self.files.items():
            for entry in document.get(kind, []):
                yield path, entry

    def labelled(self, kind: str) -> Iterator[tuple[Path, str, Json]]:
        """Blocks with one label: variable, output, module, provider."""
        for path, entry in self.items(kind):
            for name, body in _labels(entry):
                yield path, name, body

    def typed(self, kind: str) -> Iterator[tuple[Path, str, str, Json]]:
        """Blocks with two labels: resource, data."""
        for path, entry in self.items(kind):
            for type_name, named in _labels(entry):
                for name, body in _labels(named):
                    yield path, type_name, name, body

    @property
    def variables(self) -> dict[str, Json]:
        return {name: body for _, name, body in self.labelled("variable")}

    @property
    def outputs(self) -> set[str]:
        return {name for _, name, _ in self.labelled("output")}

    @property
    def locals(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for _, entry in self.items("locals"):
            found.update({k: v for k, v in entry.items() if not k.startswith("__")})
        return found


def _labels(entry: Json) -> Iterator[tuple[str, Json]]:
    for key, value in entry.items():
        if not key.startswith("__") and isinstance(value, dict):
            yield key, value


def _is_blocks(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get(_BLOCK) for v in value)
    )


def _is_labelled_blocks(value: Any) -> bool:
    """`dynamic "x" { ... }` parses as [{"x": {..., "__is_block__": True}}]."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(v, dict)
            and all(isinstance(b, dict) and b.get(_BLOCK) for _, b in _labels(v))
            for v in value
        )
    )


_PARSED: dict[tuple[Path, int, int], Json | Exception] = {}


def _parse(path: Path) -> Json | Exception:
    """One file's parse, cached by size and mtime (parsing is the slow part, ~20 ms a file)."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        try:
            _PARSED[key] = hcl2.loads(path.read_text(), serialization_options=_OPTIONS)
        except Exception as exc:  # python-hcl2 raises lark errors of many kinds
            _PARSED[key] = exc
    return _PARSED[key]


def load_module(directory: Path) -> Module:
    module = Module(directory)
    for path in sorted(directory.glob("*.tf")):
        parsed = _parse(path)
        if isinstance(parsed, Exception):
            module.problems.append(Problem(path, "file", f"cannot parse: {parsed}"))
        else:
            module.files[path] = parsed
    return module


def module_dirs(paths: Iterable[Path]) -> list[Path]:
    """Every directory holding .tf files under `paths` (skipping .terraform)."""
    found: set[Path] = set()
    for path in paths:
        if path.is_file() and path.suffix == ".tf":
            found.add(path.parent)
            continue
        for tf in path.rglob("*.tf"):
            if ".terraform" not in tf.parts:
                found.add(tf.parent)
    return sorted(found)


# -- blocks against the schema --------------------------------------------------------------


def check_body(
    body: Json,
    schema: Json,
    where: str,
    file: Path,
    problems: list[Problem],
    meta_attrs: frozenset[str] = frozenset(),
    meta_blocks: Mapping[str, Json | None] | None = None,
) -> None:
    """Check one block body (recursively) against its schema. A meta block with a None schema
    (provisioner, connection) is accepted as is."""
    meta_blocks = meta_blocks or {}
    attributes: Mapping[str, bool] = schema["attributes"]
    blocks: Mapping[str, Json] = schema["blocks"]
    given_attrs: set[str] = set()
    given_blocks: Counter[str] = Counter()
    dynamic: set[str] = set()

    def problem(message: str) -> None:
        problems.append(Problem(file, where, message))

    for key, value in body.items():
        if key.startswith("__"):
            continue
        if key == "dynamic" and _is_labelled_blocks(value) and "dynamic" not in blocks:
            for entry in value:
                for label, dyn in _labels(entry):
                    dynamic.add(label)
                    _check_dynamic(label, dyn, blocks, f"{where}.dynamic.{label}", file, problems)
            continue
        if _is_blocks(value):
            if key in meta_blocks:
                meta = meta_blocks[key]
                if meta is not None:
                    for item in value:
                        check_body(item, meta, f"{where}.{key}", file, problems)
                continue
            if key in blocks:
                given_blocks[key] += len(value)
                for item in value:
                    check_body(item, blocks[key]["block"], f"{where}.{key}", file, problems)
            elif key in attributes:
                problem(f"{key!r} is an argument, not a block: write `{key} = ...`")
            else:
                problem(f"unknown block {key!r}{_suggest(key, blocks)}")
            continue
        if key in meta_attrs:
            continue
        if key in attributes:
            given_attrs.add(key)
        elif key in blocks:
            problem(f"{key!r} is a block, not an argument: write `{key} {{ ... }}`")
        else:
            problem(f"unknown argument {key!r}{_suggest(key, attributes)}")

    if "count" in meta_attrs and "count" in body and "for_each" in body:
        problem("count and for_each cannot both be set")
    for name, required in attributes.items():
        if required and name not in given_attrs:
            problem(f"missing required argument {name!r}")
    for name, spec in blocks.items():
        if spec["required"] and not given_blocks[name] and name not in dynamic:
            problem(f"missing required block {name!r}")
        if spec["nesting"] == "single" and given_blocks[name] > 1:
            problem(f"block {name!r} may appear only once (given {given_blocks[name]} times)")


def _check_dynamic(
    label: str,
    body: Json,
    blocks: Mapping[str, Json],
    where: str,
    file: Path,
    problems: list[Problem],
) -> None:
    if label not in blocks:
        problems.append(Problem(file, where, f"unknown block {label!r}{_suggest(label, blocks)}"))
        return
    for key in body:
        if key.startswith("__") or key == "content" or key in DYNAMIC_ARGS:
            continue
        problems.append(Problem(file, where, f"unknown argument {key!r} of a dynamic block"))
    if "for_each" not in body:
        problems.append(Problem(file, where, "a dynamic block needs for_each"))
    contents: list[Json] = body.get("content") or []
    if not _is_blocks(contents):
        problems.append(Problem(file, where, "a dynamic block needs a content block"))
        return
    for content in contents:
        check_body(content, blocks[label]["block"], f"{where}.content", file, problems)


def _suggest(name: str, known: Iterable[str]) -> str:
    import difflib

    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    if not close:  # `oidc` for `oidc_token`: a unique name that extends the one given
        close = [n for n in names if n.startswith(f"{name}_")][:2]
    return f" (did you mean {close[0]!r}?)" if len(close) == 1 else ""


# -- expressions ----------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if not k.startswith("__"):
                yield k
                yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def expressions(value: Any) -> Iterator[str]:
    """The text of every `${...}` / `%{...}` in a parsed value (literal text is skipped)."""
    for text in _strings(value):
        start = 0
        while True:
            i = min(
                (j for j in (text.find("${", start), text.find("%{", start)) if j >= 0),
                default=-1,
            )
            if i < 0:
                break
            depth, j = 0, i + 1
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            yield text[i + 2 : j]
            start = j + 1


# -- a module -------------------------------------------------------------------------------


def check_module(module: Module, schema: Json) -> list[Problem]:
    problems = list(module.problems)
    resources: set[tuple[str, str]] = set()
    data_sources: set[tuple[str, str]] = set()

    for path, document in module.files.items():
        for kind in document:
            if not kind.startswith("__") and kind not in TOP_LEVEL:
                problems.append(Problem(path, kind, f"unknown top-level block {kind!r}"))

    for path, type_name, name, body in module.typed("resource"):
        where = f"resource {type_name}.{name}"
        resources.add((type_name, name))
        _check_typed(body, type_name, schema["resource"], where, path, problems, data=False)
    for path, type_name, name, body in module.typed("data"):
        where = f"data.{type_name}.{name}"
        data_sources.add((type_name, name))
        _check_typed(body, type_name, schema["data"], where, path, problems, data=True)
    for path, name, body in module.labelled("provider"):
        if name in {"google", "google-beta"}:
            provider = _schema({**schema["provider"]["attributes"], "alias": False})
            provider["blocks"] = schema["provider"]["blocks"]
            check_body(body, provider, f"provider {name}", path, problems)
    for path, name, body in module.labelled("variable"):
        check_body(body, VARIABLE, f"variable {name}", path, problems)
    for path, name, body in module.labelled("output"):
        check_body(body, OUTPUT, f"output {name}", path, problems)
    modules = {name: body for _, name, body in module.labelled("module")}
    for path, name, body in module.labelled("module"):
        problems += _check_module_call(module, path, name, body)

    problems += _check_references(module, schema, resources, data_sources, modules)
    return problems


def _check_typed(
    body: Json,
    type_name: str,
    types: Mapping[str, Json],
    where: str,
    path: Path,
    problems: list[Problem],
    *,
    data: bool,
) -> None:
    if type_name in BUILTIN_TYPES:
        return
    if type_name not in types:
        kind = "data source" if data else "resource"
        problems.append(
            Problem(path, where, f"unknown {kind} type {type_name!r}{_suggest(type_name, types)}")
        )
        return
    meta_blocks: dict[str, Json | None] = {"lifecycle": LIFECYCLE}
    if not data:
        meta_blocks.update({"provisioner": None, "connection": None})
    check_body(body, types[type_name], where, path, problems, RESOURCE_META_ATTRS, meta_blocks)


def _local_child(module: Module, body: Json) -> Module | None:
    source = body.get("source")
    if not isinstance(source, str) or not source.startswith(("./", "../")):
        return None
    directory = (module.directory / source).resolve()
    return load_module(directory) if directory.is_dir() else None


def _check_module_call(module: Module, path: Path, name: str, body: Json) -> list[Problem]:
    where = f"module {name}"
    if "source" not in body:
        return [Problem(path, where, "missing required argument 'source'")]
    child = _local_child(module, body)
    if child is None:
        return []
    declared = child.variables
    problems = [
        Problem(path, where, f"the module has no variable {key!r}{_suggest(key, declared)}")
        for key in body
        if not key.startswith("__") and key not in MODULE_META and key not in declared
    ]
    problems += [
        Problem(path, where, f"missing required argument {var!r} (its variable has no default)")
        for var, spec in declared.items()
        if "default" not in spec and var not in body
    ]
    return problems


def _check_references(
    module: Module,
    schema: Json,
    resources: set[tuple[str, str]],
    data_sources: set[tuple[str, str]],
    modules: Mapping[str, Json],
) -> list[Problem]:
    problems: list[Problem] = []
    variables = set(module.variables)
    local_names = set(module.locals)
    resource_types = set(schema["resource"]) | BUILTIN_TYPES | {t for t, _ in resources}
    child_outputs: dict[str, set[str] | None] = {}
    for name, body in modules.items():
        child = _local_child(module, body)
        child_outputs[name] = child.outputs if child is not None else None

    for path, document in module.files.items():
        seen: set[str] = set()
        for expression in expressions(document):
            for message in _expression_problems(
                expression,
                variables,
                local_names,
                resources,
                data_sources,
                resource_types,
                child_outputs,
            ):
                if message not in seen:
                    seen.add(message)
                    problems.append(Problem(path, "reference", message))
    return problems


def _expression_problems(
    text: str,
    variables: set[str],
    local_names: set[str],
    resources: set[tuple[str, str]],
    data_sources: set[tuple[str, str]],
    resource_types: set[str],
    child_outputs: Mapping[str, set[str] | None],
) -> Iterator[str]:
    for m in _REF_VAR.finditer(text):
        if m.group(1) not in variables:
            yield f"var.{m.group(1)} is not a declared variable{_suggest(m.group(1), variables)}"
    for m in _REF_LOCAL.finditer(text):
        if m.group(1) not in local_names:
            yield f"local.{m.group(1)} is not a declared local{_suggest(m.group(1), local_names)}"
    for m in _REF_DATA.finditer(text):
        if (m.group(1), m.group(2)) not in data_sources:
            yield f"data.{m.group(1)}.{m.group(2)} is not declared"
    for m in _REF_MODULE.finditer(text):
        name, output = m.group(1), m.group(2)
        if name not in child_outputs:
            yield f"module.{name} is not declared"
        else:
            outputs = child_outputs[name]
            if output is not None and outputs is not None and output not in outputs:
                yield f"module.{name} has no output {output!r}{_suggest(output, outputs)}"
    for m in _REF_RESOURCE.finditer(text):
        type_name, name = m.group(1), m.group(2)
        if type_name in resource_types and (type_name, name) not in resources:
            yield f"{type_name}.{name} is not a declared resource"


# -- the functions' environment -------------------------------------------------------------


class Unresolved(Exception):
    """An expression this checker cannot evaluate statically."""


_LOCAL_PATH = re.compile(r"^local\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[[^\]]+\])*)$")
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[([^\]]+)\]")


def _resolve(value: Any, local_values: Mapping[str, Any], each_key: str | None) -> Any:
    """A literal, or `local.a`, `local.a.b`, `local.a[each.key]`, `local.a["k"]`."""
    if not (isinstance(value, str) and value.startswith("${") and value.endswith("}")):
        return value
    text = value[2:-1].strip()
    if text == "each.key":
        if each_key is None:
            raise Unresolved("each.key outside for_each")
        return each_key
    match = _LOCAL_PATH.match(text)
    if match is None or match.group(1) not in local_values:
        raise Unresolved(text)
    current: Any = _resolve(local_values[match.group(1)], local_values, each_key)
    for attr, index in _STEP.findall(match.group(2)):
        key = attr or index.strip()
        if key == "each.key":
            if each_key is None:
                raise Unresolved("each.key outside for_each")
            key = each_key
        key = key.strip('"')
        if not isinstance(current, dict) or key not in current:
            raise Unresolved(text)
        current = _resolve(current[key], local_values, each_key)
    return current


def deployed_function_env(module: Module) -> tuple[dict[str, set[str]], list[str]]:
    """Entry point -> names of the environment variables it is deployed with."""
    local_values = module.locals
    found: dict[str, set[str]] = {}
    problems: list[str] = []
    for _, type_name, name, body in module.typed("resource"):
        if type_name != "google_cloudfunctions2_function":
            continue
        try:
            keys: list[str | None] = [None]
            if "for_each" in body:
                instances = _resolve(body["for_each"], local_values, None)
                if not isinstance(instances, dict):
                    raise Unresolved(str(body["for_each"]))
                keys = list(instances)
            for key in keys:
                build = (body.get("build_config") or [{}])[0]
                service = (body.get("service_config") or [{}])[0]
                entry = _resolve(build.get("entry_point"), local_values, key)
                env = _resolve(service.get("environment_variables", {}), local_values, key)
                if not isinstance(entry, str) or not isinstance(env, dict):
                    raise Unresolved("entry_point or environment_variables")
                if entry in found:
                    problems.append(f"entry point {entry!r} is deployed twice")
                found[entry] = {k for k in env if not k.startswith("__")}
        except Unresolved as exc:
            problems.append(
                f"{type_name}.{name}: cannot read its entry point and environment statically "
                f"({exc}); write them as literals or local values"
            )
    return found, problems


def function_env_problems(
    module_dir: Path, expected: Mapping[str, frozenset[str]] | None = None
) -> list[str]:
    """Each function of the module sets exactly `expected[entry point]` (default: FUNCTION_ENV
    of arco.services.config), and every function of `expected` is deployed."""
    if expected is None:
        from arco.services.config import FUNCTION_ENV

        expected = FUNCTION_ENV
    deployed, problems = deployed_function_env(load_module(module_dir))
    for entry in sorted(set(expected) - set(deployed)):
        problems.append(f"{entry}: not deployed (no google_cloudfunctions2_function for it)")
    for entry in sorted(set(deployed) - set(expected)):
        problems.append(f"{entry}: deployed, but not a function of FUNCTION_ENV")
    for entry in sorted(set(expected) & set(deployed)):
        missing = sorted(expected[entry] - deployed[entry])
        extra = sorted(deployed[entry] - expected[entry])
        if missing:
            problems.append(
                f"{entry}: FUNCTION_ENV names {missing} but the module does not set them"
            )
        if extra:
            problems.append(f"{entry}: the module sets {extra}, which FUNCTION_ENV does not name")
    return problems


_ENV_READ = re.compile(r"""env\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_env_problems(
    config_source: str,
    function_env: Mapping[str, frozenset[str]],
    local_only: frozenset[str],
) -> list[str]:
    """The ARCO_*/CLOUD_TASKS_* names `Settings.from_env` reads (its `env.get("...")` calls in
    `config_source`) are exactly those FUNCTION_ENV and LOCAL_ONLY_ENV declare."""
    read = {
        name
        for name in _ENV_READ.findall(config_source)
        if name.startswith(("ARCO_", "CLOUD_TASKS_"))
    }
    declared = set().union(*function_env.values()) | set(local_only)
    problems = [
        f"{name} is read by Settings.from_env but in neither FUNCTION_ENV nor LOCAL_ONLY_ENV"
        for name in sorted(read - declared)
    ]
    problems += [
        f"{name} is declared in FUNCTION_ENV or LOCAL_ONLY_ENV but Settings.from_env never reads it"
        for name in sorted(declared - read)
    ]
    both = sorted(set().union(*function_env.values()) & set(local_only))
    if both:
        problems.append(f"{both} are in both FUNCTION_ENV and LOCAL_ONLY_ENV")
    return problems


# -- entry point ----------------------------------------------------------------------------


def load_schema(path: Path = SCHEMA_PATH) -> Json:
    schema: Json = json.loads(path.read_text())
    return schema


def check_paths(paths: Sequence[Path], schema: Json | None = None) -> list[Problem]:
    schema = schema if schema is not None else load_schema()
    problems: list[Problem] = []
    for directory in module_dirs(paths):
        problems += check_module(load_module(directory), schema)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, default=[INFRA])
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH)
    parser.add_argument(
        "--no-function-env",
        action="store_true",
        help=f"skip holding {_display(ARCO_MODULE)} to arco.services.config.FUNCTION_ENV",
    )
    args = parser.parse_args(argv)
    schema = load_schema(args.schema)
    messages = [str(p) for p in check_paths(args.paths, schema)]
    if not args.no_function_env and ARCO_MODULE.is_dir():
        messages += [f"{_display(ARCO_MODULE)}: {m}" for m in function_env_problems(ARCO_MODULE)]
    for message in messages:
        print(message, file=sys.stderr)
    dirs = module_dirs(args.paths)
    files = sum(len(list(d.glob("*.tf"))) for d in dirs)
    if messages:
        print(f"{len(messages)} problem(s) in {len(dirs)} module(s)", file=sys.stderr)
        return 1
    print(
        f"{files} file(s) in {len(dirs)} module(s) match google provider "
        f"{schema.get('provider_version', '?')}: no problems"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
