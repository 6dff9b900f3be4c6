"""The HTML report of any run folder: one self-contained ``report.html``.

Run folders (the contract in docs/architecture.md):

- a gameday (``gameday run``): ``gameday.json`` (exit code, one outcome per
  experiment) and a sub-folder per experiment holding ``journal.json``,
  ``timeline.jsonl``, ``measurements.json``, ``ledger.json``, ``verdict.json``,
  ``locust_*.csv`` and ``chaostoolkit.log``;
- a load run (``gameday load``): the same evidence at the top, no journal;
- one experiment played on its own (``chaos run`` with ``GAMEDAY_RUN_DIR``):
  ``journal.json`` at the top;
- a scenario run: ``cucumber.json`` (pytest-bdd's ``--cucumberjson``), maybe
  ``junit.xml`` and the verdict files.

Any evidence folder may also hold ``dlq-sample.json``, what the dead-letter
queue held at the end: a JSON list (or ``{"messages": [...]}``) of
``{"messageId": str, "body": str, "attributes": {"errorType": str,
"errorMessage": str, "attempts": int, "firstSeen": ..., "failedAt": ...,
"correlationId": str}}``. Bodies are shown truncated to 300 characters.

The page has no script and fetches nothing: CSS inline, charts inline SVG.
Every string from the run is data: Jinja2 escapes everything (``autoescape``
for files and strings) and the SVG built in ``reports.charts`` escapes its text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, select_autoescape

from gameday.errors import HarnessError
from gameday.variants import VARIANT_FILE
from reports import environ, scenarios
from reports.charts import DASH, fmt
from reports.evidence import Evidence, items, num, obj, text
from reports.objectives import pooled_score, score_line
from reports.sections import Section, build, dlq_sample

REPORT, SUMMARY, JOURNAL = "report.html", "gameday.json", "journal.json"
LOAD_EVIDENCE = (
    "verdict.json",
    "measurements.json",
    "ledger.json",
    "timeline.jsonl",
    "locust_stats.csv",
)
EXIT_WORDS = {0: "held", 1: "breached", 2: "aborted", 3: "harness error", 130: "interrupted"}
SEVERITY = ("held", "walked", "breached", "aborted", "harness error", "interrupted")
GLYPHS = {
    "held": "✓",
    "passed": "✓",
    "succeeded": "✓",
    "walked": "○",
    "breached": "✗",
    "failed": "✗",
    "aborted": "■",
    "interrupted": "‖",
    "harness error": "⚠",
    "not measured": DASH,
    "missing": "?",
    "not run": DASH,
    "skipped": DASH,
    "undefined": "?",
    "pending": "…",
    "met": "✓",
    "not met": "✗",
}
#: Outcome statuses (gameday.json) in the banner's words.
OUTCOME_WORDS = {"failed": "harness error", "inconclusive": "harness error"}


@dataclass
class Banner:
    status: str
    exit_code: int | None
    score: float | None
    score_line: str
    reason: str


@dataclass
class Page:
    kind: str
    title: str
    folder: str
    started: str
    banner: Banner
    problems: list[str]
    sections: list[Section]
    summary: list[dict[str, Any]] = field(default_factory=list)
    scenarios: list[scenarios.Scenario] = field(default_factory=list)
    scenario_totals: dict[str, int] = field(default_factory=dict)
    junit: dict[str, int] | None = None
    dlq: list[dict[str, str]] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)
    recorded: list[tuple[str, str]] = field(default_factory=list)
    artifacts: list[environ.Artifact] = field(default_factory=list)
    artifacts_left: int = 0
    generated: str = ""
    variant: dict[str, Any] | None = None  # the broken variant the run was made on


def render_run(run_dir: Path) -> Path:
    """Write ``report.html`` into a run folder; returns its path.

    Raises HarnessError when the folder holds no evidence a report can show.
    """
    run_dir = Path(run_dir)
    kind = kind_of(run_dir)
    page = _gameday(run_dir) if kind == "gameday" else _single(run_dir, kind)
    page.versions = environ.versions()
    page.variant = _variant(run_dir)
    page.artifacts, page.artifacts_left = environ.artifacts(run_dir, skip=(REPORT,))
    page.generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    html = environment().get_template("report.html.j2").render(page=page, glyphs=GLYPHS)
    path = run_dir / REPORT
    path.write_text(html, encoding="utf-8")
    return path


def _variant(run_dir: Path) -> dict[str, Any] | None:
    """The broken variant recorded in the run folder (or an experiment's), if any."""
    for folder in (run_dir, *_experiment_folders(run_dir)):
        path = folder / VARIANT_FILE
        if path.is_file() and (found := obj(Evidence(folder).json(VARIANT_FILE))):
            return found
    return None


def kind_of(run_dir: Path) -> str:
    """gameday, experiment, load or scenarios; HarnessError for anything else."""
    hint = (
        "give the folder `gameday run`, `gameday load` or a scenario run wrote: it holds "
        "gameday.json, journal.json, verdict.json, measurements.json, timeline.jsonl "
        "or cucumber.json"
    )
    if not run_dir.is_dir():
        raise HarnessError(f"{run_dir} is not a run folder", hint)
    if (run_dir / SUMMARY).is_file():
        return "gameday"
    if (run_dir / scenarios.CUCUMBER).is_file() or (run_dir / scenarios.JUNIT).is_file():
        return "scenarios"
    if (run_dir / JOURNAL).is_file():
        return "experiment"
    if _experiment_folders(run_dir):
        return "gameday"  # its gameday.json is missing: the experiments still tell the story
    if any((run_dir / name).is_file() for name in LOAD_EVIDENCE):
        return "load"
    raise HarnessError(f"{run_dir} is not a run folder", hint)


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FunctionLoader(_template),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    env.filters["slug"] = slug
    return env


def slug(status: Any) -> str:
    """A status as a CSS class suffix: only the words this report styles, else "unknown"."""
    word = str(status).lower().replace(" ", "-").replace("_", "-")
    return word if word in _STYLED else "unknown"


_STYLED = frozenset(s.replace(" ", "-") for s in GLYPHS) | {"unknown"}


def _template(name: str) -> str:
    # importlib.resources: the templates are package data, in a wheel as in a checkout.
    return resources.files("reports").joinpath("templates", name).read_text(encoding="utf-8")


def _experiment_folders(run_dir: Path) -> list[Path]:
    return sorted(p.parent for p in run_dir.glob(f"*/{JOURNAL}"))


def _gameday(run_dir: Path) -> Page:
    top = Evidence(run_dir)
    summary = obj(top.json(SUMMARY))
    outcomes = [obj(o) for o in items(summary.get("outcomes"))]
    names = [str(o.get("experiment") or "") for o in outcomes]
    names += [p.name for p in _experiment_folders(run_dir) if p.name not in names]
    sections, problems = [], top.problems
    for name, outcome in zip(names, outcomes + [{}] * len(names), strict=False):
        folder = run_dir / name
        if not name or folder.resolve().parent != run_dir.resolve():
            top.note(f"{SUMMARY} names an experiment folder outside the run: {name!r}")
            continue
        evidence = Evidence(folder, name)
        if not folder.is_dir():
            evidence.note(f"{name}/ is missing")
        section = build(evidence, title=str(outcome.get("title") or name), experiment=True)
        _judge(section, outcome)
        sections.append(section)
        problems += evidence.problems
    code = num(summary.get("exitCode"))
    status = EXIT_WORDS.get(int(code), "harness error") if code is not None else _worst(sections)
    if status == "held" and summary.get("dry"):
        status = "walked"
    results = [r for s in sections for r in s.results]
    banner = Banner(
        status,
        int(code) if code is not None else None,
        pooled_score(results),
        score_line(results) + f" Pooled over {len(sections)} experiment(s).",
        _reason(sections, status),
    )
    page = Page(
        "gameday",
        "Gameday",
        run_dir.name,
        _started(summary, sections, run_dir.name),
        banner,
        problems,
        sections,
    )
    page.summary = [
        {
            "key": s.key,
            "name": s.name,
            "title": s.title,
            "status": s.status,
            "score": s.score,
            "seconds": s.seconds,
            "detail": s.detail,
        }
        for s in sections
    ]
    page.dlq = dlq_sample(top)
    journal = sections[0].journal if sections else {}
    page.recorded = environ.recorded(summary, journal)
    return page


def _single(run_dir: Path, kind: str) -> Page:
    evidence = Evidence(run_dir)
    experiment = kind == "experiment"
    has_evidence = experiment or any(evidence.has(n) for n in LOAD_EVIDENCE)
    sections: list[Section] = []
    if kind != "scenarios" or has_evidence:
        section = build(evidence, title=run_dir.name, experiment=experiment)
        _judge(section, {})
        sections.append(section)
    page = Page(
        kind,
        {"load": "Load run", "experiment": "Experiment"}.get(kind, "Scenario run"),
        run_dir.name,
        _started({}, sections, run_dir.name),
        Banner("held", None, None, "", ""),
        evidence.problems,
        sections,
    )
    status = sections[0].status if sections else "held"
    if kind == "scenarios":
        page.scenarios = scenarios.scenarios(evidence)
        page.scenario_totals = scenarios.totals(page.scenarios)
        page.junit = scenarios.junit(evidence)
        status = _scenario_status(page, status if sections else "held")
    results = sections[0].results if sections else []
    reason = _reason(sections, status) if status not in ("held",) else ""
    if kind == "scenarios" and status != "held":
        reason = _scenario_reason(page) or reason
    verdict_code = num(obj(evidence.json("verdict.json", required=False)).get("exit_code"))
    page.banner = Banner(
        status,
        int(verdict_code) if verdict_code is not None else None,
        pooled_score(results),
        score_line(results) if results else "",
        reason or _all_held(sections),
    )
    page.recorded = environ.recorded({}, sections[0].journal if sections else {})
    return page


def _judge(section: Section, outcome: dict[str, Any]) -> None:
    """The section's status: gameday.json's outcome, else derived as ``gameday run`` does."""
    section.seconds = num(outcome.get("seconds"))
    if outcome.get("status"):
        section.status = str(outcome["status"])
        section.detail = str(outcome.get("detail") or "")
        section.score = num(outcome.get("score")) if section.score is None else section.score
        return
    journal = section.journal
    verdict_status = _verdict_status(section)
    if section.abort:
        section.status, section.detail = "aborted", _abort_text(section.abort)
    elif journal.get("status") in ("failed", "aborted", "interrupted"):
        section.status, section.detail = "failed", f"journal status {journal.get('status')}"
    elif verdict_status == "breached" or journal.get("deviated"):
        section.status, section.detail = "breached", section.reason or "the steady state deviated"
    elif verdict_status == "held":
        section.status = "held"
    else:
        section.status = "harness error"
        section.detail = (
            "evidence missing: " + ", ".join(section.verdict_missing)
            if section.verdict_missing
            else "no verdict was written"
        )


def _verdict_status(section: Section) -> str | None:
    if not section.results and not section.verdict_missing:
        return None
    if any(obj(r).get("status") == "breached" for r in section.results):
        return "breached"
    return "inconclusive" if section.verdict_missing else "held"


def _abort_text(abort: dict[str, Any]) -> str:
    return (
        f"guardrail {text(abort.get('guardrail'), 80)} measured "
        f"{text(abort.get('measured'), 40)} ({text(abort.get('objective'), 80)}) for "
        f"{text(abort.get('breachedForSeconds'), 20)} s"
    )


def _worst(sections: list[Section]) -> str:
    words = [OUTCOME_WORDS.get(s.status, s.status) for s in sections]
    known = [w for w in words if w in SEVERITY] or ["harness error"]
    return max(known, key=SEVERITY.index)


def _reason(sections: list[Section], status: str) -> str:
    for section in sections:
        if section.status in ("held", "walked"):
            continue
        why = section.detail or section.reason
        if section.status == "aborted" and section.abort:
            why = _abort_text(section.abort)
        elif section.status == "breached" and section.reason:
            why = section.reason
        elif not why and section.failures:
            why = f"{section.failures[0].name} failed: {section.failures[0].error}"
        return f"{section.name}: {why or section.status}" if len(sections) > 1 else why
    if status not in ("held", "walked"):
        return "no experiment explains the exit code; see the evidence below"
    return _all_held(sections)


def _all_held(sections: list[Section]) -> str:
    rows = [r for s in sections for r in s.slo_rows]
    if rows and all(r.status == "held" for r in rows):
        return f"every objective held ({len(rows)} checked)"
    return "every experiment held" if len(sections) > 1 else ""


def _scenario_status(page: Page, status: str) -> str:
    totals = page.scenario_totals
    junit = page.junit or {}
    if totals.get("failed") or junit.get("failures"):
        found = "breached"
    elif (
        totals.get("undefined")
        or totals.get("pending")
        or junit.get("errors")
        or (not page.scenarios and not junit.get("tests"))
    ):
        found = "harness error"
    else:
        found = "held"
    return max((found, status), key=lambda s: SEVERITY.index(s) if s in SEVERITY else 4)


def _scenario_reason(page: Page) -> str:
    failed = [s for s in page.scenarios if s.status != "passed"]
    if not failed:
        return "no scenario results" if not page.scenarios else ""
    first = failed[0]
    step = next((s for s in first.steps if s.status not in ("passed", "not run")), None)
    error = (step.error.strip().splitlines() or [""])[-1][:200] if step and step.error else ""
    what = f"{step.keyword} {step.name} {step.status}" if step else first.status
    return (
        f"{len(failed)} of {len(page.scenarios)} scenarios did not pass; "
        f"{first.feature}: {first.name}: {what}" + (f" ({error})" if error else "")
    )


def _started(summary: dict[str, Any], sections: list[Section], folder: str) -> str:
    stamp = summary.get("started") or folder[:16]
    if isinstance(stamp, str):
        try:
            when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return when.strftime("%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            if summary.get("started"):
                return stamp[:40]
    for section in sections:
        start = section.journal.get("start")
        if isinstance(start, str):
            return start[:19].replace("T", " ") + " UTC"
    return "time not recorded"
