"""Run the downstream locally: ``python -m system_under_test.downstream --port N``."""

from __future__ import annotations

import argparse
import random

from system_under_test.config import SutConfig
from system_under_test.downstream.app import DynamoEffectStore, create_app
from system_under_test.faults import FaultSwitch
from system_under_test.runtime import aws_client, serve
from system_under_test.telemetry import Telemetry, local_publisher


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m system_under_test.downstream")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    config = SutConfig.from_env()
    faults = FaultSwitch.from_config(aws_client("ssm"), config)
    rng = random.Random(config.fault_seed) if config.fault_seed else None  # noqa: S311
    store = (
        DynamoEffectStore(aws_client("dynamodb"), config.effects_table)
        if config.effects_table
        else None
    )
    app = create_app(faults, rng, store, Telemetry("downstream", config.instance))
    local_publisher(
        app.state.telemetry,
        config.metrics_namespace,
        config.metrics_flush_seconds,
        lambda: aws_client("cloudwatch", read_timeout=2, attempts=1),
    )
    serve(app, args.port)


if __name__ == "__main__":
    main()
