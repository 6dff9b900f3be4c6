"""The run history: ``index.html`` over every run folder in a runs folder.

Each direct sub-folder holding report evidence is a run. Only small files are
read (``gameday.json``, ``verdict.json``, a bounded ``cucumber.json``), so two
hundred runs render in well under a second. Each run is compared with the
previous run of the same experiments (or load profile): the score's change,
objectives whose result flipped, and the largest moves of a measured share.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gameday.errors import HarnessError
from reports.charts import Chart, Series, Threshold, fmt, line_chart
from reports.evidence import items, num, obj
from reports.render import EXIT_WORDS, GLYPHS, REPORT, SUMMARY, environment

INDEX = "index.html"
_STAMP = re.compile(r"^(\d{8}T\d{6}Z)-?(.*)$")
MAX_SMALL_BYTES = 2 * 1024 * 1024
MAX_DELTAS, MAX_SERIES = 4, 6
EVIDENCE = (
    "verdict.json",
    "measurements.json",
    "ledger.json",
    "timeline.jsonl",
    "locust_stats.csv",
    "journal.json",
    "cucumber.json",
    "junit.xml",
)


@dataclass
class Run:
    name: str
    href: str
    when: datetime
    kind: str
    subject: str
    status: str
    score: float | None
    objectives: dict[str, dict[str, Any]] = field(default_factory=dict)
    deltas: list[str] = field(default_factory=list)
    previous: str = ""

    @property
    def date(self) -> str:
        return self.when.strftime("%Y-%m-%d %H:%M")


def render_index(runs_dir: Path) -> Path:
    """Write ``index.html`` into the runs folder; returns its path."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise HarnessError(f"{runs_dir} is not a folder", "give the folder holding the run folders")
    runs = sorted(
        (r for r in map(_run, sorted(runs_dir.iterdir())) if r is not None),
        key=lambda r: (r.when, r.name),
    )
    _compare(runs)
    charts = [c for c in (_score_chart(runs), _budget_chart(runs)) if c is not None]
    html = (
        environment()
        .get_template("index.html.j2")
        .render(
            runs=list(reversed(runs)),
            charts=charts,
            folder=runs_dir.name,
            glyphs=GLYPHS,
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        )
    )
    path = runs_dir / INDEX
    path.write_text(html, encoding="utf-8")
    return path


def _run(folder: Path) -> Run | None:
    if not folder.is_dir() or folder.is_symlink():
        return None
    summary = _small_json(folder / SUMMARY)
    href = quote(folder.name) + ("/" + REPORT if (folder / REPORT).is_file() else "/")
    stamp = _STAMP.match(folder.name)
    if isinstance(summary, dict):
        return _gameday(folder, summary, href)
    if not any((folder / name).is_file() for name in EVIDENCE):
        return None
    verdict = obj(_small_json(folder / "verdict.json"))
    kind, subject = "load", stamp.group(2) if stamp else folder.name
    if (folder / "cucumber.json").is_file() or (folder / "junit.xml").is_file():
        kind, subject = "scenarios", "scenarios"
    elif (folder / "journal.json").is_file():
        kind = "experiment"
    elif subject.startswith("load-"):
        subject = subject[len("load-") :]
    status = _status(verdict.get("status"))
    if kind == "scenarios" and not verdict:
        status = _scenario_status(folder / "cucumber.json")
    run = Run(
        folder.name,
        href,
        _when(folder, stamp, None),
        kind,
        subject or "?",
        status,
        num(verdict.get("score")),
    )
    run.objectives = _objectives(verdict, "")
    return run


def _gameday(folder: Path, summary: dict[str, Any], href: str) -> Run:
    outcomes = [obj(o) for o in items(summary.get("outcomes"))]
    names = [str(o.get("experiment") or "?") for o in outcomes]
    code = num(summary.get("exitCode"))
    status = EXIT_WORDS.get(int(code), "harness error") if code is not None else "unknown"
    if status == "held" and summary.get("dry"):
        status = "walked"
    run = Run(
        folder.name,
        href,
        _when(folder, _STAMP.match(folder.name), summary),
        "gameday",
        ", ".join(names) or "no experiment",
        status,
        None,
    )
    held = total = 0.0
    for name in names:
        verdict = obj(_small_json(folder / name / "verdict.json")) if "/" not in name else {}
        run.objectives |= _objectives(verdict, f"{name} · ")
        for raw in items(verdict.get("results")):
            result = obj(raw)
            if result.get("status") in ("held", "breached"):
                weight = num(result.get("weight")) or 1.0
                total += weight
                held += weight if result.get("status") == "held" else 0.0
    run.score = round(100 * held / total, 1) if total else None
    return run


def _objectives(verdict: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    found = {}
    for raw in items(verdict.get("results")):
        r = obj(raw)
        key = f"{prefix}{r.get('slo')}: {r.get('objective')}"
        found[key] = {
            "slo": str(r.get("slo")),
            "measured": num(r.get("measured")),
            "status": str(r.get("status")),
            "budget": num(r.get("budget_used")),
        }
    return found


def _status(value: Any) -> str:
    return {"inconclusive": "harness error"}.get(str(value), str(value)) if value else "not judged"


def _scenario_status(path: Path) -> str:
    features = _small_json(path)
    statuses = {
        str(obj(obj(step).get("result")).get("status"))
        for feature in items(features)
        for element in items(obj(feature).get("elements"))
        for step in items(obj(element).get("steps"))
    }
    if not statuses:
        return "not judged"
    return (
        "breached"
        if "failed" in statuses
        else "held"
        if statuses == {"passed"}
        else "harness error"
    )


def _when(folder: Path, stamp: re.Match[str] | None, summary: dict[str, Any] | None) -> datetime:
    for text in (stamp.group(1) if stamp else None, obj(summary).get("started")):
        if isinstance(text, str):
            try:
                return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                pass
    return datetime.fromtimestamp(folder.stat().st_mtime, UTC)


def _small_json(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_SMALL_BYTES:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _compare(runs: list[Run]) -> None:
    """Each run against the previous one of the same kind and subject."""
    last: dict[tuple[str, str], Run] = {}
    for run in runs:
        before = last.get((run.kind, run.subject))
        last[(run.kind, run.subject)] = run
        if before is None:
            run.deltas = [f"first {run.kind} run of {run.subject}"]
            continue
        run.previous = before.name
        if run.score is not None and before.score is not None:
            change = run.score - before.score
            run.deltas.append(
                f"score {change:+.1f} ({fmt(before.score)} → {fmt(run.score)})"
                if change
                else f"score unchanged ({fmt(run.score)})"
            )
        flips, moves = [], []
        for key, now in run.objectives.items():
            then = before.objectives.get(key)
            if then is None:
                continue
            if then["status"] != now["status"]:
                flips.append(f"{key}: {then['status']} → {now['status']}")
            elif (
                now["measured"] is not None
                and then["measured"] is not None
                and now["budget"] is not None
            ):
                points = (now["measured"] - then["measured"]) * 100
                if abs(points) >= 0.1:
                    moves.append(
                        (
                            abs(points),
                            f"{key}: {then['measured']:.1%} → "
                            f"{now['measured']:.1%} ({points:+.1f} pp)",
                        )
                    )
        moves.sort(reverse=True)
        run.deltas += (flips + [text for _, text in moves])[:MAX_DELTAS]
        if len(run.deltas) == 1 and not flips and not moves:
            run.deltas.append("no objective moved")


def _score_chart(runs: list[Run]) -> Chart | None:
    groups: dict[str, list[tuple[float, float | None]]] = {}
    for n, run in enumerate(runs):
        if run.score is not None:
            groups.setdefault(f"{run.kind}: {run.subject}", []).append((float(n), run.score))
    if not groups:
        return None
    busiest = sorted(groups, key=lambda g: -len(groups[g]))[:MAX_SERIES]
    series = [Series(_short(name), groups[name]) for name in busiest]
    x_range, label, ticks = _axis(runs)
    return line_chart(
        "trend-score",
        "Resilience score per run",
        series,
        x_range,
        unit="score",
        x_label=label,
        x_ticks=ticks,
        about="One line per kind of run (experiments or profile).",
    )


def _budget_chart(runs: list[Run]) -> Chart | None:
    """The error budget each key SLO used per run (worst objective of the SLO in the run)."""
    per_slo: dict[str, dict[int, float]] = {}
    for n, run in enumerate(runs):
        for found in run.objectives.values():
            if found["budget"] is not None and found["slo"] != "invariants":
                slot = per_slo.setdefault(found["slo"], {})
                slot[n] = max(slot.get(n, 0.0), found["budget"] * 100)
    if not per_slo:
        return None
    key_slos = sorted(per_slo, key=lambda s: (-len(per_slo[s]), s))[:MAX_SERIES]
    series = [
        Series(slo, [(float(n), v) for n, v in sorted(per_slo[slo].items())]) for slo in key_slos
    ]
    x_range, label, ticks = _axis(runs)
    return line_chart(
        "trend-budget",
        "Error budget used by key SLOs",
        series,
        x_range,
        unit="% of budget",
        thresholds=[Threshold(100, "100%: breached")],
        x_label=label,
        x_ticks=ticks,
        about="Per run, the largest share of an SLO's error budget its objectives "
        "used; above the dashed line the SLO was breached.",
    )


def _axis(runs: list[Run]) -> tuple[tuple[float, float], Callable[[float], str], list[float]]:
    """Runs in order along x, labelled with their dates."""
    last = max(1, len(runs) - 1)
    step = max(1, round(last / 5))
    ticks = [float(n) for n in range(0, last + 1, step)]

    def label(x: float) -> str:
        n = min(len(runs) - 1, max(0, round(x)))
        return runs[n].when.strftime("%m-%d %H:%M") if runs else ""

    return (0.0, float(last)), label, ticks


def _short(text: str) -> str:
    return text if len(text) <= 48 else text[:47] + "…"
