"""The gameday step library (pytest-bdd steps, the stack fixture, tags as markers)."""

pytest_plugins = ["scenarios.plugin"]
