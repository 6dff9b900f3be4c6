"""Scenario results: pytest-bdd's cucumber JSON (``cucumber.json``) and JUnit XML totals.

pytest-bdd marks the steps after a failing one "failed" with no message; those
never ran, so they show as "not run". Undefined, pending and skipped steps keep
their own words: only a step whose result says "passed" reads as passed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from reports.evidence import Evidence, items, num, obj, text

MAX_SCENARIOS, MAX_STEPS = 500, 60
CUCUMBER, JUNIT = "cucumber.json", "junit.xml"


@dataclass(frozen=True)
class Step:
    keyword: str
    name: str
    status: str  # passed, failed, not run, skipped, undefined, pending, ...
    error: str
    seconds: float | None


@dataclass(frozen=True)
class Scenario:
    feature: str
    name: str
    tags: str
    status: str
    steps: list[Step]


def scenarios(evidence: Evidence) -> list[Scenario]:
    features = evidence.json(CUCUMBER, want=list)
    found: list[Scenario] = []
    for raw_feature in items(features):
        feature = obj(raw_feature)
        title = str(feature.get("name") or feature.get("uri") or "?")
        for raw_element in items(feature.get("elements")):
            element = obj(raw_element)
            if element.get("type", "scenario") == "background":
                continue
            steps = _steps(items(element.get("steps"))[:MAX_STEPS])
            tags = " ".join(str(obj(t).get("name") or "") for t in items(element.get("tags")))
            found.append(
                Scenario(title, str(element.get("name") or "?"), tags, _status(steps), steps)
            )
            if len(found) >= MAX_SCENARIOS:
                evidence.note(
                    f"{evidence.name(CUCUMBER)}: only the first {MAX_SCENARIOS} scenarios are shown"
                )
                return found
    return found


def _steps(raw: list[object]) -> list[Step]:
    steps, failed_before = [], False
    for raw_step in raw:
        step = obj(raw_step)
        result = obj(step.get("result"))
        status = str(result.get("status") or "undefined")
        error = text(result.get("error_message"), 3000)
        if status == "failed" and failed_before and not error:
            status = "not run"  # pytest-bdd fails the steps after a failure without running them
        failed_before = failed_before or status == "failed"
        duration = num(result.get("duration"))
        steps.append(
            Step(
                str(step.get("keyword") or "").strip(),
                str(step.get("name") or ""),
                status,
                error,
                duration / 1e9 if duration is not None else None,
            )
        )
    return steps


def _status(steps: list[Step]) -> str:
    statuses = {s.status for s in steps}
    for worst in ("failed", "undefined", "pending", "ambiguous", "skipped", "not run"):
        if worst in statuses:
            return worst
    if not steps:
        return "no steps"
    return "passed" if statuses == {"passed"} else sorted(statuses)[0]


def totals(found: list[Scenario]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for scenario in found:
        counts[scenario.status] = counts.get(scenario.status, 0) + 1
    return counts


def junit(evidence: Evidence) -> dict[str, int] | None:
    """tests, failures, errors and skipped over every test suite of ``junit.xml``."""
    raw = evidence.text(JUNIT, required=False)
    if raw is None:
        return None
    try:
        # A file the run itself wrote; expat (>= 2.4.1) bounds entity expansion.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as exc:
        evidence.note(f"{evidence.name(JUNIT)} is corrupt ({exc})")
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    found = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        for name in found:
            try:
                found[name] += int(suite.get(name, "0") or 0)
            except ValueError:
                continue
    return found
