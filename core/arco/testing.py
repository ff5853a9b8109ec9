"""Running assets in a test, as Dagster's `materialize` does: `dg.materialize([...])`.

```python
def test_items() -> None:
    result = dg.materialize([items, comments], resources={"hn_client": FakeClient()},
                            partition_key="2024-01-01-00:00")
    assert result.success
    assert len(result.asset_value("comments")) == 3
```

Everything happens in this process on a workspace held in memory, through the same path as
a real run (deploy, launch, the worker, IO managers, checks): what passes here passes in a
deployment. Unlike a deployment, tasks are not retried (Dagster's `materialize` does not
retry either).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from arco.clock import FixedClock
from arco.domain.errors import InvalidInput
from arco.sdk import AssetKey, AssetsDefinition, AssetSpec, Definitions
from arco.sdk.checks import AssetChecksDefinition
from arco.sdk.io_managers import InputContext, ObjectStoreIOManager
from arco.sdk.multi_assets import MultiAssetsDefinition
from arco.sdk.resources import InitResourceContext

__all__ = ["MaterializeOutcome", "materialize", "materialize_to_memory"]

_LOCATION = "materialize"


@dataclass
class MaterializeOutcome:
    """What `materialize` did: Dagster's `ExecuteInProcessResult`, for assets."""

    success: bool
    run_id: str
    tasks: list[dict[str, Any]]
    _ws: Any
    _partition: str | None

    def asset_value(self, asset_key: str | Sequence[str] | AssetKey) -> Any:
        """The value the asset returned, as the default IO manager stored it."""
        key = asset_key if isinstance(asset_key, AssetKey) else AssetKey(asset_key)
        from arco.services.engines.io_storage import StoreValueStorage

        manager = ObjectStoreIOManager()
        manager.setup_for_execution(
            InitResourceContext(
                "io_manager", None, StoreValueStorage(self._ws.store, self._ws.layout)
            )
        )

        partitions = [self._partition] if self._partition is not None else None
        context = InputContext(
            asset_key=key,
            upstream_partitions=partitions,
            partition=self._partition,
            name=key.to_user_string(),
            log=logging.getLogger("arco.materialize"),
        )
        return manager.load_input(context)

    def output_for_node(self, name: str) -> Any:
        return self.asset_value(name)

    def get_asset_materialization_events(self) -> list[dict[str, Any]]:
        """The tasks that materialized an asset (asset, partition, metadata)."""
        return [t for t in self.tasks if t["status"] == "SUCCESS"]


def materialize(
    assets: Sequence[Any],
    run_config: Mapping[str, Any] | None = None,
    resources: Mapping[str, object] | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = True,
    tags: Mapping[str, str] | None = None,
    selection: str | None = None,
) -> MaterializeOutcome:
    """Materialize `assets` (every one with code, or `selection`) in this process."""
    from arco.services.commands.deploy import deploy
    from arco.services.commands.runs import LaunchRequest, launch_run
    from arco.services.commands.settings import change_setting
    from arco.services.engines.dispatch import InProcessExecutor
    from arco.services.engines.local_runner import drive_run
    from arco.services.queries.runs import run_status
    from arco.services.workspace import Workspace
    from arco.storage.memory import MemoryObjectStore

    checks = [a for a in assets if isinstance(a, AssetChecksDefinition)]
    items = [a for a in assets if not isinstance(a, AssetChecksDefinition)]
    for item in items:
        if not isinstance(item, AssetsDefinition | AssetSpec | MultiAssetsDefinition):
            raise InvalidInput(f"materialize takes assets, not {type(item).__name__}")
    definitions = Definitions(assets=items, resources=resources, asset_checks=checks)
    snapshot = definitions.snapshot(_LOCATION)
    clock = FixedClock(int(time.time() * 1000))
    ws = Workspace(MemoryObjectStore(), _LOCATION, clock=clock)
    deploy(ws, snapshot, "materialize")
    change_setting(ws, "runs.task_max_retries", 0, "materialize", "materialize")
    ws.compactor.compact_until_idle()
    with_code = [k for k, node in snapshot.assets.items() if node.compute is not None]
    chosen = selection or " or ".join(f'key:"{k}"' for k in with_code)
    launched = launch_run(
        ws,
        LaunchRequest(
            chosen, partition=partition_key, tags=dict(tags or {}), run_config=run_config
        ),
    )

    def advance(seconds: float) -> None:
        clock.advance(int(seconds * 1000) + 1)

    status = drive_run(
        ws, launched.run_id, InProcessExecutor(ws, definitions), timeout_s=3600, sleep=advance
    )
    view = run_status(ws, launched.run_id)
    outcome = MaterializeOutcome(
        status == "SUCCESS", launched.run_id, view["task_list"], ws, partition_key
    )
    if raise_on_error and not outcome.success:
        failed = [t for t in view["task_list"] if t["status"] == "FAILURE"]
        detail = "; ".join(f"{t['asset']}: {(t['error'] or '').strip()[-2000:]}" for t in failed)
        raise RuntimeError(f"materialize: run {launched.run_id} ended {status}: {detail}")
    return outcome


materialize_to_memory = materialize
