"""The message index behind the SQS fast path: each message filed in exactly one state.

Heaps hold ``(key, seq, version, message)``: ready messages by arrival, in-flight
ones by the time they become visible, delayed ones by the end of their delay.
A message's version changes on every state change, so stale heap entries are
recognised and skipped when popped (lazy deletion) instead of being searched
for. Every operation is O(log depth). See ``sqs_fastpath`` for why.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable

from moto.sqs.models import Message

READY, IN_FLIGHT, DELAYED, GONE = "ready", "in_flight", "delayed", "gone"


class MessageIndex:
    """Messages of one queue, each filed in exactly one state."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self._seq = itertools.count()
        self._live: dict[str, Message] = {}
        self._by_handle: dict[str, Message] = {}
        self._ready: list[tuple[int, int, int, Message]] = []
        self._in_flight: list[tuple[float, int, int, Message]] = []
        self._delayed: list[tuple[float, int, int, Message]] = []
        self._counts = {READY: 0, IN_FLIGHT: 0, DELAYED: 0}

    # -- filing ---------------------------------------------------------------
    def add(self, message: Message, now_ms: float) -> None:
        message._gd_seq = next(self._seq)  # type: ignore[attr-defined]
        message._gd_version = 0  # type: ignore[attr-defined]
        message._gd_state = GONE  # type: ignore[attr-defined]
        self._live[message.id] = message
        for handle in message.all_receipt_handles:
            if handle is not None:
                self._by_handle[handle] = message
        self.file(message, now_ms)

    def file(self, message: Message, now_ms: float) -> None:
        """(Re)file a live message by its current timestamps, as moto judges them."""
        old = message._gd_state  # type: ignore[attr-defined]
        if old != GONE:
            self._counts[old] -= 1
        version = message._gd_version + 1  # type: ignore[attr-defined]
        message._gd_version = version  # type: ignore[attr-defined]
        seq = message._gd_seq  # type: ignore[attr-defined]
        if now_ms < message.delayed_until:
            state = DELAYED
            heapq.heappush(self._delayed, (message.delayed_until, seq, version, message))
        elif not now_ms > message.visible_at:
            state = IN_FLIGHT
            heapq.heappush(self._in_flight, (message.visible_at, seq, version, message))
        else:
            state = READY
            heapq.heappush(self._ready, (seq, seq, version, message))
        message._gd_state = state  # type: ignore[attr-defined]
        self._counts[state] += 1

    def remove(self, message: Message) -> list[str]:
        """Forget a message; returns every receipt handle it ever had."""
        state = message._gd_state  # type: ignore[attr-defined]
        if state != GONE:
            self._counts[state] -= 1
        message._gd_state = GONE  # type: ignore[attr-defined]
        message._gd_version += 1  # type: ignore[attr-defined]
        self._live.pop(message.id, None)
        handles = [h for h in message.all_receipt_handles if h is not None]
        for handle in handles:
            self._by_handle.pop(handle, None)
        return handles

    def note_new_handle(self, message: Message) -> None:
        if message.receipt_handle is not None:
            self._by_handle[message.receipt_handle] = message

    # -- time -----------------------------------------------------------------
    def advance(self, now_ms: float) -> None:
        """Refile messages whose delay or visibility timeout has run out."""
        # moto: a delayed message is due when now >= delayed_until, an
        # in-flight one when now > visible_at.
        self._refile_due(self._delayed, lambda key: now_ms >= key, now_ms)
        self._refile_due(self._in_flight, lambda key: now_ms > key, now_ms)

    def _refile_due(
        self,
        heap: list[tuple[float, int, int, Message]],
        is_due: Callable[[float], bool],
        now_ms: float,
    ) -> None:
        while heap:
            key, _seq, version, message = heap[0]
            if message._gd_version != version:  # type: ignore[attr-defined]
                heapq.heappop(heap)  # stale entry
            elif is_due(key):
                heapq.heappop(heap)
                self.file(message, now_ms)
            else:
                return

    def next_change_ms(self) -> float | None:
        """When the earliest delayed or in-flight message may become ready."""
        keys = [heap[0][0] for heap in (self._delayed, self._in_flight) if heap]
        return min(keys) if keys else None

    def pop_ready(self) -> Message | None:
        while self._ready:
            _key, _seq, version, message = heapq.heappop(self._ready)
            if message._gd_version == version:  # type: ignore[attr-defined]
                self._counts[READY] -= 1
                message._gd_state = GONE  # type: ignore[attr-defined]
                message._gd_version += 1  # type: ignore[attr-defined]
                return message
        return None

    # -- lookups --------------------------------------------------------------
    def by_handle(self, handle: str) -> Message | None:
        return self._by_handle.get(handle)

    def count(self, state: str) -> int:
        return self._counts[state]

    def live_messages(self) -> list[Message]:
        """All messages in arrival order: O(depth), for moto's rare paths only."""
        return sorted(self._live.values(), key=lambda m: m._gd_seq)  # type: ignore[attr-defined]

    def ready_messages(self) -> list[Message]:
        return [m for m in self.live_messages() if m._gd_state == READY]  # type: ignore[attr-defined]
