"""Token buckets in memory: per API token or session, and per client for logins.

>>> buckets = TokenBuckets()
>>> [buckets.take("tok", rate=1.0, burst=2, now=0.0) for _ in range(3)]
[0.0, 0.0, 1.0]
>>> buckets.take("tok", rate=1.0, burst=2, now=1.0)
0.0
"""

from __future__ import annotations

import threading
import time

MAX_KEYS = 10_000
"""Buckets kept at most; past it, full buckets (idle keys) are forgotten."""


class TokenBuckets:
    """Named token buckets; :meth:`take` spends one token or says how long to wait."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str, *, rate: float, burst: int, now: float | None = None) -> float:
        """Spend one token from ``key``'s bucket: 0.0 if allowed, else seconds to wait."""
        at = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, rate, burst, at)
            if tokens < 1.0:
                self._buckets[key] = (tokens, at)
                return (1.0 - tokens) / rate
            self._buckets[key] = (tokens - 1.0, at)
            if len(self._buckets) > MAX_KEYS:
                self._forget_idle(at, rate, burst)
            return 0.0

    def wait(self, key: str, *, rate: float, burst: int, now: float | None = None) -> float:
        """Seconds until ``key``'s bucket holds a token (0.0: it does), spending none."""
        at = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, rate, burst, at)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate

    def _tokens(self, key: str, rate: float, burst: int, at: float) -> float:
        """The tokens in ``key``'s bucket at ``at``, refilled since it was last touched."""
        tokens, last = self._buckets.get(key, (float(burst), at))
        return min(float(burst), tokens + (at - last) * rate)

    def _forget_idle(self, at: float, rate: float, burst: int) -> None:
        idle = [
            k for k, (tokens, last) in self._buckets.items() if tokens + (at - last) * rate >= burst
        ]
        for key in idle:
            del self._buckets[key]
