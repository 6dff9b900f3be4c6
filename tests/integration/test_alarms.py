"""CloudWatch alarms in the embedded backend: they change state after a breach, as on AWS, and
chaostoolkit-aws's own probe reads them through the stack's environment."""

from __future__ import annotations

import time
import uuid

import pytest
from chaosaws.cloudwatch.probes import get_alarm_state_value

from gameday.settings import Settings
from gameday.stack.provision import ALARM_ROLES, alarms
from tests.integration.conftest import System, order

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
    settings = Settings(dlq_alarm=alarm, dlq_name=queue, alarm_period_seconds=PERIOD_S)
    cloudwatch.put_metric_alarm(**alarms(settings)[0])
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


def test_the_stack_has_its_alarms_on_its_own_queue_and_metrics(system: System) -> None:
    """Made by the template's AWS::CloudWatch::Alarm resources on the shared stack (outputs)."""
    names = {role: system.resources[role] for role in ALARM_ROLES}
    found = system.aws("cloudwatch").describe_alarms(AlarmNames=list(names.values()))
    by_name = {a["AlarmName"]: a for a in found["MetricAlarms"]}
    dlq = by_name[names["dlq_alarm"]]
    dlq_name = system.resources["dlq_url"].rsplit("/", 1)[-1]
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": dlq_name}]
    assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
    for role in ("api_errors_alarm", "worker_errors_alarm", "ingest_latency_alarm"):
        assert by_name[names[role]]["Namespace"] == system.resources["metrics_namespace"], role


def test_the_ingest_p99_alarm_goes_off_within_one_period_of_slow_answers(
    healthy: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API publishes its latencies to CloudWatch; the backend evaluates their p99."""
    alarm = healthy.resources["ingest_latency_alarm"]
    healthy.set_fault("slow_api", latencyMs=400)
    healthy.wait_for(lambda: healthy.active_fault() == "slow_api", 10, "slow_api on")
    try:
        assert healthy.post(order("p99-alarm")).status_code == 202  # p99 400 ms > 250 ms
        went_off = _until(healthy, alarm, "ALARM", monkeypatch)
    finally:
        healthy.clear_faults()
    print(f"ingest p99 ALARM {went_off:.1f} s after a slow answer, period {PERIOD_S} s")
    assert went_off <= PERIOD_S + 2
