"""`arco package`: the source archive the Cloud Functions deploy, with the user's code location.

Cloud Functions (2nd gen, Python) build a function from a zip holding `main.py` and
`requirements.txt`; any package beside `main.py` is importable. The archive holds:

    main.py            functions/main.py: the five entry points
    requirements.txt   Arco's runtime dependencies, pinned to the versions installed here,
                       then the lines of the user's own requirements files
    arco/              the Arco package
    <include>/ ...     the user's code location (packages or modules named by --include)

It is reproducible: the same inputs give the same bytes (entries sorted, fixed timestamps and
permissions, no caches), so its SHA-256, in its name, changes exactly when the code does, and
terraform redeploys exactly then.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from arco.domain.errors import InvalidInput

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time in the bytes
_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".git"}
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class Package:
    path: Path
    sha256: str
    entries: int
    requirements: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "entries": self.entries,
            "requirements": list(self.requirements),
        }


def arco_sources() -> tuple[Path, Path]:
    """The Arco package directory and functions/main.py of this checkout."""
    package = Path(__file__).resolve().parents[2]  # .../arco
    entry = package.parents[1] / "functions" / "main.py"
    if not entry.is_file():
        raise InvalidInput(
            f"functions/main.py not found next to {package} (package from a checkout of Arco)"
        )
    return package, entry


def pinned_requirements(distribution: str = "arco") -> tuple[str, ...]:
    """Arco's runtime dependencies, each pinned to the version installed in this environment."""
    pins = []
    for requirement in importlib.metadata.requires(distribution) or []:
        if "extra ==" in requirement:
            continue  # optional extras (s3) are not needed on Google Cloud
        match = _REQUIREMENT_NAME.match(requirement)
        if match is None:
            continue
        name = match.group(0)
        pins.append(f"{name}=={importlib.metadata.version(name)}")
    return tuple(sorted(pins, key=str.lower))


def _files(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    if root.is_file():
        yield prefix, root
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_DIRS for part in relative.parts) or path.suffix == ".pyc":
            continue
        if path.is_file():
            yield f"{prefix}/{relative.as_posix()}", path


def _entry(name: str, data: bytes) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, data


def build_package(
    includes: Sequence[Path],
    output: Path,
    definitions: str | None = None,
    requirements_files: Sequence[Path] = (),
) -> Package:
    """Write the archive to `output` (a `.zip` path), or into the directory `output` as
    `arco-functions-<sha12>.zip`.

    `definitions` (pkg.module:attr), when given, must be importable from the archive: its
    top-level package is one of `includes` (or Arco itself). `requirements_files`: the code
    location's own dependencies (pip requirement lines), appended to Arco's."""
    package_dir, entry = arco_sources()
    members: dict[str, bytes] = {"main.py": entry.read_bytes()}
    for name, path in _files(package_dir, "arco"):
        members[name] = path.read_bytes()
    tops = {"arco"}
    for include in includes:
        path = include.resolve()
        if not path.exists():
            raise InvalidInput(f"--include {include}: no such file or directory")
        top = path.stem if path.is_file() else path.name
        if top in tops or top in ("main", "requirements"):
            raise InvalidInput(f"--include {include}: {top!r} is already in the archive")
        tops.add(top)
        for name, file in _files(path, path.name):
            members[name] = file.read_bytes()
    if definitions is not None:
        top = definitions.split(":", 1)[0].split(".", 1)[0]
        if top not in tops:
            raise InvalidInput(
                f"the code location {definitions!r} would not be importable from the archive: "
                f"add its package with --include (have: {', '.join(sorted(tops))})"
            )
    requirements = pinned_requirements()
    extra: list[str] = []
    for file in requirements_files:
        if not file.is_file():
            raise InvalidInput(f"--requirements {file}: no such file")
        lines = [line.strip() for line in file.read_text().splitlines()]
        extra.extend(line for line in lines if line and not line.startswith("#"))
    lines = [*requirements, *extra]
    members["requirements.txt"] = ("\n".join(lines) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info, data = _entry(name, members[name])
            archive.writestr(info, data)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path = output if output.suffix == ".zip" else output / f"arco-functions-{digest[:12]}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Package(path, digest, len(members), tuple(lines))
