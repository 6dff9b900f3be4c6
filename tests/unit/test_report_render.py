"""The HTML report and the run index, rendered from run folders built here.

The folders copy the shapes a real gameday writes (journal, timeline lines,
HDR measurements, verdict results, ledger, Locust CSVs), small enough to
reason about: 90 latencies of 20 ms and 10 of 200 ms make p95 = 200 ms and
90% under 150 ms, which breaches "p95 under 150 ms".
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gameday.errors import HarnessError
from gameday.measure.verdict import Measurements
from reports.charts import Series, downsample, line_chart
from reports.index import render_index
from reports.render import render_run

T0 = 1_796_136_183.0
HOSTILE_PAYLOAD = "</td><script>alert(1)</script><img src=x onerror=alert(1)>"
HOSTILE_TITLE = "\"><script>alert(2)</script><svg onload=alert(3)>' onmouseover='alert(4)"

LATENCY_RESULTS = [
    {
        "slo": "ingest-availability",
        "objective": "99.9% of requests without a 5xx",
        "indicator": "ingest.non_5xx",
        "measured": 1.0,
        "target": "99.90%",
        "status": "held",
        "budget_used": 0.0,
        "weight": 1.0,
        "detail": "100 of 100",
    },
    {
        "slo": "ingest-latency",
        "objective": "p95 under 150 ms",
        "indicator": "ingest.latency_ms",
        "measured": 0.9,
        "target": "95.00% of values lte 150",
        "status": "breached",
        "budget_used": 2.0,
        "weight": 1.0,
        "detail": "",
    },
    {
        "slo": "poison-quarantine",
        "objective": "99% within 10 s",
        "indicator": "poison.time_to_dlq_s",
        "measured": 1.0,
        "target": "99.00% of values lte 10",
        "status": "held",
        "budget_used": 0.0,
        "weight": 1.0,
        "detail": "",
    },
    {
        "slo": "invariants",
        "objective": "zero-lost",
        "indicator": "ledger.lost",
        "measured": 0.0,
        "target": "eq 0",
        "status": "held",
        "budget_used": None,
        "weight": 2.0,
        "detail": "",
    },
]


def iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat()


def journal(title: str, *, failed: bool = False) -> dict[str, Any]:
    def run(name: str, start: float, end: float, kind: str = "action") -> dict[str, Any]:
        return {
            "activity": {"type": kind, "name": name, "provider": {"type": "python"}},
            "output": {"ok": True},
            "status": "succeeded",
            "start": iso(start),
            "end": iso(end),
            "duration": end - start,
        }

    probe = {
        "activity": {"type": "probe", "name": "api-is-ready", "tolerance": "ready"},
        "output": "ready",
        "status": "succeeded",
        "start": iso(T0 + 0.1),
        "end": iso(T0 + 0.2),
        "duration": 0.1,
        "tolerance_met": True,
    }
    method = [run("inject-fault", T0 + 1, T0 + 1.5), run("wait-for-the-traffic", T0 + 1.5, T0 + 9)]
    if failed:
        method.append(
            {
                **run("kill-a-worker", T0 + 9, T0 + 9.5),
                "status": "failed",
                "exception": ["Traceback ...\n", "ActivityFailed: no worker answered\n"],
            }
        )
    return {
        "chaoslib-version": "1.44.0",
        "platform": "Linux",
        "node": "vm",
        "experiment": {
            "title": title,
            "description": "Arrivals jump; the API sheds the excess.",
            "configuration": {
                "gameday_run_dir": {"type": "env", "key": "GAMEDAY_RUN_DIR", "default": ""},
                "api_token": "tok-123-secret-value",
            },
            "secrets": {"aws": {"password": "hunter2"}},
        },
        "start": iso(T0),
        "status": "failed" if failed else "completed",
        "deviated": False,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [probe]},
            "after": {"steady_state_met": False, "probes": [{**probe, "tolerance_met": False}]},
            "during": [],
        },
        "run": method,
        "rollbacks": [run("clear-every-fault", T0 + 10, T0 + 10.1)],
        "end": iso(T0 + 10.2),
        "duration": 10.2,
    }


def timeline(fault: str = "slow_downstream", *, bad_line: bool = False) -> str:
    lines: list[dict[str, Any]] = [
        {"t": T0, "marker": "experiment_start", "title": "x"},
        {"t": T0 + 1.2, "marker": "fault_start", "fault": fault, "document": {"mode": fault}},
        {"t": T0 + 6.0, "marker": "fault_end"},
        {"t": T0 + 3.0, "marker": "circuit", "circuit": "downstream", "state": "open"},
    ]
    for k in range(11):
        t = T0 + k
        during = 1 <= k < 6
        api: dict[str, Any] = {}
        if k:
            api = {
                "requests": 20.0,
                "rps": 20.0,
                "byStatus": {"202": 18.0, "429": 2.0},
                "errorRate": 0.0,
                "p50Ms": 25.0,
                "p95Ms": 50.0,
                "p99Ms": 250.0 if during else 75.0,
            }
        lines.append(
            {
                "t": t,
                "queue": {"visible": 40 if during else 0, "inFlight": 3, "delayed": 0},
                "dlq": {"visible": 10, "inFlight": 0, "delayed": 0},
                "circuits": {"downstream": "open" if 3 <= k < 6 else "closed"},
                "fault": fault if during else "none",
                "api": api,
            }
        )
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return text + ('{"t": 1, "queue": \n' if bad_line else "")


def measurements() -> Measurements:
    m = Measurements()
    for n in range(100):
        m.latency("ingest.latency_ms").record_ms(200 if n < 10 else 20)
    m.count("load.intended", 100)
    m.count("load.started", 100)
    m.count("ingest.requests", 100)
    m.count("load.status.202", 100)
    m.values["load.schedule_s"] = [10.0]
    m.values["poison.time_to_dlq_s"] = [0.5, 1.0, 4.1]
    return m


LEDGER = {
    "acked": 100,
    "applied": 98,
    "dead_lettered": 2,
    "lost": 0,
    "duplicated": 0,
    "unexpected": 0,
    "in_flight": 0,
    "drained": True,
    "drain_seconds": 3.5,
    "samples": {"lost": [], "duplicated": [], "unexpected": []},
}
LOCUST_STATS = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Requests/s\n"
    "POST,POST /events (valid),90,2,24,9\nPOST,POST /events (poison),10,0,24,1\n"
    ",Aggregated,100,2,24,10\n"
)


def evidence(folder: Path, *, title: str = "Spike", dlq: str | None = None) -> Path:
    """One experiment's (or a load run's) evidence files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timeline.jsonl").write_text(timeline())
    measurements().save(folder)
    (folder / "ledger.json").write_text(json.dumps(LEDGER))
    verdict = {"results": LATENCY_RESULTS, "status": "breached", "exit_code": 1, "score": 80.0}
    (folder / "verdict.json").write_text(json.dumps({**verdict, "missing": [], "abort": None}))
    (folder / "locust_stats.csv").write_text(LOCUST_STATS)
    if dlq is not None:
        sample = [
            {
                "messageId": "m-1",
                "body": dlq,
                "attributes": {"errorType": "VALIDATION", "attempts": 1, "errorMessage": dlq},
            }
        ]
        (folder / "dlq-sample.json").write_text(json.dumps(sample))
    return folder


def build_gameday(root: Path, *, title: str = "A spike is shed", dlq: str | None = None) -> Path:
    """A two-experiment gameday: one breached (latency), one failed (an action failed)."""
    names = ("traffic-spike", "kill-worker")
    for n, name in enumerate(names):
        folder = evidence(root / name, dlq=dlq if n == 0 else None)
        given = title if n == 0 else "A worker dies"
        (folder / "journal.json").write_text(json.dumps(journal(given, failed=n == 1)))
    outcomes = [
        {"experiment": "traffic-spike", "title": title, "status": "breached", "exit_code": 1,
         "seconds": 10.2, "detail": "ingest-latency: p95 under 150 ms", "score": 80.0},
        {"experiment": "kill-worker", "title": "A worker dies", "status": "failed",
         "exit_code": 3, "seconds": 10.2, "detail": "failed: kill-a-worker", "score": 80.0},
    ]  # fmt: skip
    summary = {"started": "20261201T144158Z", "seconds": 20.4, "exitCode": 3, "outcomes": outcomes}
    (root / "gameday.json").write_text(json.dumps(summary))
    return root


class Tags(HTMLParser):
    """Every start tag the browser would build, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_a_latency_objective_is_measured_in_its_own_terms(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    assert "p95 = 200 ms" in html  # exact, from the HDR histogram
    assert "90% under 150 ms" in html
    assert "95% under 150 ms" in html  # the target, in the same terms
    assert "p99 = 4.1 s" in html  # a seconds indicator from its raw values
    assert "<td>100 of 100</td><td>100%</td><td>≥ 99.9%</td>" in html
    assert "0 lost" in html
    reason = re.search(r'<p class="reason">(.*?)</p>', html, re.S)
    assert reason is not None
    assert "ingest-latency: 90% under 150 ms, objective 95% under 150 ms" in reason.group(1)
    assert "p95 = 200 ms" in reason.group(1)


def test_hostile_strings_are_text_and_no_script_exists(tmp_path: Path) -> None:
    run = build_gameday(tmp_path / "run", title=HOSTILE_TITLE, dlq=HOSTILE_PAYLOAD)
    (run / "traffic-spike" / "timeline.jsonl").write_text(timeline(fault="<script>x</script>"))
    (run / "javascript:alert(5)").write_text("a file name is data too")
    html = render_run(run).read_text()
    assert 'href="javascript%3Aalert%285%29"' in html  # a relative link, not a scheme
    assert "<script" not in html.lower()
    assert (
        "&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    )
    assert "&#34;&gt;&lt;script&gt;alert(2)" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html  # a fault name inside the SVG
    for tag, attrs in tags(html):
        assert tag not in ("script", "img", "iframe", "object", "embed"), tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)


def test_every_chart_has_a_title_a_description_and_its_data(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    figures = re.findall(r"<figure .*?</figure>", html, re.S)
    charts = re.findall(r"<svg [^>]*role=\"img\"", html)
    assert len(charts) >= 10  # per experiment: gantt, rate, latency, queue, DLQ, circuits
    assert len(figures) == len(charts)
    for figure in figures:
        svg = re.search(r'<svg [^>]*role="img" aria-labelledby="([^" ]+) ([^"]+)"', figure)
        assert svg is not None
        title = re.search(rf'<title id="{svg.group(1)}">([^<]+)</title>', figure)
        desc = re.search(rf'<desc id="{svg.group(2)}">([^<]+)</desc>', figure)
        assert title and desc and title.group(1).strip() and desc.group(1).strip()
        assert re.search(r"<details>.*<table>.*<td", figure, re.S), "no data table"
        assert re.search(r"<polyline points=\"\S+|<rect class=\"(?!fault)", figure), "empty chart"


def test_fault_windows_and_thresholds_are_drawn(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    latency = re.search(r'<figure id="x-traffic-spike-latency">.*?</figure>', html, re.S)
    assert latency is not None
    assert '<rect class="fault"' in latency.group(0)
    assert '<line class="threshold"' in latency.group(0)
    assert "95% under 150 ms (ingest-latency)" in latency.group(0)


def test_the_report_needs_nothing_from_the_network(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    assert '<meta name="viewport"' in html
    assert "@media print" in html
    assert "url(" not in html and "@import" not in html
    for tag, attrs in tags(html):
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^[a-z]+:|^//", value), (tag, value)  # relative links only


def test_missing_and_corrupt_evidence_is_reported_and_the_rest_shown(tmp_path: Path) -> None:
    run = build_gameday(tmp_path / "run")
    (run / "traffic-spike" / "verdict.json").write_text("{not json")
    (run / "traffic-spike" / "ledger.json").unlink()
    (run / "traffic-spike" / "timeline.jsonl").write_text(timeline(bad_line=True))
    (run / "kill-worker" / "journal.json").write_text("")
    (run / "kill-worker" / "measurements.json").write_text('{"histograms": {"x": "garbage"}}')
    html = render_run(run).read_text()
    problems = re.search(r'<section class="problems".*?</section>', html, re.S)
    assert problems is not None
    for expected in (
        "traffic-spike/verdict.json is corrupt",
        "traffic-spike/ledger.json is missing",
        "traffic-spike/timeline.jsonl: 1 unreadable line(s) skipped",
        "kill-worker/journal.json is empty",
        "kill-worker/measurements.json holds an unreadable histogram",
    ):
        assert expected in problems.group(0)
    assert "Requests per second by status" in html  # the timeline still charted
    assert "98" in html and "applied" in html  # kill-worker's ledger still shown


def test_a_journal_of_another_shape_renders_what_it_can(tmp_path: Path) -> None:
    run = build_gameday(tmp_path / "run")
    odd = {
        "experiment": "not a mapping",
        "steady_states": {"before": None, "during": [{"probes": [{"activity": None}]}]},
        "run": [None, {"activity": {"name": "x"}, "status": "failed", "exception": "Boom"}, 3],
        "rollbacks": "none",
    }
    (run / "kill-worker" / "journal.json").write_text(json.dumps(odd))
    html = render_run(run).read_text()
    assert "Boom" in html


def test_secrets_are_redacted(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    assert "tok-123-secret-value" not in html and "hunter2" not in html
    assert "***" in html
    assert "GAMEDAY_RUN_DIR" in html  # an env reference names a variable, not a secret


def test_raw_artifacts_are_linked_relatively(tmp_path: Path) -> None:
    html = render_run(build_gameday(tmp_path / "run")).read_text()
    assert 'href="traffic-spike/journal.json"' in html
    assert 'href="gameday.json"' in html


def test_a_load_run_folder(tmp_path: Path) -> None:
    run = evidence(tmp_path / "20261201T144158Z-load-spike")
    html = render_run(run).read_text()
    assert "Load run" in html and "BREACHED" in html
    assert "intended rate" in html and "10 req/s" in html
    assert "POST /events" in html and "poison" in html


def test_a_scenario_run_never_shows_an_unrun_step_as_passed(tmp_path: Path) -> None:
    run = tmp_path / "scenarios"
    run.mkdir()

    def step(name: str, status: str, error: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = {"status": status, "duration": 1_000_000}
        if error is not None:
            result["error_message"] = error
        return {"keyword": "Given", "name": name, "line": 3, "result": result}

    scenario = {
        "keyword": "Scenario",
        "name": "poison is quarantined",
        "type": "scenario",
        "steps": [
            step("a running stack", "passed"),
            step("a poison order", "failed", "AssertionError: DLQ stayed empty"),
            step("it reaches the DLQ", "failed", ""),
        ],
    }
    pending = {
        "name": "not written yet",
        "steps": [step("a step nobody wrote", "undefined"), step("skipped one", "skipped")],
    }
    feature = {"name": "Poison", "uri": "poison.feature", "elements": [scenario, pending]}
    (run / "cucumber.json").write_text(json.dumps([feature]))
    html = render_run(run).read_text()
    assert "AssertionError: DLQ stayed empty" in html
    rows = re.findall(r"<tr><td>(.*?)</td><td>Given ([^<]+)", html)
    shown = {name.strip(): status for status, name in rows}
    assert "not run" in shown["it reaches the DLQ"]
    assert "undefined" in shown["a step nobody wrote"]
    assert "skipped" in shown["skipped one"]
    assert "BREACHED" in html


@pytest.mark.parametrize("content", [None, "notes.txt"])
def test_a_folder_without_evidence_is_not_a_run_folder(tmp_path: Path, content: str | None) -> None:
    if content:
        (tmp_path / content).write_text("hello")
    with pytest.raises(HarnessError, match="is not a run folder"):
        render_run(tmp_path)
    with pytest.raises(HarnessError, match="is not a run folder"):
        render_run(tmp_path / "absent")


def test_the_downsampler_keeps_a_single_sample_spike() -> None:
    points: list[tuple[float, float | None]] = [(float(n), 1.0) for n in range(10_000)]
    points[5_123] = (5_123.0, 500.0)
    reduced = downsample(points, 0, 9_999, 500)
    assert len(reduced) <= 1_000
    assert max(v for _, v in reduced if v is not None) == 500.0
    chart = line_chart("c", "spike", [Series("v", points)], (0, 9_999), unit="ms")
    assert chart is not None
    ys = [float(p.split(",")[1]) for p in re.findall(r"\d+,[\d.]+", chart.svg)]
    assert max(ys) - min(ys) > 120  # drawn as a spike, not averaged away into the baseline


def test_the_compatibility_layer_renders_the_same_report(tmp_path: Path) -> None:
    from gameday.report import REPORT, read_json, render

    run = build_gameday(tmp_path / "run")
    assert render(run) == run / REPORT == run / "report.html"
    assert read_json(run / "gameday.json")["exitCode"] == 3
    assert read_json(run / "absent.json") is None


def runs_folder(root: Path) -> Path:
    """Two gamedays of the same experiments (the second worse) and a load run."""
    for stamp, measured, status in (
        ("20261201T100000Z", 0.99, "held"),
        ("20261202T100000Z", 0.90, "breached"),
    ):
        run = build_gameday(root / f"{stamp}-gameday")
        summary = json.loads((run / "gameday.json").read_text())
        (run / "gameday.json").write_text(json.dumps({**summary, "started": stamp}))
        results = [dict(r) for r in LATENCY_RESULTS]
        results[1].update(measured=measured, status=status, budget_used=(1 - measured) / 0.05)
        for name in ("traffic-spike", "kill-worker"):
            (run / name / "verdict.json").write_text(json.dumps({"results": results}))
    evidence(root / "20261203T100000Z-load-spike")
    (root / "not-a-run").mkdir()
    return root


def test_the_index_lists_runs_with_their_changes(tmp_path: Path) -> None:
    html = render_index(runs_folder(tmp_path / "runs")).read_text()
    rows = re.findall(r"<tr><td class=\"num\">.*?</tr>", html, re.S)
    assert len(rows) == 3  # not-a-run holds no evidence
    newest, second, first = rows
    assert "load" in newest and "spike" in newest and "first load run of spike" in newest
    assert (
        "score -" in second
        and "traffic-spike · ingest-latency: p95 under 150 ms: held → breached" in second
    )
    assert "first gameday run of traffic-spike, kill-worker" in first
    assert 'href="20261201T100000Z-gameday/"' in first
    assert html.count('role="img"') == 2  # the score trend and the error budget trend


@pytest.mark.parametrize(
    ("code", "word"),
    [(0, "HELD"), (1, "BREACHED"), (2, "ABORTED"), (3, "HARNESS ERROR"), (130, "INTERRUPTED")],
)
def test_the_banner_says_the_gameday_verdict_and_why(tmp_path: Path, code: int, word: str) -> None:
    run = build_gameday(tmp_path / "run")
    summary = json.loads((run / "gameday.json").read_text())
    summary["exitCode"] = code
    first = summary["outcomes"][0]
    if code == 0:
        for outcome in summary["outcomes"]:
            outcome.update(status="held", detail="")
    elif code == 2:
        first["status"] = "aborted"
        abort = {"guardrail": "ingest-availability", "measured": 0.9, "objective": "gte 0.999",
                 "graceSeconds": 10, "breachedForSeconds": 10.5}  # fmt: skip
        (run / "traffic-spike" / "abort.json").write_text(json.dumps(abort))
    elif code == 130:
        first.update(status="interrupted", detail="interrupted; 1 of 1 rollbacks succeeded")
    (run / "gameday.json").write_text(json.dumps(summary))
    html = render_run(run).read_text()
    banner = re.search(r'<section class="banner.*?</section>', html, re.S)
    assert banner is not None
    assert f" {word}</div>" in banner.group(0)
    assert f"exit code {code}" in banner.group(0)
    reason = {
        0: "every experiment held",
        1: "traffic-spike: ingest-latency: 90% under 150 ms",
        2: "traffic-spike: guardrail ingest-availability measured 0.9 (gte 0.999) for 10.5 s",
        3: "traffic-spike: ingest-latency: 90% under 150 ms",
        130: "traffic-spike: interrupted; 1 of 1 rollbacks succeeded",
    }[code]
    assert reason in banner.group(0)


def test_a_gameday_without_its_summary_and_a_lone_experiment(tmp_path: Path) -> None:
    run = build_gameday(tmp_path / "run")
    (run / "gameday.json").unlink()
    html = render_run(run).read_text()
    assert "gameday.json is missing" in html
    assert "A spike is shed" in html and "A worker dies" in html
    assert "HARNESS ERROR</div>" in html  # kill-worker's journal says it failed
    lone = render_run(run / "traffic-spike").read_text()
    assert "Experiment" in lone and "BREACHED</div>" in lone
