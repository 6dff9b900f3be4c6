"""The downstream as an AWS Lambda handler behind a function URL, through Mangum.

On Lambda each instance keeps its own memory: every instance writes each effect to the
effects table (conditionally, one item per key), so no key is applied twice across
instances, and a new instance starts from the table. ``GET /ledger`` still answers from
one instance's memory (not yet a table scan per request).
"""

from __future__ import annotations

import random
from typing import Any

from mangum import Mangum

from system_under_test.config import SutConfig
from system_under_test.downstream.app import DynamoEffectStore, create_app
from system_under_test.faults import FaultSwitch
from system_under_test.runtime import aws_client
from system_under_test.telemetry import Telemetry, emf_after, lambda_instance

_built: tuple[Mangum, Telemetry, str] | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _built  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _built is None:
        config = SutConfig.from_env()
        faults = FaultSwitch.from_config(aws_client("ssm"), config)
        rng = random.Random(config.fault_seed) if config.fault_seed else None  # noqa: S311
        store = DynamoEffectStore(aws_client("dynamodb"), config.effects_table)
        telemetry = Telemetry("downstream", lambda_instance())
        app = create_app(faults, rng, store, telemetry)
        _built = (Mangum(app, lifespan="off"), telemetry, config.metrics_namespace)
    mangum, telemetry, namespace = _built
    with emf_after(telemetry, namespace):  # Powertools Metrics: CloudWatch through the logs
        return mangum(event, context)  # type: ignore[no-any-return]
