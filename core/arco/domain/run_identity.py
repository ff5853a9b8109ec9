"""Who a run is: its fingerprint, its id, and the scope its run_key is unique in.

Dagster's rules for run_key: a sensor's key is unique for the sensor forever (a repeated key is
skipped for good); a schedule's key only guards one tick; a manual launch with a key is
idempotent. Arco names these scopes explicitly so one rule (first request per scope and key
wins) covers them all:

    manual                    arco run --run-key K, POST /runs {"run_key": K}
    schedule:<name>:<tick ms> a schedule tick's requests
    sensor:<name>             a sensor's requests, forever
    backfill:<id>             a backfill's chunks

Keyed runs get a deterministic id, so every writer that handles the same request computes the
same run id without talking to the others. Pure.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from arco.domain.canonical import fingerprint as short_hash
from arco.domain.errors import InvalidInput

MANUAL_SCOPE = "manual"
RESERVED_TAG_PREFIXES = ("arco/", "dagster/")
MAX_TAGS = 50
MAX_TAG_KEY = 200
MAX_TAG_VALUE = 4000
MAX_RUN_KEY = 500


def schedule_scope(schedule: str, tick_ms: int) -> str:
    return f"schedule:{schedule}:{tick_ms}"


def sensor_scope(sensor: str) -> str:
    return f"sensor:{sensor}"


def backfill_scope(backfill_id: str) -> str:
    return f"backfill:{backfill_id}"


def validate_run_key(run_key: str) -> str:
    if not isinstance(run_key, str) or not run_key.strip() or len(run_key) > MAX_RUN_KEY:
        raise InvalidInput(f"run_key must be a non-empty string of at most {MAX_RUN_KEY} chars")
    if any(ord(c) < 32 for c in run_key):
        raise InvalidInput("run_key must not contain control characters")
    return run_key


def json_tag_values(tags: Mapping[str, object] | None, owner: str) -> dict[str, str]:
    """Dagster's rule for tags given in code: a value that is not a string is kept as its JSON
    text (`{"priority": 1}` -> `"1"`), if JSON gives it back unchanged."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidInput(f"{owner}: tags must be a mapping of strings to values")
    out: dict[str, str] = {}
    for key, value in tags.items():
        if isinstance(value, str):
            out[key] = value
            continue
        try:
            text = json.dumps(value, sort_keys=True)
            same = json.loads(text) == value
        except (TypeError, ValueError):
            same = False
        if not same:
            raise InvalidInput(
                f"{owner}: tag {key!r} has a value JSON cannot keep ({type(value).__name__})"
            )
        out[key] = text
    return out


def validate_user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags a user may set: strings, bounded, none under a system prefix (`arco/`, `dagster/`)."""
    if not isinstance(tags, Mapping):
        raise InvalidInput("tags must be an object of string keys to string values")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags per run, got {len(tags)}")
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY:
            raise InvalidInput(f"tag key {key!r} must be a string of 1-{MAX_TAG_KEY} characters")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise InvalidInput(
                f"tag {key!r}: value must be a string of at most {MAX_TAG_VALUE} characters"
            )
        for prefix in RESERVED_TAG_PREFIXES:
            if key.startswith(prefix):
                raise InvalidInput(
                    f"tag {key!r} uses the reserved prefix {prefix!r} (system tags are set by "
                    "Arco itself)"
                )
        out[key] = value
    return out


def request_fingerprint(
    assets: Sequence[str],
    partitions: Mapping[str, Sequence[str | None]],
    tags: Mapping[str, str],
    parent_run_id: str | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> str:
    """What makes two requests "the same": the assets, their partitions, the user tags (system
    tags excluded), the parent run and the run configuration (only when given, so requests
    without one keep their fingerprint). Order-insensitive."""
    body = {
        "assets": sorted(assets),
        "partitions": {
            asset: sorted(p if p is not None else "" for p in keys)
            for asset, keys in sorted(partitions.items())
        },
        "tags": {
            k: v
            for k, v in sorted(tags.items())
            if not any(k.startswith(p) for p in RESERVED_TAG_PREFIXES)
        },
        "parent_run_id": parent_run_id,
    }
    if run_config:
        body["run_config"] = dict(run_config)
    return short_hash(body, 32)


def keyed_run_id(workspace: str, scope: str, run_key: str) -> str:
    """The deterministic id of the run for (workspace, scope, run_key)."""
    digest = hashlib.sha256(f"{workspace}\x00{scope}\x00{run_key}".encode()).digest()
    return "run_" + base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:26]


def reservation_name(scope: str, run_key: str) -> str:
    """The object name (under the workspace's reservations/run_keys/) that reserves a key."""
    return hashlib.sha256(f"{scope}\x00{run_key}".encode()).hexdigest() + ".json"
