from __future__ import annotations

import pytest

from system_under_test.api.security import ADMIN, CLIENT, TokenBuckets, authenticate
from system_under_test.exceptions import ApiError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=50, burst=100, clock=clock)
    decisions = [buckets.take("k") for _ in range(101)]
    assert all(d.allowed for d in decisions[:100])
    refused = decisions[100]
    assert not refused.allowed
    assert refused.headers()["Retry-After"] == "1"
    assert refused.headers()["X-RateLimit-Remaining"] == "0"
    clock.now += 0.1  # five tokens back
    assert sum(buckets.take("k").allowed for _ in range(6)) == 5
    assert buckets.take("other").allowed  # buckets are per key


def test_roles() -> None:
    clients, admins = frozenset({"c"}), frozenset({"a"})
    assert authenticate("c", clients, admins, need=CLIENT) == CLIENT
    assert authenticate("a", clients, admins, need=ADMIN) == ADMIN
    for key, need, status in ((None, CLIENT, 401), ("x", CLIENT, 401), ("c", ADMIN, 403)):
        with pytest.raises(ApiError) as error:
            authenticate(key, clients, admins, need=need)
        assert error.value.status == status
