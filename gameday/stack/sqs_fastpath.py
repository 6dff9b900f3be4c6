"""Constant-time SQS hot paths for the embedded backend.

Why this module exists: moto 5.2.5 keeps each queue's messages in one list and
rescans it on every call. ``ApproximateNumberOfMessages`` is a list
comprehension over all messages and is computed on each SendMessage (through
``Queue.attributes``) and GetQueueAttributes; ReceiveMessage copies the list of
visible messages and then asks GetQueueAttributes for the retention period of
every message it returns; DeleteMessage and ChangeMessageVisibility scan every
message's receipt handles. Throughput therefore falls linearly with depth (we
measured SendMessage at 189/s on an empty queue and 56/s at depth 500), and a
traffic spike would measure the emulator instead of the system under test.

What it does: standard (non-FIFO) queues become :class:`IndexedQueue`, which
files every message in exactly one of three heaps (ready, in flight, delayed)
keyed by the time it changes state, plus a receipt-handle index. Every hot call
is then O(log depth). FIFO queues keep moto's own code: we do not use them and
their group semantics are not worth a second implementation.

What is kept from moto, and pinned by ``tests/integration/test_sqs_semantics.py``
(the same tests run against stock moto): visibility timeouts, receive counts,
the lazy move to the DLQ on the receive after ``maxReceiveCount`` receives,
deletes by current or earlier receipt handle, repeated deletes being accepted,
``ReceiptHandleIsInvalid`` for unknown handles, long polling, delays, purge,
and the three approximate counts.

Deliberate differences: a message past its retention period is dropped on
receive (as SQS does) instead of being marked received and hidden, and Lambda
event source mappings on an indexed queue are not served (our worker polls).

:func:`install` refuses to patch a moto whose internals it was not written for,
so an upgrade fails loudly in the tests instead of silently measuring wrong.
"""

from __future__ import annotations

import copy
import random
import string
import threading
from typing import Any

import moto
from moto.core.utils import unix_time, unix_time_millis
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes

from gameday.stack.sqs_index import DELAYED, IN_FLIGHT, READY, MessageIndex

#: moto releases whose SQS internals this module was checked against.
SUPPORTED_MOTO_PREFIXES = ("5.2.",)

#: SQS's limit on a message's total visibility timeout, in seconds.
_MAX_TOTAL_VISIBILITY_S = 43200


class UnsupportedMotoVersion(RuntimeError):
    """The installed moto is not one this module was written against."""


class IndexedQueue(Queue):
    """A standard queue whose hot paths run in O(log depth)."""

    def __init__(self, name: str, region: str, account_id: str, **kwargs: Any):
        self._index = MessageIndex()
        super().__init__(name, region, account_id, **kwargs)

    # moto assigns ``_messages`` in __init__ and purge_queue, and reads it on rare paths.
    @property  # type: ignore[override]
    def _messages(self) -> list[Message]:
        return self._index.live_messages()

    @_messages.setter
    def _messages(self, messages: list[Message]) -> None:
        self._index = MessageIndex()
        now_ms = unix_time_millis()
        for message in messages:
            self._index.add(message, now_ms)

    def _advanced(self) -> MessageIndex:
        self._index.advance(unix_time_millis())
        return self._index

    @property
    def approximate_number_of_messages_delayed(self) -> int:
        with self._index.changed:
            return self._advanced().count(DELAYED)

    @property
    def approximate_number_of_messages_not_visible(self) -> int:
        with self._index.changed:
            return self._advanced().count(IN_FLIGHT)

    @property
    def approximate_number_of_messages(self) -> int:
        with self._index.changed:
            return self._advanced().count(READY)

    @property
    def messages(self) -> list[Message]:
        with self._index.changed:
            return self._advanced().ready_messages()

    def add_message(self, message: Message) -> None:
        with self._index.changed:
            self._index.add(message, unix_time_millis())
            self._index.changed.notify_all()

    def delete_message(self, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # moto (and SQS) accept a repeated delete
        with self._index.changed:
            message = self._index.by_handle(receipt_handle)
            if message is None:
                raise ReceiptHandleIsInvalid()
            self.deleted_messages.update(self._index.remove(message))

    def wait_for_messages(self, timeout: float) -> None:
        deadline = unix_time() + timeout
        with self._index.changed:
            while True:
                index = self._advanced()
                remaining = deadline - unix_time()
                if index.count(READY) or remaining <= 0:
                    return
                next_ms = index.next_change_ms()
                if next_ms is not None:
                    remaining = min(remaining, max(0.001, next_ms / 1000 - unix_time()))
                index.changed.wait(remaining)

    def receive(self, count: int, wait_seconds: int, visibility_timeout: int) -> list[Message]:
        """Take up to ``count`` ready messages, moving exhausted ones to the DLQ."""
        deadline = unix_time() + wait_seconds
        while True:
            taken = self._take(count, visibility_timeout)
            if taken or wait_seconds == 0 or unix_time() >= deadline:
                return taken
            self.wait_for_messages(deadline - unix_time())

    def _take(self, count: int, visibility_timeout: int) -> list[Message]:
        taken: list[Message] = []
        to_dlq: list[Message] = []
        now_ms = unix_time_millis()
        retention_ms = int(self.message_retention_period) * 1000  # type: ignore[attr-defined]
        max_receives = (
            self.redrive_policy["maxReceiveCount"]  # type: ignore[attr-defined]
            if self.dead_letter_queue is not None and self.redrive_policy  # type: ignore[attr-defined]
            else None
        )
        with self._index.changed:
            index = self._advanced()
            while len(taken) < count:
                message = index.pop_ready()
                if message is None:
                    break
                if message.sent_timestamp + retention_ms <= now_ms:  # type: ignore[operator]
                    self.deleted_messages.update(index.remove(message))
                    continue
                if max_receives is not None and message.approximate_receive_count >= max_receives:
                    index.remove(message)
                    to_dlq.append(message)
                    continue
                message.mark_received(visibility_timeout=visibility_timeout)
                index.note_new_handle(message)
                taken.append(message)
            # Refile only now, so a zero visibility timeout cannot hand one
            # message out twice in the same call.
            for message in taken:
                index.file(message, now_ms)
        for message in to_dlq:
            self.dead_letter_queue.add_message(message)  # type: ignore[union-attr]
        return taken

    def change_visibility(self, receipt_handle: str, visibility_timeout: int) -> None:
        with self._index.changed:
            message = self._index.by_handle(receipt_handle)
            if message is None:
                raise ReceiptHandleIsInvalid()
            limit_ms = message.sent_timestamp + _MAX_TOTAL_VISIBILITY_S * 1000  # type: ignore[operator]
            if unix_time_millis() + int(visibility_timeout) * 1000 > limit_ms:
                raise InvalidParameterValue(
                    f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. "
                    f"Reason: Total VisibilityTimeout for the message is beyond the limit "
                    f"[{_MAX_TOTAL_VISIBILITY_S} seconds]"
                )
            message.change_visibility(visibility_timeout)
            self._index.file(message, unix_time_millis())
            self._index.changed.notify_all()


def _copy_for_reply(message: Message, attribute_names: list[str]) -> Message:
    """What moto's deepcopy did, for the fields a reply reads."""
    reply = copy.copy(message)
    reply.message_attributes = dict(message.message_attributes)
    _filter_message_attributes(reply, attribute_names)
    return reply


def _fast_receipt_handle() -> str:
    # moto builds its 185-letter handle with 185 separate random.choice calls.
    return "".join(random.choices(string.ascii_lowercase, k=185))  # noqa: S311 (as moto)


def _is_fifo(name: str, attributes: dict[str, Any]) -> bool:
    return name.endswith(".fifo") or str(attributes.get("FifoQueue", "")).lower() == "true"


_stock: dict[str, Any] = {}
_lock = threading.Lock()


def _create_queue(
    self: SQSBackend, name: str, tags: dict[str, str] | None = None, **kwargs: Any
) -> Queue:
    if _is_fifo(name, kwargs) or name in self.queues:
        # FIFO queues stay moto's; an existing name needs moto's attribute comparison.
        return _stock["create_queue"](self, name, tags, **kwargs)  # type: ignore[no-any-return]
    kwargs.pop("region", None)
    queue = IndexedQueue(  # type: ignore[abstract]  # as moto's own Queue(...)
        name, region=self.region_name, account_id=self.account_id, **kwargs
    )
    self.queues[name] = queue
    if tags:
        queue.tags = tags
    return queue


def _receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    queue = self.get_queue(queue_name)
    if not isinstance(queue, IndexedQueue):
        return _stock["receive_message"](  # type: ignore[no-any-return]
            self,
            queue_name,
            count,
            wait_seconds_timeout,
            visibility_timeout,
            message_attribute_names,
        )
    taken = queue.receive(count, wait_seconds_timeout, visibility_timeout)
    return [_copy_for_reply(m, message_attribute_names or []) for m in taken]


def _change_message_visibility(
    self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    if not isinstance(queue, IndexedQueue):
        _stock["change_message_visibility"](self, queue_name, receipt_handle, visibility_timeout)
        return
    queue.change_visibility(receipt_handle, visibility_timeout)


_PATCHES = {
    "create_queue": _create_queue,
    "receive_message": _receive_message,
    "change_message_visibility": _change_message_visibility,
}


def check_supported() -> None:
    """Refuse a moto whose SQS internals differ from the ones patched here."""
    version = moto.__version__
    if not version.startswith(SUPPORTED_MOTO_PREFIXES):
        raise UnsupportedMotoVersion(
            f"moto {version} is not one the SQS fast path was checked against "
            f"({', '.join(p + 'x' for p in SUPPORTED_MOTO_PREFIXES)}); "
            "run tests/integration/test_sqs_semantics.py and extend SUPPORTED_MOTO_PREFIXES"
        )
    probe = Message("probe", "body")
    for field in ("visible_at", "delayed_until", "receipt_handle", "approximate_receive_count"):
        if not hasattr(probe, field):
            raise UnsupportedMotoVersion(f"moto {version}: Message has no {field!r}")
    for name in (*_PATCHES, "get_queue"):
        if not callable(getattr(SQSBackend, name, None)):
            raise UnsupportedMotoVersion(f"moto {version}: SQSBackend has no {name!r}")


def install() -> None:
    """Patch moto's SQS backend in this process. Idempotent."""
    with _lock:
        if _stock:
            return
        check_supported()
        for name, replacement in _PATCHES.items():
            _stock[name] = getattr(SQSBackend, name)
            setattr(SQSBackend, name, replacement)
        # Message.mark_received calls the module-level name.
        _stock["generate_receipt_handle"] = getattr(sqs_models, "generate_receipt_handle")  # noqa: B009
        setattr(sqs_models, "generate_receipt_handle", _fast_receipt_handle)  # noqa: B010


def uninstall() -> None:
    """Put moto's own code back (tests compare both in one process)."""
    with _lock:
        for name, original in _stock.items():
            if name == "generate_receipt_handle":
                setattr(sqs_models, name, original)
            else:
                setattr(SQSBackend, name, original)
        _stock.clear()


def installed() -> bool:
    return bool(_stock)
