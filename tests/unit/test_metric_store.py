"""The embedded backend's metric store (gameday/stack/metric_store.py) through boto3, in-process:
percentiles in GetMetricData, exact dimensions, and ListMetrics listing each metric once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gameday.stack import metric_store

NS = "Gameday/Orders"


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    metric_store.install()
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def _put(cloudwatch: Any, name: str, values: list[float], **dims: str) -> None:
    cloudwatch.put_metric_data(
        Namespace=NS,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Values": values,
                "Unit": "Milliseconds",
                "StorageResolution": 1,
            }
        ],
    )


def _get(cloudwatch: Any, name: str, stat: str, **dims: str) -> list[float]:
    now = datetime.now(tz=UTC)
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "q",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NS,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - timedelta(seconds=30),
        EndTime=now + timedelta(seconds=30),
    )
    return list(result["MetricDataResults"][0]["Values"])


def test_percentiles_are_answered_by_nearest_rank(cloudwatch: Any) -> None:
    _put(cloudwatch, "IngestLatency", [float(v) for v in range(1, 101)], service="api")
    assert _get(cloudwatch, "IngestLatency", "p99", service="api") == [99.0]
    assert _get(cloudwatch, "IngestLatency", "p50", service="api") == [50.0]
    assert _get(cloudwatch, "IngestLatency", "Sum", service="api") == [5050.0]


def test_dimensions_match_exactly_as_on_aws(cloudwatch: Any) -> None:
    _put(cloudwatch, "Responses", [1.0], service="api", status="202")
    _put(cloudwatch, "Responses", [1.0, 1.0], service="api", status="503")
    assert _get(cloudwatch, "Responses", "Sum", service="api", status="503") == [2.0]
    assert _get(cloudwatch, "Responses", "Sum", service="api") == []  # no such dimension set


def test_list_metrics_lists_each_metric_once(cloudwatch: Any) -> None:
    for _ in range(5):
        _put(cloudwatch, "CircuitState", [0.0], service="worker", instance="worker-1")
        _put(cloudwatch, "CircuitState", [0.0], service="worker", instance="worker-2")
    _put(cloudwatch, "Accepted", [1.0], service="api")
    listed = cloudwatch.list_metrics(Namespace=NS, MetricName="CircuitState")["Metrics"]
    assert sorted(
        d["Value"] for m in listed for d in m["Dimensions"] if d["Name"] == "instance"
    ) == [
        "worker-1",
        "worker-2",
    ]
    by_service = cloudwatch.list_metrics(
        Namespace=NS, Dimensions=[{"Name": "service", "Value": "api"}]
    )["Metrics"]
    assert [m["MetricName"] for m in by_service] == ["Accepted"]
