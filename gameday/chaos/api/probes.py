"""Readiness and circuit states, from the API's and the workers' own endpoints."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import context, web
from system_under_test.circuit import STATE_NAME

__all__ = ["api_status", "circuit_state"]

_WORST = ["closed", "half_open", "open"]


def api_status(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The API's readiness from GET /ready: "ready", "degraded" or "not_ready"."""
    return str(web.get_json(configuration, "/ready")["status"])


def circuit_state(
    circuit: str = "downstream", configuration: Configuration = None, secrets: Secrets = None
) -> str:
    """The worst state of a circuit breaker across the workers: "closed", "half_open", "open".

    circuit: "downstream" (the workers' calls) or "sqs_publish" (the API's); read from
    each process's /metrics.
    """
    state = context.local_stack(configuration, "the circuit is read from each process's /metrics")
    worst = "closed"
    for name, part in state["parts"].items():
        if name != "api" and not name.startswith("worker-"):
            continue
        for sample in web.metric_samples(part["endpoint"]):
            if sample.name == "sut_circuit_state" and sample.labels["circuit"] == circuit:
                found = STATE_NAME.get(int(sample.value), "closed")
                worst = max(worst, found, key=_WORST.index)
    return worst
