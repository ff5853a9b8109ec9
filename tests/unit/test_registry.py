"""The registry of tables and event types: an event type of version N needs an upcaster from
every older version, so a ledger written by an older build still folds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from arco.domain.registry import EventType, Outcome, Registry


class _Payload(BaseModel):
    x: int = 0


def _event(version: int, upcasters: dict[int, Any]) -> EventType:
    return EventType(
        name="t.happened",
        version=version,
        payload=_Payload,
        rule=lambda ctx, e: Outcome.APPLIED,
        upcasters=upcasters,
    )


def test_an_event_type_needs_an_upcaster_from_every_older_version() -> None:
    Registry().add_event(_event(1, {}))
    Registry().add_event(_event(3, {1: dict, 2: dict}))
    with pytest.raises(ValueError, match=r"'t.happened': no upcaster from versions \[2\]"):
        Registry().add_event(_event(3, {1: dict}))
    with pytest.raises(ValueError, match=r"no upcaster from versions \[1, 2\]"):
        Registry().add_event(_event(3, {}))
