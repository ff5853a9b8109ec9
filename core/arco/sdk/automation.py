"""`AutomationConditionSensorDefinition`: Dagster's automation sensor over a selection.

```python
AutomationConditionSensorDefinition(
    "nightly_assets",
    target=AssetSelection.groups("nightly"),
    default_condition=AutomationCondition.on_cron("0 3 * * *"),
)
```

Arco evaluates every condition of a workspace with one evaluator (`arco automation`), so the
sensor is what its target and `default_condition` say: every asset of the target that has no
condition of its own gets `default_condition`, and `default_status=RUNNING` starts the
evaluator until an operator stops it. The sensor does not get a tick history or a start/stop
of its own (docs/automation.md §6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arco.domain.automation_conditions import AutomationCondition
from arco.domain.definitions import validate_schedule_name
from arco.domain.errors import InvalidInput
from arco.sdk.sensors import DefaultSensorStatus

__all__ = ["AutomationConditionSensorDefinition"]


class AutomationConditionSensorDefinition:
    """Dagster's sensor that evaluates the automation conditions of `target` (a selection, asset
    keys or assets); `default_condition` is the condition of the targeted assets without one."""

    def __init__(
        self,
        name: str,
        *,
        target: Any,
        tags: Mapping[str, str] | None = None,
        run_tags: Mapping[str, Any] | None = None,
        default_status: DefaultSensorStatus | str = DefaultSensorStatus.STOPPED,
        minimum_interval_seconds: int | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        emit_backfills: bool = True,
        use_user_code_server: bool = False,
        default_condition: AutomationCondition | None = None,
    ) -> None:
        self.name = validate_schedule_name(name, "sensor")
        owner = f"automation sensor {name!r}"
        if target is None:
            raise InvalidInput(f"{owner} needs a target (an AssetSelection or asset keys)")
        if run_tags:
            raise InvalidInput(
                f"{owner}: run_tags are not supported: Arco's automation runs are tagged "
                "arco/from_automation_condition; put tags on the assets instead"
            )
        if default_condition is not None and not isinstance(default_condition, AutomationCondition):
            raise InvalidInput(f"{owner}: default_condition must be an AutomationCondition")
        status = str(getattr(default_status, "value", default_status)).upper()
        if status not in ("RUNNING", "STOPPED"):
            raise InvalidInput(f"{owner}: default_status must be RUNNING or STOPPED")
        if minimum_interval_seconds is not None and (
            isinstance(minimum_interval_seconds, bool)
            or not isinstance(minimum_interval_seconds, int)
            or minimum_interval_seconds < 1
        ):
            raise InvalidInput(f"{owner}: minimum_interval_seconds must be a whole number >= 1")
        self.target = target
        self.default_condition = default_condition
        self.default_status = status
        # accepted for Dagster's sake; Arco's evaluator has settings of its own
        self.tags = dict(tags or {})
        self.minimum_interval_seconds = minimum_interval_seconds
        self.description = description
        self.metadata = dict(metadata or {})
        self.emit_backfills = bool(emit_backfills)
        self.use_user_code_server = bool(use_user_code_server)
