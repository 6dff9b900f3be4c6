"""Wait for a CloudWatch alarm to reach a state: does the alarm fire when it should?"""

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context

__all__ = ["expect_alarm_state"]

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def expect_alarm_state(
    alarm_name: str,
    state: str = "ALARM",
    timeout_seconds: float = 90,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until ``alarm_name`` is in ``state`` (OK, ALARM, INSUFFICIENT_DATA); fails after
    timeout_seconds. Returns the seconds it took, also recorded as ``alarm.seconds_to_state``
    in the run's measurements: how long the stack's monitoring needed to notice."""
    if state not in STATES:
        raise ActivityFailed(f"state {state!r} is not an alarm state (one of {', '.join(STATES)})")
    cloudwatch = context.aws(configuration, "cloudwatch")
    started = time.monotonic()
    while True:
        try:
            found = cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
        except (ClientError, BotoCoreError) as exc:
            raise ActivityFailed(f"cannot read alarm {alarm_name}: {exc}") from None
        if not found:
            raise ActivityFailed(f"no CloudWatch alarm named {alarm_name}")
        current = found[0]["StateValue"]
        seconds = round(time.monotonic() - started, 2)
        if current == state:
            context.mark("alarm", alarm=alarm_name, state=state, after_s=seconds)
            context.record_value(configuration, "alarm.seconds_to_state", seconds)
            return {"alarm": alarm_name, "state": state, "seconds": seconds}
        if seconds > timeout_seconds:
            raise ActivityFailed(
                f"alarm {alarm_name} stayed {current}, not {state}, for {timeout_seconds:g} s"
            )
        time.sleep(0.5)
