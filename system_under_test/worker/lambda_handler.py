"""The worker as an AWS Lambda handler for an SQS event source with ReportBatchItemFailures."""

from __future__ import annotations

from typing import Any

from system_under_test.config import SutConfig
from system_under_test.runtime import aws_client
from system_under_test.worker.handler import BatchProcessor, build_processor

_processor: BatchProcessor | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _processor  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _processor is None:
        _processor = build_processor(
            SutConfig.from_env(), aws_client("sqs"), aws_client("dynamodb")
        )
    return _processor.handle(event, context)
