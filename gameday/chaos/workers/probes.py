"""How many workers are alive, by the stack's metrics source."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import context

__all__ = ["workers_alive"]


def workers_alive(configuration: Configuration = None, secrets: Secrets = None) -> int:
    """Workers alive, a count: answering on /metrics within 1 s (a scrape), or having
    published their circuit state within the last 5 s (CloudWatch: Lambda instances too)."""
    source = context.metrics(configuration)
    try:
        return len(source.workers())
    finally:
        source.close()
