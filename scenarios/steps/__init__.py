"""pytest-bdd step definitions, one module per domain (loaded by ``scenarios.plugin``)."""
