"""k6's pre-allocated virtual users for an open model, on gevent.

``size`` long-lived greenlets take arrivals as they fall due; an arrival that
finds none idle is dropped (the caller counts it). Each worker builds its own
context once (``context()``, e.g. an HTTP session with one connection, as each
Locust user has) and passes it to ``work``. Long-lived workers with their own
connection cost far less per request than a greenlet spawned for each one on
a shared connection pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
from gevent.queue import Queue

_DONE = object()


class ArrivalPool:
    def __init__(self, size: int, context: Callable[[], Any], work: Callable[..., None]) -> None:
        self._context = context
        self._work = work
        self._queue: Queue = Queue()
        self._idle = size
        self._workers = [gevent.spawn(self._serve) for _ in range(size)]

    def offer(self, *arrival: Any) -> bool:
        """Hand an arrival to an idle worker; False (dropped) when every one is busy."""
        if self._idle == 0:
            return False
        self._idle -= 1
        self._queue.put_nowait(arrival)
        return True

    def close(self, timeout: float) -> None:
        """Let work in hand finish (bounded by ``timeout``), then stop the workers."""
        for _ in self._workers:
            self._queue.put_nowait(_DONE)
        gevent.joinall(self._workers, timeout=timeout)
        gevent.killall(self._workers, block=False)

    def _serve(self) -> None:
        context = self._context()
        while (arrival := self._queue.get()) is not _DONE:
            try:
                self._work(context, *arrival)
            finally:
                self._idle += 1
