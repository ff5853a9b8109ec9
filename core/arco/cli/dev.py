"""`arco dev`: the HTTP API on loopback plus a local timer loop, on one store. No auth."""

from __future__ import annotations

import threading
from dataclasses import replace

from arco.bootstrap import Instance
from arco.cli.output import console, err_console
from arco.clock import clock_now
from arco.domain.errors import ArcoError, InvalidInput
from arco.services.auth import LoopbackGate, is_loopback
from arco.services.code_location import ReloadingLocation
from arco.services.workspace import Workspace


def deploy_location(ws: Workspace, location: ReloadingLocation, verb: str) -> None:
    """Deploy the location's current definitions (nothing when unchanged) and say so."""
    from arco.services.commands.deploy import deploy

    snapshot = location.definitions.snapshot(location.reference)
    result = deploy(ws, snapshot, "dev")
    ws.compactor.compact_until_idle()
    state = "deployed" if result["changed"] else "unchanged"
    console.print(
        f"{verb} {location.reference}: snapshot {result['content_hash'][:12]} ({state}), "
        f"{len(snapshot.assets)} asset(s)"
    )


def run_dev(
    cli_instance: Instance,
    ws: Workspace,
    host: str,
    port: int,
    interval: float,
    definitions: str | None = None,
) -> None:
    """Serve `ws`'s store on http://host:port and run the timer for `ws` every `interval` s."""
    if not is_loopback(host if host != "localhost" else "127.0.0.1"):
        raise InvalidInput(
            f"arco dev verifies no caller, so it binds to loopback only, not {host!r}; deploy "
            "the api function (docs/security.md) to serve other machines"
        )
    instance = replace(
        cli_instance,
        source="dev",
        store_override=cli_instance.store,  # the same store object (memory:// included)
        gate_override=LoopbackGate(),
        serve_declared_only=False,
    )
    stop = threading.Event()

    from arco.services.engines.dispatch import InProcessExecutor, NoWorkers, TaskDispatcher
    from arco.services.engines.timer import run_timer

    dispatcher: TaskDispatcher = NoWorkers()
    location = None
    if definitions:
        location = ReloadingLocation(definitions)
        dispatcher = InProcessExecutor(ws, location.definitions)
        deploy_location(ws, location, "deployed")

    def reload_if_changed() -> None:
        """Like `dagster dev`: an edited code location is loaded again and deployed; one that
        no longer loads is reported, and the previous code goes on running."""
        nonlocal dispatcher
        if location is None or not location.changed():
            return
        previous = location.definitions
        try:
            location.reload()
            deploy_location(ws, location, "reloaded")  # builds (checks) the snapshot first
        except ArcoError as exc:
            location.definitions = previous
            err_console.print(f"[red]reload failed, still running the previous code:[/] {exc}")
            return
        dispatcher = InProcessExecutor(ws, location.definitions)

    def timer_loop() -> None:
        while not stop.is_set():
            try:
                reload_if_changed()
                now = clock_now(ws.clock)
                result = run_timer(ws, now, dispatcher=dispatcher)
                if result.ledger_objects or result.dispatch.executed:
                    console.print(
                        f"[dim]timer[/] {ws.name}: manifest {result.manifest_id}, "
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
    err_console.print(
        "[bold yellow]AUTH IS OFF:[/] arco dev verifies no caller; every request from this "
        f"machine acts as an admin. Serving loopback only ({host})."
    )
    console.print(
        f"arco dev: API on http://{host}:{port} (try /v1/workspaces/{ws.name}/state),"
        f" timer every {interval}s on {instance.store.url}"
        + (f", executing {definitions}" if definitions else " (no --definitions: runs wait)")
    )
    try:
        instance.api_app.run(host=host, port=port, threaded=True)
    finally:
        stop.set()
