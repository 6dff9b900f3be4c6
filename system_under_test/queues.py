"""Small SQS helpers shared by health checks, the harness's sampler, ledger and redrive."""

from __future__ import annotations

from typing import Any

_DEPTH_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "inFlight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


def depth(sqs: Any, url: str) -> dict[str, int]:
    """Visible, in-flight and delayed counts: one GetQueueAttributes call."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=list(_DEPTH_ATTRIBUTES.values())
    )["Attributes"]
    return {name: int(attributes[attribute]) for name, attribute in _DEPTH_ATTRIBUTES.items()}


def release(sqs: Any, url: str, handles: list[str]) -> None:
    """Make received messages visible again at once (peeks that must consume nothing)."""
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ],
        )
