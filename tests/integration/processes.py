"""Services the integration tests run as subprocesses (emulators, functions-framework)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """In a session of its own, so teardown can end the whole group (gunicorn forks workers)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, then SIGKILL whatever is left of it (a forked child may outlive the
    leader)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(5)


def tail(log: Path, chars: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def wait_listening(proc: subprocess.Popen[bytes], port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"{what} did not start listening on port {port} "
                    f"(exit code {proc.poll()}); its output:\n{tail(log)}"
                )
            time.sleep(0.05)


@dataclass
class ServedFunction:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    log: Path


@contextlib.contextmanager
def serve_function(
    target: str, env: dict[str, str], log: Path, source: Path = REPO / "functions" / "main.py"
) -> Iterator[ServedFunction]:
    """Serve one entry point of functions/main.py (or a test wrapper of it) with
    functions-framework in its own process.

    The child gets this environment without any ARCO_*, CLOUD_TASKS_* or PUBSUB_* variable,
    plus ARCO_AUTH=off-loopback (the emulators that call it cannot sign ID tokens; the callers
    are on loopback), plus `env`, and the repository on its PYTHONPATH (for the tests' code
    locations)."""
    port = _free_port()
    child = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ARCO_", "CLOUD_TASKS_", "PUBSUB_"))
    }
    child.update({"ARCO_AUTH": "off-loopback", **env}, PYTHONPATH=str(REPO))
    command = [
        str(Path(sys.executable).parent / "functions-framework"),
        *("--target", target, "--source", str(source)),
        *("--port", str(port), "--host", "127.0.0.1"),
    ]
    proc = start_process(command, child, log)
    try:
        wait_listening(proc, port, f"the {target} function", log)
        yield ServedFunction(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process(proc)
