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

_handler: Mangum | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    global _handler  # noqa: PLW0603 (built once per Lambda instance, on first use)
    if _handler is None:
        config = SutConfig.from_env()
        faults = FaultSwitch.from_config(aws_client("ssm"), config)
        rng = random.Random(config.fault_seed) if config.fault_seed else None  # noqa: S311
        store = DynamoEffectStore(aws_client("dynamodb"), config.effects_table)
        _handler = Mangum(create_app(faults, rng, store), lifespan="off")
    return _handler(event, context)  # type: ignore[no-any-return]
