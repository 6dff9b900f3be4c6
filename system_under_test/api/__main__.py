"""Run the API locally: ``python -m system_under_test.api --port N`` (127.0.0.1)."""

from __future__ import annotations

import argparse
from typing import Any

from system_under_test.api.app import Dependencies, create_app
from system_under_test.config import SutConfig, with_keys_from_ssm
from system_under_test.runtime import aws_client, serve, serve_processes
from system_under_test.telemetry import local_publisher


def app_from_env() -> Any:
    """The API as configured by the environment (uvicorn calls this in each process)."""
    config = SutConfig.from_env()
    # Every dependency call fits in the request's deadline: with the backend hanging, each
    # call used to wait 5 s twice, and a request took 15 s to answer its 503.
    budget = config.request_deadline_seconds
    deps = Dependencies(
        sqs=aws_client("sqs", read_timeout=budget / 2),  # the publisher retries within budget
        dynamodb=aws_client("dynamodb", read_timeout=budget / 4, attempts=1),
        ssm=aws_client("ssm", read_timeout=budget / 5, attempts=1),  # faults keep their last value
    )
    config = with_keys_from_ssm(config, deps.ssm)
    app = create_app(config, deps)
    local_publisher(
        app.state.telemetry,
        config.metrics_namespace,
        config.metrics_flush_seconds,
        lambda: aws_client("cloudwatch", read_timeout=2, attempts=1),
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m system_under_test.api")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="uvicorn worker processes on the one port (set SUT_RATE_LIMIT_TABLE with more than 1)",
    )
    args = parser.parse_args()
    if args.processes > 1:
        serve_processes("system_under_test.api.__main__:app_from_env", args.port, args.processes)
    else:
        serve(app_from_env(), args.port)


if __name__ == "__main__":
    main()
