"""Where the harness reads the system's own metrics: each process's /metrics, or CloudWatch.

The timeline sampler, the circuit and consumption probes and the live guardrails
ask the same questions of either source:

- ``ScrapeSource`` scrapes each local process's Prometheus ``/metrics`` (no AWS
  call): exact and immediate, but only for processes we run.
- ``CloudWatchSource`` reads what the system publishes to CloudWatch
  (``system_under_test/telemetry.py``) with ``GetMetricData``: the same answers
  for Lambda instances on AWS and for local processes. Its view trails the
  system by about one publishing interval (``LAG_S``).

The stack chooses (``choose``): a deployed stack (`gameday target`) and the offline
proof of one (`gameday up --from-template`) read CloudWatch, a plain local stack
scrapes; ``GAMEDAY_METRICS_SOURCE`` overrides.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gameday.errors import HarnessError
from gameday.settings import ENV_METRICS_SOURCE
from gameday.stack.state import aws_client
from system_under_test import telemetry as cw
from system_under_test.circuit import STATE_NAME

SCRAPE, CLOUDWATCH = "scrape", "cloudwatch"
SOURCES = (SCRAPE, CLOUDWATCH)
#: How far CloudWatch's view trails the system: one publishing interval, plus a margin.
LAG_S = 1.5
#: An instance that published nothing for this long has stopped (or was never there).
ALIVE_WITHIN_S = 5.0
#: At most this many instances (dimension sets) of one metric are read.
MAX_DIMENSION_SETS = 2000
#: The window of each CloudWatch timeline sample (one second holds too few requests).
SAMPLE_WINDOW_S = 5.0
#: How far back `over_last` can look: the API scrapes of the last 15 minutes.
WINDOW_SCRAPES = 900
_WORST = ["closed", "half_open", "open"]


class MetricsSource(Protocol):
    name: str

    def sample(self) -> dict[str, Any]:
        """Now: {"circuits": {name: worst state}, "fault": mode, "api": recent window}."""
        ...

    def over_last(self, seconds: float) -> dict[str, Any]:
        """The API's requests, rate, statuses, error rate and p50/p95/p99 over ``seconds``."""
        ...

    def circuits(self) -> dict[str, str]:
        """Each circuit breaker's worst state across the live processes or instances."""
        ...

    def workers(self) -> dict[str, dict[str, Any]]:
        """Each live worker: {"circuit": state}, plus cumulative "receives" and "opened" when
        scraped."""
        ...

    def close(self) -> None: ...


def choose(state: dict[str, Any], configured: str | None = None) -> str:
    """The source a stack's metrics are read from; a scrape of a deployed stack is refused."""
    if configured is None:
        configured = os.environ.get(ENV_METRICS_SOURCE, "")
    name = configured or state.get("metrics_source") or ""
    if not name:
        name = CLOUDWATCH if state.get("target") or state.get("stack") else SCRAPE
    if name not in SOURCES:
        raise HarnessError(
            f"GAMEDAY_METRICS_SOURCE={name!r} is not a metrics source",
            f"use one of: {', '.join(SOURCES)}",
        )
    if name == SCRAPE and state.get("target"):
        raise HarnessError(
            "a deployed stack has no /metrics to scrape (its API and workers run as Lambda)",
            f"use GAMEDAY_METRICS_SOURCE={CLOUDWATCH}, or leave it unset",
        )
    return name


def for_stack(state: dict[str, Any], configured: str | None = None) -> MetricsSource:
    if choose(state, configured) == CLOUDWATCH:
        return CloudWatchSource.for_stack(state)
    return ScrapeSource.for_stack(state)


# -- the local scrape ---------------------------------------------------------------------------
class ScrapeSource:
    name = SCRAPE

    def __init__(self, api_url: str, worker_urls: dict[str, str], timeout: float = 1.0) -> None:
        self._api, self._workers = api_url, worker_urls
        self._http = httpx.Client(timeout=timeout)
        self._scrapes: deque[dict[str, Any]] = deque(maxlen=WINDOW_SCRAPES)

    @classmethod
    def for_stack(cls, state: dict[str, Any]) -> ScrapeSource:
        parts = state["parts"]
        workers = {n: p["endpoint"] for n, p in parts.items() if n.startswith("worker-")}
        return cls(parts["api"]["endpoint"], workers)

    def sample(self) -> dict[str, Any]:
        api = self._scrape(self._api)
        circuits = self._with_workers(dict(api.get("circuits", {})))
        previous = self._scrapes[-1] if self._scrapes else None
        current = {"t": time.time(), **api}
        if api:
            self._scrapes.append(current)
        return {
            "circuits": circuits,
            "fault": api.get("fault", "unknown"),
            "api": api_between(previous, current),
        }

    def over_last(self, seconds: float) -> dict[str, Any]:
        scrapes = list(self._scrapes)
        if len(scrapes) < 2:  # a window needs two scrapes
            return {}
        latest = scrapes[-1]
        start = next(
            (s for s in reversed(scrapes[:-1]) if latest["t"] - s["t"] >= seconds), scrapes[0]
        )
        return api_between(start, latest)

    def circuits(self) -> dict[str, str]:
        return self._with_workers(dict(self._scrape(self._api).get("circuits", {})))

    def _with_workers(self, circuits: dict[str, str]) -> dict[str, str]:
        for worker in self.workers().values():
            circuits["downstream"] = worst(circuits.get("downstream"), worker["circuit"])
        return circuits

    def workers(self) -> dict[str, dict[str, Any]]:
        found = {}
        for name, url in self._workers.items():
            scraped = self._scrape(url)
            if scraped:
                found[name] = {
                    "circuit": scraped["circuits"].get("downstream", "unknown"),
                    "receives": scraped.get("receives", 0),
                    "opened": scraped.get("opened", 0),
                }
        return found

    def close(self) -> None:
        self._http.close()

    def _scrape(self, base_url: str) -> dict[str, Any]:
        try:
            text = self._http.get(base_url.rstrip("/") + "/metrics").text
        except httpx.HTTPError:
            return {}
        found: dict[str, Any] = {"circuits": {}, "by_status": {}, "buckets": {}}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name == "sut_circuit_state":
                    found["circuits"][s.labels["circuit"]] = STATE_NAME.get(int(s.value), "unknown")
                elif s.name == "sut_circuit_opened":
                    found["opened"] = int(s.value)
                elif s.name == "sut_worker_receive_calls":
                    found["receives"] = int(s.value)
                elif s.name == "sut_fault_active" and s.value == 1.0:
                    found["fault"] = s.labels["mode"]
                elif s.name == "sut_api_requests_total" and s.labels.get("route") == "/events":
                    found["by_status"][s.labels["status"]] = s.value
                elif (
                    s.name == "sut_api_request_seconds_bucket"
                    and s.labels.get("route") == "/events"
                ):
                    found["buckets"][float(s.labels["le"])] = s.value
        return found


def api_between(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """The API's rates and percentiles between two scrapes of its cumulative counters."""
    if previous is None or len(current) <= 1:
        return {}
    seconds = max(1e-6, current["t"] - previous["t"])
    by_status = {
        status: count - previous.get("by_status", {}).get(status, 0)
        for status, count in current.get("by_status", {}).items()
    }
    buckets = {
        le: count - previous.get("buckets", {}).get(le, 0)
        for le, count in sorted(current.get("buckets", {}).items())
    }
    return api_window(
        by_status,
        seconds,
        {
            name: _bucket_percentile(buckets, q)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
    )


def api_window(
    by_status: dict[str, float], seconds: float, percentiles: dict[str, float | None]
) -> dict[str, Any]:
    total = sum(by_status.values())
    errors = sum(v for k, v in by_status.items() if k.startswith("5"))
    window: dict[str, Any] = {
        "requests": total,
        "rps": round(total / seconds, 2),
        "byStatus": {k: v for k, v in by_status.items() if v},
        "errorRate": round(errors / total, 4) if total else 0.0,
    }
    for name, value in percentiles.items():
        window[f"{name}Ms"] = value
    return window


def _bucket_percentile(cumulative: dict[float, float], q: float) -> float | None:
    """The upper edge (ms) of the bucket holding the q-quantile, from cumulative counts."""
    if not cumulative:
        return None
    total = max(cumulative.values())
    if total <= 0:
        return None
    for le, count in sorted(cumulative.items()):
        if count >= q * total:
            return None if le == float("inf") else round(le * 1000, 1)
    return None


def worst(a: str | None, b: str) -> str:
    if a is None or a not in _WORST:
        return b
    return a if b not in _WORST or _WORST.index(a) >= _WORST.index(b) else b


# -- CloudWatch ---------------------------------------------------------------------------------
def valid_period(seconds: float) -> int:
    """The shortest period GetMetricData takes for high-resolution metrics that covers
    ``seconds``: 1, 5, 10, 30, 60, or a multiple of 60."""
    for period in (1, 5, 10, 30, 60):
        if seconds <= period:
            return period
    return 60 * math.ceil(seconds / 60)


class CloudWatchSource:
    """The system's metrics as CloudWatch has them (GetMetricData, ListMetrics)."""

    name = CLOUDWATCH

    def __init__(
        self, cloudwatch: Any, namespace: str, faults: Callable[[], Any] | None = None
    ) -> None:
        """``faults`` makes the fault switch reader, on the first sample that needs it (a
        circuit probe polled every 0.5 s would otherwise build an SSM client each time)."""
        self._cloudwatch, self.namespace = cloudwatch, namespace
        self._make_faults = faults
        self._faults: Any = None

    @classmethod
    def for_stack(cls, state: dict[str, Any]) -> CloudWatchSource:
        from system_under_test.faults import FaultSwitch

        resources = state["resources"]

        def faults() -> FaultSwitch:
            return FaultSwitch(
                aws_client(state, "ssm"),
                resources["failure_mode_parameter"],
                resources["fault_parameter"],
                cache_seconds=0,
            )

        namespace = resources.get("metrics_namespace") or cw.NAMESPACE
        return cls(aws_client(state, "cloudwatch"), namespace, faults)

    def circuits(self) -> dict[str, str]:
        circuits: dict[str, str] = {}
        for (circuit, _instance), state in self.circuit_states().items():
            circuits[circuit] = worst(circuits.get(circuit), state)
        return circuits

    def sample(self) -> dict[str, Any]:
        circuits = self.circuits()
        fault = "unknown"
        if self._make_faults is not None:
            with contextlib.suppress(Exception):  # the timeline says "unknown"
                self._faults = self._faults or self._make_faults()
                fault = self._faults.current().mode()
        return {"circuits": circuits, "fault": fault, "api": self.over_last(SAMPLE_WINDOW_S)}

    def over_last(self, seconds: float) -> dict[str, Any]:
        period = valid_period(seconds)  # the window widens to a period CloudWatch accepts
        statuses = [d["status"] for d in self._dimension_sets(cw.RESPONSES, "api")]
        queries = [
            self._query(f"s{i}", cw.RESPONSES, "Sum", period, service="api", status=status)
            for i, status in enumerate(statuses)
        ]
        queries += [
            self._query(name, cw.INGEST_LATENCY, name, period, service="api")
            for name in ("p50", "p95", "p99")
        ]
        found = self._latest(queries, period)
        by_status = {status: found.get(f"s{i}", 0.0) for i, status in enumerate(statuses)}
        percentiles = {name: found.get(name) for name in ("p50", "p95", "p99")}
        if not any(by_status.values()):
            return {}
        return api_window(by_status, period, percentiles)

    def circuit_states(self) -> dict[tuple[str, str], str]:
        """Each live instance's circuits: (circuit, instance) -> state, newest datapoint."""
        sets = self._dimension_sets(cw.CIRCUIT_STATE)
        queries = [
            self._query(f"c{i}", cw.CIRCUIT_STATE, "Maximum", 1, **dims)
            for i, dims in enumerate(sets)
        ]
        newest = self._newest(queries, ALIVE_WITHIN_S)
        return {
            (dims["circuit"], dims["instance"]): STATE_NAME.get(int(newest[f"c{i}"]), "unknown")
            for i, dims in enumerate(sets)
            if f"c{i}" in newest
        }

    def workers(self) -> dict[str, dict[str, Any]]:
        live = {
            instance: state
            for (circuit, instance), state in self.circuit_states().items()
            if circuit == "downstream"
        }
        return {instance: {"circuit": state} for instance, state in live.items()}

    def receives_while_open(self, since: float, until: float) -> dict[str, float]:
        """ReceiveMessage calls each worker made with its circuit open between two moments
        (epoch seconds; ask once CloudWatch has them, ``LAG_S`` after ``until``)."""
        sets = self._dimension_sets(cw.RECEIVE_CALLS_WHILE_OPEN, "worker")
        period = valid_period(until - since)
        queries = [
            self._query(f"r{i}", cw.RECEIVE_CALLS_WHILE_OPEN, "Sum", period, **dims)
            for i, dims in enumerate(sets)
        ]
        found = self._latest(queries, until - since, end=until)
        return {dims["instance"]: found.get(f"r{i}", 0.0) for i, dims in enumerate(sets)}

    def close(self) -> None:
        pass

    # -- the calls --------------------------------------------------------------------------
    def _dimension_sets(self, metric: str, service: str | None = None) -> list[dict[str, str]]:
        """Each dimension set the metric had in the last 3 hours (Lambda instances come and go)."""
        filters = [{"Name": "service", "Value": service}] if service else []
        pages = self._cloudwatch.get_paginator("list_metrics").paginate(
            Namespace=self.namespace,
            MetricName=metric,
            Dimensions=filters,
            RecentlyActive="PT3H",
            PaginationConfig={"MaxItems": MAX_DIMENSION_SETS},
        )
        sets = {
            tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for page in pages
            for m in page["Metrics"]
        }
        return [dict(s) for s in sorted(sets)]

    def _query(self, id_: str, metric: str, stat: str, period: int, **dims: str) -> dict[str, Any]:
        dimensions = [{"Name": k, "Value": v} for k, v in sorted(dims.items())]
        return {
            "Id": id_,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": metric,
                    "Dimensions": dimensions,
                },
                "Period": period,
                "Stat": stat,
            },
        }

    def _get(
        self, queries: list[dict[str, Any]], seconds: float, end: float | None = None
    ) -> dict[str, list[Any]]:
        """Each query's values over ``seconds`` up to ``end`` (default: as far as CloudWatch
        has caught up), newest first."""
        if not queries:
            return {}
        end = time.time() - LAG_S if end is None else end
        found: dict[str, list[Any]] = {}
        for start in range(0, len(queries), 500):  # GetMetricData's limit per call
            response = self._cloudwatch.get_metric_data(
                MetricDataQueries=queries[start : start + 500],
                StartTime=datetime.fromtimestamp(end - seconds, tz=UTC),
                EndTime=datetime.fromtimestamp(end, tz=UTC),
                ScanBy="TimestampDescending",
            )
            for result in response["MetricDataResults"]:
                found[result["Id"]] = result["Values"]
        return found

    def _latest(
        self, queries: list[dict[str, Any]], seconds: float, end: float | None = None
    ) -> dict[str, float]:
        """Each query over the window: Sums added up, other statistics at their highest.

        (The window is one period; CloudWatch may round its start and return two.)
        """
        stats = {q["Id"]: q["MetricStat"]["Stat"] for q in queries}
        return {
            id_: float(sum(values) if stats[id_] == "Sum" else max(values))
            for id_, values in self._get(queries, seconds, end).items()
            if values
        }

    def _newest(self, queries: list[dict[str, Any]], seconds: float) -> dict[str, float]:
        """Each query's newest datapoint within the last ``seconds``."""
        return {
            id_: float(values[0]) for id_, values in self._get(queries, seconds).items() if values
        }
