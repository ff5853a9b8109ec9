"""The processes of a stack: each the leader of a process group of its own, started, watched
and stopped by group, and checked by pid and start time (a pid can be reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arco.stack.topology import LOOPBACK

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0


class StackError(Exception):
    """The stack cannot start (a tool is missing, a process did not come up)."""


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks) of `pid`, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[2]), int(fields[19])


def is_running(pid: int, start_ticks: int | None = None) -> bool:
    """Whether `pid` is a live process (not a zombie), and the same one when `start_ticks` is
    given (a pid can be reused once its process is gone)."""
    stat = proc_stat(pid)
    if stat is None or stat[0] in ("Z", "X"):
        return False
    return start_ticks is None or stat[2] == start_ticks


def group_members(groups: Iterable[int]) -> list[int]:
    """Every live process in one of the process groups `groups`."""
    wanted = set(groups)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = proc_stat(int(entry.name))
        if stat is not None and stat[1] in wanted and stat[0] not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


def stop_groups(groups: Sequence[int], grace_s: float = STOP_GRACE_S) -> list[int]:
    """SIGTERM every process of `groups`, SIGKILL what is left after `grace_s`; returns the
    pids still alive after that (none, unless something is stuck in the kernel)."""
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while group_members(groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    return group_members(groups)


@dataclass
class Child:
    """One process the stack started, the leader of its own process group."""

    name: str
    command: list[str]
    log: Path
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict, repr=False)
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    start_ticks: int | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self, cwd: Path) -> None:
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: Ctrl-C reaches the supervisor only
            )
        stat = proc_stat(self.popen.pid)
        self.start_ticks = stat[2] if stat else None

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pid": self.pid if self.popen else None,
            "start_ticks": self.start_ticks,
            "port": self.port,
            "url": self.url,
            "log": str(self.log),
            "command": self.command,
        }


def wait_listening(child: Child, deadline: float, stop: threading.Event) -> None:
    while True:
        try:
            socket.create_connection((LOOPBACK, child.port), timeout=0.5).close()
            return
        except OSError:
            pass
        code = child.exited()
        if code is not None:
            raise StackError(
                f"{child.name} exited with code {code} before listening on port {child.port}; "
                f"its output:\n{child.tail()}"
            )
        if stop.is_set():
            raise StackError("interrupted while starting")
        if time.monotonic() > deadline:
            raise StackError(
                f"{child.name} did not listen on port {child.port} within "
                f"{START_TIMEOUT_S:.0f} s; its output:\n{child.tail()}"
            )
        time.sleep(0.05)
