"""Kill a worker the hard way; check that workers stop consuming while their circuit is open."""

import os
import signal
import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context, web
from system_under_test.circuit import OPEN, STATE_NAME

__all__ = ["expect_consumption_paused", "kill_worker"]


def kill_worker(
    name: str = "worker-1", configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL one worker process of the local stack (mid-batch, no goodbye).

    The stack's supervisor starts it again; messages it held reappear after their
    visibility timeout. Returns the name and pid killed.
    """
    part = context.stack(configuration)["parts"].get(name)
    if part is None or not part.get("pid"):
        raise ActivityFailed(f"no worker {name!r} in this stack")
    try:
        os.kill(int(part["pid"]), signal.SIGKILL)
    except ProcessLookupError:
        raise ActivityFailed(f"{name} (pid {part['pid']}) is not running") from None
    context.mark("worker_killed", worker=name, pid=part["pid"])
    return {"worker": name, "pid": part["pid"]}


def expect_consumption_paused(
    seconds: float = 3, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """With the downstream circuit open, the workers must stop receiving messages.

    Watches each worker's circuit state and ReceiveMessage calls (one /metrics scrape
    gives both) every 0.1 s for ``seconds``. A call made while the circuit stayed open
    fails the action: a worker that kept receiving and deferring would burn every
    message's receive count and dead-letter healthy orders. Calls for the circuit's
    half-open probes are allowed. Returns the calls per worker.
    """
    parts = context.stack(configuration)["parts"]
    workers = {name: p["endpoint"] for name, p in parts.items() if name.startswith("worker-")}
    previous = {name: _circuit_and_receives(url) for name, url in workers.items()}
    if OPEN not in {state for state, _ in previous.values()}:
        raise ActivityFailed("no worker's downstream circuit is open: there is nothing to pause")
    calls = dict.fromkeys(workers, 0)
    while_open = dict.fromkeys(workers, 0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.1)
        for name, url in workers.items():
            (was, before), (now, after) = previous[name], _circuit_and_receives(url)
            made = max(0, after - before)  # a restarted worker starts again from zero
            calls[name] += made
            if was == now == OPEN:
                while_open[name] += made
            previous[name] = (now, after)
    if any(while_open.values()):
        raise ActivityFailed(
            f"workers kept receiving with their circuit open: {while_open} ReceiveMessage"
            f" calls in {seconds:g} s"
        )
    context.mark("consumption_paused", seconds=seconds, receive_calls=calls)
    return {"seconds": seconds, "receive_calls": calls}


def _circuit_and_receives(endpoint: str) -> tuple[str, int]:
    """A worker's downstream circuit state and ReceiveMessage calls, from one scrape."""
    state, calls = "unknown", 0
    for sample in web.metric_samples(endpoint):
        if sample.name == "sut_circuit_state" and sample.labels.get("circuit") == "downstream":
            state = STATE_NAME.get(int(sample.value), "unknown")
        elif sample.name == "sut_worker_receive_calls":
            calls = int(sample.value)
    return state, calls
