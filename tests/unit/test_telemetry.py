"""The system's CloudWatch metrics before they leave the process: aggregated, batched, and as
Embedded Metric Format on Lambda (system_under_test/telemetry.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from system_under_test import telemetry as cw


def test_counts_and_latencies_are_aggregated_per_dimension_set() -> None:
    telemetry = cw.Telemetry("api", "api-1")
    for _ in range(3):
        telemetry.count(cw.RESPONSES, status="202")
    telemetry.count(cw.RESPONSES, status="503")
    for ms in (10.2, 9.8, 250.0):
        telemetry.observe_ms(cw.INGEST_LATENCY, ms)
    telemetry.gauge(cw.CIRCUIT_STATE, lambda: 1, circuit="sqs_publish")
    data = {
        (d["MetricName"], tuple((x["Name"], x["Value"]) for x in d["Dimensions"])): d
        for d in cw.metric_data(telemetry.drain())
    }
    assert data[(cw.RESPONSES, (("service", "api"), ("status", "202")))]["Value"] == 3
    assert data[(cw.RESPONSES, (("service", "api"), ("status", "503")))]["Value"] == 1
    latency = data[(cw.INGEST_LATENCY, (("service", "api"),))]
    assert (latency["Values"], latency["Counts"]) == ([10.0, 250.0], [2.0, 1.0])
    circuit = (("circuit", "sqs_publish"), ("instance", "api-1"), ("service", "api"))
    assert data[(cw.CIRCUIT_STATE, circuit)]["Value"] == 1.0
    assert all(d["StorageResolution"] == 1 for d in data.values())
    drained_again = cw.metric_data(telemetry.drain())
    assert [d["MetricName"] for d in drained_again] == [cw.CIRCUIT_STATE]  # gauges only


def test_many_distinct_latencies_are_split_at_150_values_per_datum() -> None:
    telemetry = cw.Telemetry("api")
    for ms in range(400):
        telemetry.observe_ms(cw.INGEST_LATENCY, ms)
    chunks = cw.metric_data(telemetry.drain())
    assert [len(d["Values"]) for d in chunks] == [150, 150, 100]


class _Refusing:
    def put_metric_data(self, **_: Any) -> None:
        raise ConnectionError("CloudWatch is away")


def test_a_failed_send_drops_that_interval_and_keeps_nothing() -> None:
    telemetry = cw.Telemetry("worker")
    publisher = cw.CloudWatchPublisher(telemetry, _Refusing, cw.NAMESPACE, interval=60)
    telemetry.count(cw.MESSAGES, outcome="handled")
    publisher.flush()
    assert publisher.failures == 1
    assert not telemetry.drain()  # bounded: what failed is not retried or kept


def test_on_lambda_the_metrics_are_embedded_metric_format_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    telemetry = cw.Telemetry("worker", "2026/12/02/[$LATEST]abc")
    telemetry.count(cw.WORKER_ERRORS, 2)
    cw.emit_emf(telemetry.drain(), cw.NAMESPACE)
    (line,) = [json.loads(out) for out in capsys.readouterr().out.splitlines() if out]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == cw.NAMESPACE
    assert directive["Metrics"][0]["Name"] == cw.WORKER_ERRORS
    assert line[cw.WORKER_ERRORS] == [2.0] and line["service"] == "worker"
