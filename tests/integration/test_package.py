"""`arco package`: the archive Cloud Functions build from, reproducible and importable."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from click.testing import CliRunner

from arco.cli.main import cli

REPO = Path(__file__).resolve().parents[2]


def _user_package(root: Path) -> Path:
    package = root / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "assets.py").write_text(
        "from arco.sdk import Definitions, asset\n\n"
        "@asset\ndef orders() -> None:\n    pass\n\n"
        "defs = Definitions(assets=[orders])\n"
    )
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "assets.cpython-311.pyc").write_bytes(b"stale")
    return package


def _package(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["package", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_the_archive_is_reproducible_and_its_code_location_loads_from_it(tmp_path: Path) -> None:
    shop = _user_package(tmp_path)
    extra = tmp_path / "requirements.txt"
    extra.write_text("# the code location's own\npandas>=2\n")
    common = ["--include", str(shop), "--definitions", "shop.assets:defs"]
    common += ["--requirements", str(extra)]
    first = _package(*common, "--output", str(tmp_path / "a"))
    (shop / "assets.py").touch()  # a new mtime changes nothing
    second = _package(*common, "--output", str(tmp_path / "b" / "fixed-name.zip"))
    assert first["sha256"] == second["sha256"]
    assert Path(str(first["path"])).read_bytes() == Path(str(second["path"])).read_bytes()
    assert str(first["sha256"])[:12] in str(first["path"])
    assert str(second["path"]).endswith("fixed-name.zip")

    with zipfile.ZipFile(str(first["path"])) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "src")
    assert names == sorted(names)
    assert {"main.py", "requirements.txt", "arco/bootstrap.py", "shop/assets.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    requirements = (tmp_path / "src" / "requirements.txt").read_text().split()
    assert any(r.startswith("functions-framework==") for r in requirements)
    assert all("==" in r for r in requirements[:-1])
    assert requirements[-1] == "pandas>=2"  # the code location's own, after Arco's

    # What Cloud Functions does: import main from the source dir (its arco, not ours).
    probe = (
        "import main, arco, json; from arco.services.code_location import load_definitions;"
        "d = load_definitions('shop.assets:defs');"
        "print(json.dumps([arco.__file__, sorted(d.snapshot('x').assets)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path / "src",
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "src")},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    where, assets = json.loads(done.stdout.strip().splitlines()[-1])
    assert where.startswith(str(tmp_path / "src"))
    assert assets == ["orders"]


def test_a_code_location_the_archive_would_not_hold_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["package", "--definitions", "shop.assets:defs", "--output", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "would not be importable" in result.output
    assert not list(tmp_path.iterdir())
