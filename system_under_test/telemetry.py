"""The system's own CloudWatch metrics: one namespace, the same names on both targets.

Locally each process aggregates what happened and a daemon thread sends it with one
``PutMetricData`` call every ``SUT_METRICS_FLUSH_SECONDS`` (high resolution, so
alarms and probes see a breach within seconds). As Lambda, the same aggregate is
written at the end of each invocation as Embedded Metric Format through Powertools
Metrics, which CloudWatch Logs turns into the same metrics. Memory is bounded: an
aggregate holds one number per metric and dimension set, and latencies are kept
as whole milliseconds with a count each.

Every metric carries ``service`` (api, worker, downstream), as Powertools adds it;
per-instance metrics add ``instance`` (the local part's name, or the Lambda log
stream). The Prometheus ``/metrics`` endpoints stay for local scraping.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

NAMESPACE = "Gameday/Orders"
COUNT, MILLISECONDS, NONE = "Count", "Milliseconds", "None"
#: PutMetricData takes at most 1,000 datums, and 150 distinct values per datum.
MAX_DATUMS, MAX_VALUES = 1000, 150

# The metric names, spelled once (the harness reads them through `names()`).
ACCEPTED = "Accepted"
RESPONSES = "Responses"  # every POST /events answer, dimension status
SERVER_ERRORS = "ServerErrors"  # its 5xx answers (the API 5xx alarm)
REJECTED = "Rejected"  # dimension code
PUBLISH_FAILURES = "PublishFailures"
INGEST_LATENCY = "IngestLatency"  # ms, POST /events (the ingest p99 alarm)
MESSAGES = "Messages"  # worker outcomes, dimension outcome
WORKER_ERRORS = "WorkerErrors"  # retried or dead-lettered messages (the worker errors alarm)
RECEIVE_CALLS = "ReceiveCalls"  # per instance
RECEIVE_CALLS_WHILE_OPEN = "ReceiveCallsWhileOpen"  # per instance: should stay 0
CIRCUIT_STATE = "CircuitState"  # per instance and circuit: 0 closed, 1 open, 2 half-open
EFFECTS_APPLIED = "EffectsApplied"

logger = Logger(service="telemetry")

Key = tuple[str, tuple[tuple[str, str], ...]]  # metric name, sorted dimensions


@dataclass
class Aggregate:
    """What one process measured since the last flush."""

    counts: dict[Key, float] = field(default_factory=dict)
    latencies: dict[Key, Counter[int]] = field(default_factory=dict)
    gauges: dict[Key, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.counts or self.latencies or self.gauges)


class Telemetry:
    """Thread-safe counters, latencies and gauges of one process, drained by a flusher."""

    def __init__(self, service: str, instance: str = "") -> None:
        self.service = service
        self.instance = instance or f"{socket.gethostname()}-{os.getpid()}"
        self._lock = threading.Lock()
        self._pending = Aggregate()
        self._gauges: dict[Key, Callable[[], float]] = {}

    def _key(self, name: str, dimensions: dict[str, str]) -> Key:
        return name, tuple(sorted({"service": self.service, **dimensions}.items()))

    def count(self, name: str, value: float = 1.0, **dimensions: str) -> None:
        key = self._key(name, dimensions)
        with self._lock:
            self._pending.counts[key] = self._pending.counts.get(key, 0.0) + value

    def observe_ms(self, name: str, milliseconds: float, **dimensions: str) -> None:
        key = self._key(name, dimensions)
        with self._lock:
            self._pending.latencies.setdefault(key, Counter())[round(milliseconds)] += 1

    def gauge(self, name: str, read: Callable[[], float], **dimensions: str) -> None:
        """A value read at every flush (a circuit's state), for this instance."""
        self._gauges[self._key(name, {"instance": self.instance, **dimensions})] = read

    def drain(self) -> Aggregate:
        with self._lock:
            drained, self._pending = self._pending, Aggregate()
        for key, read in self._gauges.items():
            try:
                drained.gauges[key] = float(read())
            except Exception as exc:  # a gauge must not stop the others
                logger.warning("gauge failed", extra={"metric": key[0], "error": repr(exc)})
        return drained


def metric_data(aggregate: Aggregate) -> list[dict[str, Any]]:
    """The aggregate as PutMetricData's ``MetricData`` (high resolution)."""

    def datum(key: Key, unit: str, **value: Any) -> dict[str, Any]:
        name, dimensions = key
        return {
            "MetricName": name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions],
            "Unit": unit,
            "StorageResolution": 1,
            **value,
        }

    data = [datum(k, COUNT, Value=v) for k, v in aggregate.counts.items()]
    data += [datum(k, NONE, Value=v) for k, v in aggregate.gauges.items()]
    for key, counter in aggregate.latencies.items():
        values = sorted(counter.items())
        for start in range(0, len(values), MAX_VALUES):
            chunk = values[start : start + MAX_VALUES]
            data.append(
                datum(
                    key,
                    MILLISECONDS,
                    Values=[float(v) for v, _ in chunk],
                    Counts=[float(c) for _, c in chunk],
                )
            )
    return data


class CloudWatchPublisher:
    """Sends a process's aggregate every ``interval`` seconds (a daemon thread).

    A failed send drops that interval's aggregate (logged), so an unreachable
    CloudWatch never grows the process's memory or blocks a request.
    """

    def __init__(
        self, telemetry: Telemetry, cloudwatch: Callable[[], Any], namespace: str, interval: float
    ) -> None:
        """``cloudwatch`` makes the client, now: at startup, before the server freezes its
        startup heap (made later, a boto3 client's many objects are walked by every full
        collection under load: request pauses)."""
        self.telemetry = telemetry
        self._cloudwatch = cloudwatch()
        self.namespace, self.interval = namespace, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)
        self.failures = 0

    def start(self) -> CloudWatchPublisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        self.flush()  # what the last interval measured

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        data = metric_data(self.telemetry.drain())
        for start in range(0, len(data), MAX_DATUMS):
            try:
                self._cloudwatch.put_metric_data(
                    Namespace=self.namespace, MetricData=data[start : start + MAX_DATUMS]
                )
            except Exception as exc:
                self.failures += 1
                if self.failures == 1 or self.failures % 60 == 0:
                    logger.warning(
                        "metrics not sent", extra={"failures": self.failures, "error": repr(exc)}
                    )


def emit_emf(aggregate: Aggregate, namespace: str) -> None:
    """The aggregate as Embedded Metric Format on stdout (Lambda), through Powertools."""
    from aws_lambda_powertools.metrics import MetricResolution, MetricUnit, single_metric

    units = {COUNT: MetricUnit.Count, MILLISECONDS: MetricUnit.Milliseconds}

    def values() -> Iterator[tuple[Key, str, float]]:
        yield from ((k, COUNT, v) for k, v in aggregate.counts.items())
        yield from ((k, NONE, v) for k, v in aggregate.gauges.items())
        for key, counter in aggregate.latencies.items():
            for value, times in counter.items():
                yield from ((key, MILLISECONDS, float(value)) for _ in range(times))

    for (name, dimensions), unit, value in values():
        dims = dict(dimensions)
        with single_metric(
            name=name,
            unit=units.get(unit, MetricUnit.NoUnit),
            value=value,
            resolution=MetricResolution.High,
            namespace=namespace,
            default_dimensions=dims,
        ):
            pass


def lambda_instance() -> str:
    """A Lambda instance's name for the instance dimension: its log stream."""
    return os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")


@contextmanager
def emf_after(telemetry: Telemetry, namespace: str) -> Iterator[None]:
    """Around one Lambda invocation: its metrics, as EMF, however it ends."""
    try:
        yield
    finally:
        emit_emf(telemetry.drain(), namespace)


def local_publisher(
    telemetry: Telemetry, namespace: str, interval: float, client: Callable[[], Any]
) -> CloudWatchPublisher | None:
    """The running publisher of a local process, or None when metrics are switched off (0)."""
    if interval <= 0:
        return None
    return CloudWatchPublisher(telemetry, client, namespace, interval).start()
