"""Mastodon-style rate limiting: fixed windows aligned to the epoch, per key.

Mirrors Mastodon's rack-attack throttle: the count resets every ``window_s`` seconds
on the epoch grid, and ``X-RateLimit-Reset`` is ``now`` plus the time left in the
window, as ISO-8601 with microseconds and ``Z``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class RateLimiter:
    """Counts requests per key; not thread-safe (the server calls it under its lock)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._counts: dict[object, tuple[int, int]] = {}  # key → (window number, requests in it)

    def hit(self, key: object) -> tuple[bool, list[tuple[str, str]]]:
        """Count one request; returns (allowed, the three ``X-RateLimit-*`` headers)."""
        now = self.clock()
        window = int(now // self.window_s)
        seen_window, count = self._counts.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._counts[key] = (window, count)
        left = self.window_s - (now - window * self.window_s)
        reset = datetime.fromtimestamp(now, UTC) + timedelta(seconds=left)
        headers = [("X-RateLimit-Limit", str(self.limit)),
                   ("X-RateLimit-Remaining", str(max(0, self.limit - count))),
                   ("X-RateLimit-Reset", reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))]
        return count <= self.limit, headers
