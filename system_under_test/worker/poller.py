"""The local stand-in for Lambda's SQS event source: long-poll, handle, settle.

Settling follows the handler's outcomes:

- handled or dead-lettered: deleted (DeleteMessageBatch);
- retry: hidden again for an exponentially growing, jittered time, so SQS's
  redrive moves it to the DLQ after ``maxReceiveCount`` receives;
- deferred (the downstream's circuit is open): hidden until the circuit may
  close; a message whose receives are nearly spent is re-queued as a fresh
  copy instead, so an outage never dead-letters a healthy order.

While the circuit is open the poller stops receiving (backpressure). SIGTERM
finishes the batch in hand and stops; SIGKILL loses nothing, because
unsettled messages come back after the visibility timeout.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from aws_lambda_powertools import Logger

from system_under_test.circuit import OPEN
from system_under_test.config import SutConfig
from system_under_test.telemetry import RECEIVE_CALLS, RECEIVE_CALLS_WHILE_OPEN
from system_under_test.worker.handler import (
    DEAD_LETTERED,
    DEFERRED,
    HANDLED,
    RETRY,
    BatchProcessor,
    LocalContext,
)

logger = Logger(service="worker")

RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 60
#: Lambda's event source gives a batch the queue's visibility timeout; keep a margin.
BATCH_MARGIN_SECONDS = 5.0


class Poller:
    def __init__(
        self,
        sqs: Any,
        config: SutConfig,
        processor: BatchProcessor,
        visibility_timeout: int,
        stop: threading.Event,
        rng: random.Random | None = None,
    ) -> None:
        self._sqs = sqs
        self._config = config
        self._processor = processor
        self._visibility = visibility_timeout
        self._stop = stop
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        self.batches = 0
        self.receive_calls = 0  # the pause while the circuit is open shows here

    def run(self) -> None:
        logger.info("worker polling", extra={"queue": self._config.queue_url})
        while not self._stop.is_set():
            circuit = self._processor.downstream.circuit
            if circuit.state == OPEN:
                self._stop.wait(min(1.0, max(0.05, circuit.retry_after())))  # backpressure
                continue
            self.poll_once()
        logger.info("worker stopped", extra={"batches": self.batches})

    def poll_once(self) -> int:
        """Receive one batch, handle and settle it; returns how many messages it held."""
        self.receive_calls += 1
        telemetry = self._processor.telemetry
        telemetry.count(RECEIVE_CALLS, instance=telemetry.instance)
        if self._processor.downstream.circuit.state == OPEN:  # a half-open probe is not OPEN
            telemetry.count(RECEIVE_CALLS_WHILE_OPEN, instance=telemetry.instance)
        try:
            messages = self._sqs.receive_message(
                QueueUrl=self._config.queue_url,
                MaxNumberOfMessages=min(10, max(1, self._config.worker_batch_size)),
                WaitTimeSeconds=self._config.worker_wait_seconds,
                VisibilityTimeout=self._visibility,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except Exception as exc:
            logger.warning("receive failed", extra={"error": str(exc)})
            self._stop.wait(1.0)
            return 0
        if not messages:
            return 0
        deadline = time.monotonic() + self._visibility - BATCH_MARGIN_SECONDS
        self._processor.handle(to_lambda_event(messages), LocalContext(deadline))
        self._settle(messages, self._processor.last_outcomes)
        self.batches += 1
        return len(messages)

    def _settle(self, messages: list[dict[str, Any]], outcomes: dict[str, str]) -> None:
        done = [m for m in messages if outcomes.get(m["MessageId"]) in (HANDLED, DEAD_LETTERED)]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._config.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )
        hide: list[tuple[dict[str, Any], int]] = []
        for message in messages:
            outcome = outcomes.get(message["MessageId"], RETRY)
            receives = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if outcome == RETRY:
                hide.append((message, self._backoff(receives)))
            elif outcome == DEFERRED:
                if receives >= self._config.max_receive_count - 1:
                    self._requeue(message)
                else:
                    wait = self._processor.downstream.circuit.retry_after()
                    hide.append((message, int(wait + self._rng.uniform(0, 2)) + 1))
        if hide:
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._config.queue_url,
                Entries=[
                    {
                        "Id": str(i),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": seconds,
                    }
                    for i, (m, seconds) in enumerate(hide)
                ],
            )

    def _backoff(self, receives: int) -> int:
        """Full-jitter exponential backoff: up to base * 2^(receives-1), capped."""
        ceiling = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (receives - 1))
        return max(1, int(self._rng.uniform(ceiling / 2, ceiling)))

    def _requeue(self, message: dict[str, Any]) -> None:
        """A fresh copy (receive count 0), then delete the original: at least once."""
        wait = int(min(900, self._processor.downstream.circuit.retry_after() + 1))
        self._sqs.send_message(
            QueueUrl=self._config.queue_url,
            MessageBody=message["Body"],
            MessageAttributes=message.get("MessageAttributes", {}),
            DelaySeconds=wait,
        )
        self._sqs.delete_message(
            QueueUrl=self._config.queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
        logger.info("re-queued during an outage", extra={"message_id": message["MessageId"]})


def to_lambda_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """SQS ReceiveMessage output in the shape Lambda hands an SQS-triggered function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "dataType": value.get("DataType", "String"),
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m.get("MD5OfBody"),
                "eventSource": "aws:sqs",
            }
            for m in messages
        ]
    }
