"""SQS semantics the fast path must keep, checked against stock moto and ours alike.

Every test runs twice over HTTP: against a stock moto backend and against the
embedded backend with ``gameday.stack.sqs_fastpath``. A moto upgrade that
changes what stock does, or a fast path that drifts from it, fails here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Backend

pytestmark = pytest.mark.integration


def _queue(sqs: Any, **attributes: str) -> str:
    name = f"t-{uuid.uuid4().hex[:12]}"
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _counts(sqs: Any, url: str) -> tuple[int, int, int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        int(attrs["ApproximateNumberOfMessagesDelayed"]),
    )


def _receive(sqs: Any, url: str, n: int = 10, visibility: int | None = None) -> list[Any]:
    kwargs: dict[str, Any] = {
        "QueueUrl": url,
        "MaxNumberOfMessages": n,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    return list(sqs.receive_message(**kwargs).get("Messages", []))


def test_approximate_counts_follow_send_receive_delete(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    assert _counts(sqs, url) == (5, 0, 0)
    got = _receive(sqs, url, n=2, visibility=30)
    assert len(got) == 2
    assert _counts(sqs, url) == (3, 2, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert _counts(sqs, url) == (3, 1, 0)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=30)
    assert _counts(sqs, url) == (3, 1, 1)


def test_visibility_timeout_hides_then_returns_message(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="once")
    first = _receive(sqs, url, visibility=1)
    assert [m["Body"] for m in first] == ["once"]
    assert _receive(sqs, url) == []
    time.sleep(1.3)
    again = _receive(sqs, url, visibility=30)
    assert [m["Body"] for m in again] == ["once"]
    assert again[0]["MessageId"] == first[0]["MessageId"]
    assert again[0]["ReceiptHandle"] != first[0]["ReceiptHandle"]


def test_receive_count_rises_with_each_receive(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="counted")
    seen = [
        int(_receive(sqs, url, visibility=0)[0]["Attributes"]["ApproximateReceiveCount"])
        for _ in range(3)
    ]
    assert seen == [1, 2, 3]


def test_zero_visibility_never_returns_one_message_twice_in_one_call(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="single")
    assert len(_receive(sqs, url, n=10, visibility=0)) == 1


def test_redrive_to_dlq_after_max_receive_count(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    dlq = _queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = _queue(
        sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody="poison",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "p"}},
    )
    sqs.send_message(QueueUrl=url, MessageBody="healthy")
    for _ in range(3):  # three failed deliveries of the poison message
        got = _receive(sqs, url, n=10, visibility=0)
        for message in got:
            if message["Body"] == "healthy":
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    # moto moves it lazily: on the receive after the count has reached 3.
    assert _receive(sqs, url, visibility=0) == []
    assert _counts(sqs, url) == (0, 0, 0)
    dead = _receive(sqs, dlq, visibility=30)
    assert [m["Body"] for m in dead] == ["poison"]
    assert dead[0]["MessageAttributes"]["kind"]["StringValue"] == "p"
    assert int(dead[0]["Attributes"]["ApproximateReceiveCount"]) >= 3


def test_delete_by_current_or_earlier_handle_and_twice(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    first = {m["Body"]: m["ReceiptHandle"] for m in _receive(sqs, url, visibility=0)}
    second = {m["Body"]: m["ReceiptHandle"] for m in _receive(sqs, url, visibility=30)}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["a"])  # an earlier handle
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["b"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["b"])  # again: accepted
    assert _counts(sqs, url) == (0, 0, 0)
    with pytest.raises(ClientError) as error:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_delete_batch_reports_bad_handles_per_entry(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = _receive(sqs, url, visibility=30)[0]["ReceiptHandle"]
    result = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "good", "ReceiptHandle": handle}, {"Id": "bad", "ReceiptHandle": "nope"}],
    )
    assert [s["Id"] for s in result["Successful"]] == ["good"]
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]


def test_change_visibility_releases_or_extends(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = _receive(sqs, url, visibility=30)[0]["ReceiptHandle"]
    assert _receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    time.sleep(0.01)
    again = _receive(sqs, url, visibility=1)
    assert [m["Body"] for m in again] == ["x"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=30
    )
    time.sleep(1.2)
    assert _receive(sqs, url) == []  # extended past its first timeout
    with pytest.raises(ClientError) as error:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=0)
    assert error.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_delay_seconds_holds_message_back(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert _receive(sqs, url) == []
    time.sleep(1.2)
    assert [m["Body"] for m in _receive(sqs, url)] == ["later"]


def test_long_poll_returns_when_a_message_arrives(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    sender = any_backend.client("sqs")
    timer = threading.Timer(0.5, lambda: sender.send_message(QueueUrl=url, MessageBody="late"))
    timer.start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    waited = time.monotonic() - started
    timer.join()
    assert [m["Body"] for m in got] == ["late"]
    assert 0.3 < waited < 4.5


def test_long_poll_on_empty_queue_waits_its_time(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    assert 0.9 < time.monotonic() - started < 3.5


def test_purge_empties_the_queue(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=str(i))
    _receive(sqs, url, n=1, visibility=30)
    sqs.purge_queue(QueueUrl=url)
    assert _counts(sqs, url) == (0, 0, 0)
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert [m["Body"] for m in _receive(sqs, url)] == ["after"]


def test_batch_send_and_attributes_round_trip(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = _queue(sqs)
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": f"b{i}",
                "MessageAttributes": {
                    "correlationId": {"DataType": "String", "StringValue": f"c{i}"}
                },
            }
            for i in range(10)
        ],
    )
    assert len(result["Successful"]) == 10
    got = _receive(sqs, url, n=10, visibility=30)
    assert sorted(m["Body"] for m in got) == sorted(f"b{i}" for i in range(10))
    assert {m["MessageAttributes"]["correlationId"]["StringValue"] for m in got} == {
        f"c{i}" for i in range(10)
    }


def test_fifo_queues_keep_moto_behaviour(any_backend: Backend) -> None:
    sqs = any_backend.client("sqs")
    url = sqs.create_queue(
        QueueName=f"f-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body in ("one", "one", "two"):  # content-based dedupe drops the second "one"
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    got = _receive(sqs, url, n=10, visibility=30)
    assert [m["Body"] for m in got] == ["one", "two"]
