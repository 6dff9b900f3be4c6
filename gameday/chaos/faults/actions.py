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

from gameday.chaos import context, web
from system_under_test.faults import MODE_DEFAULTS

__all__ = ["clear_faults", "set_fault"]

MAX_TTL_SECONDS = 24 * 3600
ACTIVATION_TIMEOUT_S = 10.0


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
    """Switch a fault on for ttl_seconds (it expires by itself) and wait until the API applies it.

    Returns the fault document and activationSeconds; fails if not applied within 10 s.

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
    seconds = _activation_seconds(configuration, mode)
    if seconds is None:
        raise ActivityFailed(f"the API did not apply {mode} within {ACTIVATION_TIMEOUT_S:.0f} s")
    context.record_value(configuration, "fault.activation_time_s", seconds)
    return {**document, "activationSeconds": round(seconds, 3)}


def _activation_seconds(configuration: Configuration, mode: str) -> float | None:
    """Seconds from the switch until GET /ready reports the fault (bounded)."""
    started = time.monotonic()
    while time.monotonic() - started < ACTIVATION_TIMEOUT_S:
        if web.get_json(configuration, "/ready")["faults"]["mode"] == mode:
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def clear_faults(configuration: Configuration = None, secrets: Secrets = None) -> bool:
    """Switch every fault off (the document and the plain mode) and wait until the API has."""
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
    if _activation_seconds(configuration, "none") is None:
        raise ActivityFailed(f"the API still applies a fault {ACTIVATION_TIMEOUT_S:.0f} s later")
    return True
