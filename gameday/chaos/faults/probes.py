"""What the reference system says about its faults."""

from chaoslib.types import Configuration, Secrets

from gameday.chaos import web

__all__ = ["active_fault"]


def active_fault(configuration: Configuration = None, secrets: Secrets = None) -> str:
    """The fault mode the API currently applies ("none" when healthy), from GET /ready."""
    return str(web.get_json(configuration, "/ready")["faults"]["mode"])
