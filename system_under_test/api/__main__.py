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
    deps = Dependencies(
        sqs=aws_client("sqs"), dynamodb=aws_client("dynamodb"), ssm=aws_client("ssm")
    )
    config = with_keys_from_ssm(SutConfig.from_env(), deps.ssm)
    serve(create_app(config, deps), args.port)


if __name__ == "__main__":
    main()
