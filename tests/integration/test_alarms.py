"""CloudWatch alarms in the embedded backend: they change state after a breach, as on AWS, and
chaostoolkit-aws's own probe reads them through the stack's environment."""

from __future__ import annotations

import time
import uuid

import pytest
from chaosaws.cloudwatch.probes import get_alarm_state_value

from gameday.stack.provision import dlq_alarm
from tests.integration.conftest import System

pytestmark = pytest.mark.integration
PERIOD_S = 10  # the shortest period CloudWatch allows a high-resolution alarm


def _state(system: System, alarm: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name, value in system.status["env"].items():  # what `gameday run` gives `chaos run`
        monkeypatch.setenv(name, value)
    return str(get_alarm_state_value(alarm, configuration={"aws_region": system.status["region"]}))


def _until(system: System, alarm: str, wanted: str, monkeypatch: pytest.MonkeyPatch) -> float:
    started = time.monotonic()
    while (state := _state(system, alarm, monkeypatch)) != wanted:
        if time.monotonic() - started > 3 * PERIOD_S:
            pytest.fail(f"{alarm} still {state}, not {wanted}, after {3 * PERIOD_S} s")
        time.sleep(0.2)
    return time.monotonic() - started


def test_the_dlq_alarm_goes_off_within_one_period_of_a_dead_letter(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, cloudwatch = system.aws("sqs"), system.aws("cloudwatch")
    queue = f"alarm-test-{uuid.uuid4().hex[:8]}"  # its own queue: the stack's DLQ holds poison
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    alarm = f"{queue}-not-empty"
    cloudwatch.put_metric_alarm(**dlq_alarm(alarm, queue, PERIOD_S))
    try:
        assert _state(system, alarm, monkeypatch) == "OK"
        sqs.send_message(QueueUrl=url, MessageBody='{"poison": true}')
        went_off = _until(system, alarm, "ALARM", monkeypatch)
        print(f"ALARM {went_off:.1f} s after the dead letter, against a period of {PERIOD_S} s")
        assert went_off <= PERIOD_S + 2  # within one evaluation period plus 2 s
        reason = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateReason"]
        assert "evaluated by the gameday backend" in reason
    finally:
        cloudwatch.delete_alarms(AlarmNames=[alarm])
        sqs.delete_queue(QueueUrl=url)


def test_the_stack_has_its_dlq_alarm_on_its_own_dlq(system: System) -> None:
    """Made by the template's AWS::CloudWatch::Alarm on the shared stack (a stack output)."""
    (alarm,) = system.aws("cloudwatch").describe_alarms(AlarmNames=[system.resources["dlq_alarm"]])[
        "MetricAlarms"
    ]
    dlq_name = system.resources["dlq_url"].rsplit("/", 1)[-1]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": dlq_name}]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
