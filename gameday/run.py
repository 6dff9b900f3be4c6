"""`gameday run [EXPERIMENT ...]`: a whole gameday, one Chaos Toolkit experiment at a time.

Each experiment runs with the real ``chaos run`` (rollbacks always played)
against the running stack, or against a private one started for the gameday
and stopped after it. All of them write into one run folder, one sub-folder
per experiment (journal, Locust statistics, timeline, ledger, verdict); the
gameday's verdict is the worst of theirs, and the report is rendered at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from gameday.errors import (
    EXIT_ABORTED,
    EXIT_BREACHED,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    HarnessError,
)
from gameday.measure import slo, verdict
from gameday.measure.guardrail import missing_alarms, resolve_alarms
from gameday.project import Project, run_folder
from gameday.report import publish, read_json
from gameday.settings import ENV_STATE_DIR, Settings
from gameday.stack import state as statefile
from gameday.stack.provision import ALARM_ROLES

#: The default gameday, in the order a team would play it: the cheap stories first.
DEFAULT_ORDER = (
    "cloudwatch-alarms",  # first: its steady state is the API's alarms, quiet on a fresh stack
    "poison-payloads",
    "duplicate-submits",
    "random-failures",
    "slow-downstream",
    "traffic-spike",
    "process-crashes",
)
#: A private stack plays the stories in seconds: short timeouts, quick circuits.
PRIVATE_STACK_ENV = {
    "GAMEDAY_WORKER_TIMEOUT_SECONDS": "1",
    "SUT_CIRCUIT_FAILURE_THRESHOLD": "3",
    "SUT_CIRCUIT_RESET_SECONDS": "2",
    "SUT_DOWNSTREAM_ATTEMPTS": "2",
    "SUT_WORKER_WAIT_SECONDS": "1",
    "GAMEDAY_ALARM_PERIOD_SECONDS": "10",  # alarms settle in seconds between experiments
}
SUMMARY = "gameday.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SEVERITY = {EXIT_OK: 0, EXIT_BREACHED: 1, EXIT_ABORTED: 2, EXIT_HARNESS: 3, EXIT_INTERRUPTED: 4}
#: How long an interrupted experiment may take over its rollbacks and evidence.
INTERRUPT_GRACE_SECONDS = 180
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Outcome:
    experiment: str
    title: str
    status: str  # held, breached, aborted, failed, interrupted (or walked, for --dry)
    exit_code: int
    journal_status: str | None
    deviated: bool
    seconds: float
    detail: str = ""
    score: float | None = None


def find_experiments(names: list[str], project: Project | None = None) -> list[Path]:
    """Experiment files by name (``poison-payloads``: the project's, else bundled) or path."""
    project = project or Project.current()
    return [project.experiment(name) for name in names or DEFAULT_ORDER]


def main(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    experiments = find_experiments(args.experiments)
    if args.time_scale <= 0:
        raise HarnessError(f"--time-scale {args.time_scale} must be positive")
    slo.load_catalogue()  # the project's catalogue, checked before any stack starts
    for path in experiments:
        _validate(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = run_folder(args.run_dir, "gameday")
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:5.0f}s] {message}", file=err, flush=True)

    outcomes: list[Outcome] = []
    target = "no stack"
    with _sigterm_as_ctrl_c(), _stack(settings, run_dir, args.seed, progress) as state_dir:
        private = state_dir != settings.state_dir
        target = "a private stack" if private else f"the running stack in {state_dir}"
        _check_stop_conditions(experiments, state_dir)
        aws_env = stack_env(state_dir)
        for n, path in enumerate(experiments, 1):
            progress(f"experiment {n}/{len(experiments)}: {path.stem}")
            outcome = _play(path, run_dir, state_dir, aws_env, args, progress)
            if args.dry and outcome.exit_code == EXIT_OK:
                outcome.status, outcome.detail = "walked", "dry run: no action was executed"
            outcomes.append(outcome)
            if outcome.exit_code == EXIT_INTERRUPTED:
                progress("interrupted: the remaining experiments are not played")
                break
    code = max((o.exit_code for o in outcomes), key=_SEVERITY.__getitem__, default=EXIT_OK)
    summary = {
        "started": stamp,
        "seconds": round(time.monotonic() - began, 1),
        "exitCode": code,
        "dry": bool(args.dry),
        "seed": args.seed,
        "timeScale": args.time_scale,
        "command": ["gameday", *sys.argv[1:]],
        "target": target,
        "outcomes": [asdict(o) for o in outcomes],
    }
    (run_dir / SUMMARY).write_text(json.dumps(summary, indent=2))
    report, index = publish(run_dir)
    print(_table(outcomes, code, dry=bool(args.dry)), file=out)
    print(f"run folder: {run_dir}\nreport: {report}", file=out)
    if index is not None:
        print(f"all runs: {index}", file=out)
    return code


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """A SIGTERM (a CI job's timeout, `kill`) stops the gameday like Ctrl-C: rollbacks run
    and a private stack is stopped, instead of both being left behind."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _check_stop_conditions(experiments: list[Path], state_dir: Path) -> None:
    """Every alarm an experiment's gameday control stops on exists on the stack (exit 3)."""
    state = statefile.read_state(Settings(state_dir=state_dir)) or {}
    for path in experiments:
        try:
            spec = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue  # chaos validate has accepted it: JSON, or nothing to check
        for control in (spec or {}).get("controls", []) if isinstance(spec, dict) else []:
            arguments = (control.get("provider") or {}).get("arguments") or {}
            names = resolve_alarms(
                state.get("resources", {}), list(arguments.get("stop_on_alarms") or [])
            )
            try:
                missing = missing_alarms(statefile.aws_client(state, "cloudwatch"), names)
            except (ClientError, BotoCoreError) as exc:
                raise HarnessError(
                    f"{path}: controls: {control.get('name')}: stop_on_alarms: cannot read the"
                    f" alarms ({type(exc).__name__})",
                    "the credentials need cloudwatch:DescribeAlarms",
                ) from None
            if missing:
                raise HarnessError(
                    f"{path}: controls: {control.get('name')}: stop_on_alarms: no CloudWatch"
                    f" alarm named {', '.join(missing)}",
                    "name an alarm of this account and region, or one of the stack's roles: "
                    + ", ".join(ALARM_ROLES),
                )


def _validate(path: Path) -> None:
    """``chaos validate`` first: a syntax error or an unknown activity is named, exit 3."""
    result = subprocess.run(  # noqa: S603
        [*_chaos(), "--no-log-file", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        lines = [_ANSI.sub("", line) for line in (result.stdout + result.stderr).splitlines()]
        problems = [line.split("] ", 1)[-1] for line in lines if "ERROR" in line or "- " in line]
        raise HarnessError(f"{path}: {'; '.join(problems[-3:]) or 'not a valid experiment'}")


def _chaos() -> list[str]:
    return [sys.executable, "-m", "chaostoolkit"]


@contextmanager
def _stack(settings: Settings, run_dir: Path, seed: int | None, progress: Any) -> Iterator[Path]:
    """The running stack's state folder, or a private stack's for the gameday's length."""
    try:
        statefile.running_state(settings)
        running = True
    except HarnessError:
        running = False
    if running:  # (an error raised in the with block must not land in the except above)
        progress(f"using the running stack ({settings.state_file})")
        yield settings.state_dir
        return
    state_dir = run_dir / "stack"
    env = {**os.environ, **PRIVATE_STACK_ENV, ENV_STATE_DIR: str(state_dir)}
    for port in ("GAMEDAY_BACKEND_PORT", "GAMEDAY_API_PORT", "GAMEDAY_DOWNSTREAM_PORT"):
        env[port] = "0"  # a private stack never collides with the user's ports
    if seed is not None:
        env["SUT_FAULT_SEED"] = str(seed)
    progress("starting a private stack for this gameday")
    up = subprocess.run(
        [sys.executable, "-m", "gameday", "up", "--detach"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if up.returncode != 0:
        raise HarnessError(f"the private stack did not start: {up.stderr.strip()[-500:]}")
    try:
        yield state_dir
    finally:
        progress("stopping the private stack")
        subprocess.run(
            [sys.executable, "-m", "gameday", "down"],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


#: Stack resources an experiment's configuration can read (``type: env``, GAMEDAY_<NAME>):
#: on a deployed stack the alarms' names are CloudFormation's own.
EXPORTED_RESOURCES = (*ALARM_ROLES, "metrics_namespace")


def stack_env(state_dir: Path) -> dict[str, str]:
    """The stack's AWS endpoint, region and (embedded) credentials, as `gameday status`
    prints them, and its alarms' names: chaostoolkit-aws activities in an experiment reach
    the same stack and alarms."""
    state = statefile.read_state(Settings(state_dir=state_dir)) or {}
    env = {key: str(value) for key, value in state.get("env", {}).items()}
    resources = state.get("resources", {})
    for name in EXPORTED_RESOURCES:
        if resources.get(name):
            env[f"GAMEDAY_{name.upper()}"] = str(resources[name])
    return env


def _play(
    path: Path,
    run_dir: Path,
    state_dir: Path,
    aws_env: dict[str, str],
    args: argparse.Namespace,
    progress: Any,
) -> Outcome:
    folder = run_dir / path.stem
    folder.mkdir(parents=True, exist_ok=True)
    journal_path = folder / "journal.json"
    env = {
        **os.environ,
        **aws_env,
        ENV_STATE_DIR: str(state_dir),
        "GAMEDAY_RUN_DIR": str(folder),
        "GAMEDAY_TIME_SCALE": str(args.time_scale),
    }
    if args.seed is not None:
        env["GAMEDAY_SEED"] = str(args.seed)
    command = [*_chaos(), "--log-file", str(folder / "chaostoolkit.log"), "run", str(path)]
    command += ["--journal-path", str(journal_path), "--rollback-strategy", "always"]
    if args.dry:
        command += ["--dry", "actions"]
    started = time.monotonic()
    interrupted = False
    # Its own session: a terminal's Ctrl-C reaches only us, and we pass on exactly one
    # SIGINT (Chaos Toolkit skips the remaining rollbacks on a second one).
    with subprocess.Popen(  # noqa: S603
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            _follow(process, path.stem, progress)  # chaos ends on its own: activities are bounded
        except KeyboardInterrupt:
            interrupted = True
            progress(f"interrupted: {path.stem} is running its rollbacks (Ctrl-C again is ignored)")
            previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
            timer = threading.Timer(
                INTERRUPT_GRACE_SECONDS, _signal_group, (process.pid, signal.SIGKILL)
            )
            timer.start()
            try:
                _signal_group(process.pid, signal.SIGINT)
                _follow(process, path.stem, progress)
            finally:
                timer.cancel()
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
        process.wait()
    outcome = _outcome(path, folder, time.monotonic() - started)
    if interrupted:
        outcome.status, outcome.exit_code = "interrupted", EXIT_INTERRUPTED
        outcome.detail = "interrupted; " + _rollback_summary(folder)
    return outcome


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
        os.killpg(pid, sig)


def _follow(process: subprocess.Popen[str], name: str, progress: Any) -> None:
    """Chaos Toolkit's lines that say what it is doing, as progress lines."""
    assert process.stdout is not None
    for line in process.stdout:
        text = _ANSI.sub("", line).rstrip()
        if any(k in text for k in ("Action:", "Probe:", "Rollback:", "ended with", "abort")):
            progress(f"  {name}: {text.split('] ', 1)[-1]}")


def _rollback_summary(folder: Path) -> str:
    journal = read_json(folder / "journal.json") or {}
    rollbacks = journal.get("rollbacks") or []
    if not rollbacks:
        return "no rollback ran"
    ok = sum(1 for r in rollbacks if r.get("status") == "succeeded")
    return f"{ok} of {len(rollbacks)} rollbacks succeeded"


def _outcome(path: Path, folder: Path, seconds: float) -> Outcome:
    """The experiment's verdict from its evidence: the journal, the control's files, the SLOs."""
    journal = read_json(folder / "journal.json") or {}
    title = str(journal.get("experiment", {}).get("title", path.stem))
    status, deviated = journal.get("status"), bool(journal.get("deviated"))
    judged = read_json(folder / verdict.VERDICT)
    failed_actions = read_json(folder / "failed-actions.json")
    outcome = Outcome(path.stem, title, "held", EXIT_OK, status, deviated, round(seconds, 1))
    if judged:
        outcome.score = judged.get("score")
    if (folder / verdict.ABORT).is_file():
        reason = read_json(folder / verdict.ABORT) or {}
        outcome.status, outcome.exit_code = "aborted", EXIT_ABORTED
        outcome.detail = f"guardrail {reason.get('guardrail')} breached"
    elif failed_actions or status in ("failed", "aborted", "interrupted") or not journal:
        names = ", ".join(a["name"] for a in failed_actions or [])
        outcome.status, outcome.exit_code = "failed", EXIT_HARNESS
        outcome.detail = f"failed: {names}" if names else f"journal status {status}"
    elif judged is None:
        outcome.status, outcome.exit_code = "failed", EXIT_HARNESS
        outcome.detail = "no verdict was written"
    elif (missed := _not_steady_before(journal)) is not None:
        outcome.status, outcome.exit_code = "breached", EXIT_BREACHED
        outcome.detail = f"not steady before the method: {missed}"
    elif deviated or judged.get("status") == verdict.BREACHED:
        breached = [
            r["slo"] + ": " + r["objective"]
            for r in judged["results"]
            if r["status"] == verdict.BREACHED
        ]
        outcome.status, outcome.exit_code = "breached", EXIT_BREACHED
        outcome.detail = "; ".join(breached) or "the steady state deviated"
    return outcome


def _not_steady_before(journal: dict[str, Any]) -> str | None:
    """The probes that missed their tolerance before the method, when the hypothesis failed
    (Chaos Toolkit then stops, calling the run "completed" and not deviated)."""
    before = (journal.get("steady_states") or {}).get("before") or {}
    if not before or before.get("steady_state_met", True):
        return None
    probes = before.get("probes", [])
    return ", ".join(p["activity"]["name"] for p in probes if not p.get("tolerance_met")) or "?"


def _table(outcomes: list[Outcome], code: int, dry: bool = False) -> str:
    lines = [f"{'experiment':<20} {'status':<11} {'score':>6} {'time':>7}  detail"]
    for o in outcomes:
        score = f"{o.score:.0f}" if o.score is not None else "-"
        lines.append(
            f"{o.experiment:<20} {o.status.upper():<11} {score:>6} {o.seconds:>6.0f}s  {o.detail}"
        )
    words = {EXIT_OK: "HELD", EXIT_BREACHED: "BREACHED", EXIT_ABORTED: "ABORTED"}
    word = words.get(code, "INTERRUPTED" if code == EXIT_INTERRUPTED else "FAILED")
    word = "WALKED (dry run, nothing injected)" if dry and code == EXIT_OK else word
    lines.append(f"gameday verdict: {word} (exit {code})")
    return "\n".join(lines)
