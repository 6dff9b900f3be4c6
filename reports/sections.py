"""One section of the report per evidence folder: an experiment, or a whole load run.

Everything here is read from the folder (see ``reports.render`` for the files);
what is absent leaves its part of the section out and a note in the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from reports import journal as journals
from reports.charts import (
    DASH,
    Chart,
    Series,
    Table,
    Threshold,
    fmt,
    line_chart,
)
from reports.environ import configuration
from reports.evidence import Evidence, items, num, obj, text
from reports.lanes import gantt, state_strip
from reports.latency import latency_table
from reports.loadrun import Load, load_summary, locust_history
from reports.objectives import Exact, Row, load_measurements, reason, rows
from reports.timeline import (
    CIRCUIT_STATES,
    STATUS_CLASSES,
    ApiWindow,
    Timeline,
    Window,
)

DLQ_SAMPLE = "dlq-sample.json"
MAX_DLQ, BODY_CHARS = 50, 300
QUIET_MARKERS = ("activity_start", "activity_end", "fault_start", "fault_end", "experiment_start")
LATENCY = "ingest.latency_ms"


@dataclass
class Section:
    key: str
    name: str
    title: str
    description: str = ""
    status: str = "unknown"
    detail: str = ""
    score: float | None = None
    seconds: float | None = None
    results: list[Any] = field(default_factory=list)
    slo_rows: list[Row] = field(default_factory=list)
    verdict_missing: list[str] = field(default_factory=list)
    abort: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    ledger: list[tuple[str, str]] = field(default_factory=list)
    hypotheses: list[journals.Hypothesis] = field(default_factory=list)
    failures: list[journals.Activity] = field(default_factory=list)
    activity_count: int = 0
    gantt: Chart | None = None
    charts: list[Chart] = field(default_factory=list)
    no_data: list[str] = field(default_factory=list)
    latency: Table | None = None
    load: Load | None = None
    dlq: list[dict[str, str]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    log_total: int = 0
    log_name: str = ""
    config: str = ""
    journal: dict[str, Any] = field(default_factory=dict)


def anchor(name: str) -> str:
    """An HTML id from a folder name: letters, digits and dashes only."""
    return "x-" + (re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "run")


def build(evidence: Evidence, *, title: str, experiment: bool) -> Section:
    folder = evidence.folder
    section = Section(anchor(evidence.label or folder.name), evidence.label or folder.name, title)
    journal = obj(evidence.json("journal.json", required=experiment))
    section.journal = journal
    described = obj(journal.get("experiment"))
    section.title = str(described.get("title") or title)
    section.description = str(described.get("description") or "").strip()
    verdict = obj(evidence.json("verdict.json"))
    exact = Exact(load_measurements(evidence))
    section.results = items(verdict.get("results"))
    section.slo_rows = rows(section.results, exact)
    section.score = num(verdict.get("score"))
    section.verdict_missing = [str(m) for m in items(verdict.get("missing"))]
    section.abort = obj(evidence.json("abort.json", required=False) or verdict.get("abort"))
    section.reason = reason(section.slo_rows)
    section.ledger = _ledger(evidence.json("ledger.json"))
    section.hypotheses = journals.hypotheses(journal)
    activities = journals.activities(journal)
    section.activity_count = len(activities)
    section.failures = [a for a in activities if a.status not in ("succeeded", "skipped")]
    timeline = Timeline.of(evidence.jsonl("timeline.jsonl"))
    if timeline.sampler_errors:
        evidence.note(
            f"{evidence.name('timeline.jsonl')}: the sampler failed "
            f"{len(timeline.sampler_errors)} time(s), e.g. "
            f"{text(timeline.sampler_errors[0].get('error'), 120)}"
        )
    x_range = _span(timeline, activities)
    if x_range is not None:
        windows = timeline.fault_windows()
        key = section.key
        marks = _marks(timeline)
        section.gantt = gantt(
            f"{key}-gantt",
            "Method and rollbacks over time",
            journals.bars(activities),
            x_range,
            windows,
            marks,
        )
        _charts(section, evidence, timeline, x_range, windows, exact)
    section.load = load_summary(evidence, exact)
    section.dlq = dlq_sample(evidence)
    log = "chaostoolkit.log" if experiment else "locust.log"
    section.log_name = log
    section.log, section.log_total = evidence.log_lines(
        log, r"ERROR|CRITICAL|Traceback|WARNING", 30
    )
    shown = configuration(journal)
    section.config = json.dumps(shown, indent=2, default=str)[:6000] if shown else ""
    return section


def _span(timeline: Timeline, activities: list[journals.Activity]) -> tuple[float, float] | None:
    times = [t for a in activities for t in (a.start, a.end) if t is not None]
    span = timeline.span()
    if span is not None:
        times += list(span)
    return (min(times), max(times)) if times else None


def _marks(timeline: Timeline) -> list[tuple[float, str]]:
    found = []
    for marker in timeline.markers:
        kind = str(marker.get("marker"))
        if kind in QUIET_MARKERS:
            continue
        fields = ", ".join(
            f"{k} {text(v, 60)}" for k, v in marker.items() if k not in ("t", "marker")
        )
        found.append((float(marker["t"]), f"{kind}: {fields}" if fields else kind))
    return found


def _charts(
    section: Section,
    evidence: Evidence,
    timeline: Timeline,
    x_range: tuple[float, float],
    windows: list[Window],
    exact: Exact,
) -> None:
    key = section.key
    api = timeline.api()
    thresholds = [
        Threshold(r.limit, f"{r.target} ({r.slo})")
        for r in section.slo_rows
        if r.indicator == LATENCY and r.limit is not None
    ]
    every = f"sampled every {fmt(timeline.interval)} s"
    if any(w is not None for w in api):
        rates = [Series("all", timeline.aligned([_rate(w, None) for w in api]), total=True)]
        for status, css in zip(STATUS_CLASSES, ("s1", "s2", "s3", "s4", "s5"), strict=True):
            points = timeline.aligned([_rate(w, status) for w in api])
            if any(v for _, v in points) or status == "2xx":
                name = status if status != "4xx" else "other 4xx"
                rates.append(Series(name, points, css=css))
        latency = [
            Series(p, timeline.aligned([_percentile(w, p) for w in api]))
            for p in ("p50", "p95", "p99")
        ]
        about = (
            f"The API's own view, {every}; percentiles are upper edges of its "
            "Prometheus buckets (exact figures are in the SLO table)."
        )
    else:
        rates, latency, about = locust_history(evidence)
    charts = [
        line_chart(
            f"{key}-rate",
            "Requests per second by status",
            rates,
            x_range,
            unit="req/s",
            windows=windows,
            about=about,
        ),
        line_chart(
            f"{key}-latency",
            "API latency p50, p95, p99",
            latency,
            x_range,
            unit="ms",
            windows=windows,
            thresholds=thresholds,
            about=about,
        ),
        line_chart(
            f"{key}-queue",
            "Queue depth and messages in flight",
            [
                Series(label, timeline.series(_depth("queue", field_)))
                for label, field_ in (
                    ("visible", "visible"),
                    ("in flight", "inFlight"),
                    ("delayed", "delayed"),
                )
            ],
            x_range,
            unit="messages",
            windows=windows,
            about=every,
        ),
        line_chart(
            f"{key}-dlq",
            "Dead-letter queue depth",
            [
                Series("visible", timeline.series(_depth("dlq", "visible"))),
                Series("in flight", timeline.series(_depth("dlq", "inFlight"))),
            ],
            x_range,
            unit="messages",
            windows=windows,
            about=every,
        ),
        state_strip(f"{key}-circuits", "Circuit state", _circuits(timeline), x_range, windows),
    ]
    names = ("request rate", "latency", "queue depth", "DLQ depth", "circuit state")
    for name, chart in zip(names, charts, strict=True):
        if chart is None:
            section.no_data.append(f"{name}: no samples in the evidence")
        else:
            section.charts.append(chart)
    section.latency = latency_table(timeline, api, windows, x_range, exact)


def _rate(window: ApiWindow | None, status: str | None) -> float | None:
    if window is None:
        return None
    count = window.requests if status is None else window.by_class.get(status, 0.0)
    return round(count / window.seconds, 2)


def _percentile(window: ApiWindow | None, name: str) -> float | None:
    return getattr(window, name) if window is not None and window.requests else None


def _depth(queue: str, field_: str) -> Any:
    return lambda sample: num(obj(sample.get(queue)).get(field_))


def _circuits(timeline: Timeline) -> dict[str, list[tuple[float, str]]]:
    lanes: dict[str, list[tuple[float, str]]] = {}
    for sample in timeline.samples:
        for name, state in obj(sample.get("circuits")).items():
            shown = state if state in CIRCUIT_STATES else "unknown"
            lanes.setdefault(str(name), []).append((float(sample["t"]), str(shown)))
    return lanes


def _ledger(ledger: Any) -> list[tuple[str, str]]:
    data = obj(ledger)
    if not data:
        return []
    shown = [
        (label, fmt(num(data.get(key))))
        for key, label in (
            ("acked", "acked"),
            ("applied", "applied"),
            ("dead_lettered", "dead-lettered"),
            ("lost", "lost"),
            ("duplicated", "duplicated"),
            ("unexpected", "unexpected"),
            ("in_flight", "in flight"),
        )
    ]
    drained = data.get("drained")
    shown.append(("drained", "yes" if drained is True else "no" if drained is False else DASH))
    shown.append(("drain time", fmt(num(data.get("drain_seconds")), "s")))
    for kind, ids in obj(data.get("samples")).items():
        if items(ids):
            shown.append((f"{kind} (sample)", ", ".join(str(i) for i in items(ids)[:5])))
    return shown


def dlq_sample(evidence: Evidence) -> list[dict[str, str]]:
    raw = evidence.json(DLQ_SAMPLE, required=False, want=(list, dict))
    messages = items(obj(raw).get("messages")) if isinstance(raw, dict) else items(raw)
    found = []
    for raw in messages[:MAX_DLQ]:
        message = obj(raw)
        attributes = obj(message.get("attributes"))
        found.append(
            {
                "id": text(message.get("messageId"), 80),
                "error": text(attributes.get("errorType"), 80),
                "attempts": text(attributes.get("attempts"), 20),
                "message": text(attributes.get("errorMessage"), 200),
                "body": text(message.get("body"), BODY_CHARS),
            }
        )
    if len(messages) > MAX_DLQ:
        evidence.note(
            f"{evidence.name(DLQ_SAMPLE)}: {len(messages)} messages, first {MAX_DLQ} shown"
        )
    return found
