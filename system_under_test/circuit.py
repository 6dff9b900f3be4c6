"""A three-state circuit breaker (closed, open, half-open), as the seeds describe it.

``failure_threshold`` consecutive failures open it; after ``reset_seconds`` it
lets one probe through (half-open); ``success_threshold`` successes in a row
close it again, and any failure while half-open opens it anew. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from system_under_test.config import SutConfig

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
#: How a state reads on a Prometheus gauge (as the seed's CircuitBreakerState metric).
STATE_NUMBER = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}
#: And back, for whoever reads the gauge.
STATE_NAME = {number: name for name, number in STATE_NUMBER.items()}


class CircuitOpenError(Exception):
    """The call was not attempted: the circuit is open (fail fast)."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name!r} is open; retry in {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class CircuitStats:
    state: str = CLOSED
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    failures: int = 0
    successes: int = 0
    rejected: int = 0
    opened: int = 0
    opened_at: float | None = None


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        success_threshold: int = 2,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.success_threshold = max(1, success_threshold)
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stats = CircuitStats()
        self._probing = False

    @classmethod
    def from_config(cls, name: str, config: SutConfig) -> CircuitBreaker:
        """A breaker with the thresholds and reset time the configuration names."""
        return cls(
            name,
            failure_threshold=config.circuit_failure_threshold,
            success_threshold=config.circuit_success_threshold,
            reset_seconds=config.circuit_reset_seconds,
        )

    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> str:
        stats = self._stats
        if (
            stats.state == OPEN
            and stats.opened_at is not None
            and self._clock() - stats.opened_at >= self.reset_seconds
        ):
            stats.state = HALF_OPEN
            stats.consecutive_successes = 0
        return stats.state

    def retry_after(self) -> float:
        """Seconds until a call may be tried again (0 when it may be tried now)."""
        with self._lock:
            if self._current_state() != OPEN or self._stats.opened_at is None:
                return 0.0
            return max(0.0, self.reset_seconds - (self._clock() - self._stats.opened_at))

    def allow(self) -> bool:
        """Reserve a call: always when closed, one probe at a time when half-open."""
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                return True
            if state == HALF_OPEN and not self._probing:
                self._probing = True
                return True
            self._stats.rejected += 1
            return False

    def record_success(self) -> None:
        with self._lock:
            stats = self._stats
            self._probing = False
            stats.successes += 1
            stats.consecutive_failures = 0
            stats.consecutive_successes += 1
            if stats.state == HALF_OPEN and stats.consecutive_successes >= self.success_threshold:
                stats.state = CLOSED
                stats.opened_at = None

    def record_failure(self) -> None:
        with self._lock:
            stats = self._stats
            self._probing = False
            stats.failures += 1
            stats.consecutive_successes = 0
            stats.consecutive_failures += 1
            state = self._current_state()
            if state == HALF_OPEN or (
                state == CLOSED and stats.consecutive_failures >= self.failure_threshold
            ):
                stats.state = OPEN
                stats.opened_at = self._clock()
                stats.opened += 1

    def call(
        self,
        function: Callable[[], Any],
        counts_as_failure: Callable[[Exception], bool] = lambda _exc: True,
    ) -> Any:
        """Run ``function`` through the breaker; raises CircuitOpenError without calling it.

        An exception for which ``counts_as_failure`` is false (the dependency
        answered, but refused this one call) counts as a success of the dependency.
        """
        if not self.allow():
            raise CircuitOpenError(self.name, self.retry_after())
        try:
            result = function()
        except Exception as exc:
            if counts_as_failure(exc):
                self.record_failure()
            else:
                self.record_success()
            raise
        self.record_success()
        return result

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            state = self._current_state()
            stats = self._stats
            return {
                "state": state,
                "failures": stats.consecutive_failures,
                "totalFailures": stats.failures,
                "totalSuccesses": stats.successes,
                "rejected": stats.rejected,
                "timesOpened": stats.opened,
                "failureThreshold": self.failure_threshold,
                "successThreshold": self.success_threshold,
                "resetSeconds": self.reset_seconds,
            }
