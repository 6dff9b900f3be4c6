"""AWS API errors on demand, in the embedded backend (what FIS's inject-api-*-error does).

A fault switch in the system cannot take SQS away from the API alone: stopping the
whole backend takes DynamoDB with it, and the API then fails at its idempotency store
first. This WSGI middleware answers chosen SQS operations with a 503 until an expiry,
so "SQS is unavailable, DynamoDB is fine" can be played offline.

``POST /_gameday/api-errors`` with ``{"operations": ["SendMessage"], "seconds": 10}``
switches it on (``status`` and ``code`` optional), ``DELETE`` switches it off, ``GET``
shows it. Every injection expires: at most ``MAX_SECONDS``.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

PATH = "/_gameday/api-errors"
MAX_SECONDS = 600.0

StartResponse = Callable[..., Any]


class ApiErrors:
    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._operations: frozenset[str] = frozenset()
        self._until = 0.0
        self._status, self._code = 503, "ServiceUnavailable"
        self.injected = 0

    def __getattr__(self, name: str) -> Any:  # the dispatcher's own attributes (warm-up)
        return getattr(self._app, name)

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            return self._control(environ, start)
        with self._lock:
            active = time.monotonic() < self._until and self._operations
        if active and _operation(environ) in self._operations:
            with self._lock:
                self.injected += 1
            return _aws_error(start, self._status, self._code)
        return self._app(environ, start)  # type: ignore[no-any-return]

    def _control(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                asked = json.loads(environ["wsgi.input"].read(length) or b"{}")
                operations = frozenset(str(o) for o in asked["operations"])
                seconds = min(MAX_SECONDS, float(asked["seconds"]))
                status, code = int(asked.get("status", 503)), str(asked.get("code", ""))
            except (ValueError, KeyError, TypeError) as exc:
                return _json(start, 400, {"error": f"want operations and seconds: {exc}"})
            with self._lock:
                self._operations, self._until = operations, time.monotonic() + seconds
                self._status, self._code = status, code or "ServiceUnavailable"
        elif method == "DELETE":
            with self._lock:
                self._operations, self._until = frozenset(), 0.0
        with self._lock:
            left = max(0.0, self._until - time.monotonic())
            shown = {
                "operations": sorted(self._operations) if left else [],
                "secondsLeft": round(left, 1),
                "injected": self.injected,
            }
        return _json(start, 200, shown)


def _operation(environ: dict[str, Any]) -> str:
    """The AWS operation a request calls: JSON protocol's target, or the query's Action."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return str(target.rsplit(".", 1)[-1])
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return str(query["Action"][0])
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        return str(parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0])
    return ""


def _aws_error(start: StartResponse, status: int, code: str) -> Iterable[bytes]:
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": "injected by gameday"})
    start(
        f"{status} Injected",
        [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-error", f"{code};Receiver"),
        ],
    )
    return [body.encode()]


def _json(start: StartResponse, status: int, payload: dict[str, Any]) -> Iterable[bytes]:
    start(
        f"{status} {'OK' if status == 200 else 'Bad Request'}",
        [("Content-Type", "application/json")],
    )
    return [json.dumps(payload).encode()]
