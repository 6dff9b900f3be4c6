"""The publisher's retry and circuit behaviour when SQS is away (a stub SQS client)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from system_under_test.api.metrics import ApiMetrics
from system_under_test.api.publisher import Envelope, Publisher
from system_under_test.circuit import OPEN, CircuitBreaker
from system_under_test.exceptions import ApiError
from system_under_test.faults import FaultState


class UnreachableSqs:
    def __init__(self) -> None:
        self.calls = 0

    def send_message(self, **_kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")


class NoFaults:
    def current(self) -> FaultState:
        return FaultState(active=None)


def _envelope() -> Envelope:
    return Envelope("e", {"orderId": "o", "amount": 1, "currency": "USD"}, "k", "c", 0.0)


def test_sqs_down_gives_503_with_retry_after_then_the_circuit_fails_fast() -> None:
    sqs = UnreachableSqs()
    circuit = CircuitBreaker("sqs", failure_threshold=3, reset_seconds=30)
    publisher = Publisher(
        sqs,
        "q",
        circuit,
        NoFaults(),
        ApiMetrics(),  # type: ignore[arg-type]
        deadline_seconds=0.5,
    )
    with pytest.raises(ApiError) as first:
        publisher.publish(_envelope())
    assert first.value.status == 503
    assert first.value.code == "QUEUE_UNAVAILABLE"
    assert int(first.value.headers["Retry-After"]) >= 1
    assert sqs.calls >= 2  # retried within the deadline
    assert circuit.state == OPEN
    calls = sqs.calls
    with pytest.raises(ApiError) as second:
        publisher.publish(_envelope())
    assert "circuit open" in second.value.message
    assert sqs.calls == calls  # not attempted
