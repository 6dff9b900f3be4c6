"""Readiness (the API's own endpoint) and circuit states (the stack's metrics source)."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import context, web

UNKNOWN = "unknown"

__all__ = ["api_status", "circuit_state"]


def api_status(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The API's readiness from GET /ready: "ready", "degraded" or "not_ready"."""
    return str(web.get_json(configuration, "/ready")["status"])


def circuit_state(
    circuit: str = "downstream", configuration: Configuration = None, secrets: Secrets = None
) -> str:
    """The worst state of a circuit breaker across the workers: "closed", "half_open", "open",
    or "unknown" when no live process or instance reports it (never a silent "closed").

    circuit: "downstream" (the workers' calls) or "sqs_publish" (the API's); read from the
    stack's metrics source (each process's /metrics, or CloudWatch's CircuitState).
    """
    source = context.metrics(configuration)
    try:
        found = source.circuits().get(circuit)
    finally:
        source.close()
    return UNKNOWN if found is None else str(found)


def why_unknown(configuration: Configuration = None) -> str:
    """Why no live process or instance reports a circuit, by metrics source."""
    source = context.metrics(configuration)
    source.close()
    if source.name == "cloudwatch":
        return (
            f"no CircuitState datapoint in {source.namespace} within the last few seconds: are"
            " the system's processes publishing their metrics (SUT_METRICS_FLUSH_SECONDS)?"
        )
    return "no process of the stack answered on /metrics with it"
