"""`gameday up`, `down` and `status`: the stack's lifecycle as the user sees it."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from gameday.errors import EXIT_HARNESS, EXIT_OK, HarnessError, StackNotRunning
from gameday.measure import sources
from gameday.project import Project
from gameday.settings import Settings
from gameday.stack import state as statefile
from gameday.stack.provision import ALARM_ROLES
from gameday.stack.supervisor import Supervisor, probe_http
from gameday.variants import Variant


class _Stop(BaseException):
    """Raised by our SIGINT/SIGTERM handler so every wait unwinds into cleanup."""


def progress_printer(stream: TextIO) -> Callable[[str], None]:
    began = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - began:5.1f}s] {message}", file=stream, flush=True)

    return progress


def up(
    settings: Settings,
    out: TextIO,
    err: TextIO,
    variant: Variant | None = None,
    *,
    from_template: bool = False,
) -> int:
    """Start the stack and supervise it in the foreground until Ctrl-C or SIGTERM.

    While starting, a signal raises _Stop so every wait unwinds. Once the stack runs it
    only sets a flag the watch loop reads: an exception raised from a signal handler can
    land inside a finalizer (a boto3 connection pool's, collected meanwhile), where
    Python prints it and drops it, and the SIGTERM was lost (seen once in a test).
    """
    stopping = threading.Event()
    running = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()
        if not running.is_set():
            raise _Stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor(
        settings, progress_printer(err), variant=variant, from_template=from_template
    )
    dead = None
    try:
        state = supervisor.start()
        running.set()
        if stopping.is_set():  # the signal came as the start finished
            raise _Stop()
        print_endpoints(state, out)
        print("Press Ctrl-C to stop the stack.", file=out, flush=True)
        dead = supervisor.watch(stopping.is_set)
    except _Stop:
        pass
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup short
        supervisor.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if dead:
        lost = (
            "; the stack was stopped and the queues' and tables' contents are gone with it"
            if dead.part == "backend"
            else "; the stack was stopped"
        )
        raise HarnessError(f"{dead.part} {dead.what}{lost}", f"see {dead.log}")
    print("stack stopped", file=out, flush=True)
    return EXIT_OK


def up_detached(
    settings: Settings,
    out: TextIO,
    err: TextIO,
    variant: Variant | None = None,
    *,
    from_template: bool = False,
) -> int:
    """Start a supervisor in the background and return once the stack is ready."""
    current = statefile.read_state(settings)
    if current is not None and statefile.is_live(current):
        raise HarnessError(
            f"a gameday stack is already running (state in {settings.state_file})",
            "use it, or stop it first with `gameday down`",
        )
    statefile.ensure_state_dir(settings)
    log_path = settings.log_dir / "supervisor.log"
    argv = [sys.executable, "-m", "gameday", "up"]
    if variant:
        argv += ["--variant", variant.name, "--i-know-it-is-broken", variant.name]
    if from_template:
        argv.append("--from-template")
    with open(log_path, "wb") as log:
        child = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this shell command
        )
    shown = 0
    deadline = time.monotonic() + settings.ready_timeout_seconds + 10
    try:
        while True:
            lines = log_path.read_text(errors="replace").splitlines()
            for line in lines[shown:]:
                if line.startswith("["):  # progress lines only
                    print(line, file=err, flush=True)
            shown = len(lines)
            state = statefile.read_state(settings)
            if state and state.get("status") == "ready" and _supervised_by(state, child.pid):
                print_endpoints(state, out)
                print("Stop it with `gameday down`.", file=out, flush=True)
                return EXIT_OK
            if child.poll() is not None:
                last = next((ln for ln in reversed(lines) if ln.strip()), "no output")
                raise HarnessError(last.removeprefix("gameday: error: "), f"see {log_path}")
            if time.monotonic() > deadline:
                child.terminate()
                raise HarnessError("the stack did not become ready in time", f"see {log_path}")
            time.sleep(0.1)
    except KeyboardInterrupt:
        child.terminate()
        child.wait(timeout=20)
        raise


def _supervised_by(state: dict[str, Any], pid: int) -> bool:
    return bool(state.get("supervisor", {}).get("pid") == pid)


def down(settings: Settings, out: TextIO, timeout: float = 30.0) -> int:
    """Stop the running stack (whoever started it); cleans a stale state file."""
    state = statefile.read_state(settings)
    if state is None:
        print("no gameday stack is running", file=out)
        return EXIT_OK
    if state.get("target"):
        statefile.remove_state(settings)
        stack = state["target"]["stack"]
        print(f"forgot the target {stack}; the stack itself keeps running (docs/aws.md)", file=out)
        return EXIT_OK
    if not statefile.is_live(state):
        stopped = statefile.clean_stale(settings, state)
        extra = f"; stopped leftover {', '.join(stopped)}" if stopped else ""
        print(f"removed a stale state file (its stack was gone){extra}", file=out)
        return EXIT_OK
    supervisor_pid = state["supervisor"]["pid"]
    statefile.terminate(supervisor_pid, grace_seconds=timeout)
    # A supervisor that could not clean up (it was killed) leaves its parts to us.
    leftover = statefile.read_state(settings)
    if leftover is not None:
        statefile.clean_stale(settings, leftover)
    print("stack stopped", file=out)
    return EXIT_OK


def status(settings: Settings, out: TextIO, as_json: bool) -> int:
    """Print the running stack's parts, health, resources and keys."""
    try:
        state = statefile.running_state(settings)
    except StackNotRunning as exc:
        if as_json:
            files = Project.current().files_used()
            print(json.dumps({"running": False, "reason": exc.message, "files": files}), file=out)
            return EXIT_HARNESS
        raise
    report = status_report(state)
    if as_json:
        print(json.dumps(report, indent=2), file=out)
    else:
        print_endpoints(report, out)
    healthy = all(part["healthy"] for part in report["parts"].values())
    return EXIT_OK if healthy and report["status"] == "ready" else EXIT_HARNESS


def status_report(state: dict[str, Any]) -> dict[str, Any]:
    """The state file plus live health, without the bookkeeping fields."""
    parts = {}
    for name, part in state.get("parts", {}).items():
        # a target's parts are not ours to see: only their health endpoints answer for them
        alive = "pid" not in part or statefile.process_alive(part["pid"], part.get("created"))
        health_path = part.get("health_path")
        healthy = alive and (
            not part.get("endpoint")
            or not health_path
            or probe_http(part["endpoint"] + health_path, timeout=2.0)
        )
        parts[name] = {key: value for key, value in part.items() if key != "created"} | {
            "alive": alive,
            "healthy": healthy,
        }
    return {
        "running": True,
        "status": state.get("status"),
        "state_dir": state.get("state_dir"),
        "supervisor_pid": state.get("supervisor", {}).get("pid"),
        "region": state.get("region"),
        "parts": parts,
        "resources": state.get("resources", {}),
        "api_keys": state.get("api_keys", {}),
        "env": state.get("env", {}),
        **{key: state[key] for key in ("stack", "target") if state.get(key)},
        "files": Project.current().files_used(),
        **({"variant": state["variant"]} if state.get("variant") else {}),
    }


def print_endpoints(state: dict[str, Any], out: TextIO) -> None:
    ready = state.get("ready_seconds")
    heading = f"gameday stack {state.get('status', '?')}"
    print(heading + (f" in {ready:.1f} s" if ready is not None else ""), file=out)
    if state.get("variant"):
        variant = state["variant"]
        print(f"  BROKEN VARIANT {variant['name']}: {variant['defect']}", file=out)
    for name, part in state.get("parts", {}).items():
        services = f"  ({', '.join(part['services'])})" if part.get("services") else ""
        health = ""
        if "healthy" in part:
            health = "  healthy" if part["healthy"] else "  NOT HEALTHY"
        where = part.get("endpoint") or "(no port)"
        restarts = f"  restarted {part['restarts']}x" if part.get("restarts") else ""
        pid = f"  pid {part['pid']}" if part.get("pid") else ""
        print(f"  {name:<10} {where}{pid}{services}{health}{restarts}", file=out)
    if state.get("target"):
        target = state["target"]
        where = f"account {target['account']}" if target.get("account") else target["endpoint"]
        print(f"  {'target':<10} stack {target['stack']} in {where}", file=out)
    elif state.get("stack"):
        stack = state["stack"]
        deployed = f"deployed in {stack['deployed_seconds']:.1f} s"
        print(f"  {'stack':<10} {stack['name']} (template.yaml, {deployed})", file=out)
    resources = state.get("resources", {})
    if resources:
        print(f"  {'queue':<10} {resources['queue_url']}", file=out)
        print(f"  {'dlq':<10} {resources['dlq_url']}", file=out)
        tables = ", ".join(
            resources[k] for k in ("idempotency_table", "rate_limit_table", "ledger_table")
        )
        print(f"  {'tables':<10} {tables}", file=out)
        params = f"{resources['failure_mode_parameter']}, {resources['fault_parameter']}"
        print(f"  {'params':<10} {params}", file=out)
        alarms = [resources[k] for k in ALARM_ROLES if resources.get(k)]
        if alarms:
            print(f"  {'alarms':<10} {', '.join(alarms)}", file=out)
        with contextlib.suppress(HarnessError):  # a bad GAMEDAY_METRICS_SOURCE: said where used
            source = sources.choose(state)
            where = resources.get("metrics_namespace", "") if source == sources.CLOUDWATCH else ""
            print(f"  {'metrics':<10} {source} {where}".rstrip(), file=out)
    env = state.get("env", {})
    if env:
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        print(f"  {'env':<10} export {exports}", file=out)
    print(f"  {'state':<10} {state.get('state_dir', '.gameday')}/stack.json", file=out)
    files = state.get("files")
    if files:
        print(f"  {'project':<10} {files['project']} (runs: {files['runs']})", file=out)
        print(f"  {'catalogue':<10} {files['catalogue']}", file=out)
        print(f"  {'profiles':<10} {files['profiles']}", file=out)
        own = [n for n, p in files["experiments"].items() if p.startswith(files["project"])]
        counted = f"{len(files['experiments'])} ({len(own)} the project's own)"
        print(f"  {'experiments':<10} {counted}", file=out)
