"""The worker as an AWS Lambda handler for an SQS event source with ReportBatchItemFailures."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from system_under_test.config import SutConfig
from system_under_test.runtime import aws_client
from system_under_test.telemetry import emit_emf
from system_under_test.worker.handler import BatchProcessor, build_processor

_built: tuple[BatchProcessor, str] | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _built  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _built is None:
        # one Lambda instance, one log stream: the instance dimension of its metrics
        instance = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        config = replace(SutConfig.from_env(), instance=instance)
        processor = build_processor(config, aws_client("sqs"), aws_client("dynamodb"))
        _built = (processor, config.metrics_namespace)
    processor, namespace = _built
    try:
        return processor.handle(event, context)
    finally:  # Powertools Metrics: the metrics reach CloudWatch through the logs
        emit_emf(processor.telemetry.drain(), namespace)
