from __future__ import annotations

import pytest

from system_under_test.circuit import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _fail() -> None:
    raise RuntimeError("down")


def test_opens_after_threshold_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("d", failure_threshold=3, reset_seconds=10, clock=clock)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            breaker.call(_fail)
    assert breaker.state == OPEN
    calls = []
    with pytest.raises(CircuitOpenError) as error:
        breaker.call(lambda: calls.append(1))
    assert calls == []  # not attempted
    assert error.value.retry_after == pytest.approx(10)


def test_half_open_allows_one_probe_and_closes_after_successes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(
        "d", failure_threshold=1, success_threshold=2, reset_seconds=5, clock=clock
    )
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    clock.now = 5.0
    assert breaker.state == HALF_OPEN
    assert breaker.allow() is True
    assert breaker.allow() is False  # one probe at a time
    breaker.record_success()
    assert breaker.state == HALF_OPEN
    breaker.call(lambda: None)
    assert breaker.state == CLOSED


def test_failure_while_half_open_opens_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker("d", failure_threshold=1, reset_seconds=5, clock=clock)
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    clock.now = 6.0
    with pytest.raises(RuntimeError):
        breaker.call(_fail)
    assert breaker.state == OPEN
    assert breaker.snapshot()["timesOpened"] == 2


def test_refusals_that_are_not_outages_keep_it_closed() -> None:
    breaker = CircuitBreaker("d", failure_threshold=1)
    for _ in range(5):
        with pytest.raises(ValueError):
            breaker.call(
                lambda: (_ for _ in ()).throw(ValueError("422")),
                counts_as_failure=lambda exc: not isinstance(exc, ValueError),
            )
    assert breaker.state == CLOSED
