"""Run the downstream locally: ``python -m system_under_test.downstream --port N``."""

from __future__ import annotations

import argparse
import random

from system_under_test.config import SutConfig
from system_under_test.downstream.app import DynamoEffectStore, create_app
from system_under_test.faults import FaultSwitch
from system_under_test.runtime import aws_client, serve


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
    serve(create_app(faults, rng, store), args.port)


if __name__ == "__main__":
    main()
