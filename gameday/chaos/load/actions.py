"""Start a load profile in the background and wait for it, writing into the run folder.

The profile runs as the real ``locust`` command on ``loadtests/locustfile.py``
(as ``gameday load`` runs it); its acked ids, HDR histograms and CSV history go
to the run folder, where the ledger and the verdict find them.
"""

import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.load import LocustRun, confirmed_target, is_loopback
from gameday.project import Project
from loadtests.profiles import ProfileError, get_profile

__all__ = ["start_load", "wait_for_load"]

_RUNNING: dict[str, Any] = {}  # the background load of this process


def start_load(
    profile: str = "steady",
    time_scale: float = 1.0,
    scale: float = 1.0,
    profiles_file: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Start a load profile (the project's profiles.yaml, else the bundled one); return at once.

    time_scale multiplies the profile's durations (0.1: ten times shorter), scale its
    rates (requests/s). Returns the profile, its length in seconds and the locust pid.
    """
    if "process" in _RUNNING and _RUNNING["process"].poll() is None:
        raise ActivityFailed("a load profile is already running; wait_for_load first")
    time_scale, scale = float(time_scale), float(scale)  # "${var}" substitutions arrive as text
    path = Path(profiles_file) if profiles_file else Project.current().profiles
    try:
        chosen = get_profile(profile, path)
    except ProfileError as exc:
        raise ActivityFailed(str(exc)) from None
    if time_scale <= 0 or scale <= 0:
        raise ActivityFailed("time_scale and scale must be positive")
    state = context.stack(configuration)
    host = context.api_url(configuration)
    allowed = is_loopback(host) or confirmed_target(host, state)
    if not allowed and not (configuration or {}).get("gameday_allow_remote"):
        raise ActivityFailed(f"{host} is not on this machine; set gameday_allow_remote to allow")
    seconds = chosen.duration * time_scale
    run = LocustRun(profile, path, scale, time_scale, host, context.run_dir(configuration), seconds)
    started = run.start(state["api_keys"]["client"], ["-u", "1", "-r", "1"])
    process = started.__enter__()
    _RUNNING.update(process=process, context=started, seconds=seconds, began=time.monotonic())
    context.mark("load_start", profile=profile, seconds=round(seconds, 1))
    return {"profile": profile, "seconds": round(seconds, 1), "pid": process.pid}


def wait_for_load(
    timeout_seconds: float = 600, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Wait (at most timeout_seconds) for the background load profile to finish.

    Returns its exit code and wall time in seconds; fails when none was started or it
    did not finish in time (it is then stopped).
    """
    if "process" not in _RUNNING:
        raise ActivityFailed("no load profile was started (use start_load first)")
    process: subprocess.Popen[bytes] = _RUNNING["process"]
    try:
        code = process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        stop_load()
        raise ActivityFailed(f"the load profile did not finish in {timeout_seconds} s") from None
    finally:  # also on an interruption: stop gracefully, so every accepted order is recorded
        stop_load()
        with contextlib.suppress(Exception):
            _RUNNING["context"].__exit__(None, None, None)
    seconds = time.monotonic() - _RUNNING.pop("began")
    _RUNNING.clear()
    context.mark("load_end", exit_code=code)
    if code not in (0, 1):
        raise ActivityFailed(f"locust exited with code {code}; see locust.log in the run folder")
    return {"exitCode": code, "seconds": round(seconds, 1)}


def stop_load(grace_seconds: float = 45) -> None:
    """Stop a running load profile; requests in flight finish (used on abort and Ctrl-C)."""
    process = _RUNNING.get("process")
    if process is not None and process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_seconds)
