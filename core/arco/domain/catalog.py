"""The registry every Arco process uses: system tables plus each capability's installer.

A capability adds itself by appending its `install` function to `INSTALLERS`.
"""

from __future__ import annotations

from functools import cache

from arco.domain import (
    access,
    automation,
    backfills,
    deployments,
    dynamic_partitions,
    observations,
    reconciliation,
    runs,
    schedules,
    sensors,
    settings,
)
from arco.domain.registry import Registry
from arco.domain.system_tables import SYSTEM_TABLES

INSTALLERS = (
    access.install,
    settings.install,
    deployments.install,
    schedules.install,
    dynamic_partitions.install,
    runs.install,
    observations.install,
    sensors.install,
    backfills.install,
    reconciliation.install,
    automation.install,
)


def _install_system_tables(registry: Registry) -> None:
    for spec in SYSTEM_TABLES:
        registry.add_table(spec)


@cache
def default_registry() -> Registry:
    """The registry with every table and event type of this build."""
    return Registry().extend((_install_system_tables, *INSTALLERS))
