"""`Definitions`: everything one code location declares, compiled into the canonical snapshot.

`Definitions.snapshot(code_location)` compiles everything into the canonical
`DefinitionsSnapshot` (`arco.domain.definitions`) that `arco deploy` records and the control
plane runs on without importing this code again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from arco.domain.definitions import (
    AssetNode,
    CheckNode,
    DefinitionsSnapshot,
    ScheduleNode,
    SensorNode,
)
from arco.domain.errors import InvalidInput, NotFound
from arco.sdk.assets import (
    AssetLike,
    AssetsDefinition,
    AssetSpec,
    CoercibleToAssetKey,
    _coerce_key,
    _tags,
)
from arco.sdk.automation import AutomationConditionSensorDefinition
from arco.sdk.checks import AssetChecksDefinition
from arco.sdk.jobs import JobResolver, UnresolvedAssetJobDefinition, collect_jobs, resolve_target
from arco.sdk.loading import resolve_bare_dependencies
from arco.sdk.multi_assets import MultiAssetsDefinition
from arco.sdk.resources import resource_parameters, validate_resources
from arco.sdk.schedules import DefaultScheduleStatus, ScheduleDefinition, _status
from arco.sdk.sensors import SensorDefinition

# --- the code location -------------------------------------------------------------------------


class Definitions:
    """The assets, schedules and sensors of one code location."""

    def __init__(
        self,
        assets: Iterable[AssetLike] | None = None,
        schedules: Iterable[ScheduleDefinition] | None = None,
        sensors: Iterable[SensorDefinition | AutomationConditionSensorDefinition] | None = None,
        jobs: Iterable[UnresolvedAssetJobDefinition] | None = None,
        *,
        resources: Mapping[str, object] | None = None,
        asset_checks: Iterable[AssetChecksDefinition] | None = None,
    ) -> None:
        self.resources: dict[str, object] = validate_resources(resources)
        self.asset_checks: tuple[AssetChecksDefinition, ...] = tuple(asset_checks or ())
        for check in self.asset_checks:
            if not isinstance(check, AssetChecksDefinition):
                raise InvalidInput(
                    f"Definitions(asset_checks=...) takes @asset_check functions, "
                    f"not {type(check).__name__}"
                )
        # Bare dependency names resolved within their group, as Dagster does (sdk/loading.py).
        self.assets: tuple[AssetLike, ...] = tuple(_resolve_bare_dependencies(assets))
        self.schedules: tuple[ScheduleDefinition, ...] = tuple(schedules or ())
        given = tuple(sensors or ())
        self.automation_sensors: tuple[AutomationConditionSensorDefinition, ...] = tuple(
            s for s in given if isinstance(s, AutomationConditionSensorDefinition)
        )
        self.sensors: tuple[SensorDefinition, ...] = tuple(
            s for s in given if not isinstance(s, AutomationConditionSensorDefinition)
        )
        # Jobs as given; those only schedules and sensors name are picked up by `snapshot`.
        self.jobs: tuple[UnresolvedAssetJobDefinition, ...] = tuple(jobs or ())
        for job in self.jobs:
            if not isinstance(job, UnresolvedAssetJobDefinition):
                raise InvalidInput(
                    f"Definitions(jobs=...) takes jobs made by define_asset_job, "
                    f"not {type(job).__name__}"
                )
        for sensor_def in self.sensors:
            if not isinstance(sensor_def, SensorDefinition):
                raise InvalidInput(
                    f"Definitions(sensors=...) takes sensors (@sensor, @push_sensor, "
                    f"asset_sensor, run_status_sensor, AutomationConditionSensorDefinition), "
                    f"not {type(sensor_def).__name__}"
                )
        for item in self.assets:
            if not isinstance(item, AssetsDefinition | AssetSpec):
                raise InvalidInput(
                    f"Definitions(assets=...) takes @asset functions and AssetSpecs, "
                    f"not {type(item).__name__} {item!r}"
                )
        for schedule in self.schedules:
            if not isinstance(schedule, ScheduleDefinition):
                raise InvalidInput(
                    f"Definitions(schedules=...) takes ScheduleDefinitions, "
                    f"not {type(schedule).__name__}"
                )
        self.schedules += tuple(_auto_observe_schedules(self.assets))

    def _assets_by_key(self) -> dict[str, AssetLike]:
        out: dict[str, AssetLike] = {}
        for item in self.assets:
            key = item.key.to_user_string()
            if key in out and out[key] is not item:
                raise InvalidInput(f"duplicate asset key {key!r}")
            out[key] = item
        return out

    def snapshot(self, code_location: str) -> DefinitionsSnapshot:
        """Compile and validate everything into the canonical snapshot."""
        nodes = {key: item.node for key, item in self._assets_by_key().items()}
        nodes = self._with_checks(nodes)
        self._check_resources()
        resolver = JobResolver(
            code_location, nodes, collect_jobs(self.jobs, self.schedules, self.sensors)
        )
        schedules: dict[str, ScheduleNode] = {}
        seen: set[int] = set()
        for schedule in self.schedules:
            if id(schedule) in seen:
                continue
            seen.add(id(schedule))
            if schedule.name in schedules:
                raise InvalidInput(f"duplicate schedule name {schedule.name!r}")
            schedules[schedule.name] = schedule.resolve(nodes, resolver)
        sensors: dict[str, SensorNode] = {}
        for item in dict.fromkeys(self.sensors):
            if item.name in sensors:
                raise InvalidInput(f"duplicate sensor name {item.name!r}")
            sensors[item.name] = _sensor_node(item, resolver)
        nodes = self._with_default_conditions(nodes, resolver, set(sensors))
        return DefinitionsSnapshot(
            code_location=code_location,
            assets=nodes,
            schedules=schedules,
            sensors=sensors,
            jobs=resolver.job_nodes(),
            automation_default_running=any(
                s.default_status == "RUNNING" for s in self.automation_sensors
            ),
        )

    def _with_default_conditions(
        self, nodes: dict[str, AssetNode], resolver: JobResolver, taken: set[str]
    ) -> dict[str, AssetNode]:
        """Each `AutomationConditionSensorDefinition`'s `default_condition` on the assets of its
        target that have code, no condition of their own and no `reconcile=True` (an asset is
        one sensor's)."""
        owners: dict[str, str] = {}
        out = dict(nodes)
        for sensor in dict.fromkeys(self.automation_sensors):
            owner = f"automation sensor {sensor.name!r}"
            if sensor.name in taken:
                raise InvalidInput(f"duplicate sensor name {sensor.name!r}")
            taken.add(sensor.name)
            keys, job = resolve_target(sensor.target, None, owner, resolver)
            if job is not None:
                raise InvalidInput(f"{owner}: target assets or a selection, not a job")
            for key in keys:
                if key in owners:
                    raise InvalidInput(
                        f"asset {key!r} is targeted by automation sensors {owners[key]!r} and "
                        f"{sensor.name!r}: an asset belongs to one"
                    )
                owners[key] = sensor.name
                node = out.get(key)
                if node is None:
                    raise InvalidInput(f"{owner} targets unknown asset {key!r}")
                if (
                    sensor.default_condition is not None
                    and node.automation_condition is None
                    and node.compute is not None
                    and not node.reconcile
                ):
                    out[key] = replace(node, automation_condition=sensor.default_condition)
        return out

    def _with_checks(self, nodes: dict[str, AssetNode]) -> dict[str, AssetNode]:
        """Each asset's node with its checks; a check of an asset without code here is
        refused (Arco runs checks right after the materialization they check)."""
        by_asset: dict[str, list[CheckNode]] = {}
        for check in self.asset_checks:
            asset = check.asset_key.to_user_string()
            item = self._assets_by_key().get(asset)
            if item is None:
                raise InvalidInput(
                    f"asset check {check.name!r} checks asset {asset!r}, which this "
                    "location does not define"
                )
            if not isinstance(item, AssetsDefinition):
                raise InvalidInput(
                    f"asset check {check.name!r} checks {asset!r}, an AssetSpec: Arco runs "
                    "checks after a materialization, and this location never materializes it"
                )
            by_asset.setdefault(asset, []).append(
                CheckNode(check.name, check.blocking, check.description)
            )
        return {
            key: replace(node, checks=(*node.checks, *by_asset[key])) if key in by_asset else node
            for key, node in nodes.items()
        }

    def get_asset_checks(self, key: str) -> list[AssetChecksDefinition]:
        """The checks of asset `key` (for the worker)."""
        return [c for c in self.asset_checks if c.asset_key.to_user_string() == key]

    def _check_resources(self) -> None:
        needs: list[tuple[str, frozenset[str]]] = [
            (f"asset {item.key.to_user_string()!r}", item.required_resource_keys)
            for item in self.assets
            if isinstance(item, AssetsDefinition)
        ]
        needs += [
            (f"sensor {item.name!r}", frozenset(resource_parameters(item.fn)))
            for item in self.sensors
            if item.fn is not None
        ]
        needs += [
            (f"asset check {check.name!r}", check.required_resource_keys)
            for check in self.asset_checks
        ]
        for owner, keys in needs:
            missing = sorted(keys - set(self.resources))
            if missing:
                have = ", ".join(sorted(self.resources)) or "none"
                raise InvalidInput(
                    f"{owner} needs resource {missing[0]!r}, which "
                    f"Definitions(resources=...) does not provide (it provides: {have})"
                )

    def get_resources(self) -> dict[str, object]:
        """The location's resources by key, as given (the worker prepares them per task)."""
        return dict(self.resources)

    def get_assets_definition(self, key: CoercibleToAssetKey) -> AssetsDefinition:
        """The `@asset` of `key` (for the worker)."""
        text = _coerce_key(key, "get_assets_definition").to_user_string()
        item = self._assets_by_key().get(text)
        if item is None:
            raise NotFound(f"no asset {text!r} in these definitions")
        if not isinstance(item, AssetsDefinition):
            raise InvalidInput(f"asset {text!r} is an AssetSpec: it has no function to run")
        return item

    def get_code_version(self, key: CoercibleToAssetKey) -> str | None:
        """The code version of asset `key` in this code (what a worker records as having run)."""
        text = _coerce_key(key, "get_code_version").to_user_string()
        item = self._assets_by_key().get(text)
        if item is None:
            raise NotFound(f"no asset {text!r} in these definitions")
        return item.node.code_version

    def get_asset_function(self, key: CoercibleToAssetKey) -> Callable[..., Any]:
        """The Python function that computes asset `key` (for the worker)."""
        text = _coerce_key(key, "get_asset_function").to_user_string()
        item = self._assets_by_key().get(text)
        if item is None:
            raise NotFound(f"no asset {text!r} in these definitions")
        if not isinstance(item, AssetsDefinition):
            raise InvalidInput(f"asset {text!r} is an AssetSpec: it has no function to run")
        return item.fn

    def get_sensor(self, name: str) -> SensorDefinition:
        for item in self.sensors:
            if item.name == name:
                return item
        raise NotFound(f"no sensor {name!r} in these definitions")

    def get_schedule(self, name: str) -> ScheduleDefinition:
        for schedule in self.schedules:
            if schedule.name == name:
                return schedule
        raise NotFound(f"no schedule {name!r} in these definitions")


def _resolve_bare_dependencies(assets: Iterable[Any] | None) -> list[AssetLike]:
    items: list[Any] = []
    for item in assets or ():  # a @multi_asset is its assets
        items.extend(item.assets if isinstance(item, MultiAssetsDefinition) else [item])
    if not all(isinstance(item, AssetsDefinition | AssetSpec) for item in items):
        return items  # __init__ names the culprit
    return resolve_bare_dependencies(items)


def _sensor_node(item: SensorDefinition, resolver: JobResolver) -> SensorNode:
    owner = f"sensor {item.name!r}"
    alert_only = item.flavor and not item.target and item.job is None
    target, job = (
        ((), None) if alert_only else resolve_target(item.target, item.job, owner, resolver)
    )
    monitored = [_coerce_key(m, f"{owner} monitored asset") for m in item.monitored_assets]
    return SensorNode(
        name=item.name,
        kind=item.kind,
        target=target,
        job=job,
        minimum_interval_seconds=item.minimum_interval_seconds,
        default_status=_status(item.default_status),
        subscription=item.subscription,
        monitored_assets=tuple(k.to_user_string() for k in monitored),
        run_statuses=item.run_statuses,
        tags=_tags(item.tags),
        description=item.description,
    )


def _auto_observe_schedules(assets: Iterable[AssetLike]) -> list[ScheduleDefinition]:
    """`<key>_auto_observe` for each observable source asset observed on an interval: it runs
    by default, as Dagster's automatic observation does."""
    from arco.sdk.observations import observe_cron

    out = []
    for item in assets:
        minutes = getattr(item, "auto_observe_interval_minutes", None)
        if minutes is None:
            continue
        key = item.key.to_user_string()
        out.append(
            ScheduleDefinition(
                name=key.replace("/", "__") + "_auto_observe",
                cron_schedule=observe_cron(minutes, f"asset {key!r}"),
                target=[item],
                default_status=DefaultScheduleStatus.RUNNING,
            )
        )
    return out
