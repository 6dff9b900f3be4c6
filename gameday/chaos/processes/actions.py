"""SIGKILL a process of the local stack (no goodbye) and measure how long until it is back.

The stack's supervisor restarts the API, the downstream and the workers on the same
port; the embedded backend is never killed here (its memory holds the queues).
"""

import os
import signal
import time
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context

__all__ = ["kill_api", "kill_downstream", "kill_process"]

KILLABLE = ("api", "downstream")  # and worker-N


def kill_process(
    name: str,
    back_within_seconds: float = 30,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """SIGKILL one part ("api", "downstream" or "worker-N"), then wait until it is healthy again.

    Returns the pid killed and restartSeconds (killed to healthy again, in s, recorded as
    process.restart_time_s); fails if it is not back within back_within_seconds.
    """
    if name not in KILLABLE and not name.startswith("worker-"):
        raise ActivityFailed(f"cannot kill {name!r}: choose api, downstream or worker-N")
    parts = context.local_stack(configuration, f"killing the {name} needs its process")["parts"]
    part = parts.get(name)
    if part is None or not part.get("pid"):
        raise ActivityFailed(f"no {name!r} in this stack")
    killed_at = time.monotonic()
    try:
        os.kill(int(part["pid"]), signal.SIGKILL)
    except ProcessLookupError:
        raise ActivityFailed(f"{name} (pid {part['pid']}) is not running") from None
    context.mark("process_killed", process=name, pid=part["pid"])
    seconds = _back(name, int(part["pid"]), killed_at, back_within_seconds, configuration)
    context.record_value(configuration, "process.restart_time_s", seconds)
    context.mark("process_back", process=name, after_s=round(seconds, 2))
    return {"process": name, "pid": part["pid"], "restartSeconds": round(seconds, 3)}


def kill_api(
    back_within_seconds: float = 30, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL the API process mid-request; returns restartSeconds (killed to healthy, s)."""
    return kill_process("api", back_within_seconds, configuration)


def kill_downstream(
    back_within_seconds: float = 30, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """SIGKILL the downstream process; returns restartSeconds (killed to healthy, s)."""
    return kill_process("downstream", back_within_seconds, configuration)


def _back(
    name: str, old_pid: int, killed_at: float, timeout: float, configuration: Configuration
) -> float:
    """Seconds from the kill until a new process answers its health check (bounded)."""
    while time.monotonic() - killed_at < timeout:
        part = context.stack(configuration)["parts"].get(name, {})
        if part.get("pid") and int(part["pid"]) != old_pid and _healthy(part):
            return time.monotonic() - killed_at
        time.sleep(0.05)
    raise ActivityFailed(f"{name} was not healthy again within {timeout:g} s of the kill")


def _healthy(part: dict[str, Any]) -> bool:
    path = part.get("health_path")
    if not part.get("endpoint") or not path:
        return True
    try:
        return httpx.get(part["endpoint"] + path, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
