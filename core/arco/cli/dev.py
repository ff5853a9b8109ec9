"""`arco dev`: the HTTP API on localhost plus a local timer loop, on one store."""

from __future__ import annotations

import threading

from arco.api.app import create_app
from arco.cli.output import console, err_console
from arco.clock import clock_now
from arco.services.workspace import Workspace
from arco.storage.url import open_store


def run_dev(
    store_url: str,
    workspace: str,
    host: str,
    port: int,
    interval: float,
    lookback_ms: int,
    definitions: str | None = None,
) -> None:
    store = open_store(store_url)
    cache: dict[str, Workspace] = {}
    lock = threading.Lock()

    def workspaces(name: str) -> Workspace:
        with lock:
            if name not in cache:
                cache[name] = Workspace(store, name, lookback_ms=lookback_ms, source="dev")
            return cache[name]

    stop = threading.Event()

    from arco.services.dispatch import InProcessExecutor, NoWorkers, TaskDispatcher
    from arco.services.timer import run_timer

    dispatcher: TaskDispatcher = NoWorkers()
    if definitions:
        from arco.services.code_location import load_definitions

        dispatcher = InProcessExecutor(workspaces(workspace), load_definitions(definitions))

    def timer_loop() -> None:
        while not stop.is_set():
            try:
                ws = workspaces(workspace)
                now = clock_now(ws.clock)
                result = run_timer(ws, now, dispatcher=dispatcher)
                if result.ledger_objects or result.dispatch.executed:
                    console.print(
                        f"[dim]timer[/] {workspace}: manifest {result.manifest_id}, "
                        f"{result.runs_launched} run(s) launched, "
                        f"{result.tasks_dispatched} task(s) dispatched, "
                        f"{len(result.dispatch.executed)} executed"
                    )
                if result.progressed:
                    continue
            except Exception as exc:  # keep the loop alive; show what went wrong
                err_console.print(f"[red]timer error:[/] {exc}")
            stop.wait(interval)

    thread = threading.Thread(target=timer_loop, name="arco-timer", daemon=True)
    thread.start()
    console.print(
        f"arco dev: API on http://{host}:{port} (try /v1/workspaces/{workspace}/state),"
        f" timer every {interval}s on {store.url}"
        + (f", executing {definitions}" if definitions else " (no --definitions: runs wait)")
    )
    try:
        create_app(workspaces).run(host=host, port=port, threaded=True)
    finally:
        stop.set()
