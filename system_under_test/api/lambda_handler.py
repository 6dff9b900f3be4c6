"""The same API as an AWS Lambda handler (API Gateway HTTP API), through Mangum."""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from system_under_test.api.app import Dependencies, create_app
from system_under_test.config import SutConfig, with_keys_from_ssm
from system_under_test.runtime import aws_client

_handler: Mangum | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _handler is None:
        deps = Dependencies(aws_client("sqs"), aws_client("dynamodb"), aws_client("ssm"))
        config = with_keys_from_ssm(SutConfig.from_env(), deps.ssm)
        _handler = Mangum(create_app(config, deps), lifespan="off")
    return _handler(event, context)  # type: ignore[no-any-return]
