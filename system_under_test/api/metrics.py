"""The API's metrics: Prometheus (its own registry, GET /metrics) and CloudWatch (telemetry)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from system_under_test import telemetry as cw
from system_under_test.circuit import STATE_NUMBER, CircuitBreaker
from system_under_test.faults import FAILURE_MODES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


INGEST_ROUTE = "/events"


class ApiMetrics:
    def __init__(self, telemetry: cw.Telemetry | None = None) -> None:
        self.telemetry = telemetry or cw.Telemetry("api")
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "sut_api_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "sut_api_request_seconds",
            "request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejected = Counter(
            "sut_api_rejected",
            "requests rejected, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.published = Counter(
            "sut_api_published",
            "messages acknowledged by SQS",
            ["kind"],
            registry=self.registry,
        )
        self.replayed = Counter(
            "sut_api_idempotent_replays",
            "requests answered from the idempotency record",
            registry=self.registry,
        )

    def answered(self, route: str, status: int, seconds: float) -> None:
        """One HTTP answer: Prometheus for every route, CloudWatch for ingestion."""
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)
        if route != INGEST_ROUTE:
            return
        self.telemetry.count(cw.RESPONSES, status=str(status))
        self.telemetry.observe_ms(cw.INGEST_LATENCY, seconds * 1000)
        if status == 202:
            self.telemetry.count(cw.ACCEPTED)
        elif status >= 500:
            self.telemetry.count(cw.SERVER_ERRORS)

    def refused(self, code: str) -> None:
        self.rejected.labels(reason=code).inc()
        self.telemetry.count(cw.REJECTED, code=code)

    def watch(self, circuits: dict[str, CircuitBreaker], fault_mode: Callable[[], str]) -> None:
        """Gauges read at scrape time: circuit states and the active fault."""
        state = Gauge(
            "sut_circuit_state",
            "0 closed, 1 open, 2 half-open",
            ["circuit"],
            registry=self.registry,
        )
        for name, circuit in circuits.items():
            state.labels(circuit=name).set_function(lambda c=circuit: STATE_NUMBER[c.state])  # type: ignore[misc]
            self.telemetry.gauge(
                cw.CIRCUIT_STATE,
                lambda c=circuit: STATE_NUMBER[c.state],  # type: ignore[misc]
                circuit=name,
            )
        active = Gauge(
            "sut_fault_active", "1 for the active fault mode", ["mode"], registry=self.registry
        )
        for mode in FAILURE_MODES:
            active.labels(mode=mode).set_function(lambda m=mode: 1.0 if fault_mode() == m else 0.0)  # type: ignore[misc]
