"""How many workers answer on their health endpoint."""

import contextlib

import httpx
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context

__all__ = ["workers_alive"]


def workers_alive(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Workers whose /metrics endpoint answers within 2 s, a count."""
    alive = 0
    state = context.local_stack(configuration, "counting workers needs their /metrics")
    for name, part in state["parts"].items():
        if not name.startswith("worker-"):
            continue
        with contextlib.suppress(httpx.HTTPError):
            alive += httpx.get(part["endpoint"] + "/metrics", timeout=2).status_code == 200
    return alive
