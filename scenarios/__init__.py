"""The resilience scenarios: Gherkin features asserting SLO outcomes (pytest-bdd).

``plugin`` is the pytest plugin (stack, accounting window, gates, output),
``world`` what the steps act on, ``steps/`` the step library by domain,
``features/`` the bundled suite.
"""
