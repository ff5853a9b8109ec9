"""Events the fold rejects are quarantined with their reason, shown by doctor, and applied by
`arco quarantine replay` once the build knows them (here: a setting a newer build added)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from arco.cli.main import cli
from arco.domain import settings as settings_domain
from arco.domain.settings import SETTING_CHANGED, SettingChanged, SettingSpec
from arco.ledger.writer import NewEvent
from arco.services.operations.doctor import run_doctor
from arco.services.operations.rebuild import verify
from arco.services.queries.settings import list_settings
from arco.services.workspace import Workspace
from arco.storage.local import LocalObjectStore
from tests.workspaces import create_workspaces

FUTURE = "runs.future_knob"


def test_a_setting_from_a_newer_build_is_quarantined_then_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalObjectStore(tmp_path)
    create_workspaces(store, "w")
    ws = Workspace(store, "w", source="api")
    # What a newer `api` writes during a rolling upgrade: a setting this build does not know.
    event = SettingChanged(name=FUTURE, value=3, changed_by="api", request_id="r1")
    ws.writer.append([NewEvent(SETTING_CHANGED, event, f"setting:{FUTURE}:r1")])
    ws.compactor.compact_until_idle()

    [row] = ws.snapshot().table("quarantine").to_pylist()
    assert row["kind"] == "rejected" and "unknown setting 'runs.future_knob'" in row["reason"]
    [finding] = [f for f in run_doctor(ws) if f.check == "quarantine"]
    assert finding.status == "warning" and "quarantine replay" in finding.details[0]["action"]
    run = CliRunner()
    args = ["--store", f"file://{tmp_path}", "--workspace", "w"]
    listed = run.invoke(cli, [*args, "quarantine", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["kind"] == "rejected"

    # Replaying with the same build changes nothing: the event stays quarantined.
    replay = run.invoke(cli, [*args, "quarantine", "replay", "--json"])
    assert replay.exit_code == 0, replay.output
    assert json.loads(replay.output)["applied"] == []

    # The build is upgraded (it knows the setting now): the replay applies it.
    spec = SettingSpec(FUTURE, int, 1, "A knob of a newer build.")
    monkeypatch.setitem(settings_domain.SETTINGS, FUTURE, spec)
    replay = run.invoke(cli, [*args, "quarantine", "replay", "--json"])
    assert replay.exit_code == 0, replay.output
    answer = json.loads(replay.output)
    assert len(answer["applied"]) == 1 and answer["remaining"] == []
    fresh = Workspace(store, "w")
    value = {s["name"]: s["value"] for s in list_settings(fresh)}[FUTURE]
    assert value == 3
    assert {f.check: f for f in run_doctor(fresh)}["quarantine"].status == "ok"
    assert verify(fresh).identical
