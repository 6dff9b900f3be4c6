"""Kill or freeze workers; check that workers stop consuming while their circuit is open."""

import os
import signal
import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.measure.sources import LAG_S, CloudWatchSource
from system_under_test.circuit import OPEN

__all__ = ["expect_consumption_paused", "kill_worker", "pause_workers", "resume_workers"]

#: A worker's long poll when its environment does not say (the system's default).
DEFAULT_WAIT_SECONDS = 5


def kill_worker(
    name: str = "worker-1", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL one worker process of the local stack (mid-batch, no goodbye).

    The stack's supervisor starts it again; messages it held reappear after their
    visibility timeout. Returns the name and pid killed.
    """
    parts = context.local_stack(configuration, f"killing {name} needs its process")["parts"]
    part = parts.get(name)
    if part is None or not part.get("pid"):
        raise ActivityFailed(f"no worker {name!r} in this stack")
    try:
        os.kill(int(part["pid"]), signal.SIGKILL)
    except ProcessLookupError:
        raise ActivityFailed(f"{name} (pid {part['pid']}) is not running") from None
    context.mark("worker_killed", worker=name, pid=part["pid"])
    return {"worker": name, "pid": part["pid"]}


def pause_workers(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Freeze every worker process (SIGSTOP), as a stop-the-world pause or a disabled event
    source would: the queue keeps its messages and nobody consumes them.

    Returns once a receive a worker had in flight has surely ended (its long poll, read
    from its environment, plus a margin), so nothing sent afterwards reaches a frozen worker.
    Undo with ``resume_workers`` (a rollback).
    """
    import psutil

    paused, longest = {}, 0.0
    for name, part in _workers(configuration).items():
        process = psutil.Process(int(part["pid"]))
        wait = process.environ().get("SUT_WORKER_WAIT_SECONDS", str(DEFAULT_WAIT_SECONDS))
        longest = max(longest, float(wait))
        process.suspend()
        paused[name] = part["pid"]
    if not paused:
        raise ActivityFailed("this stack has no worker to pause")
    time.sleep(longest + 0.5)
    context.mark("workers_paused", workers=sorted(paused))
    return {"paused": paused}


def resume_workers(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Let frozen workers run again (SIGCONT); harmless on workers that run."""
    resumed = {}
    for name, part in _workers(configuration).items():
        try:
            os.kill(int(part["pid"]), signal.SIGCONT)
        except ProcessLookupError:
            continue
        resumed[name] = part["pid"]
    context.mark("workers_resumed", workers=sorted(resumed))
    return {"resumed": resumed}


def _workers(configuration: Configuration) -> dict[str, dict[str, Any]]:
    parts = context.local_stack(configuration, "pausing workers needs their processes")["parts"]
    return {name: p for name, p in parts.items() if name.startswith("worker-") and p.get("pid")}


def expect_consumption_paused(
    seconds: float = 3, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """With the downstream circuit open, the workers must stop receiving messages.

    A ReceiveMessage call made while a worker's circuit stayed open fails the action: a
    worker that kept receiving and deferring would burn every message's receive count and
    dead-letter healthy orders. Calls for the circuit's half-open probes are allowed.

    Scraped: each worker's circuit state, times opened and ReceiveMessage calls every 0.1 s
    for ``seconds``. From CloudWatch: each worker's ``ReceiveCallsWhileOpen`` over
    ``seconds`` (read once CloudWatch has them). Returns the calls per worker.
    """
    source = context.metrics(configuration)
    try:
        workers = source.workers()
        if OPEN not in {w["circuit"] for w in workers.values()}:
            raise ActivityFailed(
                "no worker's downstream circuit is open: there is nothing to pause"
            )
        if isinstance(source, CloudWatchSource):
            since = time.time()
            time.sleep(seconds + LAG_S)  # the window, then CloudWatch catching up with it
            while_open = source.receives_while_open(since, since + seconds)
            calls = while_open
        else:
            calls, while_open = _watch_receives(source, workers, seconds)
    finally:
        source.close()
    if any(while_open.values()):
        raise ActivityFailed(
            f"workers kept receiving with their circuit open: {while_open} ReceiveMessage"
            f" calls in {seconds:g} s"
        )
    context.mark("consumption_paused", seconds=seconds, receive_calls=calls)
    return {"seconds": seconds, "receive_calls": calls}


def _watch_receives(
    source: Any, previous: dict[str, dict[str, Any]], seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Each worker's ReceiveMessage calls, and those made while its circuit stayed open."""
    calls = dict.fromkeys(previous, 0.0)
    while_open = dict.fromkeys(previous, 0.0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = source.workers()
        for name, was in previous.items():
            current = now.get(name, {"circuit": "unknown", "receives": 0, "opened": 0})
            made = max(0, current["receives"] - was["receives"])  # a restart starts from zero
            calls[name] += made
            # open at both scrapes and never re-opened between them: no half-open probe ran
            if was["circuit"] == current["circuit"] == OPEN and current["opened"] == was["opened"]:
                while_open[name] += made
            previous[name] = current
    return calls, while_open
