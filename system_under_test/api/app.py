"""The ingestion API: ``POST /events`` and the health and metrics endpoints.

Every error is JSON ``{"error": {"code", "message", "correlationId", ...}}``
with a 4xx for bad input and 503 (with Retry-After) for a dependency that is
down; nothing is enqueued unless the answer is 202.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from system_under_test.api.admin import admin_router
from system_under_test.api.health import Health
from system_under_test.api.metrics import ApiMetrics
from system_under_test.api.models import Order
from system_under_test.api.publisher import Envelope, Publisher
from system_under_test.api.security import (
    CLIENT,
    DynamoTokenBuckets,
    TokenBuckets,
    authenticate,
)
from system_under_test.circuit import CircuitBreaker
from system_under_test.config import MAX_BODY_BYTES, SutConfig
from system_under_test.exceptions import ApiError
from system_under_test.faults import FaultSwitch
from system_under_test.telemetry import Telemetry

logger = Logger(service="api")

_HEADER_TOKEN = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, no spaces
_REPLAYED = "__replayed__"
#: Headers past this get a JSON 431 (uvicorn's own, larger limit answers without our JSON).
MAX_HEADER_BYTES = 16 * 1024
MAX_CORRELATION_ID = 128
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


@dataclass
class Dependencies:
    """Clients injected into the app (never created at import time)."""

    sqs: Any
    dynamodb: Any
    ssm: Any
    telemetry: Telemetry | None = None  # CloudWatch metrics; flushed by whoever runs the app


def create_app(config: SutConfig, deps: Dependencies) -> FastAPI:
    app = FastAPI(title="reference ingestion API", docs_url=None, redoc_url=None)
    metrics = ApiMetrics(deps.telemetry or Telemetry("api", config.instance))
    app.state.telemetry = metrics.telemetry
    faults = FaultSwitch.from_config(deps.ssm, config)
    sqs_circuit = CircuitBreaker.from_config("sqs_publish", config)
    publisher = Publisher(
        deps.sqs,
        config.queue_url,
        sqs_circuit,
        faults,
        metrics,
        config.request_deadline_seconds,
        rng=random.Random(config.fault_seed) if config.fault_seed else None,  # noqa: S311
    )
    health = Health(config, deps.sqs, deps.dynamodb, faults, {"sqs_publish": sqs_circuit})
    metrics.watch({"sqs_publish": sqs_circuit}, lambda: faults.current().mode())
    buckets = rate_limiter(config, deps.dynamodb)
    accept = _idempotent_accept(config, deps, publisher)

    _install_error_handling(app, metrics)

    @app.post("/events", status_code=202)
    async def post_event(request: Request) -> JSONResponse:
        key = request.headers.get("x-api-key")
        authenticate(key, config.api_keys, config.admin_api_keys, need=CLIENT)
        decision = buckets.take(key or "")
        if not decision.allowed:
            raise ApiError(
                429,
                "RATE_LIMITED",
                f"more than {config.rate_limit_per_second:g} requests/s for this API key",
                headers=decision.headers(),
            )
        order = await _read_order(request)
        idempotency_key = request.headers.get("idempotency-key") or _derived_key(order)
        if not _HEADER_TOKEN.match(idempotency_key):
            raise ApiError(
                400,
                "INVALID_IDEMPOTENCY_KEY",
                "Idempotency-Key must be 1-255 visible ASCII characters",
            )
        correlation_id = request.state.correlation_id
        with logger.append_context_keys(correlation_id=correlation_id):
            result = await run_in_threadpool(
                _accept_or_error, accept, idempotency_key, order, correlation_id
            )
        headers = decision.headers()
        if result.pop(_REPLAYED, False):
            headers["Idempotent-Replayed"] = "true"
            metrics.replayed.inc()
        return JSONResponse(result, status_code=202, headers=headers)

    app.include_router(admin_router(config, deps.sqs))

    @app.get("/health")
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> JSONResponse:
        code, body = await run_in_threadpool(health.ready)
        return JSONResponse(body, status_code=code)

    @app.get("/health/deep")
    async def deep() -> dict[str, Any]:
        return await run_in_threadpool(health.deep)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _install_error_handling(app: FastAPI, metrics: ApiMetrics) -> None:
    """Correlation ids, request metrics, and every error as the JSON error shape."""

    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        metrics.refused(exc.code)
        body: dict[str, Any] = {
            "code": exc.code,
            "message": exc.message,
            "correlationId": getattr(request.state, "correlation_id", None),
        }
        if exc.details:
            body["details"] = exc.details
        return JSONResponse({"error": body}, status_code=exc.status, headers=exc.headers)

    app.add_middleware(Observe, metrics=metrics, refuse=api_error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]}
            for e in exc.errors()[:20]
        ]
        error = ApiError(422, "VALIDATION_FAILED", "the request is not valid", details=details)
        return await api_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Unknown paths and wrong methods answer in the same JSON envelope as every error.
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        message = {
            404: f"no such path: {request.url.path[:200]}",
            405: f"{request.method} is not allowed on {request.url.path[:200]}",
        }.get(exc.status_code, str(exc.detail))
        error = ApiError(exc.status_code, code, message, headers=dict(exc.headers or {}))
        return await api_error(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        error = ApiError(500, "INTERNAL_ERROR", "the server failed; the event was not accepted")
        return await api_error(request, error)

    app.add_exception_handler(ApiError, api_error)  # type: ignore[arg-type]


class Observe:
    """Pure ASGI middleware: correlation id, header-size guard, request metrics.

    (Starlette's ``@app.middleware("http")`` costs a task and a stream per request.)
    """

    def __init__(self, app: Any, metrics: ApiMetrics, refuse: Any) -> None:
        self.app = app
        self.metrics = metrics
        self.refuse = refuse

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope, receive)
        given = request.headers.get("x-correlation-id")
        correlation_id = given if given and _valid_correlation_id(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        status = [500]

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        header_bytes = sum(len(k) + len(v) for k, v in scope["headers"])
        try:
            if header_bytes > MAX_HEADER_BYTES:
                too_large = ApiError(
                    431, "HEADERS_TOO_LARGE", f"request headers exceed {MAX_HEADER_BYTES} bytes"
                )
                response = await self.refuse(request, too_large)
                await response(scope, receive, send_with_id)
            elif given is not None and given != correlation_id:
                # refused, not replaced: a client's id it cannot find again in the logs is lost
                bad_id = ApiError(
                    400,
                    "INVALID_CORRELATION_ID",
                    f"X-Correlation-Id must be 1-{MAX_CORRELATION_ID} visible ASCII characters",
                )
                response = await self.refuse(request, bad_id)
                await response(scope, receive, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.answered(route, status[0], time.perf_counter() - started)


def rate_limiter(config: SutConfig, dynamodb: Any) -> TokenBuckets | DynamoTokenBuckets:
    """Buckets in memory for one process; in DynamoDB when several share the limit."""
    rate, burst = config.rate_limit_per_second, config.rate_limit_burst
    if config.rate_limit_table:
        return DynamoTokenBuckets(dynamodb, config.rate_limit_table, rate, burst)
    return TokenBuckets(rate, burst)


def _idempotent_accept(config: SutConfig, deps: Dependencies, publisher: Publisher) -> Any:
    """Powertools idempotency around "publish and answer": one record per key in DynamoDB."""
    persistence = DynamoDBPersistenceLayer(
        table_name=config.idempotency_table, boto3_client=deps.dynamodb
    )
    idempotency = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="payload",
        expires_after_seconds=config.idempotency_ttl_seconds,
        response_hook=lambda response, _record: {**response, _REPLAYED: True},
    )

    # An in-progress record lapses after one request's time, so a request cut short by a
    # crash does not lock its key (409) until the record expires a day later.
    idempotency.register_lambda_context(
        _RequestBudget(config.request_deadline_seconds + 5)  # type: ignore[arg-type]
    )

    @idempotent_function(  # type: ignore[untyped-decorator]
        data_keyword_argument="request", persistence_store=persistence, config=idempotency
    )
    def accept(request: dict[str, Any]) -> dict[str, Any]:
        envelope = Envelope(
            event_id=str(uuid.uuid4()),
            order=request["payload"],
            idempotency_key=request["key"],
            correlation_id=request["correlationId"],
            accepted_at=time.time(),
        )
        publisher.publish(envelope)
        logger.info(
            "event accepted",
            extra={"event_id": envelope.event_id, "order_id": envelope.order["orderId"]},
        )
        return {
            "eventId": envelope.event_id,
            "status": "accepted",
            "correlationId": envelope.correlation_id,
            "acceptedAt": envelope.accepted_at,
        }

    return accept


class _RequestBudget:
    """Stands in for a Lambda context: the time an accept may take (Powertools reads it)."""

    def __init__(self, seconds: float) -> None:
        self._millis = int(seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self._millis


def _accept_or_error(
    accept: Any, key: str, order: dict[str, Any], correlation_id: str
) -> dict[str, Any]:
    request = {"key": key, "payload": order, "correlationId": correlation_id}
    try:
        return dict(accept(request=request))
    except IdempotencyValidationError:
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was already used with a different payload",
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ApiError(
            409,
            "IDEMPOTENCY_IN_PROGRESS",
            "a request with this Idempotency-Key is still being processed",
            headers={"Retry-After": "1"},
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, ApiError):
            raise cause from None
        raise ApiError(
            503,
            "IDEMPOTENCY_STORE_UNAVAILABLE",
            "the idempotency store is unavailable",
            headers={"Retry-After": "1"},
        ) from None


async def _read_order(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, "PAYLOAD_TOO_LARGE", f"the body must be at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(
                413, "PAYLOAD_TOO_LARGE", f"the body must be at most {MAX_BODY_BYTES} bytes"
            )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "INVALID_ENCODING", "the body must be UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "MALFORMED_JSON", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "VALIDATION_FAILED", "the body must be a JSON object")
    try:
        order = Order.model_validate(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in error["loc"]) or "(body)", "problem": error["msg"]}
            for error in exc.errors(include_url=False, include_input=False)[:20]
        ]
        raise ApiError(
            422, "VALIDATION_FAILED", "the order is not valid", details=details
        ) from None
    return order.model_dump(exclude_none=True)


def _derived_key(order: dict[str, Any]) -> str:
    """The seed's derived key when the client sends none: the order's identity."""
    return f"order:{order['orderId']}:{order['amount']}:{order['currency']}"


def _valid_correlation_id(given: str) -> bool:
    return len(given) <= MAX_CORRELATION_ID and bool(_HEADER_TOKEN.match(given))
