"""`python -m arco.stack up|down|status`: start a stack and supervise it, stop it, say what
runs.

`up` picks free ports on 127.0.0.1, starts every process in a process group of its own,
creates the bucket, the workspace (as `arco workspace create` does), deploys the code location
(unless --no-deploy), creates the queues, topics and push subscriptions, and starts the timer
chain with a first timer task. It writes DIR/stack.json (pids, ports, URLs, environments) and
DIR/env.sh (the environment for the `arco` CLI against this stack), prints the URLs, api first,
then stays in the foreground. Ctrl-C, SIGTERM, or `down` (from another shell) stops every process
it started, group by group, and checks by pid that nothing is left. The stack also plays Cloud
Scheduler: every --scheduler-interval seconds it calls the compactor and the timer (the
backstop of the chain).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from arco.stack.processes import StackError, group_members, is_running, stop_groups
from arco.stack.supervisor import (
    STATE_FILE,
    Options,
    Stack,
    read_state,
    supervisor_alive,
    write_json,
)
from arco.stack.tools import REPO, tasks_emulator_python

DEFAULT_DEFINITIONS = "examples.shop:defs"


def up(options: Options, out: Callable[[str], None] = print) -> int:
    """Start the stack and stay in the foreground until Ctrl-C, SIGTERM or SIGHUP."""
    directory = options.directory
    state = read_state(directory)
    if state is not None and supervisor_alive(state):
        out(
            f"a stack is already running from {directory} (pid {state['supervisor']['pid']}); "
            f"stop it first: python -m arco.stack down --dir {directory}"
        )
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    stack = Stack(options)
    code = 0
    try:
        stack.start(stop)
        stack.write_env_file()
        out(stack.summary())
        sys.stdout.flush()
        code = stack.supervise(stop)
    except StackError as exc:
        out(f"arco stack: {exc}")
        code = 1
    except Exception as exc:  # a setup step failed: say what, then stop what was started
        out(f"arco stack: setting up failed: {type(exc).__name__}: {exc}")
        code = 1
    finally:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            out("arco stack: stopping ...")
        left = stack.stop()
        pids = [c.pid for c in stack.children if c.popen is not None]
        if left:
            code = 1
        with contextlib.suppress(OSError):
            if left:
                out(f"arco stack: still running after SIGKILL: pids {left}")
            else:
                out(f"arco stack: stopped {len(pids)} processes; none left (pids {pids} checked)")
    return code


def down(directory: Path, out: Callable[[str], None] = print, timeout_s: float = 30.0) -> int:
    """Stop the stack started from `directory`: ask its supervisor (SIGTERM), then make sure
    by process group and pid that none of its processes is left."""
    state = read_state(directory)
    if state is None:
        out(f"no stack state in {directory}; nothing to stop")
        return 0
    sup = state.get("supervisor") or {}
    if supervisor_alive(state):
        with contextlib.suppress(ProcessLookupError):
            os.kill(sup["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while supervisor_alive(state) and time.monotonic() < deadline:
            time.sleep(0.05)
        if supervisor_alive(state):
            out(f"the supervisor (pid {sup['pid']}) did not stop in {timeout_s:.0f} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(sup["pid"], signal.SIGKILL)
    processes = state.get("processes") or []
    # A group whose leader is gone may still have members (a forked worker); a leader that is
    # alive but is not the process we started (reused pid) is not ours: leave it alone.
    groups = [
        p["pid"]
        for p in processes
        if isinstance(p.get("pid"), int)
        and (is_running(p["pid"], p.get("start_ticks")) or not is_running(p["pid"]))
    ]
    left = stop_groups(groups) if group_members(groups) else []
    left += [p["pid"] for p in processes if is_running(p["pid"], p.get("start_ticks"))]
    left = sorted(set(left))
    if left:
        out(f"still running: pids {left}")
        return 1
    out(
        f"stopped: no process of the stack is left (supervisor {sup.get('pid')}, "
        f"{len(processes)} processes checked by pid and process group)"
    )
    fresh = read_state(directory) or dict(state)
    fresh["status"] = "stopped"
    write_json(directory / STATE_FILE, fresh)
    return 0


def status(directory: Path, out: Callable[[str], None] = print) -> int:
    state = read_state(directory)
    if state is None:
        out(f"no stack state in {directory}")
        return 1
    running = supervisor_alive(state)
    out(f"stack in {directory}: {state.get('status')} (supervisor running: {running})")
    for name, url in (state.get("urls") or {}).items():
        out(f"  {name:<14}{url}")
    for p in state.get("processes") or []:
        alive = is_running(p["pid"], p.get("start_ticks"))
        out(f"  pid {p['pid']:<8} {p['name']:<16} {'running' if alive else 'gone'}")
    return 0 if running else 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m arco.stack",
        description="The serverless topology on local emulators (see docs/stack.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start the stack; Ctrl-C stops it")
    stop = commands.add_parser("down", help="stop the stack started from --dir")
    show = commands.add_parser("status", help="what runs")
    for sub in (start, stop, show):
        sub.add_argument("--dir", default=".stack", help="state and logs (default: .stack)")
    start.add_argument(
        "--definitions",
        default=os.environ.get("ARCO_DEFINITIONS") or DEFAULT_DEFINITIONS,
        help="the code location pkg.module:attr (default: $ARCO_DEFINITIONS or "
        f"{DEFAULT_DEFINITIONS})",
    )
    start.add_argument("--workspace", default="default")
    start.add_argument("--project", default="arco-local")
    start.add_argument("--bucket", default="arco-stack")
    start.add_argument(
        "--interval", type=int, default=5, help="seconds between timer calls (default: 5)"
    )
    start.add_argument("--heartbeat", type=int, default=15, help="worker heartbeat seconds")
    start.add_argument(
        "--scheduler-interval",
        type=float,
        default=60.0,
        help="seconds between the Cloud Scheduler stand-in's compactor and timer calls "
        "(0: never; default: 60)",
    )
    start.add_argument(
        "--max-retries", type=int, default=100, help="Cloud Tasks emulator retries per task"
    )
    start.add_argument(
        "--no-deploy", action="store_true", help="do not deploy the code location at start"
    )
    start.add_argument("--source", default=str(REPO / "functions" / "main.py"))
    start.add_argument("--tasks-emulator-python", default=str(tasks_emulator_python()))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    directory = Path(args.dir).resolve()
    if args.command == "down":
        return down(directory)
    if args.command == "status":
        return status(directory)
    if args.interval < 1:
        print("--interval must be at least 1 second", file=sys.stderr)
        return 2
    options = Options(
        directory=directory,
        definitions=args.definitions or None,
        workspace=args.workspace,
        project=args.project,
        bucket=args.bucket,
        interval_s=args.interval,
        heartbeat_s=args.heartbeat,
        scheduler_interval_s=args.scheduler_interval,
        max_retries=args.max_retries,
        deploy=not args.no_deploy,
        source=Path(args.source).resolve(),
        tasks_python=Path(args.tasks_emulator_python),
    )
    return up(options, out=lambda text: print(text, flush=True))
