"""Readiness (the API's own endpoint) and circuit states (the stack's metrics source)."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import context, web

__all__ = ["api_status", "circuit_state"]


def api_status(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The API's readiness from GET /ready: "ready", "degraded" or "not_ready"."""
    return str(web.get_json(configuration, "/ready")["status"])


def circuit_state(
    circuit: str = "downstream", configuration: Configuration = None, secrets: Secrets = None
) -> str:
    """The worst state of a circuit breaker across the workers: "closed", "half_open", "open".

    circuit: "downstream" (the workers' calls) or "sqs_publish" (the API's); read from the
    stack's metrics source (each process's /metrics, or CloudWatch's CircuitState).
    """
    source = context.metrics(configuration)
    try:
        return str(source.circuits().get(circuit, "closed"))
    finally:
        source.close()
