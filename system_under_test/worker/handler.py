"""The worker's SQS batch handler, Lambda-shaped (``ReportBatchItemFailures``).

``BatchProcessor.handle(event, context)`` takes an SQS event and returns
``{"batchItemFailures": [...]}``, so it deploys as a Lambda unchanged; the
local poller (``poller.py``) feeds it the same event shape.

Per message:

- business validation fails (VALIDATION) or the downstream refuses it for good
  (PERMANENT): the message is copied to the DLQ with its error attributes and
  counts as handled, so SQS deletes it: quarantined in seconds, not after three
  receives;
- a transient failure (TRANSIENT, TIMEOUT, PROCESSING) is reported as a batch
  item failure and SQS redelivers it; after ``maxReceiveCount`` receives SQS's
  redrive moves it to the DLQ;
- while the downstream's circuit is open the rest of the batch is not
  attempted (``deferred``): an outage must not burn the messages' receives.

Effects are idempotent twice over: a Powertools idempotency record in the
ledger table keyed by the producer's key (not the SQS message id), and the
same key sent to the downstream as ``Idempotency-Key``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)

from system_under_test import telemetry as cw
from system_under_test.circuit import CLOSED, OPEN, STATE_NUMBER, CircuitBreaker, CircuitOpenError
from system_under_test.config import SutConfig
from system_under_test.exceptions import ProcessingError
from system_under_test.telemetry import Telemetry
from system_under_test.worker.downstream import DownstreamClient
from system_under_test.worker.validation import check_order, parse_envelope

logger = Logger(service="worker")

# What happened to each message of the last batch (the poller settles by it).
HANDLED, DEAD_LETTERED, RETRY, DEFERRED = "handled", "dead_lettered", "retry", "deferred"

#: SQS allows ten message attributes; the error attributes take these names.
ERROR_ATTRIBUTES = ("errorType", "errorMessage", "attempts", "firstSeen", "failedAt")


@dataclass
class WorkerDeps:
    sqs: Any
    dynamodb: Any
    downstream: DownstreamClient
    telemetry: Telemetry | None = None  # CloudWatch metrics; flushed by whoever runs it


class BatchProcessor:
    def __init__(self, config: SutConfig, deps: WorkerDeps) -> None:
        self._config = config
        self._sqs = deps.sqs
        self.downstream = deps.downstream
        self.idempotency = IdempotencyConfig(
            event_key_jmespath="idempotencyKey",
            expires_after_seconds=config.idempotency_ttl_seconds,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=config.ledger_table, boto3_client=deps.dynamodb
        )
        self._apply = idempotent_function(
            self._apply_effect,
            data_keyword_argument="envelope",
            persistence_store=persistence,
            config=self.idempotency,
        )
        self.last_outcomes: dict[str, str] = {}
        self.on_outcome: Callable[[str], None] = lambda _outcome: None  # metrics hook
        self.telemetry = deps.telemetry or Telemetry("worker", config.instance)
        self.telemetry.gauge(
            cw.CIRCUIT_STATE,
            lambda: STATE_NUMBER[self.downstream.circuit.state],
            circuit="downstream",
        )

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Process one SQS batch; returns the partial batch response."""
        self.idempotency.register_lambda_context(context)
        self.last_outcomes = {}
        records = event.get("Records", [])
        for index, record in enumerate(records):
            if self.downstream.circuit.state == OPEN:
                for rest in records[index:]:
                    self.last_outcomes[rest["messageId"]] = DEFERRED
                break
            outcome = self._handle_record(record)
            self.last_outcomes[record["messageId"]] = outcome
            self.on_outcome(outcome)
            self.telemetry.count(cw.MESSAGES, outcome=outcome)
            if outcome in (RETRY, DEAD_LETTERED):
                self.telemetry.count(cw.WORKER_ERRORS)
        failures = [
            {"itemIdentifier": message_id}
            for message_id, outcome in self.last_outcomes.items()
            if outcome in (RETRY, DEFERRED)
        ]
        return {"batchItemFailures": failures}

    def _handle_record(self, record: dict[str, Any]) -> str:  # noqa: PLR0911 (one per outcome)
        correlation_id = _attribute(record, "correlationId") or record["messageId"]
        with logger.append_context_keys(
            correlation_id=correlation_id, message_id=record["messageId"]
        ):
            try:
                envelope = parse_envelope(record["body"])
                check_order(envelope["order"])
                self._apply(envelope=envelope)
            except ProcessingError as exc:
                return self._failed(record, exc)
            except CircuitOpenError:
                return DEFERRED
            except IdempotencyAlreadyInProgressError:
                logger.info("same key in progress elsewhere; will retry")
                return RETRY
            except IdempotencyPersistenceLayerError as exc:
                cause = exc.__cause__
                if isinstance(cause, ProcessingError):
                    return self._failed(record, cause)
                if isinstance(cause, CircuitOpenError):
                    return DEFERRED
                logger.warning("idempotency store failed", extra={"error": str(exc)})
                return RETRY
            except Exception:
                logger.exception("unexpected processing error")
                return RETRY
        return HANDLED

    def _apply_effect(self, envelope: dict[str, Any]) -> dict[str, Any]:
        order = {**envelope["order"], "acceptedAt": envelope.get("acceptedAt")}
        effect = self.downstream.apply(
            order, envelope["idempotencyKey"], str(envelope.get("correlationId", ""))
        )
        return {"effectId": effect.get("effectId"), "orderId": order["orderId"]}

    def _failed(self, record: dict[str, Any], exc: ProcessingError) -> str:
        if not exc.category.permanent:
            logger.info("transient failure", extra={"category": exc.category, "error": exc.message})
            # A failure that opened the circuit is part of an outage: defer, don't burn receives.
            return RETRY if self.downstream.circuit.state == CLOSED else DEFERRED
        try:
            self._dead_letter(record, exc)
        except Exception as dlq_error:
            logger.warning(
                "could not dead-letter; leaving for redelivery", extra={"error": str(dlq_error)}
            )
            return RETRY
        logger.warning("dead-lettered", extra={"category": exc.category, "error": exc.message})
        return DEAD_LETTERED

    def _dead_letter(self, record: dict[str, Any], exc: ProcessingError) -> None:
        attributes = record.get("attributes", {})
        error = {
            "errorType": exc.category.value,
            "errorMessage": exc.message[:256],
            "attempts": attributes.get("ApproximateReceiveCount", "1"),
            "firstSeen": attributes.get(
                "ApproximateFirstReceiveTimestamp", attributes.get("SentTimestamp", "")
            ),
            "failedAt": str(int(time.time() * 1000)),
        }
        kept = {
            name: {
                "DataType": value.get("dataType", "String"),
                "StringValue": value.get("stringValue", ""),
            }
            for name, value in record.get("messageAttributes", {}).items()
            if name not in ERROR_ATTRIBUTES and value.get("stringValue") is not None
        }
        room = 10 - len(error)
        merged = dict(list(kept.items())[:room])
        merged.update(
            {k: {"DataType": "String", "StringValue": v or "-"} for k, v in error.items()}
        )
        self._sqs.send_message(
            QueueUrl=self._config.dlq_url, MessageBody=record["body"], MessageAttributes=merged
        )


def build_processor(config: SutConfig, sqs: Any, dynamodb: Any) -> BatchProcessor:
    """The processor with its downstream client and circuit, as configured."""
    circuit = CircuitBreaker.from_config("downstream", config)
    downstream = DownstreamClient(
        config.downstream_url,
        circuit,
        timeout_seconds=config.downstream_timeout_seconds,
        attempts=config.downstream_attempts,
    )
    return BatchProcessor(config, WorkerDeps(sqs, dynamodb, downstream))


def _attribute(record: dict[str, Any], name: str) -> str | None:
    value = record.get("messageAttributes", {}).get(name, {})
    return value.get("stringValue") if isinstance(value, dict) else None


class LocalContext:
    """What Powertools reads of a Lambda context: the time left for this batch."""

    function_name = "system-under-test-worker"

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
