"""ULID generation: monotonic within a process, so ids from one writer sort in write order."""

from __future__ import annotations

import os
import threading

from arco.clock import Clock
from arco.domain.ulid import MAX_RANDOM, encode_ulid


class UlidGenerator:
    """Makes ULIDs from a clock; within one millisecond the random part is incremented."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self) -> str:
        with self._lock:
            now = self._clock.now_ms()
            if now <= self._last_ms and self._last_random < MAX_RANDOM:
                # Same (or an earlier, skewed) millisecond: stay monotonic.
                now = self._last_ms
                randomness = self._last_random + 1
            else:
                randomness = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms, self._last_random = now, randomness
            return encode_ulid(now, randomness)
