"""What every activity needs: the stack it acts on and the run folder it writes to.

Activities reach the system only over HTTP and the AWS APIs. They find the
stack through its state file (``gameday_state_dir`` in the experiment's
configuration, else ``GAMEDAY_STATE_DIR``, else ``.gameday``) and write evidence
to the run folder (``gameday_run_dir``, else ``GAMEDAY_RUN_DIR``, else a new
folder under the project's ``gameday-runs/``), one per ``chaos run`` process.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from gameday.errors import HarnessError
from gameday.project import Project
from gameday.settings import ENV_STATE_DIR, Settings
from gameday.stack import state as statefile

_RUN_DIR: dict[str, Path] = {}  # the run folder of this process, once chosen
_TIMELINE: dict[str, Any] = {}  # the control's sampler, while one runs


def settings(configuration: dict[str, Any] | None) -> Settings:
    state_dir = (configuration or {}).get("gameday_state_dir")
    environ = dict(os.environ)
    if state_dir:
        environ[ENV_STATE_DIR] = str(state_dir)
    return Settings.from_env(environ)


def stack(configuration: dict[str, Any] | None) -> dict[str, Any]:
    """The running stack's state; an activity on a stopped stack fails saying what to start."""
    try:
        return statefile.running_state(settings(configuration))
    except HarnessError as exc:
        raise ActivityFailed(f"{exc.message} ({exc.hint})") from None


def local_stack(configuration: dict[str, Any] | None, needs: str) -> dict[str, Any]:
    """The stack, when it is one we run: its processes are ours to scrape, pause and kill.

    A deployed stack (`gameday target`) runs its API and workers as Lambda instances;
    ``needs`` says what this activity would have needed from them.
    """
    state = stack(configuration)
    if state.get("target"):
        raise ActivityFailed(
            f"{needs}, which the deployed stack {state['target']['stack']} does not expose "
            "(its API and workers run as Lambda instances): run this experiment on a local "
            "stack (`gameday up`, or `gameday up --from-template` for the same template)"
        )
    return state


def metrics(configuration: dict[str, Any] | None) -> Any:
    """The stack's metrics source (`gameday.measure.sources`): a scrape, or CloudWatch."""
    from gameday.measure import sources

    try:
        return sources.for_stack(stack(configuration))
    except HarnessError as exc:
        raise ActivityFailed(f"{exc.message} ({exc.hint})") from None


def aws(configuration: dict[str, Any] | None, service: str) -> Any:
    return statefile.aws_client(stack(configuration), service)


def api_url(configuration: dict[str, Any] | None) -> str:
    configured = (configuration or {}).get("gameday_api_url")
    return str(configured or stack(configuration)["parts"]["api"]["endpoint"])


def run_dir(configuration: dict[str, Any] | None = None, title: str = "chaos") -> Path:
    """The configured run folder (``gameday_run_dir``), else this process's, chosen on first use.

    A configured folder wins on every call, so one process can account several runs
    (the BDD scenarios give each scenario its own).
    """
    configured = (configuration or {}).get("gameday_run_dir")
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    if "current" not in _RUN_DIR:
        configured = os.environ.get("GAMEDAY_RUN_DIR")
        if configured:
            folder = Path(configured)
            folder.mkdir(parents=True, exist_ok=True)
        else:
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "chaos"
            folder = Project.current().new_run_dir(slug)
        _RUN_DIR["current"] = folder
    return _RUN_DIR["current"]


def attach_sampler(sampler: Any | None) -> None:
    if sampler is None:
        _TIMELINE.pop("sampler", None)
    else:
        _TIMELINE["sampler"] = sampler


def sampler() -> Any | None:
    """The control's timeline sampler, while one runs in this process."""
    return _TIMELINE.get("sampler")


def mark(marker: str, **fields: Any) -> None:
    """A marker on the run's timeline (fault windows, activities), if a sampler runs."""
    running = sampler()
    if running is not None:
        running.mark(marker, **fields)


CHAOS_MEASUREMENTS = "measurements.chaos.json"  # beside the load's own measurements.json


def record_value(configuration: dict[str, Any] | None, indicator: str, value: float) -> None:
    """Add a measured value (e.g. a fault's activation time) to this run's evidence."""
    path = run_dir(configuration) / CHAOS_MEASUREMENTS
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("values", {}).setdefault(indicator, []).append(value)
    path.write_text(json.dumps(data, indent=1))
