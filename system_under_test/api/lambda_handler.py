"""The same API as an AWS Lambda handler (API Gateway HTTP API), through Mangum."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mangum import Mangum

from system_under_test.api.app import Dependencies, create_app
from system_under_test.config import SutConfig, with_keys_from_ssm
from system_under_test.runtime import aws_client
from system_under_test.telemetry import Telemetry, emf_after, lambda_instance

_built: tuple[Mangum, Telemetry, str] | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _built  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _built is None:
        deps = Dependencies(aws_client("sqs"), aws_client("dynamodb"), aws_client("ssm"))
        config = with_keys_from_ssm(SutConfig.from_env(), deps.ssm)
        telemetry = Telemetry("api", lambda_instance())
        app = create_app(config, replace(deps, telemetry=telemetry))
        _built = (Mangum(app, lifespan="off"), telemetry, config.metrics_namespace)
    mangum, telemetry, namespace = _built
    with emf_after(telemetry, namespace):  # Powertools Metrics: CloudWatch through the logs
        return mangum(event, context)  # type: ignore[no-any-return]
