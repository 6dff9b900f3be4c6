"""The HTML gameday report: one self-contained file rendered from a run folder (Jinja2).

A minimal report until the reports issue lands: the gameday's verdict, and per
experiment its status, its SLO table and what it did. Everything shown comes from
the run folder, and every string is escaped (dead letters carry hostile payloads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gameday.errors import HarnessError
from gameday.measure import verdict
from gameday.project import bundled

TEMPLATES = bundled("reports", "templates")
REPORT = "report.html"


def render(run_dir: Path) -> Path:
    """Write ``report.html`` into the run folder; returns its path."""
    summary = read_json(run_dir / "gameday.json")
    if summary is None:
        raise HarnessError(f"{run_dir} holds no gameday.json", "is it a `gameday run` folder?")
    experiments = []
    for outcome in summary["outcomes"]:
        folder = run_dir / outcome["experiment"]
        journal = read_json(folder / "journal.json") or {}
        experiments.append(
            {
                **outcome,
                "description": journal.get("experiment", {}).get("description", ""),
                "verdict": read_json(folder / verdict.VERDICT),
                "ledger": read_json(folder / verdict.LEDGER),
                "activities": [
                    {
                        "name": run["activity"].get("name"),
                        "type": run["activity"].get("type"),
                        "status": run.get("status"),
                        "duration": run.get("duration"),
                    }
                    for run in journal.get("run", []) + journal.get("rollbacks", [])
                ],
            }
        )
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True)
    )
    html = environment.get_template("gameday.html.j2").render(
        summary=summary, experiments=experiments
    )
    path = run_dir / REPORT
    path.write_text(html)
    return path


def read_json(path: Path) -> Any:
    """A run folder's JSON file, or None when it is absent or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
