"""The `arco` CLI on a local-directory store, as an operator would use it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.projections.manifest import Pointer, read_current_manifest
from arco.projections.table_files import write_base
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    store = f"file://{tmp_path / 'store'}"

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, ["--store", store, "--workspace", "w1", *args])
        return result.exit_code, result.output

    assert invoke("workspace", "create", "w1")[0] == 0
    invoke.root = tmp_path / "store"  # type: ignore[attr-defined]
    return invoke


def ledger_count(root: Path) -> int:
    return len(list(LocalObjectStore(root).list("workspaces/w1/ledger/")))


def test_help_reads_well() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("compact", "state", "rebuild", "doctor", "dev", "settings"):
        assert command in result.output


def test_operate_a_workspace(run) -> None:  # type: ignore[no-untyped-def]
    assert run("settings", "set", "runs.max_in_flight", "4")[0] == 0
    assert run("settings", "set", "reconciliation.enabled", "true")[0] == 0
    code, out = run("compact", "--json")
    assert code == 0
    steps = json.loads(out)
    assert steps[0]["published"] and steps[0]["fold"]["events_applied"] == 2
    code, out = run("state", "--json")
    state = json.loads(out)
    assert state["manifest_id"] == 1 and state["tables"]["workspace_settings"]["rows"] == 2
    code, out = run("settings", "list", "--json")
    values = {s["name"]: s["value"] for s in json.loads(out)}
    assert values["runs.max_in_flight"] == 4 and values["reconciliation.enabled"] is True
    code, out = run("rebuild", "--verify", "--json")
    assert code == 0 and json.loads(out)["identical"] is True
    code, out = run("doctor", "--json")
    assert code == 0 and {f["status"] for f in json.loads(out)} == {"ok"}
    code, out = run("compact")
    assert code == 0 and "nothing new" in out


def test_rebuild_verify_reports_a_tampered_table_and_exits_1(run) -> None:  # type: ignore[no-untyped-def]
    run("settings", "set", "runs.max_in_flight", "4")
    run("compact")
    # Publish a forged manifest whose settings table lost its row.
    ws = Workspace(LocalObjectStore(run.root), "w1")
    manifest, version = read_current_manifest(ws.store, ws.layout, ws.lookback_ms)
    forged_entry = write_base(ws.store, ws.layout, 2, ws.registry.table("workspace_settings"), {})
    forged = manifest.model_copy(
        update={
            "manifest_id": 2,
            "parent_id": 1,
            "tables": {**manifest.tables, "workspace_settings": forged_entry},
        }
    )
    ws.store.create(ws.layout.manifest_key(2), forged.to_bytes())
    pointer = Pointer(
        manifest_id=2, manifest_key=ws.layout.manifest_key(2), updated_at=manifest.created_at
    )
    assert ws.store.replace(ws.layout.pointer_key, pointer.to_bytes(), version or "").ok
    code, out = run("rebuild", "--verify")
    assert code == 1
    assert "workspace_settings" in out and "rebuild only" in out
    code, out = run("rebuild", "--verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["diffs"][0]["extra_in_rebuild"] == 1
    # Republishing from the ledger repairs it.
    assert run("rebuild")[0] == 0
    assert run("rebuild", "--verify")[0] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("settings", "set", "no.such", "1"), "unknown setting"),
        (("settings", "set", "runs.max_in_flight", "many"), "needs a int"),
        (
            ("settings", "set", "runs.max_in_flight", "3", "--request-id", "../x"),
            "invalid request id",
        ),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(run, args, message) -> None:  # type: ignore[no-untyped-def]
    code, out = run(*args)
    assert code == 2 and message in out
    assert ledger_count(run.root) == 0


def test_bad_store_url_and_workspace(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--store", "ftp://nope", "state"])
    assert result.exit_code == 2 and "memory://" in result.output
    result = runner.invoke(cli, ["--store", f"file://{tmp_path}", "--workspace", "../etc", "state"])
    assert result.exit_code == 2 and "invalid workspace name" in result.output


def test_errors_as_json(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("settings", "set", "no.such", "1", "--json")
    assert code == 2 and json.loads(out)["error"]["type"] == "InvalidInput"


def test_environment_selects_store_and_workspace(tmp_path: Path) -> None:
    runner = CliRunner(env={"ARCO_STORE": f"file://{tmp_path}", "ARCO_WORKSPACE": "envws"})
    assert runner.invoke(cli, ["workspace", "create", "envws"]).exit_code == 0
    assert runner.invoke(cli, ["settings", "set", "runs.max_in_flight", "2"]).exit_code == 0
    assert len(list(LocalObjectStore(tmp_path).list("workspaces/envws/ledger/"))) == 1


def test_workspaces_are_created_explicitly_and_a_typo_is_an_error(run) -> None:  # type: ignore[no-untyped-def]
    before = sorted(p.name for p in run.root.rglob("*"))
    args = ["settings", "set", "runs.max_in_flight", "3"]
    typo = CliRunner().invoke(
        cli, ["--store", f"file://{run.root}", "--workspace", "w1-typo", *args]
    )
    assert typo.exit_code == 2 and "does not exist" in typo.output
    assert sorted(p.name for p in run.root.rglob("*")) == before
    code, out = run("workspace", "create", "w1", "--json")
    assert code == 0 and json.loads(out) == {"workspace": "w1", "created": False}
    code, out = run("workspace", "list", "--json")
    assert json.loads(out) == ["w1"]


def test_access_grant_list_revoke(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("access", "grant", "Alice@Example.com", "operator", "--json")
    assert code == 0, out
    assert json.loads(out)["principal"] == "alice@example.com"
    code, out = run("access", "list", "--json")
    [row] = json.loads(out)
    assert (row["principal"], row["role"], row["source"]) == (
        "alice@example.com",
        "operator",
        "grant",
    )
    assert row["changed_by"].startswith("cli:")
    assert run("access", "revoke", "alice@example.com")[0] == 0
    [row] = json.loads(run("access", "list", "--json")[1])
    assert row["role"] is None
    code, out = run("access", "grant", "alice", "operator")
    assert code == 2 and "invalid principal" in out
    code, out = run("access", "grant", "alice@example.com", "owner")
    assert code == 2


def test_access_list_shows_the_deployment_admins(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARCO_ADMINS", "boss@example.com")
    code, out = run("access", "list", "--json")
    assert code == 0 and json.loads(out) == [
        {
            "principal": "boss@example.com",
            "role": "admin",
            "source": "deployment",
            "changed_by": None,
            "changed_at_ms": None,
        }
    ]


def test_definitions_validate_checks_a_code_location_without_a_store(tmp_path: Path) -> None:
    """For CI: exit 0 with what would be deployed, 2 with the reason; no store is opened."""
    store = tmp_path / "never"
    runner = CliRunner()

    def validate(reference: str, *extra: str) -> tuple[int, str]:
        args = ["--store", f"file://{store}", "definitions", "validate", "--definitions"]
        result = runner.invoke(cli, [*args, reference, *extra])
        return result.exit_code, result.output

    code, out = validate("tests.fixtures.code_locations.simple:defs")
    assert code == 0, out
    # simple.py: raw, clean, report, events, daily_events, region_stats, dashboard; 2 schedules.
    assert "valid: tests.fixtures.code_locations.simple:defs: 7 assets, 0 checks, 0 jobs, " in out
    assert "2 schedules, 0 sensors; snapshot " in out
    code, out = validate("tests.fixtures.code_locations.simple:defs", "--json")
    summary = json.loads(out)
    assert (summary["valid"], summary["assets"], summary["schedules"]) == (True, 7, 2)
    assert len(summary["content_hash"]) == 64

    code, out = validate("tests.fixtures.code_locations.bad_cron:defs")
    assert code == 2 and "bad_cron.py:10" in out and "0 0 30 2 *" in out, out
    code, out = validate("tests.fixtures.code_locations.cycle:defs")
    assert code == 2 and "cycle" in out
    code, out = validate("no_such_module:defs", "--json")
    assert code == 2 and "cannot import" in json.loads(out)["error"]["message"]
    assert not store.exists()
