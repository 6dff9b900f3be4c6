"""A lean HTTP client for the open model: keep-alive connections per virtual user.

Locust's FastHttpSession does more per request than posting JSON needs (cookies,
redirects, a response wrapper, URL handling); this posts on geventhttpclient's
``HTTPClient`` directly and reports every request to Locust's statistics itself,
as Locust documents for custom clients (``events.request.fire``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from geventhttpclient import HTTPClient
from geventhttpclient.url import URL
from locust.exception import CatchResponseError


class OrderClient:
    def __init__(
        self, base_url: str, request_event: Any, timeout: float, concurrency: int = 1
    ) -> None:
        url = URL(base_url)
        self._http = HTTPClient.from_url(
            url, concurrency=concurrency, connection_timeout=timeout, network_timeout=timeout
        )
        self._prefix = url.path.rstrip("/")
        self._request_event = request_event

    def post_json(
        self, path: str, payload: Any, headers: dict[str, str]
    ) -> tuple[int, int, float, Exception | None]:
        """POST ``payload`` as JSON: (status, response length, milliseconds, error or None).

        A connection failure or timeout is status 0 with the error; nothing is raised.
        """
        body = json.dumps(payload).encode()
        sent = {**headers, "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            response = self._http.post(self._prefix + path, body=body, headers=sent)
            try:
                length = len(response.read())
            finally:
                response.release()
            return response.status_code, length, (time.perf_counter() - started) * 1000, None
        except Exception as exc:  # a failed request is a result to report, not a crash
            return 0, 0, (time.perf_counter() - started) * 1000, exc

    def report(self, name: str, milliseconds: float, length: int, failure: str | None) -> None:
        """One request in Locust's statistics; ``failure`` makes it a Locust failure."""
        self._request_event.fire(
            request_type="POST",
            name=name,
            response_time=milliseconds,
            response_length=length,
            exception=CatchResponseError(failure) if failure else None,
            context={},
        )
