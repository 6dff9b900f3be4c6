"""`gameday bench load`: what our locustfile's machinery costs, and how well it keeps time.

Against a trivial local endpoint (``trivial_endpoint.py``, faster than any
Locust process), all in one run:

1. machinery: requests/s of ``loadtests/locustfile.py`` (arrival scheduler,
   acked ids, HDR histograms) at a rate it cannot reach, against a bare
   FastHttpUser locustfile with as many users as our cap on requests in flight;
   rounds interleaved, medians compared (target: ours >= 80% of bare);
2. schedule, healthy: a constant rate played against the fast endpoint; the
   achieved start rate against the intended one (target: within 2%);
3. schedule, slowed: the same rate against answers delayed past what the cap
   allows; arrivals past the cap are dropped and counted, the rest start on
   time (intended = started + dropped, start lag small), where a closed model
   (the bare locustfile, same users) falls to users / latency.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from gameday.errors import EXIT_BREACHED, EXIT_OK, HarnessError
from gameday.measure.verdict import Measurements
from gameday.project import bundled
from gameday.stack.supervisor import free_port, probe_http

OURS = bundled("loadtests", "locustfile.py")
BARE = bundled("loadtests", "bare_locustfile.py")
MACHINERY_TARGET, RATE_TOLERANCE = 0.80, 0.02
OVERLOAD = 1.25  # ours is offered this times the bare locustfile's rate in the same round


def main(args: argparse.Namespace, out: TextIO, progress: Any) -> int:
    with tempfile.TemporaryDirectory(prefix="gameday-bench-load-") as folder:
        work = Path(folder)
        with _endpoint(0) as fast:
            bare_rps, ours_rps = [], []
            for n in range(args.rounds):
                progress(f"machinery round {n + 1}/{args.rounds}: bare, then ours")
                bare_rps.append(_bare(fast, args.concurrency, args.seconds))
                offered = bare_rps[-1] * OVERLOAD  # an open model past what it can serve
                ours_rps.append(
                    _ours(fast, offered, args.concurrency, args.seconds, work / f"m{n}")[0]
                )
            progress(f"schedule: {args.rate:g}/s for {args.seconds:g} s, healthy endpoint")
            _, healthy = _ours(fast, args.rate, 200, args.seconds, work / "healthy")
        with _endpoint(args.delay_ms) as slow:
            progress(f"schedule: {args.rate:g}/s, answers delayed {args.delay_ms:g} ms")
            _, slowed = _ours(slow, args.rate, args.concurrency, args.seconds, work / "slow")
            closed_rps = _bare(slow, args.concurrency, args.seconds)
    bare, ours = statistics.median(bare_rps), statistics.median(ours_rps)
    machinery = ours / bare
    intended_rate = args.rate
    achieved = _start_rate(healthy)
    rate_error = abs(achieved - intended_rate) / intended_rate
    c = slowed.counters
    kept = c.get("load.started", 0) + c.get("load.dropped", 0) == c.get("load.intended", -1)
    print(f"\nLoad machinery vs a bare FastHttpUser ({args.concurrency} in flight)", file=out)
    print(f"  bare: {_list(bare_rps)} req/s, median {bare:.0f}", file=out)
    print(f"  ours: {_list(ours_rps)} req/s, median {ours:.0f}", file=out)
    print(f"  ours/bare: {machinery:.0%} (target >= {MACHINERY_TARGET:.0%})", file=out)
    print(f"\nArrival-rate scheduler, {intended_rate:g}/s for {args.seconds:g} s", file=out)
    print(
        f"  healthy: {healthy.counters.get('load.started', 0):.0f} of "
        f"{healthy.counters.get('load.intended', 0):.0f} started, {achieved:.1f}/s achieved "
        f"({rate_error:.2%} off, target <= {RATE_TOLERANCE:.0%}), start lag p99 "
        f"{_lag_p99(healthy):.1f} ms",
        file=out,
    )
    print(
        f"  slowed ({args.delay_ms:g} ms answers, cap {args.concurrency} in flight): "
        f"intended {c.get('load.intended', 0):.0f} = started {c.get('load.started', 0):.0f} "
        f"+ dropped {c.get('load.dropped', 0):.0f} ({'kept' if kept else 'NOT kept'}), "
        f"{_start_rate(slowed, dropped=True):.1f}/s arrivals, start lag p99 "
        f"{_lag_p99(slowed):.1f} ms",
        file=out,
    )
    print(
        f"  a closed model ({args.concurrency} users) against the slowed endpoint: "
        f"{closed_rps:.1f} req/s",
        file=out,
    )
    ok = machinery >= MACHINERY_TARGET and rate_error <= RATE_TOLERANCE and kept
    return EXIT_OK if ok else EXIT_BREACHED


@contextmanager
def _endpoint(delay_ms: float) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gameday.bench.trivial_endpoint", "--port", str(port)]
    process = subprocess.Popen([*command, "--delay-ms", str(delay_ms)])  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while not probe_http(url + "/", timeout=1 + delay_ms / 1000):
            if time.monotonic() > deadline:
                raise HarnessError("the trivial endpoint did not start within 10 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _locust(locustfile: Path, host: str, users: int, run_time: float, env: dict[str, str]) -> Any:
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless"]
    command += ["-u", str(users), "-r", str(users), "--host", host, "--json", "--only-summary"]
    command += [
        "--run-time",
        f"{int(run_time)}s",
        "--loglevel",
        "ERROR",
        "--exit-code-on-error",
        "0",
    ]
    result = subprocess.run(  # noqa: S603
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=run_time + 60,
        check=False,
    )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise HarnessError(f"locust printed no statistics: {result.stderr[-500:]}") from None


def _rps(stats: list[dict[str, Any]]) -> float:
    """Requests/s over the span from the first request to the last, all names together."""
    requests = sum(entry["num_requests"] for entry in stats)
    start = min(entry["start_time"] for entry in stats)
    end = max(entry["last_request_timestamp"] for entry in stats)
    return requests / (end - start) if end > start else 0.0


def _bare(host: str, users: int, seconds: float) -> float:
    return _rps(_locust(BARE, host, users, seconds, {}))


def _ours(
    host: str, rate: float, in_flight: int, seconds: float, run_dir: Path
) -> tuple[float, Measurements]:
    run_dir.mkdir(parents=True, exist_ok=True)
    profiles = run_dir / "profiles.yaml"
    profiles.write_text(
        json.dumps(  # JSON is YAML
            {
                "profiles": {
                    "bench": {
                        "startRate": rate,
                        "stages": [{"duration": f"{seconds:g}s", "target": rate}],
                        "maxConcurrency": in_flight,
                    }
                }
            }
        )
    )
    env = {
        "GAMEDAY_PROFILE": "bench",
        "GAMEDAY_PROFILES_FILE": str(profiles),
        "GAMEDAY_RUN_DIR": str(run_dir),
        "GAMEDAY_API_KEY": "bench",
    }
    stats = _locust(OURS, host, 1, seconds + 30, env)
    return _rps(stats), Measurements.load(run_dir)


def _start_rate(m: Measurements, *, dropped: bool = False) -> float:
    """Arrivals handled per second of the schedule (started, and dropped if asked)."""
    count = m.counters.get("load.started", 0) + (
        m.counters.get("load.dropped", 0) if dropped else 0
    )
    return count / m.values["load.schedule_s"][0]


def _lag_p99(m: Measurements) -> float:
    lag = m.histograms.get("load.start_lag_ms")
    return lag.percentile_ms(99) if lag else float("nan")


def _list(values: list[float]) -> str:
    return " / ".join(f"{v:.0f}" for v in values)
