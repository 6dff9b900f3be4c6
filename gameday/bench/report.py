"""`gameday bench report`: render a big gameday's report and a long run history; time and size.

The inputs are synthesised in a temporary folder with the shapes real runs
write: a 30-minute gameday of five experiments, each with 1,800 timeline
samples (queue, DLQ, circuits, fault, API windows) plus markers, a journal,
measurements with HDR histograms, a ledger, a verdict judged by the bundled
catalogue, Locust's CSVs and a DLQ sample; and 200 run folders for the index.
The figures come from one run, timed in-process with ``time.perf_counter``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from gameday.errors import EXIT_BREACHED, EXIT_OK

EXPERIMENTS = (
    "poison-payloads",
    "duplicate-submits",
    "random-failures",
    "slow-downstream",
    "traffic-spike",
)
SAMPLES = 1_800
GAMEDAY_SECONDS = 30 * 60
INDEX_RUNS = 200
REPORT_SECONDS_TARGET, REPORT_BYTES_TARGET, INDEX_SECONDS_TARGET = 1.0, 1_000_000, 1.0
START = datetime(2026, 12, 1, 14, 0, tzinfo=UTC).timestamp()


def main(args: argparse.Namespace | None, out: TextIO) -> int:
    from reports.index import render_index
    from reports.render import render_run

    with tempfile.TemporaryDirectory(prefix="gameday-report-") as folder:
        root = Path(folder)
        run_dir = root / "gameday"
        synthesise_gameday(run_dir, seed=7)
        started = time.perf_counter()
        report = render_run(run_dir)
        report_seconds = time.perf_counter() - started
        size = report.stat().st_size
        runs = root / "runs"
        synthesise_history(runs, INDEX_RUNS, run_dir)
        started = time.perf_counter()
        render_index(runs)
        index_seconds = time.perf_counter() - started
    interval = GAMEDAY_SECONDS / (len(EXPERIMENTS) * SAMPLES)
    print(
        f"\nReport of a synthetic {GAMEDAY_SECONDS // 60}-minute gameday: {len(EXPERIMENTS)} "
        f"experiments x {SAMPLES:,} timeline samples (one every {interval:g} s)",
        file=out,
    )
    print(
        f"  render {report_seconds:.2f} s (target < {REPORT_SECONDS_TARGET:g} s: "
        f"{report_seconds / REPORT_SECONDS_TARGET:.0%} of it), HTML {size / 1e6:.2f} MB "
        f"(target < {REPORT_BYTES_TARGET / 1e6:g} MB: {size / REPORT_BYTES_TARGET:.0%} of it)",
        file=out,
    )
    print(f"Index over {INDEX_RUNS} synthetic runs", file=out)
    print(
        f"  render {index_seconds:.2f} s (target < {INDEX_SECONDS_TARGET:g} s: "
        f"{index_seconds / INDEX_SECONDS_TARGET:.0%} of it)",
        file=out,
    )
    ok = (
        report_seconds < REPORT_SECONDS_TARGET
        and size < REPORT_BYTES_TARGET
        and index_seconds < INDEX_SECONDS_TARGET
    )
    return EXIT_OK if ok else EXIT_BREACHED


def synthesise_gameday(run_dir: Path, seed: int = 1, samples: int = SAMPLES) -> Path:
    """A gameday run folder shaped like `gameday run`'s, every experiment breaking something."""
    rng = random.Random(seed)  # noqa: S311 (synthetic data, reproducible)
    interval = GAMEDAY_SECONDS / (len(EXPERIMENTS) * samples)
    outcomes = []
    t0 = START
    for n, name in enumerate(EXPERIMENTS):
        folder = run_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        seconds = samples * interval
        status = _experiment(folder, name, t0, samples, interval, rng, breach=n == 4)
        outcomes.append(
            {
                "experiment": name,
                "title": f"{name.replace('-', ' ')} holds",
                "status": status,
                "exit_code": 1 if status == "breached" else 0,
                "journal_status": "completed",
                "deviated": status == "breached",
                "seconds": round(seconds, 1),
                "detail": "",
                "score": None,
            }
        )
        t0 += seconds
    summary = {
        "started": datetime.fromtimestamp(START, UTC).strftime("%Y%m%dT%H%M%SZ"),
        "seconds": GAMEDAY_SECONDS,
        "exitCode": 1,
        "dry": False,
        "outcomes": outcomes,
    }
    (run_dir / "gameday.json").write_text(json.dumps(summary, indent=2))
    return run_dir


def _experiment(
    folder: Path,
    name: str,
    t0: float,
    samples: int,
    interval: float,
    rng: random.Random,
    *,
    breach: bool,
) -> str:
    from gameday.measure import verdict
    from gameday.measure.histograms import slice_name
    from gameday.measure.slo import load_catalogue

    seconds = samples * interval
    fault = (t0 + seconds * 0.3, t0 + seconds * 0.6)
    _timeline(folder, name, t0, samples, interval, fault, rng)
    _journal(folder, name, t0, seconds, fault)
    m = verdict.Measurements()
    for n in range(20_000):
        slow = breach and rng.random() < 0.08
        latency_ms = rng.lognormvariate(3.2, 0.4) + (200 if slow else 0)
        m.latency("ingest.latency_ms").record_ms(latency_ms)
        # the 5-second slices the load generator keeps (72 over a 6-minute experiment)
        m.latency(slice_name("ingest.latency_ms", t0 + seconds * n / 20_000)).record_ms(latency_ms)
        m.latency("e2e.latency_ms").record_ms(rng.lognormvariate(5.5, 0.5))
        m.latency("load.start_lag_ms").record_ms(rng.expovariate(1.0))
    m.count("load.intended", 20_050)
    m.count("load.started", 20_000)
    m.count("load.dropped", 50)
    for counter, value in (
        ("ingest.requests", 20_000),
        ("ingest.non_5xx", 19_995),
        ("ingest.not_429", 19_400),
        ("load.status.202", 19_400),
        ("load.status.429", 595),
        ("load.status.503", 5),
        ("dlq.unexpected_growth", 0),
    ):
        m.count(counter, value)
    m.values["load.schedule_s"] = [seconds]
    m.values["backlog.drain_time_s"] = [rng.uniform(2, 30)]
    m.values["poison.time_to_dlq_s"] = [rng.uniform(0.01, 2) for _ in range(50)]
    m.save(folder)
    ledger = {
        "acked": 19_400,
        "applied": 19_350,
        "dead_lettered": 50,
        "lost": 0,
        "duplicated": 0,
        "unexpected": 0,
        "in_flight": 0,
        "drained": True,
        "drain_seconds": 12.5,
        "samples": {"lost": [], "duplicated": [], "unexpected": []},
        "passed": True,
    }
    (folder / "ledger.json").write_text(json.dumps(ledger, indent=2))
    verdict.write(verdict.evaluate(load_catalogue(), folder), folder)
    _locust(folder, t0, seconds, rng)
    dlq = [
        {
            "messageId": f"m-{k}",
            "body": json.dumps({"orderId": f"o-{k}", "currency": "XXX", "note": "x" * 600}),
            "attributes": {
                "errorType": "VALIDATION",
                "errorMessage": "unsupported currency XXX",
                "attempts": 1,
            },
        }
        for k in range(20)
    ]
    (folder / "dlq-sample.json").write_text(json.dumps(dlq))
    (folder / "chaostoolkit.log").write_text(
        "".join(f"[2026-12-01 14:00:{k % 60:02d} INFO] [run:1] step {k}\n" for k in range(2000))
    )
    judged = json.loads((folder / "verdict.json").read_text())
    return str(judged["status"])


def _timeline(
    folder: Path,
    name: str,
    t0: float,
    samples: int,
    interval: float,
    fault: tuple[float, float],
    rng: random.Random,
) -> None:
    lines: list[dict[str, Any]] = [{"t": t0, "marker": "experiment_start", "title": name}]
    lines.append(
        {
            "t": fault[0],
            "marker": "fault_start",
            "fault": "random_fail_p30",
            "document": {"mode": "random_fail_p30"},
        }
    )
    lines.append({"t": fault[1], "marker": "fault_end"})
    lines.append(
        {
            "t": fault[0] + 5,
            "marker": "circuit",
            "circuit": "downstream",
            "state": "open",
            "after_s": 5.0,
        }
    )
    queue = 0.0
    for k in range(samples):
        t = t0 + k * interval
        during = fault[0] <= t < fault[1]
        queue = max(0.0, queue + rng.gauss(2.0 if during else -3.0, 4.0))
        rps = 20 + rng.gauss(0, 2) + (40 if rng.random() < 0.002 else 0)  # rare spikes
        requests = round(rps * interval, 2)
        base = rng.choice((25.0, 25.0, 50.0))
        lines.append(
            {
                "t": t,
                "queue": {"visible": round(queue), "inFlight": rng.randint(0, 20), "delayed": 0},
                "dlq": {"visible": 10 + k // 200, "inFlight": 0, "delayed": 0},
                "circuits": {
                    "sqs_publish": "closed",
                    "downstream": "open" if during and rng.random() < 0.6 else "closed",
                },
                "fault": "random_fail_p30" if during else "none",
                "api": {}
                if k == 0
                else {
                    "requests": requests,
                    "rps": round(rps, 2),
                    "byStatus": {
                        "202": round(requests * 0.97, 2),
                        "429": round(requests * 0.03, 2),
                    },
                    "errorRate": 0.0,
                    "p50Ms": base,
                    "p95Ms": base * 2,
                    "p99Ms": base * (6 if during else 2),
                },
            }
        )
    lines.sort(key=lambda r: float(r["t"]))
    (folder / "timeline.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))


def _journal(
    folder: Path, name: str, t0: float, seconds: float, fault: tuple[float, float]
) -> None:
    def when(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat()

    def probe(probe_name: str, t: float, ok: bool = True) -> dict[str, Any]:
        return {
            "activity": {"type": "probe", "name": probe_name, "tolerance": True},
            "output": ok,
            "status": "succeeded",
            "start": when(t),
            "end": when(t + 0.05),
            "duration": 0.05,
            "tolerance_met": ok,
        }

    def action(action_name: str, start: float, end: float, failed: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = {
            "activity": {
                "type": "action",
                "name": action_name,
                "provider": {"type": "python", "arguments": {"api_key": "s3cr3t"}},
            },
            "output": None if failed else {"ok": True},
            "status": "failed" if failed else "succeeded",
            "start": when(start),
            "end": when(end),
            "duration": end - start,
        }
        if failed:
            found["exception"] = [
                "Traceback (most recent call last):\n",
                "chaoslib.exceptions.ActivityFailed: fault not applied\n",
            ]
        return found

    journal = {
        "chaoslib-version": "1.44.0",
        "platform": "Linux",
        "node": "bench",
        "experiment": {
            "title": f"{name.replace('-', ' ')} holds",
            "description": "A synthetic experiment for the report benchmark.",
            "configuration": {
                "gameday_run_dir": {"type": "env", "key": "GAMEDAY_RUN_DIR"},
                "api_token": "tok-123",
            },
        },
        "start": when(t0),
        "end": when(t0 + seconds),
        "duration": seconds,
        "status": "completed",
        "deviated": False,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [probe("api-is-ready", t0 + 0.1)]},
            "after": {
                "steady_state_met": True,
                "probes": [probe("api-is-ready", t0 + seconds - 2)],
            },
            "during": [],
        },
        "run": [
            action("inject-fault", fault[0] - 0.5, fault[0]),
            action("start-load", t0 + 1, t0 + 1.2),
            action("wait-for-load", t0 + 1.2, t0 + seconds - 5),
            action("kill-a-worker", fault[0] + 10, fault[0] + 11, failed=name == "traffic-spike"),
        ],
        "rollbacks": [action("clear-every-fault", t0 + seconds - 1, t0 + seconds - 0.5)],
    }
    (folder / "journal.json").write_text(json.dumps(journal, indent=1))


def _locust(folder: Path, t0: float, seconds: float, rng: random.Random) -> None:
    header = (
        "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
        "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
        "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
    )
    rows = [
        "POST,POST /events (valid),18000,3,24,30,1,400,150,20,0,24,30,35,40,60,80,120,"
        "200,300,400,400\n",
        "POST,POST /events (poison),2000,0,24,30,1,300,150,2,0,24,30,35,"
        "40,60,80,120,200,300,300,300\n",
    ]
    (folder / "locust_stats.csv").write_text(header + "".join(rows))
    history = ["Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%\n"]
    for k in range(math.ceil(seconds)):
        history.append(f"{int(t0) + k},1,,Aggregated,{20 + rng.gauss(0, 1):.2f},0,24,80,200\n")
    (folder / "locust_stats_history.csv").write_text("".join(history))
    (folder / "locust_failures.csv").write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n"
        "POST,POST /events (valid),unexpected 503 for valid,3,0,0\n"
    )


def synthesise_history(runs: Path, count: int, template: Path) -> None:
    """``count`` run folders: gamedays reusing one experiment verdict, and load runs."""
    rng = random.Random(count)  # noqa: S311 (synthetic data, reproducible)
    verdicts = {n: json.loads((template / n / "verdict.json").read_text()) for n in EXPERIMENTS}
    base = datetime.fromtimestamp(START, UTC)
    for k in range(count):
        stamp = (base + timedelta(hours=k)).strftime("%Y%m%dT%H%M%SZ")
        if k % 4 == 3:
            folder = runs / f"{stamp}-load-spike"
            folder.mkdir(parents=True)
            (folder / "verdict.json").write_text(json.dumps(_varied(verdicts[EXPERIMENTS[4]], rng)))
            continue
        folder = runs / f"{stamp}-gameday"
        folder.mkdir(parents=True)
        outcomes = []
        for name in EXPERIMENTS:
            (folder / name).mkdir()
            judged = _varied(verdicts[name], rng)
            (folder / name / "verdict.json").write_text(json.dumps(judged))
            outcomes.append({"experiment": name, "status": judged["status"]})
        code = 1 if any(o["status"] == "breached" for o in outcomes) else 0
        (folder / "gameday.json").write_text(
            json.dumps({"started": stamp, "exitCode": code, "outcomes": outcomes})
        )


def _varied(judged: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    results = []
    for original in judged["results"]:
        r = dict(original)
        if r.get("budget_used") is not None and r.get("measured") is not None:
            r["measured"] = min(1.0, max(0.0, r["measured"] - rng.uniform(0, 0.03)))
            r["budget_used"] = round(rng.uniform(0, 1.3), 3)
            r["status"] = "breached" if r["budget_used"] > 1 else "held"
        results.append(r)
    breached = any(r["status"] == "breached" for r in results)
    return {
        **judged,
        "results": results,
        "status": "breached" if breached else "held",
        "score": round(rng.uniform(80, 100), 1),
    }
