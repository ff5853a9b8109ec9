"""Commands for sensors: list, tick history, start, stop, set or reset the cursor."""

from __future__ import annotations

import uuid

import click
from rich.markup import escape

from arco.api import models as m
from arco.cli.automation import parse_now
from arco.cli.common import Context, add_start_stop, handle_errors, json_option, pass_ctx
from arco.cli.output import console, print_json, print_model, print_table, shorten
from arco.cli.runs import definitions_option, parse_tags, styled
from arco.domain.errors import InvalidInput

_SENSOR_STYLE = {"RUNNING": "[green]RUNNING[/]", "STOPPED": "[yellow]STOPPED[/]"}


def _time(iso: str | None) -> str:
    """'2024-02-01T00:00:31.250000+00:00' -> '2024-02-01 00:00:31' (always UTC)."""
    return iso[:19].replace("T", " ") if iso else ""


def _short(text: str | None, width: int = 32) -> str:
    if text is None:
        return ""
    return escape(shorten(text, width))


def _summary(text: str | None) -> str:
    """The first line of a skip reason or error; of a Python traceback, the exception line."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return _short(lines[-1] if lines[0].startswith("Traceback") else lines[0], 60)


def register(cli: click.Group) -> None:
    @cli.group(invoke_without_command=True)
    @json_option
    @click.option(
        "--now", "now_text", default=None, help="Compute next evaluations as of this time."
    )
    @click.pass_context
    def sensors(ctx: click.Context, as_json: bool, now_text: str | None) -> None:
        """List sensors with their status, cursor, last tick and next evaluation
        (see also: ticks, start, stop, cursor)."""
        if ctx.invoked_subcommand is not None:
            return
        c = ctx.find_object(Context)
        assert c is not None
        handle_errors(_list_sensors)(c, as_json=as_json, now_text=now_text)

    def _list_sensors(c: Context, as_json: bool, now_text: str | None) -> None:
        from arco.services.queries.sensors import list_sensors

        rows = list_sensors(c.ws, parse_now(now_text, c))
        if as_json:
            print_model(list[m.Sensor], rows)
            return
        print_table(
            "sensors (times in UTC)",
            ["name", "kind", "status", "cursor", "last evaluation", "last tick", "next evaluation"],
            [
                (
                    r["name"],
                    r["kind"],
                    _SENSOR_STYLE[r["status"]]
                    + (" (operator)" if r["status_source"] == "operator" else ""),
                    _short(r["cursor"]),
                    _time(r["last_evaluation"]),
                    styled(r["last_tick_status"]) if r["last_tick_status"] else "",
                    _time(r["next_evaluation"])
                    or ("per message" if r["kind"] == "push" and r["status"] == "RUNNING" else ""),
                )
                for r in rows
            ],
        )

    @sensors.command("ticks", short_help="A sensor's tick history, newest first.")
    @click.argument("name")
    @click.option(
        "--status",
        type=click.Choice(["SUCCESS", "SKIPPED", "FAILURE"], case_sensitive=False),
        default=None,
        help="Only ticks with this status.",
    )
    @click.option(
        "--limit",
        default=20,
        show_default=True,
        type=click.IntRange(1, 1000),
        help="Ticks to show.",
    )
    @click.option(
        "--before",
        default=None,
        metavar="TICK_ID",
        help="Only ticks older than this tick id (paging).",
    )
    @json_option
    @pass_ctx
    @handle_errors
    def ticks(
        c: Context, name: str, status: str | None, limit: int, before: str | None, as_json: bool
    ) -> None:
        """A sensor's evaluations, newest first: status, skip reason or error, cursor
        movement, and the runs it requested."""
        from arco.services.queries.sensors import sensor_ticks

        rows = sensor_ticks(c.ws, name, status.upper() if status else None, limit, before)
        if as_json:
            print_model(list[m.SensorTick], rows)
            return
        print_table(
            f"ticks of {escape(name)} (times in UTC)",
            ["time", "status", "skip reason / error", "cursor", "run keys", "run ids"],
            [
                (
                    _time(r["evaluated_at"]),
                    styled(r["status"]),
                    _summary(r["error"] or r["skip_reason"]),
                    f"message {_short(r['message_id'])}"
                    if r["kind"] == "push"
                    else f"{_short(r['cursor_before'], 20) or '-'} -> "
                    f"{_short(r['cursor_after'], 20) or '-'}",
                    escape(", ".join(r["run_keys"])),
                    ", ".join(r["run_ids"]),
                )
                for r in rows
            ],
        )

    from arco.services.commands.sensors import set_sensor_status

    add_start_stop(sensors, "sensor", set_sensor_status, m.SensorStatusChanged)

    @sensors.command("cursor", short_help="Set or reset a sensor's cursor.")
    @click.argument("name")
    @click.option("--set", "value", default=None, metavar="VALUE", help="The new cursor value.")
    @click.option("--reset", is_flag=True, help="Clear the cursor: start from the beginning.")
    @click.option("--request-id", default=None, help="Idempotency: one id applies once.")
    @json_option
    @pass_ctx
    @handle_errors
    def cursor(
        c: Context,
        name: str,
        value: str | None,
        reset: bool,
        request_id: str | None,
        as_json: bool,
    ) -> None:
        """Set (--set VALUE) or reset (--reset) a poll, asset or run-status sensor's cursor.

        An evaluation in flight that read the old cursor is discarded; run keys already
        requested stay claimed, so resetting does not request their runs again."""
        from arco.services.commands.sensors import set_sensor_cursor

        if (value is None) == (not reset):
            raise InvalidInput("give exactly one of --set VALUE or --reset")
        result = set_sensor_cursor(c.ws, name, value, request_id or uuid.uuid4().hex, c.actor)
        c.ws.compactor.compact_until_idle()
        if as_json:
            print_model(m.SensorCursorChanged, result)
        elif value is None:
            console.print(f"cursor of sensor {escape(name)} reset")
        else:
            console.print(f"cursor of sensor {escape(name)} set to {_short(value, 60)}")

    @sensors.command("push")
    @click.argument("name")
    @click.option("--data", default="", help="The message data (text).")
    @click.option(
        "--attribute", "attributes", multiple=True, metavar="KEY=VALUE", help="A message attribute."
    )
    @click.option("--message-id", default=None, help="Default: a new id (the same id: one effect).")
    @definitions_option
    @json_option
    @pass_ctx
    @handle_errors
    def push(
        c: Context,
        name: str,
        data: str,
        attributes: tuple[str, ...],
        message_id: str | None,
        reference: str | None,
        as_json: bool,
    ) -> None:
        """Deliver one message to a push sensor here, as Pub/Sub would to `sensor_push`.

        For development and replays: the sensor's function runs in this process (the code
        location from --definitions / ARCO_DEFINITIONS) and its evaluation is appended exactly
        as the function's would be; a message id delivered twice has one effect."""
        import base64
        import json

        from arco.services.code_location import load_definitions
        from arco.services.engines.sensor_push import PushHandler
        from arco.services.queries.sensors import tick_of_message

        if not reference:
            raise InvalidInput("give the code location: --definitions pkg.module:attr")
        attrs = parse_tags(attributes)
        handler = PushHandler(c.ws.store, c.ws.writer, load_definitions(reference))
        node = handler.snapshot.sensors.get(name)
        if node is None or node.kind != "push":  # refused here: nothing is quarantined
            raise InvalidInput(f"{name!r} is not a push sensor of {reference}")
        body = {
            "message": {
                "data": base64.b64encode(data.encode()).decode(),
                "attributes": attrs,
                "messageId": message_id or uuid.uuid4().hex,
            }
        }
        answer = handler.handle(json.dumps(body).encode(), {}, f"/sensors/{name}")
        if answer.status != 200:
            raise InvalidInput(answer.body["error"]["message"])
        c.ws.compactor.compact_until_idle()
        # The evaluation's outcome is what the function returned; the tick is what the fold
        # made of it (a stopped sensor's evaluation is a SKIPPED tick that requests nothing).
        tick = tick_of_message(c.ws, name, answer.body["message_id"])
        if as_json:
            print_json({**answer.body, "tick": tick})
            return
        said = (
            f"sensor {escape(name)} evaluated message {escape(answer.body['message_id'])}: "
            f"the function returned {styled(answer.body['outcome'])} with "
            f"{answer.body['run_requests']} run request(s)"
        )
        if tick is None:
            console.print(f"{said}; the tick is not folded yet")
            return
        why = tick["skip_reason"] or tick["error"]
        console.print(
            f"{said}; tick {styled(tick['status'])}" + (f" ({escape(why)})" if why else "")
        )
