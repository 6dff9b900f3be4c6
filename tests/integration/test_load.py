"""`gameday load` against the running stack: the real locust command, gated on the SLOs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_gameday
from tests.integration.conftest import System

pytestmark = pytest.mark.integration

SHORT = """\
profiles:
  short:
    description: 10 orders/s for 4 s, one in five poison.
    startRate: 10
    stages: [{duration: 4s, target: 10}]
    maxConcurrency: 20
    mix: {valid: 0.8, poison: 0.2}
"""


def test_a_short_profile_runs_and_is_judged(healthy: System, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.yaml"
    profiles.write_text(SHORT)
    run_dir = tmp_path / "run"
    result = run_gameday(
        "load",
        "short",
        "--profiles",
        str(profiles),
        "--run-dir",
        str(run_dir),
        state_dir=healthy.state_dir,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "run verdict: HELD" in result.stdout
    assert "% of the schedule" in result.stderr  # the progress line
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert ledger["acked"] == 40 and ledger["lost"] == 0 and ledger["drained"]
    poison = (run_dir / "poison-ids.txt").read_text().split()
    assert poison and ledger["dead_lettered"] == len(poison)
    measurements = json.loads((run_dir / "measurements.json").read_text())
    assert measurements["counters"]["ingest.requests"] == 40
    assert {"ingest.latency_ms", "e2e.latency_ms"} <= set(measurements["histograms"])
    assert len(measurements["values"]["poison.time_to_dlq_s"]) == len(poison)
    assert (run_dir / "locust_stats_history.csv").is_file()
    timeline = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    assert [t["marker"] for t in timeline if "marker" in t] == ["phase", "phase"]
    assert any("queue" in t for t in timeline)
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["status"] == "held" and verdict["score"] == 100.0


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["load", "nonesuch"], "no profile 'nonesuch'"),
        (["load", "steady", "--host", "http://10.1.2.3:8080"], "is not on this machine"),
        (["load", "steady", "--scale", "-1"], "must be positive"),
        (["load", "steady", "--guardrail", "backlog-drain"], "cannot be watched live"),
    ],
)
def test_bad_load_requests_exit_3_in_one_line(
    healthy: System, argv: list[str], problem: str
) -> None:
    result = run_gameday(*argv, state_dir=healthy.state_dir)
    assert result.returncode == 3
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
