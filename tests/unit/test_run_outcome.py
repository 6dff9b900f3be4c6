"""How `gameday run` reads an experiment's outcome from its evidence (gameday/run.py)."""

from __future__ import annotations

import json
from pathlib import Path

from gameday.errors import EXIT_BREACHED, EXIT_OK
from gameday.run import _outcome


def _evidence(folder: Path, before_met: bool) -> None:
    probe = {"activity": {"name": "ingest-p99-alarm-not-firing"}, "tolerance_met": before_met}
    before = {"steady_state_met": before_met, "probes": [probe]}
    journal = {"status": "completed", "deviated": False, "steady_states": {"before": before}}
    (folder / "journal.json").write_text(json.dumps(journal))
    (folder / "verdict.json").write_text(json.dumps({"status": "held", "results": []}))


def test_a_steady_state_missed_before_the_method_is_no_pass(tmp_path: Path) -> None:
    # Chaos Toolkit stops there and calls the run "completed", not deviated
    _evidence(tmp_path, before_met=False)
    outcome = _outcome(tmp_path / "x.yaml", tmp_path, 1.0)
    assert (outcome.status, outcome.exit_code) == ("breached", EXIT_BREACHED)
    assert outcome.detail == "not steady before the method: ingest-p99-alarm-not-firing"


def test_a_steady_state_met_before_is_judged_on_the_verdict(tmp_path: Path) -> None:
    _evidence(tmp_path, before_met=True)
    assert _outcome(tmp_path / "x.yaml", tmp_path, 1.0).exit_code == EXIT_OK
