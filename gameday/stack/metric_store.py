"""CloudWatch's metric store in the embedded backend: indexed, and with percentiles.

moto keeps every datum in one list, scans all of it for each GetMetricData query,
and computes only Sum, Average, Minimum, Maximum and SampleCount. The reference
system publishes dozens of datums a second, and the harness's CloudWatch source
and the alarms ask for p99, so in the backend process:

- each CloudWatch backend's list also indexes its datums by (namespace, name);
- ListMetrics lists each metric once (moto lists a metric once per datum, and
  scans every datum to do it);
- GetMetricData requests made only of ``MetricStat`` queries are answered from
  that index, with every statistic the alarms know (``alarms.statistic``,
  percentiles by nearest rank). Dimensions match exactly, as on AWS (moto
  ignores the namespace once dimensions are given). Metric math and Metrics
  Insights queries still go to moto. Like the SQS fast path, it refuses a moto
  it was not checked against.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch.exceptions import ValidationError

from gameday.stack import alarms
from gameday.stack.sqs_fastpath import check_supported

_installed = threading.Event()


class IndexedMetricData(list):  # type: ignore[type-arg]
    """moto's list of datums, plus an index by (namespace, metric name) kept in time order
    (a query reads only its window), and each metric's first datum per dimension set (what
    ListMetrics lists)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_name: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
        self.metrics: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}

    def append(self, datum: Any) -> None:
        super().append(datum)
        # datums mostly arrive in time order: inserting at the end costs a comparison
        bisect.insort(self.by_name[(datum.namespace, datum.name)], datum, key=_at)
        dimensions = tuple(sorted((d.name, d.value) for d in datum.dimensions))
        self.metrics.setdefault((datum.namespace, datum.name, dimensions), datum)


def _at(datum: Any) -> float:
    return epoch(datum.timestamp)


def epoch(moment: datetime) -> float:
    """moto keeps naive UTC datetimes; requests arrive aware."""
    return moment.replace(tzinfo=moment.tzinfo or UTC).timestamp()


def samples(
    store: Any, namespace: str, name: str, dimensions: list[tuple[str, str]], since: float
) -> list[tuple[float, float]]:
    """(epoch seconds, value) of one metric with exactly these dimensions, from ``since``."""
    if hasattr(store, "by_name"):
        ordered = store.by_name.get((namespace, name), [])
        datums = ordered[bisect.bisect_left(ordered, since, key=_at) :]
    else:
        datums = list(store)
    wanted = sorted(dimensions)
    found = []
    for datum in datums:
        if datum.namespace != namespace or datum.name != name:
            continue
        if sorted((d.name, d.value) for d in datum.dimensions) != wanted:
            continue
        at = epoch(datum.timestamp)
        if at < since:
            continue
        if isinstance(datum, cloudwatch_models.MetricDatum):
            found.append((at, float(datum.value)))
        elif isinstance(datum, cloudwatch_models.MetricAggregatedDatum) and datum.sample_count:
            found.append((at, float(datum.sum) / float(datum.sample_count)))
    return found


def _answer(
    backend: Any, query: dict[str, Any], start: float, end: float, newest_first: bool
) -> dict[str, Any]:
    stat = query["MetricStat"]
    metric = stat["Metric"]
    period = int(stat["Period"])
    dimensions = [(d["Name"], d["Value"]) for d in metric.get("Dimensions", [])]
    buckets: dict[int, list[float]] = {}
    for at, value in samples(
        backend.metric_data, metric["Namespace"], metric["MetricName"], dimensions, start
    ):
        if at < end:
            buckets.setdefault(int((at - start) // period), []).append(value)
    try:
        values = [(index, alarms.statistic(stat["Stat"], buckets[index])) for index in buckets]
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    values.sort(reverse=newest_first)
    return {
        "id": query["Id"],
        "label": query.get("Label") or f"{metric['MetricName']} {stat['Stat']}",
        "values": [value for _, value in values],
        "timestamps": [
            datetime.fromtimestamp(start + index * period, tz=UTC).replace(tzinfo=None)
            for index, _ in values
        ],
        "status_code": "Complete",
    }


def install() -> None:
    """Patch this process's moto. Idempotent."""
    if _installed.is_set():
        return
    check_supported()
    backend_class = cloudwatch_models.CloudWatchBackend
    original_init = backend_class.__init__
    original_get = backend_class.get_metric_data
    original_filtered = backend_class.get_filtered_metrics

    def __init__(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        self.metric_data = IndexedMetricData()

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if not isinstance(self.metric_data, IndexedMetricData) or any(
            "MetricStat" not in q for q in queries
        ):
            return original_get(self, queries, start_time, end_time, scan_by)  # type: ignore[no-any-return]
        start, end = (
            epoch(start_time.replace(microsecond=0)),
            epoch(end_time.replace(microsecond=0)),
        )
        if start >= end:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        newest_first = scan_by == "TimestampDescending"
        return [
            _answer(self, q, start, end, newest_first)
            for q in queries
            if q.get("ReturnData", True) not in (False, "false")
        ]

    def get_filtered_metrics(
        self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[Any]:
        if not isinstance(self.metric_data, IndexedMetricData):
            return original_filtered(self, metric_name, namespace, dimensions)  # type: ignore[no-any-return]
        wanted = [(d["Name"], d.get("Value")) for d in dimensions or []]
        found = [
            datum
            for (ns, name, dims), datum in list(self.metric_data.metrics.items())
            if (not namespace or ns == namespace)
            and (not metric_name or name == metric_name)
            and all(any(n == k and v in (None, value) for k, value in dims) for n, v in wanted)
        ]
        return found + [  # the metrics other services provide (moto computes them per call)
            m
            for m in self.aws_metric_data
            if m.filter(namespace=namespace, name=metric_name, dimensions=dimensions)
        ]

    backend_class.__init__ = __init__  # type: ignore[method-assign]
    backend_class.get_filtered_metrics = get_filtered_metrics  # type: ignore[method-assign]
    backend_class.get_metric_data = get_metric_data  # type: ignore[method-assign]
    _installed.set()
