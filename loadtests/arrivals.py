"""k6's pre-allocated virtual users for an open model, on gevent.

``size`` long-lived greenlets (the cap on requests in flight) take arrivals in
order as they fall due, the most recently idle first, so a low rate keeps using
a few warm connections rather than all of them in turn. A worker that finishes
takes the next due arrival at once, without a trip through the scheduler. An
arrival that has waited ``max_wait`` seconds past its intended start while every
worker was busy is dropped and reported (``on_drop``), as k6 drops an iteration
when no virtual user is free; a pause of the whole process delays arrivals (the
start lag shows it) but drops none while workers are idle. Each worker builds its
own context once (``context()``: its HTTP connections) and passes it to ``work``.
"""

from __future__ import annotations

import time
from collections import deque
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
        self._due: deque[tuple[float, tuple[Any, ...]]] = deque()  # waiting for a free worker
        self._idle: list[Queue] = []  # inboxes of idle workers, most recently idle last
        self._closing = False
        self._workers = [gevent.spawn(self._serve) for _ in range(size)]

    def offer(self, intended: float, *arrival: Any) -> None:
        """An arrival due now, at ``intended`` (monotonic s): work(context, intended, *arrival).

        The most recently idle worker takes it (its connection is the warm one); with
        none idle it waits, briefly, for the first worker to finish.
        """
        if self._idle:
            self._idle.pop().put_nowait((intended, arrival))
        else:
            self._due.append((intended, arrival))

    def expire(self) -> None:
        """Drop arrivals that have waited past ``max_wait`` with every worker busy."""
        late = time.monotonic() - self._max_wait
        while not self._idle and self._due and self._due[0][0] < late:
            self._due.popleft()
            self._on_drop()

    def close(self, timeout: float) -> None:
        """Let due arrivals and work in hand finish (bounded by ``timeout``), then stop."""
        gevent.sleep(self._max_wait)
        self.expire()
        self._closing = True
        while self._idle:
            self._idle.pop().put_nowait(_DONE)
        gevent.joinall(self._workers, timeout=timeout)
        gevent.killall(self._workers, block=False)

    def _serve(self) -> None:
        context = self._context()
        inbox: Queue = Queue()
        while True:
            if self._due:  # finishing a request, take the next due arrival at once
                intended, arrival = self._due.popleft()
            elif self._closing:
                return
            else:
                self._idle.append(inbox)
                item = inbox.get()
                if item is _DONE:
                    return
                intended, arrival = item
            self._work(context, intended, *arrival)
