"""What the load generator did: arrivals intended against achieved, answers per kind.

``measurements.json`` counts arrivals (``load.intended``, ``load.started``,
``load.dropped`` when no virtual user was free) and answers by status; Locust's
``locust_stats.csv`` has one row per endpoint and kind ("POST /events (valid)"),
its failure count being the answers that kind did not expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from reports.charts import DASH, Series, Table, fmt
from reports.evidence import Evidence, num
from reports.objectives import Exact
from reports.timeline import Points

_KIND = re.compile(r"^(?P<endpoint>.*?)\s*\((?P<kind>[^()]*)\)$")
MAX_FAILURES = 20


@dataclass
class Load:
    figures: list[tuple[str, str]] = field(default_factory=list)
    kinds: Table | None = None
    failures: Table | None = None


def load_summary(evidence: Evidence, exact: Exact) -> Load | None:
    m = exact.m
    counters = m.counters if m else {}
    stats = evidence.csv("locust_stats.csv", required=False)
    if not stats and not any(k.startswith("load.") for k in counters):
        return None
    load = Load()
    schedules = m.values.get("load.schedule_s") if m else None
    schedule = schedules[0] if schedules else None
    intended, started = counters.get("load.intended"), counters.get("load.started")
    answered = counters.get("ingest.requests")
    for label, value in (
        ("arrivals intended", intended),
        ("arrivals started", started),
        (
            "arrivals dropped (no free virtual user)",
            counters.get("load.dropped", 0) if intended is not None else None,
        ),
        ("requests answered", answered),
    ):
        if value is not None:
            load.figures.append((label, fmt(value)))
    if schedule:
        load.figures.append(("schedule", fmt(schedule, "s")))
        for label, value in (
            ("intended rate", intended),
            ("achieved rate (started)", started),
            ("answered rate", answered),
        ):
            if value is not None:
                load.figures.append((label, fmt(value / schedule, "req/s")))
    statuses = sorted(
        (k.rsplit(".", 1)[1], v) for k, v in counters.items() if k.startswith("load.status.")
    )
    if statuses:
        load.figures.append(("answers by status", ", ".join(f"{s}: {fmt(v)}" for s, v in statuses)))
    if exact.histogram("load.start_lag_ms") is not None:
        p50, p99 = (exact.percentile_ms("load.start_lag_ms", p) for p in (50.0, 99.0))
        load.figures.append(("start lag p50 / p99 (exact)", f"{fmt(p50)} / {fmt(p99)} ms"))
    load.kinds = _kinds(stats)
    load.failures = _failures(evidence)
    return load


def _kinds(stats: list[dict[str, str]]) -> Table | None:
    rows = []
    for row in stats:
        name = row.get("Name", "")
        if not name or name == "Aggregated":
            continue
        match = _KIND.match(name)
        endpoint, kind = (match["endpoint"], match["kind"]) if match else (name, DASH)
        method = row.get("Type", "")
        if method and not endpoint.startswith(method):  # Locust's names often carry it already
            endpoint = f"{method} {endpoint}"
        requests, failures = _int(row.get("Request Count")), _int(row.get("Failure Count"))
        expected = requests - failures if requests is not None and failures is not None else None
        rows.append(
            [
                endpoint,
                kind,
                fmt(requests),
                fmt(expected),
                fmt(failures),
                fmt(_float(row.get("Requests/s"))),
            ]
        )
    if not rows:
        return None
    return Table(
        "Answers per endpoint and kind (locust_stats.csv): unexpected = an answer "
        "that kind of request must not get",
        ["endpoint", "kind", "requests", "expected", "unexpected", "req/s"],
        rows,
    )


def _failures(evidence: Evidence) -> Table | None:
    rows = [
        [r.get("Method", ""), r.get("Name", ""), r.get("Error", "")[:300], r.get("Occurrences", "")]
        for r in evidence.csv("locust_failures.csv", required=False)
    ]
    if not rows:
        return None
    caption = "Unexpected answers (locust_failures.csv)"
    if len(rows) > MAX_FAILURES:
        caption += f", the first {MAX_FAILURES} of {len(rows)}"
    return Table(caption, ["method", "name", "error", "occurrences"], rows[:MAX_FAILURES])


def locust_history(evidence: Evidence) -> tuple[list[Series], list[Series], str]:
    """Rate and latency series from Locust's history, when the timeline has no API data."""
    rows = [
        r
        for r in evidence.csv("locust_stats_history.csv", required=False)
        if r.get("Name") == "Aggregated"
    ]
    columns = {"requests": "Requests/s", "failures": "Failures/s"}
    rates = [Series(name, _column(rows, column)) for name, column in columns.items()]
    latency = [Series(f"p{p}", _column(rows, f"{p}%")) for p in (50, 95, 99)]
    about = (
        "From Locust's statistics history (client side, one row a second; its "
        "percentiles are bucketed to about two significant figures)."
    )
    return rates, latency, about


def _column(rows: list[dict[str, str]], column: str) -> Points:
    points: Points = []
    for row in rows:
        t = _float(row.get("Timestamp"))
        if t is not None:
            points.append((t, _float(row.get(column))))
    return points


def _float(value: str | None) -> float | None:
    try:
        return num(float(value or ""))
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    number = _float(value)
    return int(number) if number is not None else None
