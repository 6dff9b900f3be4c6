"""The open model's pool of virtual users: drops only when every user is busy."""

from __future__ import annotations

import time

import gevent

from loadtests.arrivals import ArrivalPool


def _pool(size: int, seconds: float) -> tuple[ArrivalPool, list[float], list[int]]:
    done: list[float] = []
    dropped: list[int] = []

    def work(context: None, intended: float) -> None:
        gevent.sleep(seconds)
        done.append(intended)

    pool = ArrivalPool(size, lambda: None, work, max_wait=0.002, on_drop=lambda: dropped.append(1))
    return pool, done, dropped


def test_arrivals_past_the_cap_are_dropped_and_the_rest_run() -> None:
    pool, done, dropped = _pool(size=2, seconds=0.05)
    gevent.sleep(0)  # the workers start and wait
    now = time.monotonic()
    for _ in range(5):
        pool.offer(now)
    gevent.sleep(0.01)  # two are taken; three wait while both users are busy
    pool.expire()
    pool.close(timeout=2)
    assert (len(done), len(dropped)) == (2, 3)


def test_a_pause_of_the_process_drops_nothing_while_users_are_idle() -> None:
    pool, done, dropped = _pool(size=4, seconds=0)
    gevent.sleep(0)
    late = time.monotonic() - 0.5  # as if the process had stalled half a second
    for _ in range(3):
        pool.offer(late)
    pool.expire()
    pool.close(timeout=2)
    assert (len(done), len(dropped)) == (3, 0)
