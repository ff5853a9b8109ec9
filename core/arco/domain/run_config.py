"""Run configuration, checked against the config schemas of the deployed snapshot. Pure.

A run's configuration has Dagster's shape, `{"ops": {"<op>": {"config": {...}}}}`, where an
asset's op name is its key with `__` between path segments (`s3/core/items` is
`s3__core__items`, as Dagster names the op of a prefixed asset); the key itself is accepted too.
`resolve_run_config` returns, per asset of the run that has a config schema, the values it
gets, after checking them with the schema (jsonschema) so a bad launch never becomes a run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arco.domain.definitions import DefinitionsSnapshot
from arco.domain.errors import InvalidInput

# What Dagster's run config may hold that Arco does not read.
_UNSUPPORTED = ("resources", "execution", "loggers", "inputs")


def op_name(asset_key: str) -> str:
    """Dagster's op name for an asset key declared with it (`@asset(key_prefix=...)`)."""
    return asset_key.replace("/", "__")


def _op_of(defs: DefinitionsSnapshot, asset: str) -> str:
    return defs.assets[asset].op or op_name(asset)


def resolve_run_config(
    defs: DefinitionsSnapshot, assets: Sequence[str], run_config: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """Per asset key, the configuration values the run gives it (validated); {} if none."""
    if run_config is None:
        run_config = {}
    if not isinstance(run_config, Mapping):
        raise InvalidInput(f"run config must be a JSON object, not {type(run_config).__name__}")
    for key in run_config:
        if key in _UNSUPPORTED:
            raise InvalidInput(
                f"run config: {key!r} is not supported (Arco reads only 'ops'; resources are "
                "configured in the code location)"
            )
        if key != "ops":
            raise InvalidInput(f"run config: unknown top-level key {key!r} (expected 'ops')")
    ops = run_config.get("ops") or {}
    if not isinstance(ops, Mapping):
        raise InvalidInput("run config: 'ops' must be an object of op names")
    by_op: dict[str, list[str]] = {}
    for key in assets:  # an op may be several assets (a multi-asset); a key is accepted too
        for name in dict.fromkeys((_op_of(defs, key), key)):
            by_op.setdefault(name, []).append(key)
    given: dict[str, dict[str, Any]] = {}
    for name, entry in ops.items():
        targets = by_op.get(name)
        if targets is None:
            known = ", ".join(sorted({_op_of(defs, k) for k in assets}))
            raise InvalidInput(
                f"run config: op {name!r} is not an asset of this run (its ops: {known})"
            )
        if not isinstance(entry, Mapping) or set(entry) - {"config"}:
            raise InvalidInput(f'run config: ops.{name} must be {{"config": {{...}}}}')
        values = entry.get("config") or {}
        if not isinstance(values, Mapping):
            raise InvalidInput(f"run config: ops.{name}.config must be an object")
        configurable = [a for a in targets if defs.assets[a].config_schema is not None]
        if not configurable:
            raise InvalidInput(f"run config: asset {targets[0]!r} takes no config")
        for asset in configurable:
            given[asset] = dict(values)
    out: dict[str, dict[str, Any]] = {}
    for asset in assets:
        schema = defs.assets[asset].config_schema
        if schema is None:
            continue
        values = given.get(asset, {})
        _check(schema, values, asset)
        out[asset] = values
    return out


def _check(schema: Mapping[str, Any], values: Mapping[str, Any], asset: str) -> None:
    import jsonschema  # type: ignore[import-untyped]  # only configured launches pay for it

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path)
        at = f" at {where!r}" if where else ""
        raise InvalidInput(f"run config for asset {asset!r}{at}: {first.message}")
