"""Calls to the downstream: a timeout, bounded retries with jittered backoff, a circuit."""

from __future__ import annotations

from typing import Any

import httpx
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_fixed,
    wait_random_exponential,
)

from system_under_test.circuit import CircuitBreaker, CircuitOpenError
from system_under_test.exceptions import ErrorCategory, ProcessingError


class DownstreamClient:
    def __init__(
        self,
        base_url: str,
        circuit: CircuitBreaker,
        *,
        timeout_seconds: float = 5.0,
        attempts: int = 3,
        http: httpx.Client | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/effects"
        self.circuit = circuit
        self._attempts = max(1, attempts)
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout_seconds))

    def apply(self, order: dict[str, Any], idempotency_key: str, correlation_id: str) -> Any:
        """Apply the order's effect; raises ProcessingError with the failure's category.

        CircuitOpenError passes through untouched: the caller stops taking work.
        """
        retrying = Retrying(
            retry=retry_if_exception(_worth_retrying),
            # at least 100 ms between attempts (full jitter alone can retry at once), then
            # jittered and doubling, 2 s at most
            wait=wait_fixed(0.1) + wait_random_exponential(multiplier=0.1, max=1.9),
            stop=stop_after_attempt(self._attempts),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self.circuit.call(
                    lambda: self._post(order, idempotency_key, correlation_id),
                    counts_as_failure=_worth_retrying,
                )
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _post(self, order: dict[str, Any], key: str, correlation_id: str) -> Any:
        try:
            response = self._http.post(
                self._url,
                json=order,
                headers={"Idempotency-Key": key, "X-Correlation-Id": correlation_id},
            )
        except httpx.TimeoutException:
            raise ProcessingError(ErrorCategory.TIMEOUT, "downstream timed out") from None
        except httpx.HTTPError as exc:
            raise ProcessingError(
                ErrorCategory.TRANSIENT, f"downstream unreachable ({type(exc).__name__})"
            ) from None
        if response.status_code in (200, 201):
            return response.json()
        category = (
            ErrorCategory.TRANSIENT
            if response.status_code >= 500 or response.status_code in (408, 429)
            else ErrorCategory.PERMANENT
        )
        raise ProcessingError(category, f"downstream answered {response.status_code}")

    def close(self) -> None:
        self._http.close()


def _worth_retrying(exc: BaseException) -> bool:
    if isinstance(exc, CircuitOpenError):
        return False
    return isinstance(exc, ProcessingError) and not exc.category.permanent
