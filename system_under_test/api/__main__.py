"""Run the API locally: ``python -m system_under_test.api --port N`` (127.0.0.1)."""

from __future__ import annotations

import argparse

from system_under_test.api.app import Dependencies, create_app
from system_under_test.config import SutConfig, with_keys_from_ssm
from system_under_test.runtime import aws_client, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m system_under_test.api")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
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
    serve(create_app(config, deps), args.port)


if __name__ == "__main__":
    main()
