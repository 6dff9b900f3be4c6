"""`gameday load PROFILE`: a Locust profile, headless, gated on the SLO catalogue.

It runs the real ``locust`` command on ``loadtests/locustfile.py`` against the
running stack's API (or ``--host``), writes one run folder (Locust's CSV
history, the HDR histograms and counters, the acked ids), then waits for the
drain, accounts for every acked id and prints the verdict. The exit code is
the verdict's (0 held, 1 breached, 2 aborted, 3 harness error).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import ipaddress
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlparse

from gameday.errors import HarnessError
from gameday.measure import slo, verdict
from gameday.measure.collect import collect_ledger, snapshot_baseline
from gameday.measure.guardrail import Guardrail, rules_for
from gameday.measure.sampler import TimelineSampler
from gameday.project import Project, bundled, run_folder
from gameday.report import publish
from gameday.settings import Settings
from gameday.stack import state as statefile
from loadtests.profiles import Profile, ProfileError, get_profile

LOCUSTFILE = bundled("loadtests", "locustfile.py")
STOP_WAIT_SECONDS = 45  # locust's own grace for requests in flight (35 s), and some


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def confirmed_target(host: str, state: dict[str, Any]) -> bool:
    """True for the API of a stack in an account the user confirmed (`gameday target`)."""
    target = state.get("target") or {}
    api = state.get("parts", {}).get("api", {}).get("endpoint", "")
    return bool(target.get("account")) and host.rstrip("/") == api.rstrip("/")


def main(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    profiles, profile = _checked_request(args)
    state = statefile.running_state(settings)
    host = args.host or state["parts"]["api"]["endpoint"]
    if not (is_loopback(host) or confirmed_target(host, state) or args.allow_remote):
        raise HarnessError(
            f"{host} is not on this machine",
            "load goes to loopback only; pass --allow-remote if you mean it",
        )
    _check_answers(host)
    run_dir = run_folder(args.run_dir, f"load-{profile.name}")
    catalogue = slo.load_catalogue(args.catalogue)
    seconds = profile.duration * args.time_scale
    print(
        f"load {profile.name}: {profile.description} ({seconds:.0f} s) -> {host}",
        file=err,
        flush=True,
    )
    request = LocustRun(profile.name, profiles, args.scale, args.time_scale, host, run_dir, seconds)
    sampler = TimelineSampler.for_stack(run_dir, state)
    guardrail = _guardrail(args, sampler, run_dir)
    snapshot_baseline(run_dir, state)
    with request.start(state["api_keys"]["client"], _distribution(args)) as process:
        sampler.start()
        sampler.mark("phase", name=f"load {profile.name}")
        guardrail.start()
        try:
            _follow(process, profile.name, seconds, err, guardrail)
        except KeyboardInterrupt:
            process.terminate()  # locust lets requests in flight finish, then saves
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_WAIT_SECONDS)
            raise
        finally:
            guardrail.stop()
            sampler.mark("phase", name="load done")
            sampler.stop()
    if process.returncode not in (0, 1):
        raise HarnessError(
            f"locust exited with code {process.returncode}", f"see {run_dir / 'locust.log'}"
        )
    _check_traffic(run_dir)
    print("waiting for the queue to drain, then accounting for every acked id", file=err)
    collect_ledger(run_dir, state, drain_timeout=args.drain_timeout)
    result = verdict.evaluate(catalogue, run_dir)
    verdict.write(result, run_dir)
    print(verdict.table(result), file=out)
    report, index = publish(run_dir)
    print(f"run folder: {run_dir}\nreport: {report}", file=out)
    if index is not None:
        print(f"all runs: {index}", file=out)
    return result.exit_code


@dataclass(frozen=True)
class LocustRun:
    """One headless run of ``loadtests/locustfile.py`` writing into a run folder."""

    profile: str
    profiles: Path
    scale: float
    time_scale: float
    host: str
    run_dir: Path
    seconds: float  # the profile's length; the run is cut off 90 s after it

    @contextmanager
    def start(self, api_key: str, distribution: list[str]) -> Iterator[subprocess.Popen[bytes]]:
        """The locust process, its output in ``locust.log``; killed if still running on exit."""
        env = {
            **os.environ,
            "GAMEDAY_PROFILE": self.profile,
            "GAMEDAY_PROFILES_FILE": str(self.profiles.resolve()),
            "GAMEDAY_PROFILE_SCALE": str(self.scale),
            "GAMEDAY_PROFILE_TIME_SCALE": str(self.time_scale),
            "GAMEDAY_API_KEY": api_key,
            "GAMEDAY_RUN_DIR": str(self.run_dir),
        }
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
        command += [*distribution, "--host", self.host, "--run-time", f"{int(self.seconds) + 90}s"]
        command += ["--csv", str(self.run_dir / "locust"), "--csv-full-history", "--only-summary"]
        command += ["--exit-code-on-error", "0", "--loglevel", "WARNING"]
        with open(self.run_dir / "locust.log", "wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
            try:
                yield process
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)


def _checked_request(args: argparse.Namespace) -> tuple[Path, Profile]:
    """The profiles file and profile asked for, or a HarnessError naming the mistake."""
    profiles = Path(args.profiles) if args.profiles else Project.current().profiles
    try:
        profile = get_profile(args.profile, profiles)
    except ProfileError as exc:
        raise HarnessError(str(exc)) from None
    for flag, value in (("--scale", args.scale), ("--time-scale", args.time_scale)):
        if value <= 0:
            raise HarnessError(f"{flag} {value} must be positive")
    if args.processes < 1 or args.expect_workers < 0:
        raise HarnessError("--processes must be 1 or more and --expect-workers 0 or more")
    if args.processes > 1 and args.expect_workers:
        raise HarnessError("choose --processes (this machine) or --expect-workers, not both")
    return profiles, profile


def _check_traffic(run_dir: Path) -> None:
    """Every arrival locust started must have become a request, or the run measured nothing."""
    try:
        counters = verdict.Measurements.load(run_dir).counters
    except (OSError, ValueError):
        raise HarnessError(
            "locust wrote no measurements", f"see {run_dir / 'locust.log'}"
        ) from None
    started, sent = counters.get("load.started", 0), counters.get("ingest.requests", 0)
    if sent < started:
        raise HarnessError(
            f"locust started {started:.0f} requests but completed {sent:.0f}",
            f"see {run_dir / 'locust.log'}",
        )


def _check_answers(host: str) -> None:
    """One GET /health before any load: a dead host is a harness error, not a breached SLO."""
    parsed = urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise HarnessError(f"--host {host!r} is not an http(s) URL")
    kind = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    connection = kind(parsed.hostname, parsed.port, timeout=5)
    try:
        connection.request("GET", parsed.path.rstrip("/") + "/health")
        connection.getresponse().read()
    except OSError as exc:
        raise HarnessError(
            f"{host} does not answer ({exc})",
            "start the stack with `gameday up`, or point --host at a running API",
        ) from None
    finally:
        connection.close()


def _distribution(args: argparse.Namespace) -> list[str]:
    """Locust's options for one process, N forked workers, or a master awaiting N workers.

    One user per process: each drives its shard of the schedule.
    """
    if args.expect_workers:
        users = str(args.expect_workers)
        return [
            *("--master", "--expect-workers", users, "--expect-workers-max-wait", "120"),
            *("--master-bind-host", args.master_bind_host),
            *("--master-bind-port", str(args.master_bind_port)),
            *("-u", users, "-r", users),
        ]
    users = str(args.processes)
    processes = ["--processes", users] if args.processes > 1 else []
    return [*processes, "-u", users, "-r", users]


def _guardrail(args: argparse.Namespace, sampler: TimelineSampler, run_dir: Path) -> Guardrail:
    names = [n.strip() for n in (args.guardrail or "").split(",") if n.strip()]
    try:
        rules = rules_for(names, lambda: sampler.latest, args.grace)
    except ValueError as exc:
        raise HarnessError(f"--guardrail: {exc}") from None
    return Guardrail(rules, run_dir=run_dir)


def _follow(
    process: subprocess.Popen[bytes],
    name: str,
    seconds: float,
    err: TextIO,
    guardrail: Guardrail,
) -> None:
    """Wait for Locust with a progress line every 5 s; bounded by the schedule plus 2 min.

    A guardrail abort stops Locust (it still writes its statistics).
    """
    started = time.monotonic()
    shown = 0.0
    while True:
        if guardrail.aborted.is_set() and process.poll() is None:
            reason = guardrail.reason or {}
            print(
                f"guardrail abort: {reason.get('guardrail')} measured {reason.get('measured')} "
                f"({reason.get('objective')}) for {reason.get('breachedForSeconds')} s; "
                "stopping locust, requests in flight finish",
                file=err,
                flush=True,
            )
            process.terminate()
        try:
            process.wait(timeout=1 if guardrail.rules else 5)
            ending = "stopped" if guardrail.aborted.is_set() else "100% of the schedule"
            print(
                f"[{time.monotonic() - started:5.0f}s] load {name}: {ending}, locust done",
                file=err,
                flush=True,
            )
            return
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > seconds + 120:
                process.kill()
                raise HarnessError(f"locust did not finish {name} in {elapsed:.0f} s") from None
            if elapsed - shown >= 5:
                shown = elapsed
                done = min(elapsed, seconds) / seconds if seconds else 1.0
                print(
                    f"[{elapsed:5.0f}s] load {name}: {done:4.0%} of the schedule",
                    file=err,
                    flush=True,
                )
