"""The gameday Chaos Toolkit extension, laid out like chaostoolkit-aws.

One folder per target, each with ``probes.py`` and ``actions.py``:

- ``faults``: set and clear the reference system's fault switches (SSM);
- ``queue``: queue, in-flight and DLQ depth, dead letters by error type, redrive;
- ``api``: readiness, circuit states, orders and duplicate submits sent like a client;
- ``load``: a Locust profile in the background, and waiting for it;
- ``workers``: kill a worker process, count the live ones;
- ``slo``: an SLO's status over the run so far, the message ledger;
- ``alarms``: wait for a CloudWatch alarm to reach a state (chaostoolkit-aws reads them).

``controls`` records every activity on the run's timeline, runs the guardrails
and fails a run whose method action failed. ``chaos discover gameday-harness``
lists the activities (``gameday.discover`` is the entry point it finds).
"""

import importlib.util
from typing import Any

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)

from gameday import __version__

TARGETS = ("faults", "queue", "api", "load", "workers", "processes", "slo", "alarms")


def discover(discover_system: bool = True) -> Any:
    """Our activities, for `chaos discover`."""
    discovery = initialize_discovery_result("gameday-harness", __version__, "gameday")
    for target in TARGETS:
        for kind, find in (("actions", discover_actions), ("probes", discover_probes)):
            module = f"gameday.chaos.{target}.{kind}"
            if importlib.util.find_spec(module) is not None:  # some have only one of the two
                discovery["activities"].extend(find(module))
    return discovery
