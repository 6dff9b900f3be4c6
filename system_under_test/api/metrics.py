"""Prometheus metrics of the API, in their own registry (served at GET /metrics)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from system_under_test.circuit import STATE_NUMBER, CircuitBreaker
from system_under_test.faults import FAILURE_MODES

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    def __init__(self) -> None:
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
        active = Gauge(
            "sut_fault_active", "1 for the active fault mode", ["mode"], registry=self.registry
        )
        for mode in FAILURE_MODES:
            active.labels(mode=mode).set_function(lambda m=mode: 1.0 if fault_mode() == m else 0.0)  # type: ignore[misc]
