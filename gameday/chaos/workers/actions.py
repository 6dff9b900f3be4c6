"""Kill a worker process the hard way, as a crash or an OOM kill would."""

import os
import signal
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context

__all__ = ["kill_worker"]


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
