"""The fold of `definitions.deployed`: the deployments kept, the current one, and per asset
its code version and dependencies with the time each last changed (mutation survivors of
`domain/deployments.py` and `domain/asset_versions.py`, issue 15)."""

from __future__ import annotations

from typing import Any

from arco.domain.catalog import default_registry
from arco.domain.definitions import AssetDepNode, AssetNode, DefinitionsSnapshot
from arco.domain.deployments import (
    DEFINITIONS_DEPLOYED,
    DefinitionsDeployed,
    deploy_idempotency_key,
    snapshot_hash,
)
from tests.factories import BASE_MS, FoldProjection, envelope, ulid_at

REGISTRY = default_registry()


def _snapshot(a_version: str, b_deps: tuple[str, ...] = ("a",)) -> dict[str, Any]:
    nodes = {
        "a": AssetNode("a", compute="m:a", code_version=a_version),
        "b": AssetNode("b", compute="m:b", deps=tuple(AssetDepNode(k) for k in b_deps)),
        "c": AssetNode("c", compute="m:c"),
        "d": AssetNode("d", compute="m:d", code_version="steady"),
    }
    return DefinitionsSnapshot("loc", nodes).to_json()


def _deployed(ms: int, snapshot: dict[str, Any], content_hash: str | None = None) -> Any:
    content_hash = content_hash or snapshot_hash(snapshot)
    payload = DefinitionsDeployed(content_hash=content_hash, code_location="loc", snapshot=snapshot)
    key = deploy_idempotency_key(content_hash, None) + f":{ms}"
    return envelope(DEFINITIONS_DEPLOYED, payload, key, ms, ulid_at(ms))


def _versions(projection: FoldProjection) -> dict[str, dict[str, Any]]:
    return {k[0]: dict(r) for k, r in projection.state.rows("asset_versions").items()}


def test_each_asset_remembers_when_its_code_version_and_dependencies_changed() -> None:
    projection = FoldProjection(REGISTRY)
    t1, t2, t3 = BASE_MS, BASE_MS + 1000, BASE_MS + 2000
    first = _snapshot("v1")
    assert projection.deliver(_deployed(t1, first)) == ["applied"]
    rows = _versions(projection)
    assert rows["a"]["code_version"] == "v1" and rows["b"]["deps"] == '["a"]'
    for row in rows.values():
        since = (row["code_version_since_ms"], row["deps_since_ms"], row["declared_since_ms"])
        assert since == (t1, t1, t1)
    stamp_c = rows["c"]["row_version"]
    projection.deliver(_deployed(t2, _snapshot("v2", b_deps=("a", "c"))))
    rows = _versions(projection)
    assert (rows["a"]["code_version"], rows["a"]["code_version_since_ms"]) == ("v2", t2)
    assert rows["a"]["deps_since_ms"] == t1 and rows["a"]["declared_since_ms"] == t1
    assert (rows["b"]["deps"], rows["b"]["deps_since_ms"]) == ('["a", "c"]', t2)
    assert rows["b"]["code_version_since_ms"] == t1
    assert rows["c"]["row_version"] == stamp_c  # nothing changed: not written again
    assert rows["d"]["code_version_since_ms"] == t1
    # the first deployment again: kept once, current again, a's version back to v1
    projection.deliver(_deployed(t3, first))
    deployments = projection.state.rows("deployments")
    assert deployments[(snapshot_hash(first),)]["first_deployed_at_ms"] == t1
    current = projection.state.rows("current_deployment")[("current",)]
    assert current["content_hash"] == snapshot_hash(first)
    assert _versions(projection)["a"]["code_version_since_ms"] == t3


def test_a_snapshot_that_does_not_match_its_hash_is_refused() -> None:
    projection = FoldProjection(REGISTRY)
    assert projection.deliver(_deployed(BASE_MS, _snapshot("v1"), "0" * 64)) == ["rejected"]
    assert projection.state.rows("deployments") == {}


def test_an_older_deployment_folded_last_does_not_become_current() -> None:
    projection = FoldProjection(REGISTRY)
    newer, older = _snapshot("v2"), _snapshot("v1")
    outcomes = projection.deliver(_deployed(BASE_MS + 1000, newer), _deployed(BASE_MS, older))
    assert outcomes == ["applied", "superseded"]
    current = projection.state.rows("current_deployment")[("current",)]
    assert current["content_hash"] == snapshot_hash(newer)
    assert _versions(projection)["a"]["code_version"] == "v2"
    assert len(projection.state.rows("deployments")) == 2  # both kept
