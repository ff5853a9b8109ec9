"""Tags given in code: Dagster keeps a non-string value as its JSON text."""

from __future__ import annotations

import pytest

import arco as dg
from arco.domain.definitions import SensorNode
from arco.domain.errors import InvalidInput
from arco.domain.run_identity import json_tag_values
from arco.sdk.sensors import SensorEvaluationContext
from arco.services.engines.sensor_evaluation import evaluate


def test_values_that_are_not_strings_become_their_json_text() -> None:
    assert json_tag_values({"a": "x", "n": 1, "b": True, "l": [1, "2"]}, "t") == {
        "a": "x",
        "n": "1",
        "b": "true",
        "l": '[1, "2"]',
    }
    with pytest.raises(InvalidInput, match="tag 'o' has a value JSON cannot keep"):
        json_tag_values({"o": object()}, "t")
    with pytest.raises(InvalidInput, match="tag 't' has a value JSON cannot keep"):
        json_tag_values({"t": (1, 2)}, "t")  # a tuple comes back as a list


def test_a_run_request_with_an_int_tag_is_accepted_as_dagster_does() -> None:
    @dg.asset
    def a() -> None: ...

    @dg.sensor(target=[a])
    def s(context: dg.SensorEvaluationContext) -> dg.RunRequest:
        return dg.RunRequest(run_key="k", tags={"priority": 3})

    node = dg.Definitions(assets=[a], sensors=[s]).snapshot("t").sensors["s"]
    assert isinstance(node, SensorNode)
    evaluation = evaluate(s, node, SensorEvaluationContext(sensor_name="s", cursor=None))
    assert evaluation.outcome == "REQUESTED", evaluation.error
    assert [r.tags for r in evaluation.run_requests] == [{"priority": "3"}]
