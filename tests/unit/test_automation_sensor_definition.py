"""`AutomationConditionSensorDefinition`: a default condition for a selection, and an evaluator
that runs from the deploy when the sensor says RUNNING (Dagster's automation sensor)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from arco.domain.automation import AutomationEvaluated
from arco.domain.automation_controller import AutomationInputs, evaluate_conditions
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput
from arco.sdk import (
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    asset,
    define_asset_job,
)

AC = AutomationCondition
NOW_MS = 1_706_783_400_000


@asset(group_name="nightly")
def raw() -> int:
    return 1


@asset(group_name="nightly")
def cleaned(raw: int) -> int:
    return raw


@asset(group_name="nightly", automation_condition=AC.on_missing())
def own(raw: int) -> int:
    return raw


@asset
def elsewhere() -> int:
    return 1


EXTERNAL = AssetSpec("external", group_name="nightly")


def _snapshot(*sensors: Any) -> DefinitionsSnapshot:
    defs = Definitions(assets=[raw, cleaned, own, elsewhere, EXTERNAL], sensors=list(sensors))
    return defs.snapshot("loc")


def _conditions(snapshot: DefinitionsSnapshot) -> dict[str, str | None]:
    return {
        key: None if node.automation_condition is None else node.automation_condition.describe()
        for key, node in snapshot.assets.items()
    }


def test_the_default_condition_goes_to_the_targets_without_one() -> None:
    sensor = AutomationConditionSensorDefinition(
        "nightly", target=AssetSelection.groups("nightly"), default_condition=AC.eager()
    )
    assert _conditions(_snapshot(sensor)) == {
        "cleaned": "eager",
        "elsewhere": None,  # not targeted
        "external": None,  # no code here: nothing could run it
        "own": "on_missing",  # its own condition stands
        "raw": "eager",
    }
    without = AutomationConditionSensorDefinition("nightly", target=["raw"])
    assert _conditions(_snapshot(without))["raw"] is None


def test_a_running_automation_sensor_starts_the_evaluator_from_the_deploy() -> None:
    stopped = _snapshot(AutomationConditionSensorDefinition("s", target=["raw"]))
    assert stopped.automation_default_running is False
    assert "automation_default_running" not in stopped.to_json()  # hashes stay as they were
    running = _snapshot(
        AutomationConditionSensorDefinition(
            "s",
            target=["raw"],
            default_condition=AC.missing(),
            default_status=DefaultSensorStatus.RUNNING,
        )
    )
    assert running.automation_default_running is True
    again = DefinitionsSnapshot.from_json(json.loads(json.dumps(running.to_json())))
    assert again.automation_default_running is True and again.content_hash == running.content_hash
    assert (
        running.content_hash
        != _snapshot(
            AutomationConditionSensorDefinition("s", target=["raw"], default_condition=AC.missing())
        ).content_hash
    )
    # never started or stopped by an operator: the deploy's default decides
    inputs = AutomationInputs(state=None, memory={}, facts={})
    [event] = evaluate_conditions(running, inputs, NOW_MS)
    assert isinstance(event.payload, AutomationEvaluated) and event.payload.default_running
    stopped_by_hand = {"status": "STOPPED", "cursor_version": ""}
    assert evaluate_conditions(running, AutomationInputs(stopped_by_hand, {}, {}), NOW_MS) == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: AutomationConditionSensorDefinition("s", target=["raw"], run_tags={"a": "b"}),
            "run_tags are not supported",
        ),
        (
            lambda: AutomationConditionSensorDefinition("s", target=None),
            "needs a target",
        ),
        (
            lambda: AutomationConditionSensorDefinition("s", target=["raw"], default_condition=5),
            "default_condition must be an AutomationCondition",
        ),
        (
            lambda: AutomationConditionSensorDefinition(
                "s", target=["raw"], default_status="PAUSED"
            ),
            "default_status must be RUNNING or STOPPED",
        ),
        (
            lambda: AutomationConditionSensorDefinition(
                "s", target=["raw"], minimum_interval_seconds=0
            ),
            "minimum_interval_seconds",
        ),
        (lambda: AutomationConditionSensorDefinition("no good", target=["raw"]), "invalid sensor"),
    ],
)
def test_what_arco_cannot_honour_is_refused_by_name(build: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        build()


def test_an_asset_belongs_to_one_automation_sensor() -> None:
    first = AutomationConditionSensorDefinition("first", target=["raw", "cleaned"])
    second = AutomationConditionSensorDefinition("second", target=AssetSelection.groups("nightly"))
    with pytest.raises(InvalidInput, match="targeted by automation sensors 'first' and 'second'"):
        _snapshot(first, second)
    with pytest.raises(InvalidInput, match="duplicate sensor name 'first'"):
        _snapshot(first, AutomationConditionSensorDefinition("first", target=["elsewhere"]))


def test_an_automation_sensor_targets_assets_not_a_job() -> None:
    job = define_asset_job("everything", selection="*")
    sensor = AutomationConditionSensorDefinition("s", target=job)
    defs = Definitions(assets=[raw, cleaned], sensors=[sensor], jobs=[job])
    with pytest.raises(InvalidInput, match="target assets or a selection, not a job"):
        defs.snapshot("loc")


def test_an_unknown_target_is_named_and_reconciled_assets_keep_their_plan() -> None:
    sensor = AutomationConditionSensorDefinition("s", target=["nope"], default_condition=AC.eager())
    with pytest.raises(InvalidInput, match="automation sensor 's' targets unknown asset 'nope'"):
        _snapshot(sensor)

    @asset(reconcile=True)
    def planned() -> int:
        return 1

    everything = AutomationConditionSensorDefinition(
        "all", target=AssetSelection.all(), default_condition=AC.eager()
    )
    snapshot = Definitions(assets=[raw, planned], sensors=[everything]).snapshot("loc")
    assert snapshot.assets["planned"].automation_condition is None  # the reconciliation's
    assert snapshot.assets["raw"].automation_condition == AC.eager()
