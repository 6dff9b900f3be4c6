"""HTTP calls to the reference API, bounded in time, with errors an experiment can read."""

from __future__ import annotations

from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

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


def metric_samples(endpoint: str) -> list[Sample]:
    """The samples a process serves on its /metrics; none when it does not answer in 5 s."""
    try:
        text = httpx.get(endpoint.rstrip("/") + "/metrics", timeout=5).text
    except httpx.HTTPError:
        return []
    return [s for family in text_string_to_metric_families(text) for s in family.samples]
