"""`gameday up/status/down` as a user runs them: real processes, real ports."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest

from gameday.settings import Settings
from gameday.stack.provision import provision
from gameday.stack.state import aws_client
from gameday.stack.supervisor import probe_http
from tests.conftest import gameday_env, run_gameday

pytestmark = pytest.mark.integration


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / ".gameday"
    yield state
    run_gameday("down", state_dir=state)  # never leave a stack behind


@pytest.fixture
def stack(state_dir: Path) -> dict[str, Any]:
    started = run_gameday("up", "--detach", state_dir=state_dir)
    assert started.returncode == 0, started.stderr
    status = run_gameday("status", "--json", state_dir=state_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    return json.loads(status.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """One stack for the tests that only look at it (each start and stop costs seconds)."""
    state = tmp_path_factory.mktemp("shared-stack") / ".gameday"
    started = run_gameday("up", "--detach", state_dir=state)
    assert started.returncode == 0, started.stderr
    status = run_gameday("status", "--json", state_dir=state)
    assert status.returncode == 0, status.stdout + status.stderr
    yield json.loads(status.stdout), state
    run_gameday("down", state_dir=state)


def _clients(stack: dict[str, Any]) -> dict[str, Any]:
    return {service: aws_client(stack, service) for service in ("sqs", "dynamodb", "ssm")}


def test_up_provisions_everything_the_reference_system_needs(
    shared: tuple[dict[str, Any], Path],
) -> None:
    stack, _ = shared
    backend = stack["parts"]["backend"]
    assert backend["endpoint"].startswith("http://127.0.0.1:")
    assert backend["healthy"] and backend["alive"]
    assert set(stack["api_keys"]) == {"client", "admin"}
    assert all(len(key) >= 24 for key in stack["api_keys"].values())
    c = _clients(stack)
    urls = c["sqs"].list_queues()["QueueUrls"]
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {"orders", "orders-dlq"}
    orders = c["sqs"].get_queue_attributes(
        QueueUrl=stack["resources"]["queue_url"], AttributeNames=["All"]
    )["Attributes"]
    redrive = json.loads(orders["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 3
    assert redrive["deadLetterTargetArn"] == stack["resources"]["dlq_arn"]
    assert orders["VisibilityTimeout"] == "35"  # worker timeout 5 s + 30 s
    dlq = c["sqs"].get_queue_attributes(
        QueueUrl=stack["resources"]["dlq_url"], AttributeNames=["MessageRetentionPeriod"]
    )
    assert dlq["Attributes"]["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    for table, ttl in (
        ("gameday-idempotency", True),
        ("gameday-rate-limits", True),
        ("gameday-processed-orders", False),
        ("gameday-downstream-effects", False),  # effects outlive the downstream's process
    ):
        c["dynamodb"].describe_table(TableName=table)
        described = c["dynamodb"].describe_time_to_live(TableName=table)
        status = described["TimeToLiveDescription"]["TimeToLiveStatus"]
        assert (status == "ENABLED") is ttl, (table, status)
    mode = c["ssm"].get_parameter(Name="/ingestion/failure_mode")["Parameter"]["Value"]
    assert mode == "none"
    fault = json.loads(c["ssm"].get_parameter(Name="/ingestion/fault")["Parameter"]["Value"])
    assert fault["mode"] == "none"


def test_state_file_is_private_and_readable_by_other_tools(
    shared: tuple[dict[str, Any], Path],
) -> None:
    stack, state_dir = shared
    state_file = state_dir / "stack.json"
    assert state_file.stat().st_mode & 0o077 == 0  # it holds the API keys
    state = json.loads(state_file.read_text())
    assert state["status"] == "ready"
    assert state["parts"]["backend"]["endpoint"] == stack["parts"]["backend"]["endpoint"]
    assert Path(state["parts"]["backend"]["log"]).is_file()


def test_provisioning_twice_changes_nothing_and_keeps_an_active_fault(
    shared: tuple[dict[str, Any], Path],
) -> None:
    stack, _ = shared
    c = _clients(stack)
    c["ssm"].put_parameter(
        Name="/ingestion/failure_mode", Value="poison_payload", Type="String", Overwrite=True
    )
    env = stack["env"]
    session = boto3.session.Session(
        region_name=env["AWS_REGION"], aws_access_key_id="testing", aws_secret_access_key="testing"
    )

    class Endpoint:
        def client(self, service: str) -> Any:
            return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"])

    again = provision(Endpoint(), Settings())
    assert again.as_dict() == stack["resources"]
    try:
        assert c["ssm"].get_parameter(Name="/ingestion/failure_mode")["Parameter"]["Value"] == (
            "poison_payload"
        )
        assert len(c["sqs"].list_queues()["QueueUrls"]) == 2
    finally:  # the shared stack goes on without the fault
        c["ssm"].put_parameter(
            Name="/ingestion/failure_mode", Value="none", Type="String", Overwrite=True
        )


def test_second_up_is_refused_while_one_runs(shared: tuple[dict[str, Any], Path]) -> None:
    _, state_dir = shared
    second = run_gameday("up", "--detach", state_dir=state_dir)
    assert second.returncode == 3
    assert "already running" in second.stderr
    assert "gameday down" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert "Traceback" not in second.stderr


def test_down_stops_every_process(stack: dict[str, Any], state_dir: Path) -> None:
    pids = [stack["supervisor_pid"], stack["parts"]["backend"]["pid"]]
    stopped = run_gameday("down", state_dir=state_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert not (state_dir / "stack.json").exists()
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )
    status = run_gameday("status", state_dir=state_dir)
    assert status.returncode == 3
    assert "gameday up" in status.stderr


def test_killed_supervisor_takes_its_children_and_leaves_a_stale_file(
    stack: dict[str, Any], state_dir: Path
) -> None:
    backend_pid = stack["parts"]["backend"]["pid"]
    os.kill(stack["supervisor_pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(backend_pid) and time.monotonic() < deadline:
        if psutil.Process(backend_pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not psutil.pid_exists(backend_pid) or (
        psutil.Process(backend_pid).status() == psutil.STATUS_ZOMBIE
    )
    status = run_gameday("status", "--json", state_dir=state_dir)
    assert status.returncode == 3
    shown = json.loads(status.stdout)
    assert shown["running"] is False
    assert shown["reason"] == (
        f"the stack recorded in {state_dir}/stack.json is gone (stale file removed)"
    )
    assert not (state_dir / "stack.json").exists()
    restarted = run_gameday("up", "--detach", state_dir=state_dir)
    assert restarted.returncode == 0, restarted.stderr


def test_foreground_up_stops_cleanly_on_sigterm(state_dir: Path) -> None:
    process, state_file = _foreground_up(state_dir)
    backend_pid = json.loads(state_file.read_text())["parts"]["backend"]["pid"]
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert "stack stopped" in out
    assert not state_file.exists()
    assert not psutil.pid_exists(backend_pid)


def test_taken_port_is_refused_with_what_to_do(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_gameday("up", state_dir=state_dir, GAMEDAY_BACKEND_PORT=str(port))
    assert result.returncode == 3
    assert f"port {port} on 127.0.0.1 is taken" in result.stderr
    assert "GAMEDAY_BACKEND_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_stale_state_file_from_a_dead_stack_is_cleaned(state_dir: Path) -> None:
    state_dir.mkdir(parents=True)
    (state_dir / "stack.json").write_text(
        json.dumps(
            {
                "status": "ready",
                "supervisor": {"pid": 999_999, "created": 1.0},
                "parts": {"backend": {"pid": 999_998, "endpoint": "http://127.0.0.1:1"}},
            }
        )
    )
    result = run_gameday("status", state_dir=state_dir)
    assert result.returncode == 3
    assert "stale file removed" in result.stderr
    assert not (state_dir / "stack.json").exists()


def test_unwritable_state_folder_says_what_to_do(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file-not-folder"  # root ignores permissions; a file blocks mkdir
        blocker.write_text("")
        state_dir = blocker / ".gameday"
    else:
        tmp_path.chmod(0o500)
        state_dir = tmp_path / ".gameday"
    result = run_gameday("up", state_dir=state_dir, cwd=tmp_path)
    assert result.returncode == 3
    assert "cannot write the state folder" in result.stderr
    assert "GAMEDAY_STATE_DIR" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("argv", [["fly"], ["up", "--turbo"], ["bench", "nothing"], []])
def test_usage_mistakes_exit_3_in_one_line(tmp_path: Path, argv: list[str]) -> None:
    result = run_gameday(*argv, state_dir=tmp_path / ".gameday")
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "gameday --help" in result.stderr or "see `gameday" in result.stderr


def test_bad_setting_names_its_variable(tmp_path: Path) -> None:
    result = run_gameday("up", state_dir=tmp_path / ".gameday", GAMEDAY_BACKEND_PORT="eighty")
    assert result.returncode == 3
    assert "GAMEDAY_BACKEND_PORT='eighty'" in result.stderr


def _foreground_up(state_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    """`gameday up` in the foreground, once its stack is ready."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gameday", "up"],
        env=gameday_env(state_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    state_file = state_dir / "stack.json"
    deadline = time.monotonic() + 30
    while not (state_file.exists() and json.loads(state_file.read_text()).get("status") == "ready"):
        assert time.monotonic() < deadline, "the stack was not ready in 30 s"
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    return process, state_file


def _kill_and_wait_for_a_new_pid(state_file: Path, part: str, timeout: float = 20) -> float:
    """SIGKILL a part; seconds until the state file names its restarted process."""
    old = json.loads(state_file.read_text())["parts"][part]["pid"]
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    while time.monotonic() - killed < timeout:
        with contextlib.suppress(ValueError, KeyError, FileNotFoundError):  # a write under way
            if json.loads(state_file.read_text())["parts"][part]["pid"] != old:
                return time.monotonic() - killed
        time.sleep(0.05)
    raise AssertionError(f"{part} was not restarted within {timeout} s")


def test_a_killed_api_and_downstream_are_restarted_on_their_ports(
    stack: dict[str, Any], state_dir: Path
) -> None:
    state_file = state_dir / "stack.json"
    for part in ("api", "downstream"):
        endpoint = stack["parts"][part]["endpoint"]
        _kill_and_wait_for_a_new_pid(state_file, part)
        deadline = time.monotonic() + 20
        while not probe_http(endpoint + "/health"):
            assert time.monotonic() < deadline, f"{part} not healthy again on {endpoint}"
            time.sleep(0.1)
    status = run_gameday("status", state_dir=state_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count("restarted 1x") == 2, status.stdout
    assert (
        json.loads(state_file.read_text())["parts"]["backend"]["pid"]
        == (stack["parts"]["backend"]["pid"])
    ), "the backend must never be restarted because another part died"


def _stopped_by_a_death(state_dir: Path, part: str, restarts_first: int) -> tuple[int, str]:
    """A foreground stack whose part is killed (after some restarts); its exit code and stderr."""
    process, state_file = _foreground_up(state_dir)
    try:
        for _ in range(restarts_first):
            _kill_and_wait_for_a_new_pid(state_file, part)
        os.kill(json.loads(state_file.read_text())["parts"][part]["pid"], signal.SIGKILL)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert not state_file.exists()
    return process.returncode, err


def test_a_crash_looping_api_stops_the_stack_naming_it(state_dir: Path) -> None:
    code, err = _stopped_by_a_death(state_dir, "api", restarts_first=5)  # five are allowed
    assert code == 3, err
    assert "api crashed 5 times in 60 s (a crash loop); the stack was stopped" in err
    assert "api.log" in err


def test_a_dead_backend_stops_the_stack_saying_what_is_lost(state_dir: Path) -> None:
    code, err = _stopped_by_a_death(state_dir, "backend", restarts_first=0)
    assert code == 3, err
    assert "backend exited with code -9" in err
    assert "the queues' and tables' contents are gone" in err
