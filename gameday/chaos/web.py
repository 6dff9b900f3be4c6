"""HTTP calls to the reference API, bounded in time, with errors an experiment can read."""

from __future__ import annotations

from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed

from gameday.chaos import context

TIMEOUT_SECONDS = 10.0


def get_json(configuration: dict[str, Any] | None, path: str) -> dict[str, Any]:
    url = context.api_url(configuration) + path
    try:
        response = httpx.get(url, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"GET {url} failed: {exc}") from None
    try:
        return dict(response.json())
    except ValueError:
        raise ActivityFailed(f"GET {url} answered {response.status_code}, not JSON") from None
