"""A sliding one-minute window per key (client address, user name...), in memory.

Per process: with several replicas the limit holds per replica, which still bounds password guessing
to `replicas x limit` a minute.
"""

from __future__ import annotations

import math
import time
from collections import deque

from drawnet.drawing import metrics
from drawnet.drawing.errors import RateLimitedError

WINDOW_SECONDS = 60.0
MAX_KEYS = 100_000
"""Keys remembered at once; the oldest are forgotten first, so memory stays bounded under a flood."""


class RateLimit:
    def __init__(self, name: str, per_minute: int) -> None:
        self.name = name
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one attempt for `key`, or raise RateLimitedError when the window is full."""
        now = time.monotonic() if now is None else now
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        self._hits[key] = hits  # re-inserted: dicts keep insertion order, the oldest keys come first
        if len(hits) >= self.per_minute:
            metrics.RATE_LIMITED.labels(self.name).inc()
            retry = max(1, math.ceil(hits[0] + WINDOW_SECONDS - now))
            raise RateLimitedError(
                self.name,
                f"more than {self.name} {self.per_minute} attempts in a minute; retry in {retry} s",
                retry_after=retry,
            )
        hits.append(now)
        while len(self._hits) > MAX_KEYS:
            del self._hits[next(iter(self._hits))]
