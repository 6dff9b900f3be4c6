"""Set and clear the reference system's faults through SSM.

chaostoolkit-aws 0.35.1's ``chaosaws.ssm.actions.put_parameter`` passes None for
optional arguments, which current botocore refuses; the action then fails and
Chaos Toolkit still ends the run "completed". These call SSM themselves.
"""

import json
import time
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from system_under_test.faults import MODE_DEFAULTS

__all__ = ["clear_faults", "set_fault"]

MAX_TTL_SECONDS = 24 * 3600


def set_fault(
    mode: str,
    ttl_seconds: float = 300,
    latency_ms: int | None = None,
    error_rate: float | None = None,
    ratio: float | None = None,
    status_code: int | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Switch a fault on for ttl_seconds (it expires by itself); returns the fault document.

    mode: poison_payload, slow_downstream, random_fail_p30, duplicate_submit or slow_api;
    latency_ms (ms), error_rate and ratio (0-1) and status_code override the mode's defaults.
    """
    if mode not in MODE_DEFAULTS:
        raise ActivityFailed(f"unknown fault mode {mode!r} (known: {', '.join(MODE_DEFAULTS)})")
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ActivityFailed(f"ttl_seconds {ttl_seconds} must be within 1-{MAX_TTL_SECONDS}")
    document: dict[str, Any] = {"mode": mode, "expiresAt": round(time.time() + ttl_seconds, 3)}
    for key, value in (
        ("latencyMs", latency_ms),
        ("errorRate", error_rate),
        ("ratio", ratio),
        ("statusCode", status_code),
    ):
        if value is not None:
            document[key] = value
    state = context.stack(configuration)
    context.aws(configuration, "ssm").put_parameter(
        Name=state["resources"]["fault_parameter"],
        Value=json.dumps(document),
        Type="String",
        Overwrite=True,
    )
    context.mark("fault_start", fault=mode, document=document)
    return document


def clear_faults(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Switch every fault off (the structured document and the plain mode); returns True."""
    state = context.stack(configuration)
    ssm = context.aws(configuration, "ssm")
    ssm.put_parameter(
        Name=state["resources"]["fault_parameter"],
        Value=json.dumps({"mode": "none", "expiresAt": None}),
        Type="String",
        Overwrite=True,
    )
    ssm.put_parameter(
        Name=state["resources"]["failure_mode_parameter"],
        Value="none",
        Type="String",
        Overwrite=True,
    )
    context.mark("fault_end")
    return True
