"""Backfills over long explicit key lists (issue 18): stored compactly whatever their length,
up to a million keys, through the service, the API (bodies over the 1 MB default) and the CLI's
--keys-file; the chunks still run exactly the keys listed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.clock import FixedClock
from arco.domain.backfills import BACKFILL_CHUNKS, BACKFILLS, PartitionSelection
from arco.sdk import AssetSpec, Definitions, HourlyPartitionsDefinition
from arco.services.commands.backfills import BackfillRequest, create_backfill
from arco.services.commands.deploy import deploy
from arco.services.engines.timer import run_timer
from arco.services.queries.backfills import show_backfill
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.integration.helpers import api_client, body_of, ledger_size
from tests.workspaces import create_workspaces

WS = "keys"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
HOURLY = HourlyPartitionsDefinition(start_date="2000-01-01-00:00")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(
        LocalObjectStore(tmp_path), WS, clock=FixedClock(int(T0.timestamp() * 1000))
    )
    create_workspaces(workspace.store, WS)
    defs = Definitions(assets=[AssetSpec("events", partitions_def=HOURLY)])
    deploy(workspace, defs.snapshot("tests.backfill_key_lists"), "test")
    workspace.compactor.compact_until_idle()
    return workspace


def _hours(first: int, count: int, step: int) -> list[str]:
    keys = HOURLY.keys(T0)
    return keys[first : first + count * step : step]


def _ledger_bytes(ws: Workspace, name: str) -> int:
    stored = ws.store.get(ws.layout.ledger_key(name))
    assert stored is not None
    return len(stored.data)


def test_ten_thousand_contiguous_listed_keys_are_one_small_event(ws: Workspace) -> None:
    keys = _hours(5, 10_000, 1)
    request = BackfillRequest("*", PartitionSelection(kind="keys", keys=tuple(keys)))
    created, new = create_backfill(ws, request, "alice")
    assert new and created["partitions"] == 10_000
    assert _ledger_bytes(ws, created["ledger_object"]) <= 4096  # was 190 KB: every key stored
    ws.compactor.compact_until_idle()
    row = ws.snapshot().rows(BACKFILLS.name)[(created["backfill_id"],)]
    assert json.loads(row["ranges"]) == [[5, 10_000, 10_000, 1]]
    shown = show_backfill(ws, created["backfill_id"])
    assert shown["partitions"]["key_count"] == 10_000 and shown["partitions"]["keys"] == []
    assert shown["key_ranges"] == [(keys[0], keys[-1])] and shown["key_ranges_total"] == 1


def test_a_hundred_thousand_every_other_hour_over_http(ws: Workspace) -> None:
    keys = _hours(0, 100_000, 2)
    body = {"selection": "*", "partitions": {"kind": "keys", "keys": keys}, "chunk_size": 3}
    assert len(json.dumps(body)) > 1 << 20  # over the API's default body bound
    http = api_client(ws)
    response = http.post(f"/v1/workspaces/{WS}/backfills", json=body)
    assert response.status_code == 201, response.data[:500]
    created = body_of(response)
    assert created["partitions"] == 100_000 and created["chunks"] == -(-100_000 // 3)
    ws.compactor.compact_until_idle()
    row = ws.snapshot().rows(BACKFILLS.name)[(created["backfill_id"],)]
    assert json.loads(row["ranges"]) == [[0, 1, 2, 100_000]]  # one run of single keys
    shown = body_of(http.get(f"/v1/workspaces/{WS}/backfills/{created['backfill_id']}"))
    assert shown["key_ranges_total"] == 100_000 and len(shown["key_ranges"]) == 100
    assert shown["key_ranges"][:2] == [[keys[0], keys[0]], [keys[1], keys[1]]]

    # The first chunk runs exactly the first three listed keys: three runs (none adjacent).
    run_timer(ws, T0)
    ws.compactor.compact_until_idle()
    chunk = ws.snapshot().rows(BACKFILL_CHUNKS.name)[(created["backfill_id"], 0)]
    assert json.loads(chunk["pieces"]) == [[k, k] for k in keys[:3]]


def test_a_keys_file_from_the_cli(ws: Workspace, tmp_path: Path) -> None:
    keys = _hours(10, 3, 5)
    listing = tmp_path / "hours.txt"
    listing.write_text("\n".join(keys) + "\n\n")
    before = ledger_size(ws)
    args = ["--store", f"file://{tmp_path}", "--workspace", WS, "--at", T0.isoformat()]
    result = CliRunner().invoke(
        cli, [*args, "backfill", "create", "*", "--keys-file", str(listing), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["partitions"] == 3
    assert ledger_size(ws) == before + 1
    both = CliRunner().invoke(
        cli, [*args, "backfill", "create", "*", "--keys", keys[0], "--keys-file", str(listing)]
    )
    assert both.exit_code == 2 and "give only one of --keys and --keys-file" in both.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    nothing = CliRunner().invoke(cli, [*args, "backfill", "create", "*", "--keys-file", str(empty)])
    assert nothing.exit_code == 2 and "lists no key" in nothing.output
    assert ledger_size(ws) == before + 1
