"""`arco dev`: the HTTP API on localhost plus a local timer loop, on one store."""

from __future__ import annotations

import threading

from arco.api.app import create_app
from arco.cli.output import console, err_console
from arco.services.workspace import Workspace
from arco.storage.url import open_store


def run_dev(
    store_url: str, workspace: str, host: str, port: int, interval: float, lookback_ms: int
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

    def timer_loop() -> None:
        while not stop.is_set():
            try:
                for result in workspaces(workspace).compactor.compact_until_idle():
                    if result.published:
                        console.print(
                            f"[dim]timer[/] compacted {workspace}: manifest "
                            f"{result.manifest_id}, {result.fold.events_seen} event(s)"
                        )
            except Exception as exc:  # keep the loop alive; show what went wrong
                err_console.print(f"[red]timer error:[/] {exc}")
            stop.wait(interval)

    thread = threading.Thread(target=timer_loop, name="arco-timer", daemon=True)
    thread.start()
    console.print(
        f"arco dev: API on http://{host}:{port} (try /v1/workspaces/{workspace}/state),"
        f" timer every {interval}s on {store.url}"
    )
    try:
        create_app(workspaces).run(host=host, port=port, threaded=True)
    finally:
        stop.set()
