"""Backfills through the CLI (`arco backfill ...`) and HTTP (`/v1/workspaces/{ws}/backfills`):
create with an Idempotency-Key, bad input that writes nothing, pause / resume / cancel with
409s naming the status, list (paginated) / show / runs, retry-failed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from arco.cli import output
from arco.cli.main import cli
from arco.clock import FixedClock
from arco.services.code_location import load_definitions
from arco.services.commands.deploy import deploy
from arco.services.engines.dispatch import InProcessExecutor
from arco.services.engines.timer import run_timer
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client, body_of, ledger_size, now_of, refused_status
from tests.workspaces import create_workspaces

LOCATION = "tests.fixtures.backfill_graph:defs"
T0 = datetime(2024, 2, 1, tzinfo=UTC)
WS = "backfills"
URL = f"/v1/workspaces/{WS}/backfills"
TEN_DAYS = {"kind": "range", "first": "2024-01-01", "last": "2024-01-10"}

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path),
        WS,
        clock=FixedClock(int(T0.timestamp() * 1000)),
        lookback_ms=3_600_000,
    )
    create_workspaces(workspace.store, WS)  # as `arco workspace create` does
    deploy(workspace, load_definitions(LOCATION).snapshot(LOCATION), "test")
    workspace.compactor.compact_until_idle()
    return workspace


@pytest.fixture
def run(tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`arco ...` on the same store, simulating the workspace's clock (--at)."""
    monkeypatch.setattr(output.console, "width", 200)  # tables unwrapped
    monkeypatch.setattr(output.err_console, "width", 200)  # errors on one line
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(
            cli,
            [
                "--store",
                f"file://{tmp_path}",
                "--workspace",
                WS,
                "--lookback-ms",
                "3600000",
                "--at",
                now_of(ws).isoformat(),
                *args,
            ],
        )
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def http(ws: Workspace) -> FlaskClient:
    return api_client(ws)


def timer(ws: Workspace, seconds: int = 10) -> None:
    """Advance the clock, run the timer with an in-process executor, publish."""
    assert isinstance(ws.clock, FixedClock)
    ws.clock.advance(seconds * 1000)
    run_timer(ws, now_of(ws), dispatcher=InProcessExecutor(ws, load_definitions(LOCATION)))
    ws.compactor.compact_until_idle()


def create(http: FlaskClient, ws: Workspace, **fields: Any) -> dict[str, Any]:
    response = http.post(URL, json={"selection": "*", "partitions": TEN_DAYS, **fields})
    assert response.status_code == 201, response.json
    ws.compactor.compact_until_idle()
    return body_of(response)


def until(ws: Workspace, http: FlaskClient, backfill_id: str, statuses: set[str]) -> None:
    trace = []
    for _ in range(30):
        view = body_of(http.get(f"{URL}/{backfill_id}"))
        if view["status"] in statuses:
            return
        runs = body_of(http.get(f"{URL}/{backfill_id}/runs"))["runs"]
        trace.append((view["chunks"], [(r["partition_range"], r["status"]) for r in runs]))
        timer(ws)
    steps = "\n".join(map(str, trace[:8]))
    raise AssertionError(f"backfill {backfill_id} never reached {statuses}:\n{steps}")


# --- create ------------------------------------------------------------------------------------


def test_create_in_the_cli_as_a_table_and_as_json(run: Run, ws: Workspace) -> None:
    code, out = run(
        "backfill", "create", "*", "--from", "2024-01-01", "--to", "2024-01-10",
        "--chunk-size", "3", "--max-concurrent-runs", "2", "--tag", "team=data",
    )  # fmt: skip
    assert code == 0, out
    assert "created backfill bf_" in out and "REQUESTED" in out
    assert "partitions  10 of raw" in out
    assert "chunks      4 of up to 3 partition(s), at most 2 run(s) at once" in out

    args = ("backfill", "create", "key:raw", "--keys", "2024-01-03,2024-01-05",
            "--idempotency-key", "nightly-1")  # fmt: skip
    code, out = run(*args, "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["created"] is True and first["status"] == "REQUESTED"
    assert first["assets"] == ["raw"] and first["partitions"] == 2 and first["chunks"] == 1
    size = ledger_size(ws)
    code, out = run(*args, "--json")
    again = json.loads(out)
    assert code == 0 and again["created"] is False
    assert again["backfill_id"] == first["backfill_id"]
    assert ledger_size(ws) == size
    code, out = run(*args)  # the table, not JSON
    assert code == 0 and "existing backfill (same Idempotency-Key)" in out
    assert first["backfill_id"] in out

    # Compacted after creating: the listing shows both, newest first.
    code, out = run("backfill", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and len(listed) == 2
    assert {b["selection"] for b in listed} == {"*", "key:raw"}
    assert {b["status"] for b in listed} == {"REQUESTED"}
    code, out = run("backfill", "list")
    assert code == 0 and first["backfill_id"] in out and "0/4" in out and "0/1" in out


def test_create_over_http_with_an_idempotency_key(http: FlaskClient, ws: Workspace) -> None:
    body = {"selection": "*", "partitions": TEN_DAYS, "chunk_size": 5, "tags": {"team": "data"}}
    key = {"Idempotency-Key": "backfill-jan"}
    response = http.post(URL, json=body, headers=key)
    assert response.status_code == 201
    created = body_of(response)
    assert created["created"] is True and created["backfill_id"].startswith("bf_")
    assert created["partitions"] == 10 and created["chunks"] == 2 and created["anchor"] == "raw"
    # Readable at once (read-your-writes), though no compactor ran since it was created.
    shown = http.get(f"{URL}/{created['backfill_id']}")
    assert shown.status_code == 200 and body_of(shown)["status"] == "REQUESTED"

    size = ledger_size(ws)
    response = http.post(URL, json=body, headers=key)
    assert response.status_code == 200
    assert body_of(response)["backfill_id"] == created["backfill_id"]
    assert body_of(response)["created"] is False

    response = http.post(URL, json={**body, "chunk_size": 2}, headers=key)
    assert response.status_code == 409
    error = body_of(response)["error"]
    assert error["backfill_id"] == created["backfill_id"] and "backfill-jan" in error["message"]
    assert ledger_size(ws) == size

    # Without a key, every request is a new backfill.
    other = http.post(URL, json=body)
    assert other.status_code == 201 and body_of(other)["backfill_id"] != created["backfill_id"]


def test_an_unpartitioned_selection_takes_no_partitions(http: FlaskClient, ws: Workspace) -> None:
    # Every asset of the fixture is partitioned: without partitions the service names the anchor.
    response = http.post(URL, json={"selection": "key:clean", "partitions": None})
    assert response.status_code == 422
    assert "'clean' is partitioned" in body_of(response)["error"]["message"]


# --- bad input writes nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, needle",
    [
        (
            {"selection": "", "partitions": TEN_DAYS},
            "body.selection: String should have at least 1 character",
        ),
        ({"selection": "key:nope", "partitions": TEN_DAYS}, "unknown asset 'nope'"),
        (
            {"selection": "*", "partitions": {**TEN_DAYS, "first": "2023-12-01"}},
            "'2023-12-01' is not a key",
        ),
        (
            {"selection": "*", "partitions": {**TEN_DAYS, "last": "2024-03-01"}},
            "'2024-03-01' is outside",
        ),
        (
            {"selection": "*", "partitions": {**TEN_DAYS, "first": "2024-01-20"}},
            "reversed range",
        ),
        (
            {"selection": "*", "partitions": TEN_DAYS, "chunk_size": 0},
            "body.chunk_size: Input should be greater",
        ),
        (
            {"selection": "*", "partitions": TEN_DAYS, "chunk_size": "3"},
            "body.chunk_size: Input should be a valid integer",
        ),
        (
            {"selection": "*", "partitions": TEN_DAYS, "max_concurrent_runs": 0},
            "body.max_concurrent_runs: Input should be greater",
        ),
        ({"selection": "*"}, "'raw' is partitioned"),
        ({"partitions": TEN_DAYS}, "body.selection: Field required"),
        (
            {"selection": 3, "partitions": TEN_DAYS},
            "body.selection: Input should be a valid string",
        ),
        ({"selection": "*", "partitions": "all"}, "body.partitions: Input should be an object"),
        (
            {"selection": "*", "partitions": {"kind": "range", "first": "2024-01-01"}},
            "body.partitions.range.last: Field required",
        ),
        (
            {"selection": "*", "partitions": {"kind": "some"}},
            "body.partitions: Input tag 'some' found using 'kind' does not match",
        ),
        (
            {"selection": "*", "partitions": {"kind": "keys", "keys": []}},
            "body.partitions.keys.keys: List should have at least 1 item",
        ),
        (
            {"selection": "*", "partitions": {"kind": "all", "x": 1}},
            "body.partitions.all.x: unknown field",
        ),
        ({"selection": "*", "partitions": {"kind": "all", "status": "old"}}, "status"),
        ({"selection": "*", "partitions": TEN_DAYS, "extra": 1}, "body.extra: unknown field"),
        (
            {"selection": "*", "partitions": TEN_DAYS, "tags": ["a"]},
            "body.tags: Input should be an object",
        ),
    ],
)
def test_bad_bodies_are_400_and_write_nothing(
    http: FlaskClient, ws: Workspace, body: dict[str, Any], needle: str
) -> None:
    size = ledger_size(ws)
    response = http.post(URL, json=body, headers={"Idempotency-Key": "k-1"})
    refused_status(response)
    error = body_of(response)["error"]
    assert needle in error["message"], error
    assert ledger_size(ws) == size
    # The key was not used up: a good body with it is created.
    good = {"selection": "*", "partitions": TEN_DAYS}
    ok = http.post(URL, json=good, headers={"Idempotency-Key": "k-1"})
    assert ok.status_code == 201


def test_a_body_that_is_not_json_is_400(http: FlaskClient, ws: Workspace) -> None:
    size = ledger_size(ws)
    response = http.post(URL, data=b"{nope", content_type="application/json")
    assert (
        response.status_code == 400
        and "body: Invalid JSON" in body_of(response)["error"]["message"]
    )
    assert ledger_size(ws) == size


@pytest.mark.parametrize(
    "args, needle",
    [
        (("", "--all"), "the selection is empty"),
        (("key:nope", "--all"), "unknown asset 'nope'"),
        (("*", "--from", "2023-12-01", "--to", "2024-01-03"), "'2023-12-01' is not a key"),
        (("*", "--from", "2024-01-05", "--to", "2024-01-03"), "reversed range"),
        (("*", "--all", "--chunk-size", "0"), "chunk size"),
        (("*", "--all", "--from", "2024-01-01", "--to", "2024-01-03"), "only one of"),
        (("*", "--all", "--keys", "2024-01-01"), "--all and --keys"),
        (("*", "--from", "2024-01-01"), "give both --from and --to"),
        (("*", "--to", "2024-01-01"), "give both --from and --to"),
        (("*", "--keys", ","), "at least one key"),
        (("*", "--status", "missing"), "--status filters a partition selection"),
        (("*",), "'raw' is partitioned"),
        (("*", "--all", "--tag", "oops"), "use key=value"),
    ],
)
def test_bad_input_in_the_cli_exits_2_and_writes_nothing(
    run: Run, ws: Workspace, args: tuple[str, ...], needle: str
) -> None:
    size = ledger_size(ws)
    code, out = run("backfill", "create", *args)
    assert code == 2 and needle in " ".join(out.split()), out
    assert ledger_size(ws) == size
    code, out = run("backfill", "create", *args, "--json")
    assert code == 2 and needle in json.loads(out)["error"]["message"]
    assert ledger_size(ws) == size


def test_unknown_backfills_are_404_and_a_cli_error(
    run: Run, http: FlaskClient, ws: Workspace
) -> None:
    size = ledger_size(ws)
    for response in (
        http.get(f"{URL}/bf_nope"),
        http.get(f"{URL}/bf_nope/runs"),
        http.post(f"{URL}/bf_nope/pause"),
        http.post(f"{URL}/bf_nope/resume"),
        http.post(f"{URL}/bf_nope/cancel", json={"cancel_runs": True}),
        http.post(f"{URL}/bf_nope/retry-failed"),
    ):
        assert response.status_code == 404, response.json
        assert "no backfill 'bf_nope'" in body_of(response)["error"]["message"]
    for args in (("show", "bf_nope"), ("runs", "bf_nope"), ("pause", "bf_nope"),
                 ("cancel", "bf_nope", "--cancel-runs"), ("retry-failed", "bf_nope")):  # fmt: skip
        code, out = run("backfill", *args)
        assert code != 0 and "no backfill 'bf_nope'" in out
    assert ledger_size(ws) == size


# --- lifecycle ---------------------------------------------------------------------------------


def test_pause_resume_show_runs_and_retry_failed(
    run: Run, http: FlaskClient, ws: Workspace
) -> None:
    # Two runs at a time.
    backfill = create(http, ws, chunk_size=3, max_concurrent_runs=2)
    bf = backfill["backfill_id"]
    timer(ws)

    response = http.post(f"{URL}/{bf}/pause", json={"request_id": "pause-1"})
    assert response.status_code == 202
    assert body_of(response)["previous_status"] == "REQUESTED"
    ws.compactor.compact_until_idle()
    again = http.post(f"{URL}/{bf}/pause", headers={"Idempotency-Key": "pause-2"})
    assert again.status_code == 409
    error = body_of(again)["error"]
    assert error["status"] == "PAUSED" and "it is PAUSED" in error["message"]
    code, out = run("backfill", "pause", bf)
    assert code == 2 and "it is PAUSED" in out
    assert http.post(f"{URL}/{bf}/resume", json={"cancel_runs": True}).status_code == 400

    # Paused: the timer plans no new chunk.
    planned = body_of(http.get(f"{URL}/{bf}"))["chunks"]["planned"]
    timer(ws)
    timer(ws)
    assert body_of(http.get(f"{URL}/{bf}"))["chunks"]["planned"] == planned < 4
    code, out = run("backfill", "list", "--status", "paused", "--json")
    assert code == 0 and [b["backfill_id"] for b in json.loads(out)] == [bf]

    code, out = run("backfill", "resume", bf, "--request-id", "resume-1")
    assert code == 0 and f"backfill {bf}: PAUSED -> REQUESTED" in out
    code, out = run("backfill", "resume", bf)
    assert code == 2 and "it is REQUESTED" in out

    # 2024-01-05 fails in `clean` (and skips `report`): the backfill completes failed.
    until(ws, http, bf, {"COMPLETED_FAILED"})
    view = body_of(http.get(f"{URL}/{bf}"))
    assert view["chunks"] == {
        "total": 4,
        "planned": 4,
        "succeeded": 3,
        "failed": 1,
        "canceled": 0,
        "done": 4,
    }
    assert view["per_asset"] == {
        "raw": {"materialized": 10, "failed": 0, "canceled": 0, "in_progress": 0},
        "clean": {"materialized": 9, "failed": 1, "canceled": 0, "in_progress": 0},
        "report": {"materialized": 9, "failed": 1, "canceled": 0, "in_progress": 0},
    }
    assert view["total_partitions"] == 10 and view["anchor_partitions_not_started"] == 0
    code, out = run("backfill", "show", bf, "--json")
    assert code == 0 and json.loads(out) == view
    code, out = run("backfill", "show", bf)
    assert code == 0, out
    assert f"backfill {bf} COMPLETED_FAILED" in out
    assert "2024-01-01 .. 2024-01-10: 10 of raw" in out
    assert "chunk size   3   concurrency 2" in out
    assert "4/4 done (3 succeeded, 1 failed, 0 canceled; 4 planned)" in out
    assert "━" in out  # the progress bar
    assert "0 anchor partitions not started" in out
    # Piped, the per-asset table is tab-separated, a header line then one line per asset.
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines() if "\t" in line}
    assert rows["asset"][:5] == ["asset", "materialized", "failed", "canceled", "in progress"]
    assert rows["clean"][1:5] == ["9", "1", "0", "0"]

    runs = body_of(http.get(f"{URL}/{bf}/runs"))["runs"]
    runs_by_range = sorted(runs, key=lambda r: r["partition_range"]["first"])
    assert [r["partition_range"] for r in runs_by_range] == [
        {"first": "2024-01-01", "last": "2024-01-03"},
        {"first": "2024-01-04", "last": "2024-01-06"},
        {"first": "2024-01-07", "last": "2024-01-09"},
        {"first": "2024-01-10", "last": "2024-01-10"},
    ]
    assert [r["status"] for r in runs_by_range] == ["SUCCESS", "FAILURE", "SUCCESS", "SUCCESS"]
    code, out = run("backfill", "runs", bf, "--json")
    # The CLI's --json is the API's model: the same runs, the same shapes.
    assert code == 0 and json.loads(out) == runs
    code, out = run("backfill", "runs", bf)
    assert code == 0 and "2024-01-04 .. 2024-01-06" in out and "7/1/1" in out
    assert all(r["run_id"] in out for r in runs)

    # Finished: no more pause / resume / cancel.
    response = http.post(f"{URL}/{bf}/cancel")
    assert response.status_code == 409
    assert body_of(response)["error"]["status"] == "COMPLETED_FAILED"

    # retry-failed: a child backfill over exactly 2024-01-05 (once).
    response = http.post(f"{URL}/{bf}/retry-failed")
    assert response.status_code == 201
    child = body_of(response)
    assert child["created"] is True and child["partitions"] == 1
    size = ledger_size(ws)
    response = http.post(f"{URL}/{bf}/retry-failed")
    assert response.status_code == 200
    assert body_of(response)["backfill_id"] == child["backfill_id"]
    assert ledger_size(ws) == size
    code, out = run("backfill", "retry-failed", bf)
    assert code == 0 and "already retried" in out and child["backfill_id"] in out
    code, out = run("backfill", "retry-failed", child["backfill_id"])
    assert code == 2 and "is REQUESTED: retry once it has finished" in out
    response = http.post(f"{URL}/{child['backfill_id']}/retry-failed")
    assert response.status_code == 409 and body_of(response)["error"]["status"] == "REQUESTED"

    shown = body_of(http.get(f"{URL}/{child['backfill_id']}"))
    assert shown["parent_backfill_id"] == bf and shown["root_backfill_id"] == bf
    assert shown["partitions"]["key_count"] == 1
    assert shown["key_ranges"] == [["2024-01-05", "2024-01-05"]]
    code, out = run("backfill", "show", child["backfill_id"])
    assert code == 0 and f"parent       {bf}   root {bf}" in out
    assert "partitions   1 listed keys: 1 of" in out and "keys         2024-01-05\n" in out

    # Cancel the child (and its runs) from the CLI; canceling twice is refused.
    code, out = run("backfill", "cancel", child["backfill_id"], "--cancel-runs")
    assert code == 0, out
    assert f"backfill {child['backfill_id']}: REQUESTED -> CANCELING (and its runs)" in out
    code, out = run("backfill", "cancel", child["backfill_id"], "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "Refused"
    until(ws, http, child["backfill_id"], {"CANCELED"})
    code, out = run("backfill", "list")
    assert code == 0 and "CANCELED" in out and "COMPLETED_FAILED" in out


def test_cancel_over_http_with_cancel_runs(http: FlaskClient, ws: Workspace) -> None:
    bf = create(http, ws)["backfill_id"]
    response = http.post(f"{URL}/{bf}/cancel", json={"cancel_runs": "yes"})
    assert response.status_code == 400 and "cancel_runs" in body_of(response)["error"]["message"]
    response = http.post(f"{URL}/{bf}/cancel", json={"request_id": "a/b"})
    assert response.status_code == 400
    assert "body.request_id" in body_of(response)["error"]["message"]
    response = http.post(f"{URL}/{bf}/cancel", json={"cancel_runs": True, "request_id": "c-1"})
    assert response.status_code == 202
    assert body_of(response) | {"ledger_object": None} == {
        "backfill_id": bf,
        "previous_status": "REQUESTED",
        "action": "cancel",
        "ledger_object": None,
    }
    ws.compactor.compact_until_idle()
    shown = body_of(http.get(f"{URL}/{bf}"))
    assert shown["status"] in {"CANCELING", "CANCELED"}
    response = http.post(f"{URL}/{bf}/resume")
    assert response.status_code == 409
    assert body_of(response)["error"]["status"] == shown["status"]
    until(ws, http, bf, {"CANCELED"})
    response = http.post(f"{URL}/{bf}/retry-failed")
    assert response.status_code == 201
    assert body_of(response)["partitions"] == 10  # nothing ran: every partition is retried


# --- listing -----------------------------------------------------------------------------------


def test_list_newest_first_with_pagination(run: Run, http: FlaskClient, ws: Workspace) -> None:
    assert isinstance(ws.clock, FixedClock)
    ids = []
    for n in range(3):
        ids.append(create(http, ws, chunk_size=n + 1)["backfill_id"])
        ws.clock.advance(1000)
    ids.append(create(http, ws, chunk_size=9)["backfill_id"])  # same second as the next
    ids.append(create(http, ws, chunk_size=10)["backfill_id"])
    bf = ids[0]
    http.post(f"{URL}/{bf}/pause")
    ws.compactor.compact_until_idle()

    everything = body_of(http.get(URL))
    assert everything["next_cursor"] is None
    listed = [b["backfill_id"] for b in everything["backfills"]]
    assert sorted(listed) == sorted(ids)
    assert listed[-3:] == [ids[2], ids[1], ids[0]]  # newest first
    created = [b["created_ms"] for b in everything["backfills"]]
    assert created == sorted(created, reverse=True)

    paged: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = body_of(http.get(URL, query_string=query))
        assert len(page["backfills"]) == 1
        paged += [b["backfill_id"] for b in page["backfills"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == listed

    page = body_of(http.get(URL, query_string={"limit": "2"}))
    rest = body_of(http.get(URL, query_string={"limit": "10", "cursor": page["next_cursor"]}))
    assert [b["backfill_id"] for b in page["backfills"] + rest["backfills"]] == listed
    assert rest["next_cursor"] is None

    paused = body_of(http.get(URL, query_string={"status": "PAUSED"}))
    assert [b["backfill_id"] for b in paused["backfills"]] == [bf]
    code, out = run("backfill", "list", "--json")
    assert code == 0 and [b["backfill_id"] for b in json.loads(out)] == listed
    code, out = run("backfill", "list", "--status", "PAUSED")
    assert code == 0 and bf in out and ids[1] not in out

    for query, needle in (
        ({"status": "paused"}, "query.status: Input should be 'REQUESTED'"),
        ({"limit": "0"}, "query.limit: Input should be greater than or equal to 1"),
        ({"cursor": "nope"}, "invalid cursor"),
        ({"cursor": "eyJhZnRlciI6MX0"}, "invalid cursor"),  # {"after":1}
    ):
        response = http.get(URL, query_string=query)
        refused_status(response)
        assert needle in body_of(response)["error"]["message"]
