"""gameday: a chaos and gameday testing harness for event pipelines."""

__version__ = "0.1.0"
