"""DLQ preview and redrive, with the lab seed's safety filters.

Preview samples the DLQ without consuming it: messages are hidden for a
moment while sampled (so a sample holds distinct messages) and released
again at once. Redrive moves up to 1,000 matching messages back to the main
queue, each with a random delay (jitter, against a thundering herd), keeping
its attributes, and deletes it from the DLQ only after the main queue took
it. Running it twice applies no effect twice: the worker's effects are
idempotent by the producer's key.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from dataclasses import dataclass
from typing import Any

from system_under_test import queues

MAX_REDRIVE = 1000
MAX_JITTER_SECONDS = 900  # SQS's longest DelaySeconds
#: What a message moved by SQS's own redrive (no worker verdict) is filed under.
EXHAUSTED = "MAX_RECEIVES"
#: Preview reads at most this many messages looking for matches; they stay hidden
#: while it reads (long enough for the whole scan) and are released at once after.
SCAN_LIMIT = 1000
_SCAN_HIDE_SECONDS = 30
_PREVIEW_BODY_CHARS = 200


@dataclass(frozen=True)
class DlqFilter:
    error_type: str | None = None
    min_age_seconds: float = 0.0

    def matches(self, message: dict[str, Any], now: float) -> bool:
        if self.error_type and error_type(message) != self.error_type:
            return False
        return age_seconds(message, now) >= self.min_age_seconds


def error_type(message: dict[str, Any]) -> str:
    value = message.get("MessageAttributes", {}).get("errorType", {}).get("StringValue")
    return str(value) if value else EXHAUSTED


def age_seconds(message: dict[str, Any], now: float) -> float:
    """Seconds since the message was dead-lettered (or, failing that, first sent)."""
    failed = message.get("MessageAttributes", {}).get("failedAt", {}).get("StringValue")
    stamp = failed or message.get("Attributes", {}).get("SentTimestamp", "0")
    try:
        return max(0.0, now - int(stamp) / 1000)
    except ValueError:
        return 0.0


def preview(
    sqs: Any,
    dlq_url: str,
    dlq_filter: DlqFilter,
    max_messages: int = 20,
    scan_limit: int = SCAN_LIMIT,
) -> dict[str, Any]:
    """Up to ``max_messages`` matching DLQ messages with their error attributes, and counts
    by error type over what was scanned (at most ``scan_limit``); consumes nothing."""
    max_messages = max(1, min(max_messages, 100))
    now = time.time()
    depth = int(
        sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
    )
    scanned: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    matching = 0
    for _ in range(scan_limit // 10 + 1):  # bounded
        batch = _receive(sqs, dlq_url, _SCAN_HIDE_SECONDS)
        if not batch:
            break
        for message in batch:
            handles.append(message["ReceiptHandle"])
            if message["MessageId"] not in scanned:
                scanned[message["MessageId"]] = message
                matching += dlq_filter.matches(message, now)
        if matching >= max_messages or len(scanned) >= scan_limit:
            break
    queues.release(sqs, dlq_url, handles)
    by_type: dict[str, int] = {}
    shown: list[dict[str, Any]] = []
    for message in scanned.values():
        kind = error_type(message)
        by_type[kind] = by_type.get(kind, 0) + 1
        if dlq_filter.matches(message, now) and len(shown) < max_messages:
            shown.append(_summary(message, now))
    return {
        "dlqDepth": depth,
        "sampled": len(scanned),
        "matching": len(shown),
        "byErrorType": by_type,
        "messages": shown,
    }


def redrive(
    sqs: Any,
    dlq_url: str,
    queue_url: str,
    dlq_filter: DlqFilter,
    *,
    max_messages: int = 100,
    jitter_seconds: int = 0,
    rng: random.Random | None = None,
    time_budget_seconds: float = 60.0,
) -> dict[str, Any]:
    """Move matching DLQ messages back to the main queue; returns what was done."""
    if not 1 <= max_messages <= MAX_REDRIVE:
        raise ValueError(f"maxMessages must be between 1 and {MAX_REDRIVE}")
    if not 0 <= jitter_seconds <= MAX_JITTER_SECONDS:
        raise ValueError(f"perMessageDelayJitter must be between 0 and {MAX_JITTER_SECONDS}")
    chance = rng or random.Random()  # noqa: S311 (jitter, not security)
    deadline = time.monotonic() + time_budget_seconds
    moved, skipped, failed = 0, 0, []
    skipped_handles: list[str] = []
    seen: set[str] = set()
    while moved < max_messages and time.monotonic() < deadline:
        batch = _receive(sqs, dlq_url, 30, min(10, max_messages - moved))
        fresh = [m for m in batch if m["MessageId"] not in seen]
        if not fresh:
            break
        now = time.time()
        for message in fresh:
            seen.add(message["MessageId"])
            if not dlq_filter.matches(message, now):
                skipped += 1
                skipped_handles.append(message["ReceiptHandle"])
                continue
            try:
                sqs.send_message(
                    QueueUrl=queue_url,
                    MessageBody=message["Body"],
                    MessageAttributes=message.get("MessageAttributes", {}),
                    DelaySeconds=int(chance.uniform(0, jitter_seconds)) if jitter_seconds else 0,
                )
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
            except Exception as exc:
                failed.append({"messageId": message["MessageId"], "error": type(exc).__name__})
                skipped_handles.append(message["ReceiptHandle"])
    queues.release(sqs, dlq_url, skipped_handles)
    return {"redriven": moved, "skipped": skipped, "failed": failed}


def _receive(sqs: Any, url: str, hide_seconds: int, most: int = 10) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=most,
            VisibilityTimeout=hide_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
    )


def _summary(message: dict[str, Any], now: float) -> dict[str, Any]:
    attributes = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    order_id = None
    with contextlib.suppress(ValueError, AttributeError):
        order_id = json.loads(message["Body"]).get("order", {}).get("orderId")
    return {
        "messageId": message["MessageId"],
        "orderId": order_id,
        "errorType": error_type(message),
        "errorMessage": attributes.get("errorMessage"),
        "attempts": attributes.get("attempts")
        or message.get("Attributes", {}).get("ApproximateReceiveCount"),
        "firstSeen": attributes.get("firstSeen"),
        "correlationId": attributes.get("correlationId"),
        "ageSeconds": round(age_seconds(message, now), 1),
        "bodyPreview": message["Body"][:_PREVIEW_BODY_CHARS],
    }
