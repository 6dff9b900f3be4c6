"""Queue and dead-letter queue depths and contents, read through the SQS API."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from system_under_test import queues, redrive

__all__ = ["dlq_count_by_error_type", "dlq_depth", "messages_in_flight", "queue_depth"]


def _depth(configuration: Configuration, queue: str) -> dict[str, int]:
    state = context.stack(configuration)
    return queues.depth(context.aws(configuration, "sqs"), state["resources"][queue])


def queue_depth(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Messages waiting in the orders queue (visible plus delayed), a count."""
    depth = _depth(configuration, "queue_url")
    return depth["visible"] + depth["delayed"]


def messages_in_flight(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Messages a worker holds right now (received, not yet deleted), a count."""
    return _depth(configuration, "queue_url")["inFlight"]


def dlq_depth(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Messages in the dead-letter queue, a count."""
    depth = _depth(configuration, "dlq_url")
    return depth["visible"] + depth["inFlight"] + depth["delayed"]


def dlq_count_by_error_type(
    error_type: str, configuration: Configuration = None, secrets: Secrets = None
) -> int:
    """Dead letters whose errorType attribute is error_type (VALIDATION, PERMANENT, ...), a count.

    Reads the DLQ without consuming it; counts up to 100.
    """
    state = context.stack(configuration)
    result = redrive.preview(
        context.aws(configuration, "sqs"),
        state["resources"]["dlq_url"],
        redrive.DlqFilter(error_type),
        max_messages=100,
    )
    return int(result["byErrorType"].get(error_type, 0))
