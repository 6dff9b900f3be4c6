"""Prometheus metrics of the API, in their own registry (served at GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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
