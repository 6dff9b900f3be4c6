"""Publishing accepted orders to SQS: retries within the request's deadline, a circuit, faults.

The API answers 202 only after SQS acknowledged the message. Transient SQS
errors are retried with exponential backoff and full jitter, bounded by the
request's deadline; a circuit breaker fails fast while SQS stays down, so the
API answers 503 with Retry-After instead of queueing requests behind it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from system_under_test.api.metrics import ApiMetrics
from system_under_test.circuit import CircuitBreaker, CircuitOpenError
from system_under_test.exceptions import ApiError
from system_under_test.faults import FaultSwitch
from system_under_test.telemetry import PUBLISH_FAILURES

_THROTTLING = {"Throttling", "ThrottlingException", "RequestThrottled", "ServiceUnavailable"}

#: What the ``poison_payload`` fault does to an order: a currency no one supports.
POISON_CURRENCY = "XXX"


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error.get("Code") in _THROTTLING
    return isinstance(exc, BotoCoreError)


@dataclass(frozen=True)
class Envelope:
    """What travels on the queue, and the attributes the worker and the ledger read."""

    event_id: str
    order: dict[str, Any]
    idempotency_key: str
    correlation_id: str
    accepted_at: float

    def body(self) -> str:
        return json.dumps(
            {
                "eventId": self.event_id,
                "order": self.order,
                "idempotencyKey": self.idempotency_key,
                "correlationId": self.correlation_id,
                "acceptedAt": self.accepted_at,
            },
            separators=(",", ":"),
        )

    def attributes(self, injected: str | None) -> dict[str, Any]:
        attributes = {
            "eventId": {"DataType": "String", "StringValue": self.event_id},
            "correlationId": {"DataType": "String", "StringValue": self.correlation_id},
            "idempotencyKey": {"DataType": "String", "StringValue": self.idempotency_key},
            "acceptedAt": {"DataType": "Number", "StringValue": repr(self.accepted_at)},
        }
        if injected:
            attributes["injectedFault"] = {"DataType": "String", "StringValue": injected}
        return attributes


class Publisher:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        circuit: CircuitBreaker,
        faults: FaultSwitch,
        metrics: ApiMetrics,
        deadline_seconds: float,
        rng: random.Random | None = None,
    ) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self.circuit = circuit
        self._faults = faults
        self._metrics = metrics
        self._deadline = deadline_seconds
        self._rng = rng or random.Random()  # noqa: S311 (fault injection, not security)

    def publish(self, envelope: Envelope) -> str:
        """Send ``envelope``; returns SQS's message id. Raises ApiError 503 when SQS stays down."""
        fault = self._faults.current().active
        injected = None
        if fault and fault.mode == "slow_api":
            time.sleep(fault.latency_ms / 1000)
        if fault and fault.mode == "poison_payload" and self._rng.random() < fault.ratio:
            envelope = Envelope(
                envelope.event_id,
                {**envelope.order, "currency": POISON_CURRENCY},
                envelope.idempotency_key,
                envelope.correlation_id,
                envelope.accepted_at,
            )
            injected = "poison_payload"
        message_id = self._send(envelope, injected)
        self._metrics.published.labels(kind="original").inc()
        if fault and fault.mode == "duplicate_submit" and self._rng.random() < fault.ratio:
            self._send(envelope, "duplicate_submit")
            self._metrics.published.labels(kind="duplicate").inc()
        return message_id

    def _send(self, envelope: Envelope, injected: str | None) -> str:
        started = time.monotonic()
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            wait=wait_random_exponential(multiplier=0.05, max=1.0),
            stop=stop_after_delay(self._deadline) | stop_after_attempt(6),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self.circuit.call(
                        lambda: self._sqs.send_message(
                            QueueUrl=self._queue_url,
                            MessageBody=envelope.body(),
                            MessageAttributes=envelope.attributes(injected),
                        )
                    )
        except CircuitOpenError as exc:
            self._metrics.telemetry.count(PUBLISH_FAILURES)
            raise _unavailable("the queue is unavailable (circuit open)", exc.retry_after) from None
        except (ClientError, BotoCoreError) as exc:
            self._metrics.telemetry.count(PUBLISH_FAILURES)
            waited = time.monotonic() - started
            raise _unavailable(
                f"the queue did not accept the event within {waited:.1f} s ({type(exc).__name__})",
                self.circuit.retry_after() or 1.0,
            ) from None
        return str(response["MessageId"])


def _unavailable(message: str, retry_after: float) -> ApiError:
    seconds = max(1, int(retry_after + 0.999))
    return ApiError(503, "QUEUE_UNAVAILABLE", message, headers={"Retry-After": str(seconds)})
