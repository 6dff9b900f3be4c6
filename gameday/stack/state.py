"""The state file: how `gameday status`, later commands and `chaos run` find a stack.

It lives at ``.gameday/stack.json`` (``GAMEDAY_STATE_DIR`` moves it), is written
atomically with mode 0600 because it holds the local stack's API keys, and is
never trusted blindly: a file whose supervisor is gone is stale and is cleaned.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import psutil

from gameday.errors import HarnessError, StackNotRunning
from gameday.settings import Settings

STATE_VERSION = 1


def ensure_state_dir(settings: Settings) -> None:
    """Create the state and log folders, or say clearly why we cannot."""
    try:
        settings.log_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.state_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise HarnessError(
            f"cannot write the state folder {settings.state_dir}/ ({exc.strerror or exc})",
            "run from a folder you can write, or set GAMEDAY_STATE_DIR to one",
        ) from None


def write_state(settings: Settings, state: dict[str, Any]) -> None:
    state = {"version": STATE_VERSION, **state}
    tmp = settings.state_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    tmp.replace(settings.state_file)


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The state file's content, or None when there is none (or it is unreadable)."""
    try:
        text = settings.state_file.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HarnessError(f"cannot read {settings.state_file}: {exc.strerror}") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError:
        return {"corrupt": True}
    return state if isinstance(state, dict) else {"corrupt": True}


def remove_state(settings: Settings) -> None:
    with contextlib.suppress(FileNotFoundError):
        settings.state_file.unlink()


def process_alive(pid: int | None, started_at: float | None) -> bool:
    """True when ``pid`` still runs and is the process we started (not a reused pid)."""
    if not pid:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started_at is None or abs(process.create_time() - started_at) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def is_live(state: dict[str, Any]) -> bool:
    """A local stack lives while its supervisor does; a target until it is forgotten."""
    if state.get("target"):
        return True
    supervisor = state.get("supervisor", {})
    return process_alive(supervisor.get("pid"), supervisor.get("created"))


def running_state(settings: Settings) -> dict[str, Any]:
    """The state of the running stack; cleans a stale file and raises when none runs."""
    state = read_state(settings)
    if state is None:
        raise StackNotRunning()
    if not is_live(state):
        clean_stale(settings, state)
        raise StackNotRunning(
            f"the stack recorded in {settings.state_file} is gone (stale file removed)"
        )
    return state


def clean_stale(settings: Settings, state: dict[str, Any]) -> list[str]:
    """Stop what is left of a dead stack and remove its state file; names what was stopped."""
    stopped = []
    for name, part in state.get("parts", {}).items():
        if process_alive(part.get("pid"), part.get("created")):
            terminate(part["pid"])
            stopped.append(name)
    remove_state(settings)
    return stopped


def terminate(pid: int, grace_seconds: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after the grace period; bounded in time."""
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout=grace_seconds)
    except psutil.TimeoutExpired:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
            process.wait(timeout=grace_seconds)
    except psutil.NoSuchProcess:
        pass


def aws_client(state: dict[str, Any], service: str, config: Any = None) -> Any:
    """A boto3 client for the stack described by ``state`` (its endpoint and credentials)."""
    import boto3

    env = state["env"]
    return boto3.client(
        service,
        endpoint_url=env.get("AWS_ENDPOINT_URL"),
        region_name=env["AWS_REGION"],
        # none recorded for a real account's target: boto3's default chain finds them
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        config=config,
    )
