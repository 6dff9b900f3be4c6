"""`gameday load` against the running stack: the real locust command, gated on the SLOs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gameday.load import LOCUSTFILE
from tests.conftest import gameday_env, run_gameday
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


def _load(system: System, profile: str, run_dir: Path, *options: str) -> Any:
    return run_gameday(
        "load",
        profile,
        "--run-dir",
        str(run_dir),
        *options,
        state_dir=system.state_dir,
        timeout=300,
    )


def _counters(run_dir: Path) -> dict[str, float]:
    return dict(json.loads((run_dir / "measurements.json").read_text())["counters"])


def _statuses(run_dir: Path) -> dict[str, str]:
    verdict = json.loads((run_dir / "verdict.json").read_text())
    return {f"{r['slo']}: {r['objective']}": r["status"] for r in verdict["results"]}


#: Each shipped profile, played briefly (same rates, a fraction of the time).
@pytest.mark.parametrize(
    ("profile", "time_scale"),
    [
        ("steady", "0.1"),
        ("step", "0.05"),
        # At the spike's onset on this 2-core machine the load generator itself has
        # stalled for ~400 ms late in CI runs (its start lag: p99 363 ms, against 4 ms in
        # isolation), so a few arrivals start late and read as slow answers. A broken
        # system fails both runs; a stalled generator has not stalled twice.
        pytest.param("spike", "0.2", marks=pytest.mark.flaky(reruns=1)),
        ("soak", "0.005"),
        ("poison-mix", "0.1"),
        ("duplicate-storm", "0.1"),
    ],
)
def test_each_profile_holds_its_slos_on_a_healthy_system(
    healthy: System, tmp_path: Path, profile: str, time_scale: str
) -> None:
    result = _load(healthy, profile, tmp_path, "--time-scale", time_scale)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    counters = _counters(tmp_path)
    assert counters["load.started"] == counters["load.intended"] > 0  # the schedule was kept
    assert counters.get("load.dropped", 0) == 0
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["passed"]
    if profile != "duplicate-storm":  # there, replayed 202s repeat an order id
        assert ledger["acked"] == counters["load.status.202"]
    statuses = _statuses(tmp_path)
    assert statuses["ingest-latency: p99 under 250 ms"] == "held"
    if profile == "spike":  # the excess was shed, and only with 429
        assert counters["load.status.429"] > 0
        assert statuses["spike-shedding: at least half the requests accepted"] == "held"
    if profile == "poison-mix":
        assert ledger["dead_lettered"] == len((tmp_path / "poison-ids.txt").read_text().split())
        assert statuses["poison-quarantine: 99% within 10 s"] == "held"
    if profile == "duplicate-storm":
        assert counters["load.status.422"] > 0  # keys reused with another payload, refused
        assert ledger["duplicated"] == 0


def test_a_slowed_system_is_caught_by_the_latency_gate(healthy: System, tmp_path: Path) -> None:
    """Open model: the schedule is kept while each answer takes 400 ms, so latency shows."""
    healthy.set_fault("slow_api", latencyMs=400)
    result = _load(healthy, "steady", tmp_path, "--time-scale", "0.1")
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert "run verdict: BREACHED" in result.stdout
    statuses = _statuses(tmp_path)
    assert statuses["ingest-latency: p95 under 150 ms"] == "breached"
    assert statuses["invariants: zero-lost"] == "held"
    counters = _counters(tmp_path)
    assert counters["load.started"] == counters["load.intended"] == 60  # no coordinated omission


def test_a_guardrail_aborts_the_load_and_exits_2(healthy: System, tmp_path: Path) -> None:
    healthy.set_fault("slow_api", latencyMs=400)
    started = time.monotonic()
    result = _load(healthy, "steady", tmp_path, "--guardrail", "ingest-latency", "--grace", "1")
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "guardrail abort: ingest-latency" in result.stderr
    assert elapsed < 30  # the profile alone would take 30 s, plus the drain
    abort = json.loads((tmp_path / "abort.json").read_text())
    assert abort["guardrail"] == "ingest-latency" and abort["breachedForSeconds"] >= 1
    counters = _counters(tmp_path)
    assert counters["load.intended"] < 600  # stopped early, and what was sent is accounted
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["lost"] == 0 and ledger["acked"] > 0


def test_distributed_processes_merge_into_the_same_counts(healthy: System, tmp_path: Path) -> None:
    result = _load(healthy, "poison-mix", tmp_path, "--time-scale", "0.1", "--processes", "2")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    counters = _counters(tmp_path)
    assert counters["load.intended"] == counters["ingest.requests"] == 60  # 30 + 30
    schedule = json.loads((tmp_path / "measurements.json").read_text())["values"]
    assert len(schedule["load.schedule_s"]) == 2  # two shards, each reported
    acked = (tmp_path / "acked-ids.txt").read_text().split()
    assert len(acked) == len(set(acked)) == counters["load.status.202"]
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["acked"] == len(acked) and ledger["passed"]


def test_a_master_merges_two_separate_locust_workers(healthy: System, tmp_path: Path) -> None:
    port = "5599"
    master = ["--expect-workers", "2", "--master-bind-port", port, "--run-dir", str(tmp_path)]
    load = subprocess.Popen(
        [sys.executable, "-m", "gameday", "load", "steady", "--time-scale", "0.1", *master],
        env=gameday_env(healthy.state_dir),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    to_master = ["--master-host", "127.0.0.1", "--master-port", port]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", *to_master],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        for _ in range(2)
    ]
    try:
        out, err = load.communicate(timeout=180)
        for worker in workers:
            assert worker.wait(timeout=30) == 0
    finally:
        for process in (load, *workers):
            process.kill()
    assert load.returncode == 0, out + err[-3000:]
    counters = _counters(tmp_path)
    assert counters["load.intended"] == counters["ingest.requests"] == 60
    assert len((tmp_path / "acked-ids.txt").read_text().split()) == counters["load.status.202"]


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["load", "nonesuch"], "no profile 'nonesuch'"),
        (["load", "steady", "--host", "http://10.1.2.3:8080"], "is not on this machine"),
        (["load", "steady", "--scale", "-1"], "must be positive"),
        (["load", "steady", "--guardrail", "backlog-drain"], "cannot be watched live"),
        (["load", "steady", "--time-scale", "0"], "must be positive"),
        (["load", "steady", "--host", "http://127.0.0.1:9"], "does not answer"),
        (["load", "steady", "--processes", "2", "--expect-workers", "2"], "not both"),
    ],
)
def test_bad_load_requests_exit_3_in_one_line(
    healthy: System, argv: list[str], problem: str
) -> None:
    result = run_gameday(*argv, state_dir=healthy.state_dir)
    assert result.returncode == 3
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
