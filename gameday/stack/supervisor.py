"""Start, watch and stop the parts of the reference stack as child processes.

One supervisor process owns the stack: it holds an exclusive lock on the
state folder for its whole life (so a second `gameday up` is refused), starts
each part with its log in ``.gameday/logs/``, waits for readiness with a
bounded timeout, provisions the resources and writes the state file. Children
get SIGTERM when the supervisor dies, however it dies (Linux
``PR_SET_PDEATHSIG``), so a killed supervisor leaves no orphans.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from gameday import settings as names
from gameday.errors import HarnessError
from gameday.measure import sources
from gameday.settings import Settings
from gameday.stack import cloudformation
from gameday.stack import state as statefile
from gameday.stack.provision import Resources, provision
from gameday.variants import Variant

Progress = Callable[[str], None]
#: More restarts than this within the window is a crash loop: the stack stops.
MAX_RESTARTS, RESTART_WINDOW_S = 5, 60.0
#: How long a stopping worker may take to finish its batch before it is killed.
WORKER_STOP_GRACE_S = 1.5
BACKEND_STOP_GRACE_S = 0.5


@dataclass(frozen=True)
class Death:
    """Why the stack stopped by itself: which part, what happened, where its log is."""

    part: str
    what: str
    log: Path | None


@dataclass
class Part:
    """One child process of the stack."""

    name: str
    argv: list[str]
    port: int  # 0 for a part that serves no HTTP (a worker)
    health_path: str | None  # None: alive is healthy
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = False  # restarted when it dies; else (the backend) its death stops the stack
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str | None:
        return f"http://{names.LOOPBACK}:{self.port}" if self.port else None

    def healthy(self, timeout: float = 1.0) -> bool:
        if self.health_path is None or self.endpoint is None:
            return self.process is not None and self.process.poll() is None
        return probe_http(self.endpoint + self.health_path, timeout)


def probe_http(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return bool(200 <= response.status < 300)
    except (OSError, ValueError):
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((names.LOOPBACK, 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, variable: str) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((names.LOOPBACK, port))
        except OSError:
            raise HarnessError(
                f"port {port} on {names.LOOPBACK} is taken",
                f"free it, or set {variable} to another port (0 picks a free one)",
            ) from None


def embedded_env(endpoint: str, region: str) -> dict[str, str]:
    """What a boto3 client (or `chaos run`) needs to reach the embedded backend."""
    return {
        names.ENV_ENDPOINT_URL: endpoint,
        names.ENV_REGION: region,
        names.ENV_DEFAULT_REGION: region,
        **names.EMBEDDED_CREDENTIALS,
    }


def system_env(
    settings: Settings, resources: Resources, state: dict[str, Any], downstream_port: int
) -> dict[str, str]:
    """What the reference system's processes read (see system_under_test/config.py)."""
    return {
        **state["env"],
        "SUT_QUEUE_URL": resources.queue_url,
        "SUT_DLQ_URL": resources.dlq_url,
        "SUT_IDEMPOTENCY_TABLE": resources.idempotency_table,
        "SUT_LEDGER_TABLE": resources.ledger_table,
        "SUT_EFFECTS_TABLE": resources.effects_table,
        "SUT_FAILURE_MODE_PARAMETER": resources.failure_mode_parameter,
        "SUT_FAULT_PARAMETER": resources.fault_parameter,
        "SUT_API_KEYS": state["api_keys"]["client"],
        "SUT_ADMIN_API_KEYS": state["api_keys"]["admin"],
        "SUT_DOWNSTREAM_URL": f"http://{names.LOOPBACK}:{downstream_port}",
        "SUT_DOWNSTREAM_TIMEOUT_SECONDS": str(settings.worker_timeout_seconds),
        "SUT_MAX_RECEIVE_COUNT": str(settings.max_receive_count),
        "SUT_METRICS_NAMESPACE": resources.metrics_namespace,
        # several API processes share one limit through DynamoDB; one keeps it in memory
        "SUT_RATE_LIMIT_TABLE": resources.rate_limit_table if settings.api_processes > 1 else "",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO"),
    }


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    """Owns the stack's processes for as long as it lives."""

    def __init__(
        self,
        settings: Settings,
        progress: Progress,
        extra_env: dict[str, str] | None = None,
        variant: Variant | None = None,
        from_template: bool = False,
    ) -> None:
        self.settings = settings
        self.from_template = from_template  # deploy template.yaml through CloudFormation
        self.progress = progress
        self.extra_env = extra_env or {}  # for the reference system's processes
        self.variant = variant  # a deliberately broken system (gameday regressions)
        self._system_env: dict[str, str] = {}
        self.parts: list[Part] = []
        self._lock: IO[str] | None = None
        self._logs: list[IO[bytes]] = []
        self.state: dict[str, Any] = {}
        self.restarts: dict[str, int] = {}
        self._restarted: dict[str, list[float]] = {}  # restart times, for the crash-loop bound

    # -- start ----------------------------------------------------------------
    def start(self) -> dict[str, Any]:
        """Start the backend, provision, start the system; write the state file."""
        began = time.monotonic()
        statefile.ensure_state_dir(self.settings)
        self._take_lock()
        try:
            session = self._start_backend()
            self._write("provisioning")
            if self.variant:
                self.progress(f"BROKEN VARIANT {self.variant.name}: {self.variant.defect}")
            downstream_port = self._port(self.settings.downstream_port, names.ENV_DOWNSTREAM_PORT)
            api_port = self._port(self.settings.api_port, names.ENV_API_PORT)
            if self.from_template:
                resources = self._deploy_template(session, api_port, downstream_port)
            else:
                self.progress("provisioning queues, tables and parameters")
                redrive = not (self.variant and self.variant.provision == "no_redrive")
                resources = provision(session, self.settings, redrive=redrive)
            self.state["resources"] = resources.as_dict()
            self._start_system(resources, downstream_port, api_port)
            self.state["ready_seconds"] = round(time.monotonic() - began, 2)
            self._write("ready")
        except BaseException:
            self.stop()
            raise
        return self.state

    def _deploy_template(self, session: Any, api_port: int, downstream_port: int) -> Resources:
        """template.yaml through the backend's CloudFormation; the system runs on its outputs."""
        if self.variant and self.variant.provision:
            raise HarnessError(
                f"the {self.variant.name} variant changes provisioning, not the template",
                "start it without --from-template",
            )
        began = time.monotonic()
        stack = self.settings.stack_name
        resources, outputs = cloudformation.deploy_embedded(
            session,
            self.settings,
            stack,
            api_url=f"http://{names.LOOPBACK}:{api_port}",
            downstream_url=f"http://{names.LOOPBACK}:{downstream_port}",
            api_keys=self.state["api_keys"],
            progress=self.progress,
        )
        seconds = round(time.monotonic() - began, 2)
        self.progress(f"stack {stack} deployed in {seconds:.1f} s; the system runs on its outputs")
        self.state["stack"] = {"name": stack, "deployed_seconds": seconds, "outputs": outputs}
        return resources

    def _take_lock(self) -> None:
        lock_path = self.settings.state_dir / "lock"
        handle = open(lock_path, "w")  # noqa: SIM115 (held for the supervisor's life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            current = statefile.read_state(self.settings) or {}
            backend = current.get("parts", {}).get("backend", {}).get("endpoint", "?")
            raise HarnessError(
                f"a gameday stack is already running (backend {backend}, "
                f"state in {self.settings.state_file})",
                "use it, or stop it first with `gameday down`",
            ) from None
        self._lock = handle
        leftover = statefile.read_state(self.settings)
        if leftover is not None and leftover.get("target"):
            handle.close()
            raise HarnessError(
                f"{self.settings.state_file} aims at the deployed stack "
                f"{leftover['target']['stack']}",
                "forget it with `gameday down`, or set GAMEDAY_STATE_DIR for a local stack",
            )
        if leftover is not None:
            stopped = statefile.clean_stale(self.settings, leftover)
            extra = f", stopped its leftover {', '.join(stopped)}" if stopped else ""
            self.progress(f"removed a stale state file from a stack that is gone{extra}")
        supervisor = psutil.Process()
        self.state = {
            "status": "starting",
            "state_dir": str(self.settings.state_dir.resolve()),
            "supervisor": {"pid": supervisor.pid, "created": supervisor.create_time()},
            "region": self.settings.region,
            "api_keys": {"client": secrets.token_urlsafe(24), "admin": secrets.token_urlsafe(24)},
            "parts": {},
        }
        if self.variant:
            self.state["variant"] = self.variant.as_dict()
        # scrape or cloudwatch; unset, a stack made from the template reads CloudWatch
        self.state["metrics_source"] = sources.choose(
            self.state, self.settings.metrics_source or ("cloudwatch" if self.from_template else "")
        )

    def _start_backend(self) -> _EndpointSession:
        """Start the backend; returns a boto3 session for it, its clients made."""
        port = self._port(self.settings.backend_port, names.ENV_BACKEND_PORT)
        backend = Part(
            name="backend",
            argv=[sys.executable, "-m", "gameday.stack.backend", "--port", str(port)],
            port=port,
            health_path="/moto-api/",
            extra={"services": list(names.EMBEDDED_SERVICES)},
        )
        self._spawn(backend)
        endpoint = f"http://{names.LOOPBACK}:{port}"
        session = self._session(endpoint)
        session.make_clients("sqs", "dynamodb", "ssm")  # while the backend starts
        self._wait_ready([backend])
        self.state["env"] = embedded_env(endpoint, self.settings.region)
        return session

    def _start_system(self, resources: Resources, downstream_port: int, api_port: int) -> None:
        """Start downstream, API and workers together, then wait for all of them."""
        env = {
            **system_env(self.settings, resources, self.state, downstream_port),
            **self.extra_env,
        }
        parts = [
            Part(
                "downstream",
                self._argv("downstream", "--port", str(downstream_port)),
                downstream_port,
                "/health",
                env=env,
                restart=True,
            ),
            Part(
                "api",
                self._argv("api", "--port", str(api_port), *self._api_processes()),
                api_port,
                "/health",
                env=env,
                restart=True,
            ),
        ]
        self._system_env = env
        parts += self._worker_parts(self.settings.workers)
        for part in parts:
            self._spawn(part)
        self._wait_ready(parts)

    def _worker_parts(self, count: int) -> list[Part]:
        first = sum(1 for p in self.parts if p.name.startswith("worker-")) + 1
        visibility = str(self.settings.visibility_timeout_seconds)
        parts = []
        for n in range(first, first + count):
            port = free_port()  # the worker's Prometheus metrics, also its health check
            argv = self._argv(
                "worker", "--visibility-timeout", visibility, "--metrics-port", str(port)
            )
            parts.append(
                Part(f"worker-{n}", argv, port, "/metrics", env=self._system_env, restart=True)
            )
        return parts

    def _api_processes(self) -> list[str]:
        return ["--processes", str(n)] if (n := self.settings.api_processes) > 1 else []

    def _argv(self, part: str, *args: str) -> list[str]:
        """How to start ``part`` of the system: as itself, or patched into its variant."""
        module = f"system_under_test.{part}"
        if self.variant:
            launcher = [sys.executable, "-m", "gameday.variants", self.variant.name, part]
            return [*launcher, module, *args]
        return [sys.executable, "-m", module, *args]

    def add_workers(self, count: int) -> list[str]:
        """Start ``count`` more workers on a running stack; returns their names."""
        parts = self._worker_parts(count)
        for part in parts:
            self._spawn(part)
        self._wait_ready(parts)
        self._write("ready")
        return [part.name for part in parts]

    def _port(self, configured: int, variable: str) -> int:
        if configured:
            check_port_free(configured, variable)
            return configured
        return free_port()

    def _spawn(self, part: Part) -> None:
        where = f" on {part.endpoint}" if part.endpoint else ""
        self.progress(f"starting {part.name}{where}")
        part.log_path = self.settings.log_dir / f"{part.name}.log"
        self.parts.append(part)
        self._launch(part)
        self._write("starting")

    def _launch(self, part: Part) -> None:
        assert part.log_path is not None
        log = open(part.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self._logs.append(log)
        part.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            part.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # the instance dimension of the part's CloudWatch metrics is its name
            env={**os.environ, **part.env, "PYTHONUNBUFFERED": "1", "SUT_INSTANCE": part.name},
            preexec_fn=_die_with_parent,  # noqa: PLW1509 (no threads yet)
            process_group=0,  # Ctrl-C reaches the supervisor, which stops parts in order
        )
        self.state["parts"][part.name] = {
            "pid": part.process.pid,
            "created": psutil.Process(part.process.pid).create_time(),
            "endpoint": part.endpoint,
            "health_path": part.health_path,
            "log": str(part.log_path.resolve()),
            "restarts": self.restarts.get(part.name, 0),
            "started_at": time.time(),
            **part.extra,
        }

    def _wait_ready(self, parts: list[Part]) -> None:
        timeout = self.settings.ready_timeout_seconds
        deadline = time.monotonic() + timeout
        waiting = list(parts)
        while waiting:
            for part in list(waiting):
                assert part.process is not None
                if part.process.poll() is not None:
                    raise HarnessError(
                        f"{part.name} exited with code {part.process.returncode} while starting: "
                        f"{_last_line(part.log_path)}",
                        f"see {part.log_path}",
                    )
                if part.healthy(timeout=0.5):
                    waiting.remove(part)
            if waiting and time.monotonic() > deadline:
                names_ = ", ".join(p.name for p in waiting)
                raise HarnessError(
                    f"{names_} not ready after {timeout:.0f} s",
                    f"see the logs in {self.settings.log_dir}/ "
                    f"or raise {names.ENV_READY_TIMEOUT_S}",
                )
            if waiting:
                time.sleep(0.05)

    def _session(self, endpoint: str) -> _EndpointSession:
        import boto3

        session = boto3.session.Session(
            region_name=self.settings.region,
            aws_access_key_id=names.EMBEDDED_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=names.EMBEDDED_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        return _EndpointSession(session, endpoint)

    def _write(self, status: str) -> None:
        self.state["status"] = status
        statefile.write_state(self.settings, self.state)

    # -- run ------------------------------------------------------------------
    def watch(self, should_stop: Callable[[], bool]) -> Death | None:
        """Block until ``should_stop()``, or until the stack cannot go on; then say why.

        The API, the downstream and the workers are restarted on the same port, as
        Lambda or ECS would: killing one is a chaos action. A part that keeps dying
        (a crash loop) stops the stack, and so does the backend's death: its memory
        held the queues, the tables and the parameters.
        """
        while not should_stop():
            for part in self.parts:
                if part.process is None or part.process.poll() is None:
                    continue
                code = part.process.returncode
                if not part.restart:
                    return Death(part.name, f"exited with code {code}", part.log_path)
                recent = self._recent_restarts(part.name)
                if len(recent) >= MAX_RESTARTS:
                    return Death(
                        part.name,
                        f"crashed {len(recent)} times in {RESTART_WINDOW_S:.0f} s (a crash loop)",
                        part.log_path,
                    )
                self.progress(f"{part.name} exited with code {code}; restarting")
                recent.append(time.monotonic())
                self.restarts[part.name] = self.restarts.get(part.name, 0) + 1
                self._launch(part)
                self._write("ready")
            time.sleep(0.1)
        return None

    def _recent_restarts(self, name: str) -> list[float]:
        """This part's restarts within the crash-loop window (older ones forgotten)."""
        now = time.monotonic()
        kept = [t for t in self._restarted.get(name, []) if now - t < RESTART_WINDOW_S]
        self._restarted[name] = kept
        return kept

    def stop_part(self, name: str) -> None:
        """Stop one part for good (no restart) and drop it from the state file."""
        part = next(p for p in self.parts if p.name == name)
        part.restart = False
        if part.process is not None and part.process.poll() is None:
            statefile.terminate(part.process.pid)
        self.parts.remove(part)
        self.state["parts"].pop(name, None)
        self._write(self.state.get("status", "ready"))

    # -- stop -----------------------------------------------------------------
    def stop(self) -> None:
        """Stop parts in reverse start order; bounded; removes the state file.

        Workers get SIGTERM together first: each finishes its batch in parallel, for at
        most WORKER_STOP_GRACE_S.
        """
        for part in self.parts:
            part.restart = False  # nothing comes back while the stack stops
        workers = [
            psutil.Process(p.process.pid)
            for p in self.parts
            if p.name.startswith("worker-") and p.process is not None and p.process.poll() is None
        ]
        if workers:
            self.progress(f"stopping {len(workers)} workers")
            for worker in workers:
                worker.terminate()
            # A worker idle in a long poll would take its whole wait to notice; the backend
            # that holds its queue stops next, so a receive cut short loses nothing.
            _, alive = psutil.wait_procs(workers, timeout=WORKER_STOP_GRACE_S)
            for worker in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.kill()
            psutil.wait_procs(alive, timeout=5)
        for part in reversed(self.parts):
            if part.process is not None and part.process.poll() is None:
                self.progress(f"stopping {part.name}")
                # the backend's state is memory it is about to lose: no grace to wait out
                grace = BACKEND_STOP_GRACE_S if part.name == "backend" else 5.0
                statefile.terminate(part.process.pid, grace_seconds=grace)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    part.process.wait(timeout=1)
        self.parts.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self._lock is not None:
            statefile.remove_state(self.settings)
            self._lock.close()
            self._lock = None


class _EndpointSession:
    """A boto3 session whose clients all go to one endpoint (the embedded backend)."""

    def __init__(self, session: Any, endpoint: str) -> None:
        self._session = session
        self._endpoint = endpoint
        self._clients: dict[str, Any] = {}

    def make_clients(self, *services: str) -> None:
        for service in services:
            self.client(service)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service, endpoint_url=self._endpoint)
        return self._clients[service]


def _last_line(path: Path | None) -> str:
    if path is None or not path.exists():
        return "(no log)"
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "(empty log)"
