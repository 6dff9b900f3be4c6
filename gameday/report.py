"""The harness's side of the HTML reports (the renderer lives in the ``reports`` package).

``gameday run`` and ``gameday load`` call ``publish`` at the end of every run: the
run's ``report.html``, and the index over the project's runs when the run folder is
one of them. ``gameday report`` calls ``render`` and ``render_index``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gameday.project import Project
from reports.index import render_index
from reports.render import REPORT, render_run

__all__ = ["REPORT", "publish", "read_json", "render", "render_index"]


def render(run_dir: Path) -> Path:
    """Write ``report.html`` into the run folder; returns its path."""
    return render_run(run_dir)


def publish(run_dir: Path) -> tuple[Path, Path | None]:
    """The run's report, and the runs index when the folder sits in the project's runs."""
    report = render_run(run_dir)
    runs = Project.current().runs_dir
    index = render_index(runs) if run_dir.resolve().parent == runs.resolve() else None
    return report, index


def read_json(path: Path) -> Any:
    """A run folder's JSON file, or None when it is absent or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
