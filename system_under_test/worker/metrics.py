"""The worker's Prometheus metrics: circuit state, receive calls, what became of each message."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from system_under_test.circuit import STATE_NUMBER
from system_under_test.runtime import LOOPBACK
from system_under_test.worker.handler import BatchProcessor
from system_under_test.worker.poller import Poller


def serve_metrics(processor: BatchProcessor, poller: Poller, port: int) -> None:
    """Serve /metrics on 127.0.0.1:port in a daemon thread."""
    registry = CollectorRegistry()
    circuit = processor.downstream.circuit
    Gauge(
        "sut_circuit_state", "0 closed, 1 open, 2 half-open", ["circuit"], registry=registry
    ).labels(circuit="downstream").set_function(lambda: STATE_NUMBER[circuit.state])
    Gauge("sut_circuit_opened", "times the circuit opened", ["circuit"], registry=registry).labels(
        circuit="downstream"
    ).set_function(lambda: circuit.snapshot()["timesOpened"])
    Gauge(
        "sut_worker_receive_calls",
        "ReceiveMessage calls since the worker started",
        registry=registry,
    ).set_function(lambda: poller.receive_calls)
    outcomes = Counter("sut_worker_messages", "messages by outcome", ["outcome"], registry=registry)
    processor.on_outcome = lambda outcome: outcomes.labels(outcome=outcome).inc()
    start_http_server(port, addr=LOOPBACK, registry=registry)
