"""Redrive dead letters (with the safety filters); take SQS away from the API for a while."""

from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.measure import ledger
from system_under_test import redrive

__all__ = ["make_sqs_unavailable", "redrive_dlq", "restore_sqs", "wait_for_drain"]

#: What a producer calls: SQS refuses exactly these while "unavailable".
PUBLISH_OPERATIONS = ("SendMessage", "SendMessageBatch")


def make_sqs_unavailable(
    seconds: float = 10.0,
    operations: list[str] | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """SQS answers 503 ServiceUnavailable to SendMessage (and SendMessageBatch) for
    ``seconds``, while DynamoDB and SSM keep answering: the embedded backend's version of
    AWS FIS's inject-api-unavailable-error. It expires by itself; ``restore_sqs`` ends it
    sooner. Only on the embedded backend (on AWS, use FIS)."""
    asked = {"operations": list(operations or PUBLISH_OPERATIONS), "seconds": seconds}
    shown = _api_errors(configuration, "POST", asked)
    context.mark("sqs_unavailable", seconds=seconds, operations=asked["operations"])
    return shown


def restore_sqs(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """End an injected SQS outage (a rollback); harmless when none is on."""
    shown = _api_errors(configuration, "DELETE", None)
    context.mark("sqs_restored")
    return shown


def _api_errors(
    configuration: Configuration, method: str, body: dict[str, Any] | None
) -> dict[str, Any]:
    from gameday.stack.api_errors import PATH

    backend = context.stack(configuration)["parts"].get("backend", {}).get("endpoint")
    if not backend:
        raise ActivityFailed("no embedded backend in this stack: on AWS, use AWS FIS")
    try:
        answer = httpx.request(method, backend + PATH, json=body, timeout=10)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"the embedded backend refused the injection: {exc}") from None
    return dict(answer.json())


def redrive_dlq(
    error_type: str | None = None,
    max_messages: int = 100,
    min_age_seconds: float = 0.0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Move up to max_messages dead letters (of error_type, if given) back to the queue.

    error_type: the errorType attribute (PERMANENT, ...) or MAX_RECEIVES for messages SQS
    moved after maxReceiveCount. Returns {"redriven", "skipped", "failed"}; poison
    (VALIDATION) is better left where it is.
    """
    state = context.stack(configuration)
    try:
        result = redrive.redrive(
            context.aws(configuration, "sqs"),
            state["resources"]["dlq_url"],
            state["resources"]["queue_url"],
            redrive.DlqFilter(error_type, min_age_seconds),
            max_messages=max_messages,
        )
    except ValueError as exc:
        raise ActivityFailed(str(exc)) from None
    context.mark("redrive", redriven=result["redriven"])
    return dict(result)


def wait_for_drain(
    timeout_seconds: float = 120, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Wait until the orders queue is empty, nothing in flight, for a second (bounded).

    Returns the seconds it took; fails with the messages left after timeout_seconds.
    """
    state = context.stack(configuration)
    sqs = context.aws(configuration, "sqs")
    drained, seconds, left = ledger.wait_for_drain(
        lambda: ledger.queue_depth(sqs, state["resources"]["queue_url"]), timeout_seconds
    )
    if not drained:
        raise ActivityFailed(f"{left} messages still queued after {timeout_seconds} s")
    context.mark("drained", seconds=seconds)
    return {"seconds": seconds}
