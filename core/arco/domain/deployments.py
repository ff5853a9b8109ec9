"""Deployments: the canonical definitions snapshot a workspace runs on, recorded as events.

`arco deploy` appends one `definitions.deployed` event holding the whole snapshot and its
content hash. Its idempotency key includes the hash it replaces, so deploying A, B, then A again
applies three times, while a duplicate delivery of any one of them applies once. The CLI does
not append at all when the published hash already equals the new one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from arco.domain.canonical import canonical_json, sha256_hex
from arco.domain.fold import FoldContext
from arco.domain.registry import EventType, Outcome, Registry
from arco.domain.tables import Column, TableSpec

DEFINITIONS_DEPLOYED = "definitions.deployed"
CURRENT = "current"

DEPLOYMENTS = TableSpec(
    name="deployments",
    key=("content_hash",),
    columns=(
        Column("content_hash", "string"),
        Column("code_location", "string"),
        Column("snapshot", "json"),
        Column("first_deployed_at_ms", "int64"),
        Column("deployed_by", "string"),
    ),
    description="Every definitions snapshot ever deployed, by content hash.",
)

CURRENT_DEPLOYMENT = TableSpec(
    name="current_deployment",
    key=("slot",),
    columns=(
        Column("slot", "string"),
        Column("content_hash", "string"),
        Column("parent_hash", "string"),
        Column("deployed_at_ms", "int64"),
    ),
    description="The snapshot the workspace runs on now (one row, slot 'current').",
)


class DefinitionsDeployed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    parent_hash: str | None = None
    code_location: str = Field(min_length=1, max_length=500)
    snapshot: dict[str, Any]
    deployed_by: str = Field(default="unknown", max_length=200)


def snapshot_hash(snapshot: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(snapshot))


def deploy_idempotency_key(content_hash: str, parent_hash: str | None) -> str:
    return f"deploy:{content_hash}:{parent_hash or 'none'}"


def fold_deployed(ctx: FoldContext, event: DefinitionsDeployed) -> Outcome:
    if snapshot_hash(event.snapshot) != event.content_hash:
        return Outcome.REJECTED  # a snapshot that does not match its hash is never current
    if ctx.get(DEPLOYMENTS.name, event.content_hash) is None:
        ctx.put(
            DEPLOYMENTS.name,
            {
                "content_hash": event.content_hash,
                "code_location": event.code_location,
                "snapshot": canonical_json(event.snapshot).decode(),
                "first_deployed_at_ms": ctx.time_ms,
                "deployed_by": event.deployed_by,
            },
        )
    outcome = ctx.put_if_newer(
        CURRENT_DEPLOYMENT.name,
        {
            "slot": CURRENT,
            "content_hash": event.content_hash,
            "parent_hash": event.parent_hash,
            "deployed_at_ms": ctx.time_ms,
        },
    )
    if outcome is Outcome.APPLIED:
        # Imported here: schedules depend on deployments' tables, not the other way round.
        from arco.domain import asset_versions
        from arco.domain.schedules import on_deployed

        on_deployed(ctx, event.snapshot)
        asset_versions.on_deployed(ctx, event.snapshot)
    return outcome


def install(registry: Registry) -> None:
    from arco.domain import asset_versions

    registry.add_table(DEPLOYMENTS)
    registry.add_table(CURRENT_DEPLOYMENT)
    asset_versions.install(registry)
    registry.add_event(
        EventType(
            name=DEFINITIONS_DEPLOYED,
            version=1,
            payload=DefinitionsDeployed,
            rule=fold_deployed,
            description="A definitions snapshot was deployed to the workspace.",
        )
    )
