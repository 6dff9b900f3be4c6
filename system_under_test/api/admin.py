"""Admin endpoints (admin API key only): DLQ preview and redrive."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from system_under_test import redrive
from system_under_test.api.security import ADMIN, authenticate
from system_under_test.config import SutConfig
from system_under_test.exceptions import ApiError


def admin_router(config: SutConfig, sqs: Any) -> APIRouter:
    router = APIRouter(prefix="/admin")

    def require_admin(request: Request) -> None:
        authenticate(
            request.headers.get("x-api-key"), config.api_keys, config.admin_api_keys, need=ADMIN
        )

    @router.get("/dlq/preview")
    async def preview(
        request: Request,
        maxMessages: int = 20,
        errorType: str | None = None,
        minAgeSeconds: float = 0,
    ) -> dict[str, Any]:
        require_admin(request)
        if not 1 <= maxMessages <= 100 or minAgeSeconds < 0:
            raise ApiError(
                422, "VALIDATION_FAILED", "maxMessages must be 1-100, minAgeSeconds >= 0"
            )
        dlq_filter = redrive.DlqFilter(errorType, minAgeSeconds)
        return await run_in_threadpool(
            redrive.preview, sqs, config.dlq_url, dlq_filter, maxMessages
        )

    @router.post("/dlq/redrive")
    async def start_redrive(request: Request) -> dict[str, Any]:
        require_admin(request)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "MALFORMED_JSON", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(422, "VALIDATION_FAILED", "the body must be a JSON object")
        try:
            max_messages = int(body.get("maxMessages", 100))
            jitter = int(body.get("perMessageDelayJitter", 0))
            dlq_filter = redrive.DlqFilter(
                body.get("errorType"), float(body.get("minAgeSeconds", 0))
            )
            return await run_in_threadpool(
                lambda: redrive.redrive(
                    sqs,
                    config.dlq_url,
                    config.queue_url,
                    dlq_filter,
                    max_messages=max_messages,
                    jitter_seconds=jitter,
                )
            )
        except (TypeError, ValueError) as exc:
            raise ApiError(422, "VALIDATION_FAILED", str(exc)) from None

    return router
