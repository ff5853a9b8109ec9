"""The one seam for wall-clock time. Pure code never calls this; services pass `now` inward."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Milliseconds since the Unix epoch."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class FixedClock:
    """A clock tests and `arco tick --now` can set and advance."""

    def __init__(self, now_ms: int) -> None:
        self._now = now_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms


class OffsetClock:
    """The system clock shifted by `offset_ms`: simulated time that still flows (`arco tick
    --now`), so events written later in a simulated moment still get later ids."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def set_now(self, now_ms: int) -> None:
        self.offset_ms = now_ms - time.time_ns() // 1_000_000


def clock_now(clock: Clock) -> datetime:
    """The clock's time as an aware UTC datetime (what controllers take as `now`)."""
    return datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC)
