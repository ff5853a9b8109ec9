"""`arco dev` as a user runs it: a real process serving HTTP, its timer loop compacting."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _request(url: str, method: str = "GET", body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


def _arco_dev(store: Path) -> list[str]:
    """`arco --store <store> --workspace dev dev`, run by this interpreter."""
    store_url = f"file://{store}"
    return [
        sys.executable,
        "-m",
        "arco.cli.main",
        "--store",
        store_url,
        "--workspace",
        "dev",
        "dev",
    ]


def test_dev_serves_the_api_and_compacts_in_the_background(tmp_path: Path) -> None:
    create_workspaces(LocalObjectStore(tmp_path), "dev")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [*_arco_dev(tmp_path), "--port", str(port), "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert _request(f"{base}/healthz")[0] == 200
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "arco dev did not start"
                time.sleep(0.1)
        status, _ = _request(
            f"{base}/v1/workspaces/dev/settings/runs.max_in_flight", "PUT", {"value": 9}
        )
        assert status == 202
        while True:  # the timer loop, not us, compacts
            state = _request(f"{base}/v1/workspaces/dev/state")[1]
            if state["manifest_id"] >= 1:
                break
            assert time.monotonic() < deadline, "the timer loop never compacted"
            time.sleep(0.1)
        settings = _request(f"{base}/v1/workspaces/dev/settings")[1]["settings"]
        by_name = {s["name"]: s for s in settings}
        assert by_name["runs.max_in_flight"]["value"] == 9
        assert by_name["runs.max_in_flight"]["changed_by"] == "local-dev"
    finally:
        proc.terminate()
        proc.wait(10)
    output = proc.stdout.read() if proc.stdout else ""
    assert "AUTH IS OFF" in output


def test_dev_refuses_to_serve_beyond_loopback(tmp_path: Path) -> None:
    """With no caller verified, `arco dev` binds to loopback only."""
    create_workspaces(LocalObjectStore(tmp_path), "dev")
    done = subprocess.run(
        [*_arco_dev(tmp_path), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "loopback only" in done.stdout + done.stderr


LOCATION_SOURCE = """
from arco import Definitions, asset


@asset(code_version="{version}")
def thing() -> None: ...


defs = Definitions(assets=[thing])
"""


DUPLICATE = """

@asset(name="thing", code_version="other")
def thing_again() -> None: ...


defs = Definitions(assets=[thing, thing_again])
"""


def _deployed_code_version(store: Path) -> str | None:
    from arco.services.queries.definitions import current_definitions
    from arco.services.workspace import Workspace

    defs = current_definitions(Workspace(LocalObjectStore(store), "dev").snapshot())
    return defs.assets["thing"].code_version if defs is not None else None


def test_dev_deploys_the_location_and_reloads_it_when_edited(tmp_path: Path) -> None:
    """As `dagster dev`: deployed at start; an edit is loaded and deployed again; an edit that
    no longer imports is reported and the previous code stays."""
    store, code = tmp_path / "store", tmp_path / "code"
    create_workspaces(LocalObjectStore(store), "dev")
    (code / "devloc").mkdir(parents=True)
    (code / "devloc" / "__init__.py").write_text("")
    module = code / "devloc" / "defs.py"
    module.write_text(LOCATION_SOURCE.format(version="1"))
    proc = subprocess.Popen(
        [*_arco_dev(store), "--port", str(_free_port()), "--interval", "0.2",
         "--definitions", "devloc.defs:defs"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=code,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": f"{REPO}/core:{REPO}"},
    )  # fmt: skip

    def wait_for(version: str) -> None:
        deadline = time.monotonic() + 30
        while _deployed_code_version(store) != version:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, f"code version {version} never deployed"
            time.sleep(0.1)

    try:
        wait_for("1")
        module.write_text(LOCATION_SOURCE.format(version="2") + "\n")  # another size
        wait_for("2")
        module.write_text("raise ValueError('half-written edit')\n")
        time.sleep(1.5)  # several timer loops: the broken edit is reported, nothing deployed
        assert _deployed_code_version(store) == "2"
        module.write_text(LOCATION_SOURCE.format(version="3") + "\n\n")
        wait_for("3")
        # Imports, but its snapshot cannot be built (two assets named alike): not deployed.
        module.write_text(LOCATION_SOURCE.format(version="4") + DUPLICATE)
        time.sleep(1.5)
        assert _deployed_code_version(store) == "3"
        module.write_text(LOCATION_SOURCE.format(version="5"))
        wait_for("5")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "deployed devloc.defs:defs: snapshot" in out
    assert "reloaded devloc.defs:defs: snapshot" in out
    assert "reload failed, still running the previous code:" in out
    assert "defs.py:1" in out and "ValueError: half-written edit" in out
    assert "duplicate asset key 'thing'" in out
