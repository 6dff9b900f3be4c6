"""The CloudWatch metrics source (gameday/measure/sources.py) against moto in-process, with the
embedded backend's metric store: the answers the probes and the timeline read."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from gameday.measure.sources import LAG_S, CloudWatchSource
from gameday.stack import metric_store
from system_under_test import telemetry as cw


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    metric_store.install()
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def _publish(cloudwatch: Any, telemetry: cw.Telemetry, seconds_ago: float) -> None:
    data = cw.metric_data(telemetry.drain())
    stamp = datetime.fromtimestamp(time.time() - seconds_ago, tz=UTC)
    for datum in data:
        datum["Timestamp"] = stamp
    cloudwatch.put_metric_data(Namespace=cw.NAMESPACE, MetricData=data)


def test_the_api_window_circuits_and_workers(cloudwatch: Any) -> None:
    api = cw.Telemetry("api", "api")
    for ms in [20.0] * 98 + [400.0, 900.0]:
        api.observe_ms(cw.INGEST_LATENCY, ms)
    api.count(cw.RESPONSES, 98, status="202")
    api.count(cw.RESPONSES, 2, status="503")
    api.gauge(cw.CIRCUIT_STATE, lambda: 0, circuit="sqs_publish")
    _publish(cloudwatch, api, seconds_ago=LAG_S + 1)
    for name, state in (("worker-1", 1), ("worker-2", 0)):
        worker = cw.Telemetry("worker", name)
        worker.gauge(cw.CIRCUIT_STATE, lambda s=state: s, circuit="downstream")  # type: ignore[misc]
        _publish(cloudwatch, worker, seconds_ago=LAG_S + 1)
    gone = cw.Telemetry("worker", "worker-0")  # stopped publishing a minute ago
    gone.gauge(cw.CIRCUIT_STATE, lambda: 0, circuit="downstream")
    _publish(cloudwatch, gone, seconds_ago=60)

    source = CloudWatchSource(cloudwatch, cw.NAMESPACE)
    window = source.over_last(5)
    assert window["requests"] == 100 and window["rps"] == 20.0
    assert window["byStatus"] == {"202": 98, "503": 2} and window["errorRate"] == 0.02
    assert (window["p50Ms"], window["p99Ms"]) == (20.0, 400.0)
    assert source.circuits() == {"sqs_publish": "closed", "downstream": "open"}
    assert source.workers() == {"worker-1": {"circuit": "open"}, "worker-2": {"circuit": "closed"}}


def test_receives_while_open_are_counted_per_worker_in_the_window(cloudwatch: Any) -> None:
    worker = cw.Telemetry("worker", "worker-1")
    worker.count(cw.RECEIVE_CALLS_WHILE_OPEN, 3, instance="worker-1")
    _publish(cloudwatch, worker, seconds_ago=2)
    source = CloudWatchSource(cloudwatch, cw.NAMESPACE)
    now = time.time()
    assert source.receives_while_open(now - 4, now) == {"worker-1": 3.0}
    assert source.receives_while_open(now - 30, now - 10) == {"worker-1": 0.0}


def test_no_data_is_no_answer_never_a_healthy_one(cloudwatch: Any) -> None:
    source = CloudWatchSource(cloudwatch, cw.NAMESPACE)
    assert source.over_last(5) == {}
    assert source.circuits() == {}
    assert source.workers() == {}
