"""API keys and per-key token-bucket rate limiting."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from system_under_test.exceptions import ApiError

CLIENT, ADMIN = "client", "admin"


def authenticate(
    api_key: str | None, client_keys: frozenset[str], admin_keys: frozenset[str], need: str
) -> str:
    """The caller's role for ``api_key``; 401 without a valid key, 403 without the right."""
    if not api_key:
        raise ApiError(401, "AUTH_REQUIRED", "X-Api-Key header is required")
    if api_key in admin_keys:
        return ADMIN
    if api_key not in client_keys:
        raise ApiError(401, "INVALID_API_KEY", "the API key is not valid")
    if need == ADMIN:
        raise ApiError(403, "FORBIDDEN", "this endpoint needs an admin API key")
    return CLIENT


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after: int  # until one token is available (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class TokenBuckets:
    """One bucket per key: ``rate`` tokens a second, holding at most ``burst``.

    In memory, so exact for one API process (the local stack). Several Lambda
    instances would each hold their own buckets.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)

    def take(self, key: str) -> Decision:
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
        missing = self.burst - tokens
        reset = math.ceil(missing / self.rate) if self.rate > 0 else 0
        retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))
        return Decision(allowed, self.burst, int(tokens), reset, retry_after)
