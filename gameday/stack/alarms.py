"""CloudWatch alarms that change state in the embedded backend, as they do on AWS.

moto stores metrics and alarms but never evaluates an alarm, so a probe of an
alarm's state, or a guardrail on it, could never see ALARM offline. This thread
in the backend process does two of CloudWatch's jobs every second:

- it publishes the AWS/SQS queue-depth metrics AWS publishes for every queue
  (``ApproximateNumberOfMessagesVisible`` and ``...NotVisible``, dimension
  ``QueueName``), every ``SQS_METRICS_EVERY_S``;
- it evaluates every metric alarm: the statistic of each period (aligned to the
  period, as CloudWatch aggregates), the last ``EvaluationPeriods`` of them,
  ``DatapointsToAlarm`` breaching ones to alarm, the comparison, and
  ``TreatMissingData``; the state changes through moto's own ``set_alarm_state``.

Documented simplifications: the evaluation range ends at the current period when
it has data (so a breach is seen within a second, not after the period closes),
else at the previous one; with ``missing``, a range with some data is judged on
the datapoints it has (AWS may look further back); metric-math, composite and
anomaly-detection alarms are left as they are.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EVALUATE_EVERY_S = 1.0
SQS_METRICS_EVERY_S = 5.0
ALARM, OK, INSUFFICIENT = "ALARM", "OK", "INSUFFICIENT_DATA"
_COMPARE = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}


@dataclass(frozen=True)
class Rule:
    """What an alarm compares, as PutMetricAlarm describes it."""

    statistic: str  # Sum, Average, Minimum, Maximum, SampleCount, or pNN(.N)
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    comparison: str
    threshold: float
    treat_missing_data: str = "missing"

    @classmethod
    def of(cls, alarm: Any) -> Rule | None:
        """The rule of a moto alarm, or None for kinds this evaluator leaves alone."""
        if alarm.metric_data_queries or alarm.rule or alarm.comparison_operator not in _COMPARE:
            return None
        return cls(
            statistic=alarm.extended_statistic or alarm.statistic,
            period=int(alarm.period),
            evaluation_periods=int(alarm.evaluation_periods),
            datapoints_to_alarm=int(alarm.datapoints_to_alarm or alarm.evaluation_periods),
            comparison=alarm.comparison_operator,
            threshold=float(alarm.threshold),
            treat_missing_data=alarm.treat_missing_data or "missing",
        )


def statistic(name: str, values: list[float]) -> float:
    """One period's statistic over its samples (``values`` is never empty)."""
    if name == "Sum":
        return sum(values)
    if name == "Average":
        return sum(values) / len(values)
    if name == "Minimum":
        return min(values)
    if name == "Maximum":
        return max(values)
    if name == "SampleCount":
        return float(len(values))
    if name.startswith("p"):  # nearest rank, as CloudWatch's percentiles on raw samples
        ordered = sorted(values)
        rank = math.ceil(float(name[1:]) / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]
    raise ValueError(f"unknown statistic {name}")


def evaluate(rule: Rule, samples: Iterable[tuple[float, float]], now: float, current: str) -> str:
    """The state an alarm should be in at ``now``, given (epoch seconds, value) samples."""
    buckets: dict[int, list[float]] = {}
    for at, value in samples:
        buckets.setdefault(int(at // rule.period), []).append(value)
    newest = int(now // rule.period)
    if newest not in buckets:
        newest -= 1  # the current period has no data yet: judge the ones that closed
    window = range(newest - rule.evaluation_periods + 1, newest + 1)
    breaching = missing = 0
    for bucket in window:
        if bucket not in buckets:
            missing += 1
        elif _COMPARE[rule.comparison](statistic(rule.statistic, buckets[bucket]), rule.threshold):
            breaching += 1
    treatment = rule.treat_missing_data
    if treatment == "breaching":
        breaching += missing
    elif missing == rule.evaluation_periods and treatment != "notBreaching":
        return current if treatment == "ignore" else INSUFFICIENT
    return ALARM if breaching >= rule.datapoints_to_alarm else OK


# -- inside the backend process -----------------------------------------------------------------
def _backends(service: str) -> Iterator[Any]:
    from moto.backends import get_backend

    for regions in list(get_backend(service).values()):  # type: ignore[call-overload]
        yield from list(regions.values())


def _samples(backend: Any, alarm: Any, since: float) -> list[tuple[float, float]]:
    from gameday.stack.metric_store import samples

    dimensions = [(d.name, d.value) for d in alarm.dimensions]
    return samples(backend.metric_data, alarm.namespace, alarm.metric_name, dimensions, since)


def evaluate_all(now: float | None = None) -> None:
    """One pass over every account's and region's metric alarms."""
    now = time.time() if now is None else now
    for backend in _backends("cloudwatch"):
        for alarm in list(backend.alarms.values()):
            rule = Rule.of(alarm)
            if rule is None:
                continue
            since = now - rule.period * (rule.evaluation_periods + 1)
            state = evaluate(rule, _samples(backend, alarm, since), now, alarm.state_value)
            if state != alarm.state_value:
                reason = (
                    f"Threshold Crossed: {rule.datapoints_to_alarm} out of the last "
                    f"{rule.evaluation_periods} datapoints were {rule.comparison} "
                    f"{rule.threshold:g} (evaluated by the gameday backend)"
                )
                alarm.update_state(reason, "{}", state)


def publish_sqs_metrics(now: float | None = None) -> None:
    """Queue depths as AWS/SQS metrics, as AWS publishes them for every queue."""
    from moto.cloudwatch.models import MetricDatum

    # naive UTC, as moto keeps its own timestamps
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC).replace(tzinfo=None)
    for sqs in _backends("sqs"):
        queues = list(sqs.queues.values())
        if not queues:
            continue
        cloudwatch = _cloudwatch_for(sqs)
        for queue in queues:
            dimensions = [{"Name": "QueueName", "Value": queue.name}]
            for name, value in (
                ("ApproximateNumberOfMessagesVisible", queue.approximate_number_of_messages),
                (
                    "ApproximateNumberOfMessagesNotVisible",
                    queue.approximate_number_of_messages_not_visible,
                ),
            ):
                cloudwatch.metric_data.append(
                    MetricDatum("AWS/SQS", name, float(value), dimensions, stamp, "Count")
                )


def _cloudwatch_for(sqs: Any) -> Any:
    from moto.backends import get_backend

    return get_backend("cloudwatch")[sqs.account_id][sqs.region_name]  # type: ignore[index]


def start(stop: threading.Event | None = None) -> threading.Thread:
    """The evaluator as a daemon thread of the backend process."""
    stop = stop or threading.Event()

    def loop() -> None:
        published = 0.0
        while not stop.wait(EVALUATE_EVERY_S):
            try:
                if time.monotonic() - published >= SQS_METRICS_EVERY_S:
                    publish_sqs_metrics()
                    published = time.monotonic()
                evaluate_all()
            except Exception as exc:  # a bad alarm must not stop the others
                print(f"alarm evaluation failed: {exc!r}", flush=True)

    thread = threading.Thread(target=loop, name="alarm-evaluator", daemon=True)
    thread.start()
    return thread


def register_cloudformation_alarm() -> None:
    """Teach moto's CloudFormation ``AWS::CloudWatch::Alarm``, which it lacks, so the
    template's alarm is deployed by the stack, as on AWS (in the backend process only).

    moto lists its models from CloudFormationModel's subclasses on first use, so a
    subclass defined now is found then; importing moto's CloudFormation here instead
    would cost every backend start 1.6 s (it imports every service).
    """
    import sys

    from moto.core.common_models import CloudFormationModel

    def backend(account_id: str, region_name: str) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[account_id][region_name]

    class CloudFormationAlarm(CloudFormationModel):  # type: ignore[misc]
        def __init__(self, name: str) -> None:
            self.name = name

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @staticmethod
        def cloudformation_name_type() -> str:
            return "AlarmName"

        @property
        def physical_resource_id(self) -> str:  # what Ref answers: the alarm's name
            return self.name

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> CloudFormationAlarm:
            p = cloudformation_json["Properties"]
            backend(account_id, region_name).put_metric_alarm(
                name=resource_name,
                namespace=p.get("Namespace"),
                metric_name=p.get("MetricName"),
                comparison_operator=p["ComparisonOperator"],
                evaluation_periods=int(p["EvaluationPeriods"]),
                period=int(p.get("Period", 60)),
                threshold=float(p.get("Threshold", 0)),
                statistic=p.get("Statistic"),
                extended_statistic=p.get("ExtendedStatistic"),
                description=p.get("AlarmDescription", ""),
                dimensions=[
                    {"Name": d["Name"], "Value": d["Value"]} for d in p.get("Dimensions", [])
                ],
                alarm_actions=p.get("AlarmActions", []),
                ok_actions=p.get("OKActions", []),
                datapoints_to_alarm=p.get("DatapointsToAlarm"),
                unit=p.get("Unit"),
                treat_missing_data=p.get("TreatMissingData"),
                tags=p.get("Tags", []),
            )
            return cls(resource_name)

        @classmethod
        def delete_from_cloudformation_json(  # type: ignore[override]
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            backend(account_id, region_name).delete_alarms([resource_name])

    parsing = sys.modules.get("moto.cloudformation.parsing")
    if parsing is not None:  # already listed its models: have it list them again
        for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
            cached.cache_clear()
