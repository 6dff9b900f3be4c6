"""gameday: a chaos and gameday testing harness for event pipelines."""

from typing import Any

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> Any:
    """The Chaos Toolkit extension's activities (`chaos discover gameday-harness` calls this)."""
    from gameday.chaos import discover as discover_activities

    return discover_activities(discover_system)
