"""Move dead letters back to the orders queue (redrive), with the safety filters."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.measure import ledger
from system_under_test import redrive

__all__ = ["redrive_dlq", "wait_for_drain"]


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
