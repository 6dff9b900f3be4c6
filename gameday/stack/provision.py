"""Create the reference system's AWS resources, through boto3 only.

Idempotent: every step first looks for what it would create, so running it
again (or against an account that already has the resources) changes nothing
but drifted queue attributes. The same code provisions a real account.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gameday.errors import HarnessError
from gameday.settings import Settings
from system_under_test.telemetry import INGEST_LATENCY, SERVER_ERRORS, WORKER_ERRORS

#: The structured fault document when no fault is active.
NO_FAULT: dict[str, Any] = {"mode": "none", "expiresAt": None}


@dataclass(frozen=True)
class Resources:
    """What provisioning made, as the state file and other commands see it."""

    queue_url: str
    queue_arn: str
    dlq_url: str
    dlq_arn: str
    idempotency_table: str
    rate_limit_table: str
    ledger_table: str
    effects_table: str
    failure_mode_parameter: str
    fault_parameter: str
    dlq_alarm: str
    api_errors_alarm: str
    worker_errors_alarm: str
    ingest_latency_alarm: str
    metrics_namespace: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def provision(session: Any, settings: Settings, *, redrive: bool = True) -> Resources:
    """Create (or find) queues, tables, parameters and alarms; returns where they are.

    ``redrive=False`` leaves the orders queue without its redrive policy: only the
    ``no-redrive-policy`` variant asks for that.
    """
    try:
        sqs = session.client("sqs")
        dynamodb = session.client("dynamodb")
        ssm = session.client("ssm")
        dlq_url, dlq_arn = _queue(
            sqs,
            settings.dlq_name,
            {"MessageRetentionPeriod": str(settings.dlq_retention_seconds)},
        )
        policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
        attributes = {"VisibilityTimeout": str(settings.visibility_timeout_seconds)}
        if redrive:
            attributes["RedrivePolicy"] = json.dumps(policy)
        queue_url, queue_arn = _queue(sqs, settings.queue_name, attributes)
        for table in (settings.idempotency_table, settings.rate_limit_table):
            _table(dynamodb, table, settings.table_key, ttl_attribute=settings.ttl_attribute)
        for table in (settings.ledger_table, settings.effects_table):
            _table(dynamodb, table, settings.table_key, ttl_attribute=None)
        _parameter(ssm, settings.failure_mode_parameter, "none")
        _parameter(ssm, settings.fault_parameter, json.dumps(NO_FAULT))
        cloudwatch = session.client("cloudwatch")
        for alarm in alarms(settings):
            cloudwatch.put_metric_alarm(**alarm)
    except (ClientError, BotoCoreError) as exc:
        raise HarnessError(
            f"provisioning failed: {exc}",
            "check AWS_ENDPOINT_URL, the region and the credentials",
        ) from None
    return Resources(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        idempotency_table=settings.idempotency_table,
        rate_limit_table=settings.rate_limit_table,
        ledger_table=settings.ledger_table,
        effects_table=settings.effects_table,
        failure_mode_parameter=settings.failure_mode_parameter,
        fault_parameter=settings.fault_parameter,
        dlq_alarm=settings.dlq_alarm,
        api_errors_alarm=settings.api_errors_alarm,
        worker_errors_alarm=settings.worker_errors_alarm,
        ingest_latency_alarm=settings.ingest_latency_alarm,
        metrics_namespace=settings.metrics_namespace,
    )


#: The stack's alarms by role (Resources fields); experiments and stop conditions name them so.
ALARM_ROLES = ("dlq_alarm", "api_errors_alarm", "worker_errors_alarm", "ingest_latency_alarm")
#: The alarms' objectives, as the template's (ingest p99 is the ingest-latency SLO's 250 ms).
API_5XX_PER_PERIOD = 5
WORKER_ERRORS_PER_PERIOD = 10
INGEST_P99_MS = 250


def alarms(settings: Settings) -> list[dict[str, Any]]:
    """The stack's CloudWatch alarms (PutMetricAlarm; template.yaml declares the same)."""
    period, namespace = settings.alarm_period_seconds, settings.metrics_namespace

    def alarm(name: str, description: str, threshold: float, **metric: Any) -> dict[str, Any]:
        return {
            "AlarmName": name,
            "AlarmDescription": description,
            **metric,
            "Period": period,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "Threshold": float(threshold),
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "Tags": [{"Key": "gameday:system", "Value": "reference"}],
        }

    def ours(service: str, name: str) -> dict[str, Any]:
        dimensions = [{"Name": "service", "Value": service}]
        return {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions}

    return [
        alarm(
            settings.dlq_alarm,
            "A message reached the orders DLQ: poison, or a healthy order lost",
            0,
            Namespace="AWS/SQS",
            MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": settings.dlq_name}],
            Statistic="Maximum",
        ),
        alarm(
            settings.api_errors_alarm,
            "The API answered POST /events with 5xx: orders were refused",
            API_5XX_PER_PERIOD,
            **ours("api", SERVER_ERRORS),
            Statistic="Sum",
        ),
        alarm(
            settings.worker_errors_alarm,
            "Workers failed messages (retried or dead-lettered)",
            WORKER_ERRORS_PER_PERIOD,
            **ours("worker", WORKER_ERRORS),
            Statistic="Sum",
        ),
        alarm(
            settings.ingest_latency_alarm,
            "POST /events p99 latency is over the ingest-latency objective",
            INGEST_P99_MS,
            **ours("api", INGEST_LATENCY),
            ExtendedStatistic="p99",
        ),
    ]


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as exc:
        if not _is_missing_queue(exc):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    else:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))
        drifted = {
            key: value
            for key, value in attributes.items()
            if not _same_attribute(key, current.get("Attributes", {}).get(key), value)
        }
        if drifted:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=drifted)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _same_attribute(key: str, current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if key == "RedrivePolicy":
        have, want = json.loads(current), json.loads(wanted)
        return bool(
            have.get("deadLetterTargetArn") == want["deadLetterTargetArn"]
            and int(have.get("maxReceiveCount", -1)) == int(want["maxReceiveCount"])
        )
    return current == wanted


def _is_missing_queue(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def _table(dynamodb: Any, name: str, key: str, ttl_attribute: str | None) -> None:
    try:
        dynamodb.describe_table(TableName=name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    if ttl_attribute is None:
        return
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
    )


def _parameter(ssm: Any, name: str, value: str) -> None:
    """Create the parameter when missing; never reset a fault that is switched on."""
    try:
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=False)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ParameterAlreadyExists":
            raise
