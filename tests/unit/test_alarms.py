"""The embedded backend's alarm evaluation, held to CloudWatch's documented rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import boto3
import pytest

from gameday.stack.alarms import (
    ALARM,
    INSUFFICIENT,
    OK,
    Rule,
    evaluate,
    evaluate_all,
    publish_sqs_metrics,
    statistic,
)

NOW = 1_000_000.0  # a period boundary for periods of 10 s


def rule(**changes: object) -> Rule:
    base = {
        "statistic": "Maximum",
        "period": 10,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
        "comparison": "GreaterThanThreshold",
        "threshold": 5.0,
        "treat_missing_data": "missing",
    }
    return Rule(**{**base, **changes})  # type: ignore[arg-type]


def periods(*values: float | None) -> list[tuple[float, float]]:
    """One sample per period, oldest first, the last in the current period; None: no data."""
    return [
        (NOW + 1 - 10 * (len(values) - 1 - i), v) for i, v in enumerate(values) if v is not None
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((1, 9, 9), ALARM),  # 2 of 3 breaching
        ((9, 1, 1), OK),
        ((9, 1, 9), ALARM),  # M of N need not be consecutive
        ((9, 9, 9, 1, 1, 1), OK),  # older periods are outside the range
    ],
)
def test_m_out_of_n_datapoints(values: tuple[float, ...], expected: str) -> None:
    assert evaluate(rule(), periods(*values), NOW + 1, OK) == expected


@pytest.mark.parametrize(
    ("treatment", "values", "expected"),
    [
        ("missing", (None, None, None), INSUFFICIENT),
        ("missing", (None, 9, 9), ALARM),
        ("missing", (None, None, 9), OK),  # one breaching datapoint of the two needed
        ("breaching", (None, None, 9), ALARM),
        ("notBreaching", (None, None, None), OK),
        ("notBreaching", (9, None, 9), ALARM),
        ("ignore", (None, None, None), "the state it had"),
    ],
)
def test_missing_data_is_treated_as_configured(
    treatment: str, values: tuple[float | None, ...], expected: str
) -> None:
    current = "the state it had"
    got = evaluate(rule(treat_missing_data=treatment), periods(*values), NOW + 1, current)
    assert got == expected


def test_a_current_period_without_data_yet_does_not_count_as_missing() -> None:
    # the samples' periods closed; a second into the next one, nothing has arrived yet
    samples = periods(1, 9, 9)
    assert evaluate(rule(), samples, NOW + 11, OK) == ALARM


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Sum", 10.0), ("Average", 2.5), ("Minimum", 1.0), ("Maximum", 4.0), ("SampleCount", 4.0)],
)
def test_the_statistic_of_a_period(name: str, expected: float) -> None:
    assert statistic(name, [1, 2, 3, 4]) == expected


def test_a_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert statistic("p99", values) == 99.0
    assert statistic("p50", values) == 50.0
    assert statistic("p99.9", [1.0, 2.0]) == 2.0


def test_comparisons_at_the_threshold() -> None:
    at = periods(5, 5, 5)
    assert evaluate(rule(comparison="GreaterThanThreshold"), at, NOW + 1, OK) == OK
    assert evaluate(rule(comparison="GreaterThanOrEqualToThreshold"), at, NOW + 1, OK) == ALARM
    assert evaluate(rule(comparison="LessThanOrEqualToThreshold"), at, NOW + 1, OK) == ALARM
    assert evaluate(rule(comparison="LessThanThreshold"), at, NOW + 1, OK) == OK


def test_alarms_in_moto_change_state_and_queues_publish_their_depth() -> None:
    """Through moto's own models (in process): what DescribeAlarms then answers."""
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        cloudwatch, sqs = session.client("cloudwatch"), session.client("sqs")
        url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
        cloudwatch.put_metric_alarm(
            AlarmName="dlq-not-empty",
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}],
            Statistic="Maximum",
            Period=10,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        cloudwatch.put_metric_alarm(
            AlarmName="ingest-latency-p99",
            Namespace="Gameday",
            MetricName="IngestLatency",
            ExtendedStatistic="p99",
            Period=10,
            EvaluationPeriods=1,
            Threshold=250,
            ComparisonOperator="GreaterThanThreshold",
        )
        now = time.time()
        publish_sqs_metrics(now)
        evaluate_all(now)
        state = cloudwatch.describe_alarms(AlarmNames=["dlq-not-empty"])["MetricAlarms"][0]
        assert state["StateValue"] == OK

        sqs.send_message(QueueUrl=url, MessageBody="poison")
        publish_sqs_metrics(now + 1)
        evaluate_all(now + 1)
        state = cloudwatch.describe_alarms(AlarmNames=["dlq-not-empty"])["MetricAlarms"][0]
        assert state["StateValue"] == ALARM, state
        assert "evaluated by the gameday backend" in state["StateReason"]
        slow = cloudwatch.describe_alarms(AlarmNames=["ingest-latency-p99"])["MetricAlarms"][0]
        assert slow["StateValue"] == INSUFFICIENT  # no latency published yet
        cloudwatch.put_metric_data(
            Namespace="Gameday",
            MetricData=[{"MetricName": "IngestLatency", "Values": [20.0] * 98 + [900.0] * 2}],
        )
        evaluate_all(time.time())
        slow = cloudwatch.describe_alarms(AlarmNames=["ingest-latency-p99"])["MetricAlarms"][0]
        assert slow["StateValue"] == ALARM, slow  # p99 of 100 samples is the 99th: 900

        stamp = datetime.fromtimestamp(now, tz=UTC)
        stats = cloudwatch.get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders-dlq"}],
            StartTime=stamp.replace(microsecond=0).timestamp() - 60,
            EndTime=now + 60,
            Period=60,
            Statistics=["Maximum"],
        )
        assert max(p["Maximum"] for p in stats["Datapoints"]) == 1.0


def test_the_stacks_alarm_is_made_by_cloudformation() -> None:
    """moto's CloudFormation, taught AWS::CloudWatch::Alarm: Ref answers the alarm's name."""
    import json

    from moto import mock_aws

    from gameday.stack.alarms import register_cloudformation_alarm

    register_cloudformation_alarm()
    template = {
        "Resources": {
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "DlqNotEmpty": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Namespace": "AWS/SQS",
                    "MetricName": "ApproximateNumberOfMessagesVisible",
                    "Dimensions": [
                        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["Dlq", "QueueName"]}}
                    ],
                    "Statistic": "Maximum",
                    "Period": 10,
                    "EvaluationPeriods": 1,
                    "Threshold": 0,
                    "ComparisonOperator": "GreaterThanThreshold",
                    "TreatMissingData": "notBreaching",
                },
            },
        },
        "Outputs": {"Alarm": {"Value": {"Ref": "DlqNotEmpty"}}},
    }
    with mock_aws():
        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(StackName="s", TemplateBody=json.dumps(template))
        (stack,) = cloudformation.describe_stacks(StackName="s")["Stacks"]
        name = stack["Outputs"][0]["OutputValue"]
        (alarm,) = session.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        assert name.startswith("s-DlqNotEmpty-")
        assert alarm["Dimensions"][0]["Value"].startswith("s-Dlq-")
        assert (alarm["Period"], alarm["TreatMissingData"]) == (10, "notBreaching")
        cloudformation.delete_stack(StackName="s")
        assert not session.client("cloudwatch").describe_alarms()["MetricAlarms"]
