"""The worker as an AWS Lambda handler for an SQS event source with ReportBatchItemFailures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from system_under_test.config import SutConfig
from system_under_test.runtime import aws_client
from system_under_test.telemetry import emf_after, lambda_instance
from system_under_test.worker.handler import BatchProcessor, build_processor

_built: tuple[BatchProcessor, str] | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _built  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _built is None:
        config = replace(SutConfig.from_env(), instance=lambda_instance())
        processor = build_processor(config, aws_client("sqs"), aws_client("dynamodb"))
        _built = (processor, config.metrics_namespace)
    processor, namespace = _built
    with emf_after(processor.telemetry, namespace):  # Powertools Metrics, through the logs
        return processor.handle(event, context)
