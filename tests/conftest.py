"""Shared fixtures: real backend processes on 127.0.0.1 and boto3 clients for them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from gameday.stack.supervisor import free_port, probe_http

REPO = Path(__file__).resolve().parents[1]


class Backend:
    """One embedded backend process: ``fast`` is ours, otherwise stock moto SQS."""

    def __init__(self, fast: bool, log: Path) -> None:
        self.fast = fast
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "gameday.stack.backend", "--port", str(self.port)]
        if not fast:
            argv.append("--stock")
        self._log = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not probe_http(self.endpoint + "/moto-api/", timeout=0.5):
            assert self.process.poll() is None, f"backend exited, see {log}"
            assert time.monotonic() < deadline, f"backend not ready in 30 s, see {log}"
            time.sleep(0.05)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, read_timeout=30),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


@pytest.fixture(scope="session")
def fast_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    backend = Backend(fast=True, log=tmp_path_factory.mktemp("logs") / "fast.log")
    yield backend
    backend.stop()


@pytest.fixture(scope="session")
def stock_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    backend = Backend(fast=False, log=tmp_path_factory.mktemp("logs") / "stock.log")
    yield backend
    backend.stop()


@pytest.fixture(params=["stock", "fast"])
def any_backend(request: pytest.FixtureRequest) -> Backend:
    """Runs a test against stock moto and against our fast path: same semantics."""
    return request.getfixturevalue(f"{request.param}_backend")  # type: ignore[no-any-return]


def gameday_env(state_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_", "AWS_"))}
    return {**env, "GAMEDAY_STATE_DIR": str(state_dir), **extra}


def run_gameday(
    *args: str, state_dir: Path, timeout: float = 60, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """The real `gameday` command, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args],
        env=gameday_env(state_dir, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or state_dir.parent,
        check=False,
    )
