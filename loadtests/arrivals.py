"""k6's pre-allocated virtual users for an open model, on gevent.

``size`` long-lived greenlets (the cap on requests in flight) take arrivals in
order as they fall due. A worker that finishes takes the next due arrival at
once, without a trip through the scheduler; an arrival that has waited
``max_wait`` seconds past its intended start while every worker was busy is
dropped and reported (``on_drop``), as k6 drops an iteration when no virtual
user is free. (A pause of the whole process delays arrivals, and the start lag
shows it, but drops nothing while workers are idle.) Each
worker builds its own context once (``context()``, e.g. an HTTP session with
one connection, as each Locust user has) and passes it to ``work``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.queue import Queue

_DONE = object()


class ArrivalPool:
    def __init__(
        self,
        size: int,
        context: Callable[[], Any],
        work: Callable[..., None],
        *,
        max_wait: float,
        on_drop: Callable[[], None],
    ) -> None:
        self._context = context
        self._work = work
        self._max_wait = max_wait
        self._on_drop = on_drop
        self._queue: Queue = Queue()
        self._idle = 0  # workers waiting for an arrival
        self._workers = [gevent.spawn(self._serve) for _ in range(size)]

    def offer(self, intended: float, *arrival: Any) -> None:
        """An arrival due now, at ``intended`` (monotonic s): work(context, intended, *arrival)."""
        self._queue.put_nowait((intended, arrival))

    def expire(self) -> None:
        """Drop arrivals that have waited past ``max_wait`` with every worker busy."""
        late = time.monotonic() - self._max_wait
        while not self._idle and self._queue.qsize() and self._queue.peek_nowait()[0] < late:
            self._queue.get_nowait()
            self._on_drop()

    def close(self, timeout: float) -> None:
        """Let due arrivals and work in hand finish (bounded by ``timeout``), then stop."""
        gevent.sleep(self._max_wait)
        self.expire()
        for _ in self._workers:
            self._queue.put_nowait((float("inf"), _DONE))
        gevent.joinall(self._workers, timeout=timeout)
        gevent.killall(self._workers, block=False)

    def _serve(self) -> None:
        context = self._context()
        while True:
            self._idle += 1
            try:
                intended, arrival = self._queue.get()
            finally:
                self._idle -= 1
            if arrival is _DONE:
                return
            self._work(context, intended, *arrival)
