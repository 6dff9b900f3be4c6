"""The fast path's promise, counted instead of timed: hot calls touch O(1) messages.

Stock moto judges every message of a queue (its ``visible``/``delayed``
properties, ``had_receipt_handle``) on each call; the fast path judges none.
Counting those judgements at depth 10,000 is deterministic on a noisy machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import moto
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import Message, sqs_backends

from gameday.stack import sqs_fastpath
from gameday.stack.sqs_fastpath import IndexedQueue
from gameday.stack.sqs_index import MessageIndex

DEPTH = 10_000


@pytest.fixture
def fast() -> Iterator[None]:
    sqs_fastpath.install()
    yield
    sqs_fastpath.uninstall()


@pytest.fixture
def examined(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times moto's per-message checks run."""
    counts = {"checks": 0}
    for name in ("visible", "delayed"):
        original = getattr(Message, name)

        def counting(self: Message, _original: Any = original) -> bool:
            counts["checks"] += 1
            return bool(_original.fget(self))

        monkeypatch.setattr(Message, name, property(counting))
    had = Message.had_receipt_handle

    def counting_had(self: Message, handle: str) -> bool:
        counts["checks"] += 1
        return had(self, handle)

    monkeypatch.setattr(Message, "had_receipt_handle", counting_had)
    return counts


def _deep_queue(depth: int) -> str:
    """A queue of ``depth`` messages, seeded straight into moto's model."""
    backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    name = f"unit-{uuid.uuid4().hex[:10]}"
    backend.create_queue(name)
    backend.send_message_batch(
        name,
        {
            str(i): {
                "Id": str(i),
                "MessageBody": "m",
                "MessageAttributes": {},
                "DelaySeconds": None,
            }
            for i in range(10)
        },
    )
    queue = backend.get_queue(name)
    for _ in range(depth - 10):
        message = Message(str(uuid.uuid4()), "backlog")
        message.mark_sent()
        queue.add_message(message)
    return name


def _run_hot_calls(name: str) -> None:
    backend = sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    backend.send_message(name, "new")
    backend.get_queue_attributes(
        name, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    got = backend.receive_message(name, 10, 0, 30)
    assert len(got) == 10
    backend.change_message_visibility(name, got[0].receipt_handle, 60)
    backend.delete_message_batch(
        name, [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(got)]
    )


def test_hot_calls_at_depth_10000_judge_no_message(fast: None, examined: dict[str, int]) -> None:
    name = _deep_queue(DEPTH)
    assert isinstance(sqs_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_queue(name), IndexedQueue)
    examined["checks"] = 0
    _run_hot_calls(name)
    assert examined["checks"] == 0


def test_the_count_catches_stock_moto_scanning(examined: dict[str, int]) -> None:
    """The probe above is not blind: stock moto's same calls judge every message."""
    assert not sqs_fastpath.installed()
    name = _deep_queue(DEPTH)
    examined["checks"] = 0
    _run_hot_calls(name)
    assert examined["checks"] > DEPTH


def test_index_refiles_in_flight_messages_when_their_time_comes() -> None:
    index = MessageIndex()
    message = Message("id-1", "body")
    message.sent_timestamp = 0  # type: ignore[assignment]
    message.visible_at = 1_000.0
    index.add(message, now_ms=500.0)
    assert (index.count("ready"), index.count("in_flight")) == (0, 1)
    index.advance(now_ms=1_000.0)  # moto: visible only once now > visible_at
    assert index.count("in_flight") == 1
    index.advance(now_ms=1_000.1)
    assert (index.count("ready"), index.count("in_flight")) == (1, 0)
    assert index.pop_ready() is message
    assert index.pop_ready() is None


def test_index_skips_stale_heap_entries_after_removal() -> None:
    index = MessageIndex()
    message = Message("id-2", "body")
    message.receipt_handle = "handle-1"
    index.add(message, now_ms=0.0)
    assert index.by_handle("handle-1") is message
    assert index.remove(message) == ["handle-1"]
    assert index.by_handle("handle-1") is None
    assert index.count("ready") == 0
    assert index.pop_ready() is None


def test_refuses_a_moto_it_was_not_checked_against(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "6.0.0")
    with pytest.raises(sqs_fastpath.UnsupportedMotoVersion, match=r"moto 6\.0\.0"):
        sqs_fastpath.check_supported()
