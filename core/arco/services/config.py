"""Runtime settings of a process, read once from the environment at the edge."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from arco.domain.names import validate_workspace
from arco.ledger.writer import DEFAULT_LOOKBACK_MS
from arco.storage.url import DEFAULT_STORE_URL


@dataclass(frozen=True, slots=True)
class Settings:
    store_url: str = DEFAULT_STORE_URL
    workspace: str = "default"
    lookback_ms: int = DEFAULT_LOOKBACK_MS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            store_url=env.get("ARCO_STORE") or DEFAULT_STORE_URL,
            workspace=validate_workspace(env.get("ARCO_WORKSPACE") or "default"),
            lookback_ms=int(env.get("ARCO_LOOKBACK_MS") or DEFAULT_LOOKBACK_MS),
        )
