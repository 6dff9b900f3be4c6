"""The Chaos Toolkit extension and experiments against the running stack, with the real `chaos`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.project import bundled_experiments
from gameday.run import stack_env
from scenarios.experiment_files import action, experiment, slow_api_under_traffic
from tests.conftest import gameday_env, run_gameday
from tests.integration.conftest import System

pytestmark = pytest.mark.integration

EXPERIMENTS = bundled_experiments()

CHAOS = [sys.executable, "-m", "chaostoolkit", "--no-log-file"]


def chaos_run(system: System, experiment: Path, run_dir: Path, *extra: str) -> Any:
    return subprocess.run(
        [*CHAOS, "run", str(experiment), "--journal-path", str(run_dir / "journal.json"), *extra],
        env=gameday_env(
            system.state_dir,
            GAMEDAY_RUN_DIR=str(run_dir),
            GAMEDAY_TIME_SCALE="0.1",
            **stack_env(system.state_dir),  # as `gameday run` hands it (chaostoolkit-aws)
        ),
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )


def _api_alarms_quiet(system: System) -> bool:
    names = [system.resources["api_errors_alarm"], system.resources["ingest_latency_alarm"]]
    found = system.aws("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return all(a["StateValue"] != "ALARM" for a in found)


@pytest.mark.parametrize("name", sorted(p.stem for p in EXPERIMENTS.glob("*.yaml")))
def test_each_experiment_runs_on_its_own_and_leaves_no_fault(
    healthy: System, tmp_path: Path, name: str
) -> None:
    # one of them with the hypothesis checked during the method too, as a user may ask
    continuous = name == "poison-payloads"
    extra = ["--hypothesis-strategy", "continuously", "--hypothesis-frequency", "2"]
    if not continuous:
        extra = []
    if name == "cloudwatch-alarms":  # its steady state: the API's alarms quiet (10 s periods)
        healthy.wait_for(lambda: _api_alarms_quiet(healthy), 30, "the API's alarms quiet")
    result = chaos_run(healthy, EXPERIMENTS / f"{name}.yaml", tmp_path, *extra)
    assert result.returncode == 0, result.stdout[-4000:]
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    if continuous:
        during = journal["steady_states"]["during"]
        assert during and all(check["steady_state_met"] for check in during), during
    assert all(run["status"] == "succeeded" for run in journal["run"]), journal["run"]
    assert journal["rollbacks"] and journal["rollbacks"][0]["status"] == "succeeded"
    judged = json.loads((tmp_path / "verdict.json").read_text())
    assert judged["status"] == "held", [r for r in judged["results"] if r["status"] != "held"]
    ledger = json.loads((tmp_path / "ledger.json").read_text())
    assert ledger["acked"] > 0 and ledger["passed"]
    assert healthy.active_fault() == "none"
    lines = [json.loads(line) for line in (tmp_path / "timeline.jsonl").open()]
    markers = [line.get("marker") for line in lines]
    assert "experiment_start" in markers and "activity_end" in markers
    # the shared stack is made from the template: its metrics are read from CloudWatch
    start = next(line for line in lines if line.get("marker") == "experiment_start")
    assert start["metrics"] == "cloudwatch"


def _experiment(tmp_path: Path, method: list[dict[str, Any]], controls: dict[str, Any]) -> Path:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment(method, controls)))
    return path


def _slow_api_under_traffic(tmp_path: Path, latency_ms: int, controls: dict[str, Any]) -> Path:
    return _experiment(tmp_path, slow_api_under_traffic(latency_ms), controls)


def test_a_guardrail_aborts_the_experiment_and_the_rollbacks_run(
    healthy: System, tmp_path: Path
) -> None:
    experiment = _slow_api_under_traffic(
        tmp_path,
        400,
        {"guardrails": ["ingest-latency"], "grace_seconds": 1, "slos": ["ingest-latency"]},
    )
    run_dir = tmp_path / "run"
    started = time.monotonic()
    result = run_gameday(
        "run", str(experiment), "--run-dir", str(run_dir), state_dir=healthy.state_dir, timeout=300
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "ABORTED" in result.stdout
    assert elapsed < 60  # the profile alone is 30 s, plus the drain: it was cut short
    folder = run_dir / "experiment"
    journal = json.loads((folder / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert journal["rollbacks"] and journal["rollbacks"][0]["status"] == "succeeded"
    assert healthy.active_fault() == "none"
    abort = json.loads((folder / "abort.json").read_text())
    assert abort["guardrail"] == "ingest-latency"
    print(f"breached for {abort['breachedForSeconds']} s against a grace of 1 s when it fired")
    assert abort["breachedForSeconds"] < 2.0
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").open()]
    fired = next(t["t"] for t in timeline if t.get("marker") == "guardrail_abort")
    rolled = next(t["t"] for t in timeline if t.get("marker") == "rollbacks_start")
    print(f"guardrail abort to rollbacks: {rolled - fired:.2f} s")
    assert rolled - fired < 2.0
    assert (run_dir / "report.html").is_file()


@pytest.mark.parametrize(
    "signals",
    [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM,)],
    ids=["ctrl-c-twice", "sigterm"],
)
def test_an_interrupted_gameday_run_still_plays_the_rollbacks(
    healthy: System, tmp_path: Path, signals: tuple[signal.Signals, ...]
) -> None:
    experiment = _slow_api_under_traffic(tmp_path, 50, {"slos": ["ingest-availability"]})
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gameday", "run", str(experiment), "--run-dir", str(run_dir)]
    # its own process group, like a terminal's foreground job: Ctrl-C goes to the group
    with subprocess.Popen(
        command,
        env=gameday_env(healthy.state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as gameday:
        healthy.wait_for(lambda: healthy.active_fault() == "slow_api", 90, "the fault set")
        time.sleep(2)  # into the traffic
        for sent in signals:  # a second Ctrl-C: an impatient user
            os.killpg(gameday.pid, sent)
            time.sleep(0.5)
        stdout, stderr = gameday.communicate(timeout=240)
    assert gameday.returncode == 130, stdout + stderr[-3000:]
    assert "Traceback" not in stderr
    assert "INTERRUPTED" in stdout and "1 of 1 rollbacks succeeded" in stdout
    journal = json.loads((run_dir / "experiment" / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    assert healthy.active_fault() == "none"
    report = (run_dir / "report.html").read_text()
    assert "INTERRUPTED</div>" in report and "exit code 130</div>" in report


def test_a_fault_that_could_not_be_injected_fails_the_run(healthy: System, tmp_path: Path) -> None:
    experiment = _experiment(
        tmp_path,
        [
            action("inject-nothing", "faults", "set_fault", mode="no_such_mode"),
            action("some-orders", "api", "submit_orders", count=3),
        ],
        {},
    )
    # Chaos Toolkit alone ends such a run "completed"; the control fails it
    result = chaos_run(healthy, experiment, tmp_path / "alone")
    assert result.returncode == 1
    journal = json.loads((tmp_path / "alone" / "journal.json").read_text())
    assert journal["status"] == "failed"
    failed = json.loads((tmp_path / "alone" / "failed-actions.json").read_text())
    assert [f["name"] for f in failed] == ["inject-nothing"]
    # and `gameday run` calls it a harness failure, exit 3
    run_dir = tmp_path / "run"
    result = run_gameday(
        "run", str(experiment), "--run-dir", str(run_dir), state_dir=healthy.state_dir, timeout=300
    )
    assert result.returncode == 3, result.stdout + result.stderr[-3000:]
    assert "failed: inject-nothing" in result.stdout


def test_chaos_discover_lists_our_activities(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CHAOS, "discover", "--no-install", "gameday-harness"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    activities = json.loads((tmp_path / "discovery.json").read_text())["activities"]
    by_name = {a["name"]: a for a in activities}
    assert {"set_fault", "clear_faults", "dlq_count_by_error_type", "start_load"} <= set(by_name)
    assert {"kill_worker", "redrive_dlq", "circuit_state", "ledger", "slo_status"} <= set(by_name)
    # every function of ours an experiment calls is discoverable (others are chaostoolkit-aws's)
    used = set()
    for path in EXPERIMENTS.glob("*.yaml"):
        spec = yaml.safe_load(path.read_text())
        steady = spec.get("steady-state-hypothesis", {}).get("probes", [])
        for activity in [*steady, *spec["method"], *spec.get("rollbacks", [])]:
            if activity["provider"]["module"].startswith("gameday."):
                used.add(activity["provider"]["func"])
    assert {"expect_alarm_state", "expect_consumption_paused"} <= used
    assert used <= set(by_name), used - set(by_name)
    set_fault = by_name["set_fault"]
    assert set_fault["doc"].startswith("Switch a fault on")
    types = {a["name"]: a.get("type") for a in set_fault["arguments"]}
    assert types["mode"] == "string" and types["ttl_seconds"] == "number"


def test_gameday_run_plays_experiments_into_one_folder_and_a_report(
    healthy: System, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    result = run_gameday(
        *("run", "poison-payloads", "duplicate-submits", "--time-scale", "0.1", "--seed", "7"),
        *("--run-dir", str(run_dir)),
        state_dir=healthy.state_dir,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "gameday verdict: HELD (exit 0)" in result.stdout
    assert "experiment 2/2: duplicate-submits" in result.stderr  # progress per phase
    summary = json.loads((run_dir / "gameday.json").read_text())
    assert [o["experiment"] for o in summary["outcomes"]] == [
        "poison-payloads",
        "duplicate-submits",
    ]
    for name in ("poison-payloads", "duplicate-submits"):
        assert (run_dir / name / "journal.json").is_file()
        assert (run_dir / name / "verdict.json").is_file()
    report = (run_dir / "report.html").read_text()
    assert "Poison payloads are quarantined" in report and "HELD" in report
    assert healthy.active_fault() == "none"


BAD_EXPERIMENTS = {
    "syntax.yaml": ("title: broken\n  method: [\n", "Failed parsing YAML"),
    "unknown.json": (
        {"func": "no_such_func"},
        "does not expose a function called 'no_such_func'",
    ),
    "wrongarg.json": (
        {"func": "set_fault", "arguments": {"mode": "slow_api", "speed": 3}},
        "argument 'speed' is not part of the function signature",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_EXPERIMENTS))
def test_a_bad_experiment_is_named_with_its_problem_and_exits_3(tmp_path: Path, name: str) -> None:
    content, problem = BAD_EXPERIMENTS[name]
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        provider = {"type": "python", "module": "gameday.chaos.faults.actions", **content}
        method = [{"type": "action", "name": "a", "provider": provider}]
        path.write_text(json.dumps({"title": "t", "description": "d", "method": method}))
    result = run_gameday("run", str(path), state_dir=tmp_path / ".gameday", timeout=120)
    assert result.returncode == 3
    assert f"{path}:" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_experiment_name_lists_the_known_ones(tmp_path: Path) -> None:
    result = run_gameday("run", "nonesuch", state_dir=tmp_path / ".gameday")
    assert result.returncode == 3
    assert "no experiment 'nonesuch'" in result.stderr and "poison-payloads" in result.stderr


def test_a_dry_run_walks_the_experiments_and_injects_nothing(
    healthy: System, tmp_path: Path
) -> None:
    result = run_gameday(
        *("run", "slow-downstream", "--dry", "--run-dir", str(tmp_path)),
        state_dir=healthy.state_dir,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "WALKED (dry run, nothing injected)" in result.stdout
    timeline = [
        json.loads(line) for line in (tmp_path / "slow-downstream" / "timeline.jsonl").open()
    ]
    assert not [t for t in timeline if t.get("marker") == "fault_start"]  # never switched on
    assert not (tmp_path / "slow-downstream" / "locust.log").exists()  # no traffic either


# Last in this file: the tests before it leave the API's p99 alarm quiet (no slowed API in
# the last period), so the steady state holds without waiting.
def test_an_alarm_stop_condition_aborts_the_experiment_and_the_rollbacks_run(
    healthy: System, tmp_path: Path
) -> None:
    """AWS FIS's stop condition: the API's p99 alarm goes to ALARM and the run stops."""
    spec = yaml.safe_load((EXPERIMENTS / "cloudwatch-alarms.yaml").read_text())
    traffic, _poison, _alarm, wait = spec["method"]
    slow_api = action("slow-the-api", "faults", "set_fault", mode="slow_api", latency_ms=400)
    spec["method"] = [traffic, slow_api, wait]
    path = tmp_path / "alarm-stop.yaml"
    path.write_text(yaml.safe_dump(spec))
    healthy.wait_for(lambda: _api_alarms_quiet(healthy), 30, "the API's alarms quiet")
    run_dir = tmp_path / "run"
    result = run_gameday(
        "run", str(path), "--run-dir", str(run_dir), state_dir=healthy.state_dir, timeout=300
    )
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    folder = run_dir / "alarm-stop"
    abort = json.loads((folder / "abort.json").read_text())
    assert abort["guardrail"] == "alarm:" + healthy.resources["ingest_latency_alarm"]
    journal = json.loads((folder / "journal.json").read_text())
    assert journal["status"] == "interrupted"
    assert journal["rollbacks"] and journal["rollbacks"][0]["status"] == "succeeded"
    assert healthy.active_fault() == "none"
    timeline = [json.loads(line) for line in (folder / "timeline.jsonl").open()]
    slowed = next(t["t"] for t in timeline if t.get("marker") == "fault_start")
    fired = next(t["t"] for t in timeline if t.get("marker") == "guardrail_abort")
    print(f"slow_api on to the alarm's abort: {fired - slowed:.1f} s (alarm period 10 s)")


def test_a_stop_condition_on_a_missing_alarm_stops_before_the_experiment(
    healthy: System, tmp_path: Path
) -> None:
    spec = yaml.safe_load((EXPERIMENTS / "cloudwatch-alarms.yaml").read_text())
    spec["controls"][0]["provider"]["arguments"]["stop_on_alarms"] = ["no-such-alarm"]
    path = tmp_path / "missing-alarm.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run_gameday(
        "run",
        str(path),
        "--run-dir",
        str(tmp_path / "run"),
        state_dir=healthy.state_dir,
        timeout=120,
    )
    assert result.returncode == 3, result.stdout + result.stderr[-3000:]
    assert "stop_on_alarms: no CloudWatch alarm named no-such-alarm" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "missing-alarm").exists()  # nothing was played
