"""Rate limiting for the fake APIs: fixed windows aligned to the epoch, per key.

Mirrors Mastodon's rack-attack throttle: the count resets every ``window_s`` seconds
on the epoch grid, and ``X-RateLimit-Reset`` is ``now`` plus the time left in the
window, as ISO-8601 with microseconds and ``Z``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import NamedTuple


class Quota(NamedTuple):
    """One counted request: whether it is allowed, and the window's limit, what is left and when it resets."""

    allowed: bool
    limit: int
    remaining: int
    reset: datetime


class RateLimiter:
    """Counts requests per key; not thread-safe (the server calls it under its lock)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._counts: dict[object, tuple[int, int]] = {}  # key → (window number, requests in it)
        self.answered: Counter = Counter()
        self.refused: Counter = Counter()
        """Requests counted per key, allowed and refused: what a benchmark or test reads to see
        whether a client kept to the limit (the simulator's own count, not the client's)."""

    def count(self, key: object) -> Quota:
        """Count one request for ``key``; each platform renders the :class:`Quota` as its own headers."""
        now = self.clock()
        window = int(now // self.window_s)
        seen_window, count = self._counts.get(key, (window, 0))
        count = count + 1 if seen_window == window else 1
        self._counts[key] = (window, count)
        left = self.window_s - (now - window * self.window_s)
        reset = datetime.fromtimestamp(now, UTC) + timedelta(seconds=left)
        (self.answered if count <= self.limit else self.refused)[key] += 1
        return Quota(count <= self.limit, self.limit, max(0, self.limit - count), reset)

    def hit(self, key: object) -> tuple[bool, list[tuple[str, str]]]:
        """Count one request; returns (allowed, Mastodon's three ``X-RateLimit-*`` headers)."""
        quota = self.count(key)
        headers = [("X-RateLimit-Limit", str(quota.limit)),
                   ("X-RateLimit-Remaining", str(quota.remaining)),
                   ("X-RateLimit-Reset", quota.reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))]
        return quota.allowed, headers


def tally(limiter: RateLimiter) -> dict[str, dict[str, int]]:
    """Requests the limiter answered and refused, per the first part of its keys (the platform or
    instance, e.g. ``discourse``), as the simulator's root document shows them."""
    shown: dict[str, dict[str, int]] = {}
    for name, counter in (("answered", limiter.answered), ("refused", limiter.refused)):
        for key, n in counter.items():
            group = str(key[0] if isinstance(key, tuple) else key)
            shown.setdefault(group, {"answered": 0, "refused": 0})[name] += n
    return shown
