"""Deploying definitions: record a code location's snapshot (the same snapshot again records
nothing).
"""

from __future__ import annotations

import json
from typing import Any

from arco.domain.canonical import canonical_json
from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.deployments import (
    DEFINITIONS_DEPLOYED,
    DefinitionsDeployed,
    deploy_idempotency_key,
)
from arco.ledger.writer import NewEvent
from arco.services.queries.definitions import current_hash
from arco.services.workspace import Workspace


def deploy(ws: Workspace, defs: DefinitionsSnapshot, deployed_by: str) -> dict[str, Any]:
    """Record `defs` as the current deployment, unless it already is (then write nothing)."""
    content_hash = defs.content_hash
    published = current_hash(ws.snapshot())
    if published == content_hash:
        return {"content_hash": content_hash, "changed": False, "ledger_object": None}
    payload = DefinitionsDeployed(
        content_hash=content_hash,
        parent_hash=published,
        code_location=defs.code_location,
        snapshot=json.loads(canonical_json(defs.to_json())),
        deployed_by=deployed_by,
    )
    result = ws.writer.append(
        [NewEvent(DEFINITIONS_DEPLOYED, payload, deploy_idempotency_key(content_hash, published))]
    )
    return {
        "content_hash": content_hash,
        "changed": True,
        "parent_hash": published,
        "ledger_object": result.object_name,
        "assets": len(defs.assets),
        "schedules": len(defs.schedules),
    }


def validate_definitions(reference: str) -> dict[str, Any]:
    """What `deploy` would record for the code location `reference`, checked without a store:
    loaded, its snapshot built, and read back as the fold and readers will read it."""
    from arco.domain.deployments import snapshot_hash
    from arco.services.code_location import load_definitions

    defs = load_definitions(reference).snapshot(reference)
    document = json.loads(canonical_json(defs.to_json()))
    DefinitionsDeployed(
        content_hash=snapshot_hash(document),
        parent_hash=None,
        code_location=defs.code_location,
        snapshot=document,
    )
    again = DefinitionsSnapshot.from_json(document)
    return {
        "valid": True,
        "code_location": reference,
        "content_hash": again.content_hash,
        "assets": len(again.assets),
        "checks": sum(len(a.checks) for a in again.assets.values()),
        "jobs": len(again.jobs),
        "schedules": len(again.schedules),
        "sensors": len(again.sensors),
    }
