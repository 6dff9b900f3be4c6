"""The SLO table in each objective's own terms, the verdict's reason and the score line.

``verdict.json`` keeps, per objective, the share of good events it judged and
the catalogue entry's target ("95.00% of values lte 150", "99.90%", "eq 0").
A reader wants the objective's own terms as well: the percentile it names
(p95 = 160 ms, exact, from the HDR histogram in ``measurements.json``; or from
the raw values for seconds-long indicators), the share under the threshold,
"216 of 352" for a ratio, the count for an invariant.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from gameday.measure.histograms import Latencies, holds
from gameday.measure.slo import INDICATORS
from gameday.measure.verdict import INVARIANT_WEIGHT, Measurements
from reports.charts import DASH, fmt
from reports.evidence import Evidence, items, num, obj

_THRESHOLD = re.compile(r"^(?P<share>[\d.]+)% of values (?P<op>lte|lt|gte|gt) (?P<value>\S+)$")
_RATIO = re.compile(r"^(?P<share>[\d.]+)%$")
_INVARIANT = re.compile(r"^(?P<op>eq|lte|lt|gte|gt) (?P<value>\S+)$")
_OP_WORD = {"lt": "under", "lte": "under", "gt": "over", "gte": "over", "eq": "="}
_OP_SIGN = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥", "eq": "="}


@dataclass(frozen=True)
class Row:
    slo: str
    objective: str
    indicator: str
    measured: str  # in the objective's own terms: "p95 = 160 ms", "216 of 352 (61.4%)"
    sample: str  # how many values the measurement rests on: "n = 216"
    share: str  # the judged share in words: "93.98% under 150 ms"
    target: str  # "95% under 150 ms"
    budget: str
    budget_used: float | None
    status: str
    detail: str
    weight: float
    limit: float | None = None  # a threshold objective's value, in the indicator's unit


def load_measurements(evidence: Evidence) -> Measurements | None:
    """``measurements.json`` merged with its per-writer siblings; None when absent."""
    names = [
        "measurements.json",
        *sorted(p.name for p in evidence.folder.glob("measurements.*.json")),
    ]
    parts = []
    for name in names:
        data = evidence.json(name, required=name == "measurements.json")
        if data is None:
            continue
        try:
            parts.append(Measurements.from_dict(data))
        except (ValueError, TypeError, AttributeError) as exc:
            evidence.note(f"{evidence.name(name)} holds an unreadable histogram ({exc})")
            parts.append(Measurements(counters=_counters(data)))
    return Measurements.merged(parts) if parts else None


def _counters(data: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in obj(data.get("counters")).items() if num(v) is not None}


class Exact:
    """Exact percentiles of a run's HDR histograms, each histogram walked once.

    A walk over a histogram's buckets costs milliseconds, and a report asks
    each one for several percentiles (the SLO table, the phase table).
    """

    STANDARD = (50.0, 90.0, 95.0, 99.0, 99.9)

    def __init__(self, m: Measurements | None) -> None:
        self.m = m
        self._found: dict[str, dict[float, float]] = {}

    def histogram(self, indicator: str) -> Latencies | None:
        found = self.m.histograms.get(indicator) if self.m else None
        return found if found is not None and found.count else None

    def percentile_ms(self, indicator: str, percentile: float) -> float | None:
        histogram = self.histogram(indicator)
        if histogram is None:
            return None
        found = self._found.get(indicator, {})
        if percentile not in found:
            wanted = [*self.STANDARD, *found, percentile]
            walked = histogram.histogram.get_percentile_to_value_dict(wanted)
            found = {float(p): float(v) / 1000 for p, v in walked.items()}
            self._found[indicator] = found
        return found.get(percentile)


def unit_of(indicator: str) -> str:
    if indicator.endswith("_ms"):
        return "ms"
    if indicator.endswith("_s"):
        return "s"
    return INDICATORS.get(indicator, "")


def percentile_name(q: float) -> str:
    return f"p{q * 100:.6g}"


def rows(results: list[Any], exact: Exact) -> list[Row]:
    return [_row(obj(r), exact) for r in results if isinstance(r, dict)]


def _row(r: dict[str, Any], exact: Exact) -> Row:
    indicator, target = str(r.get("indicator") or ""), str(r.get("target") or "")
    measured_share, status = num(r.get("measured")), str(r.get("status") or "unknown")
    budget = num(r.get("budget_used"))
    unit = unit_of(indicator)
    measured, share, shown_target, sample = fmt(measured_share), "", target, ""
    limit: float | None = None
    if match := _THRESHOLD.match(target):
        op, value = match["op"], float(match["value"])
        limit = value
        goal = float(match["share"]) / 100
        shown_target = f"{fmt(goal * 100)}% {_OP_WORD[op]} {fmt(value, unit)}"
        measured, share, sample = _threshold(
            exact, indicator, op, value, goal, unit, measured_share
        )
    elif match := _RATIO.match(target):
        shown_target = f"≥ {match['share'].rstrip('0').rstrip('.')}%"
        if measured_share is not None:
            share = _percent(measured_share)
            of = str(r.get("detail") or "")
            measured = of if " of " in of else share
    elif match := _INVARIANT.match(target):
        shown_target = f"{_OP_SIGN[match['op']]} {match['value']}"
        if measured_share is not None:
            what = indicator.split(".", 1)[1] if indicator.startswith("ledger.") else unit
            measured = f"{fmt(measured_share)} {what}".rstrip()
    if status in ("missing", "not measured") and measured_share is None:
        measured = f"{DASH} ({status})"
    return Row(
        slo=str(r.get("slo") or ""),
        objective=str(r.get("objective") or ""),
        indicator=indicator,
        measured=measured,
        sample=sample,
        share=share,
        target=shown_target,
        budget=DASH if budget is None else f"{budget:.0%}",
        budget_used=budget,
        status=status,
        detail=str(r.get("detail") or ""),
        weight=num(r.get("weight")) or 1.0,
        limit=limit,
    )


def _threshold(
    exact: Exact,
    indicator: str,
    op: str,
    value: float,
    goal: float,
    unit: str,
    judged: float | None,
) -> tuple[str, str, str]:
    """("p95 = 160 ms", "93.98% under 150 ms", "n = 216") from the exact evidence."""
    q = goal if op in ("lt", "lte") else 1 - goal
    name = percentile_name(q)
    histogram = exact.histogram(indicator)
    values = exact.m.values.get(indicator) if exact.m else None
    share = judged
    if histogram is not None:
        measured = f"{name} = {fmt(exact.percentile_ms(indicator, round(q * 100, 6)), unit)}"
        count = histogram.count
        share = share if share is not None else histogram.share(op, value)
    elif values:
        ordered = sorted(values)
        at = ordered[max(0, math.ceil(q * len(ordered)) - 1)]
        measured = fmt(at, unit) if len(ordered) == 1 else f"{name} = {fmt(at, unit)}"
        count = len(ordered)
        if share is None:
            share = sum(1 for v in values if holds(op, v, value)) / len(values)
    else:
        return DASH, "", ""
    words = f"{_percent(share)} {_OP_WORD[op]} {fmt(value, unit)}" if share is not None else ""
    return measured, words, f"n = {count:,}"


def _percent(share: float) -> str:
    shown = f"{share * 100:.2f}".rstrip("0").rstrip(".")
    return f"{shown}%"


def reason(table: list[Row]) -> str:
    """The worst breach in one line: "ingest-latency: 93.98% under 150 ms, objective 95% …"."""
    breached = [r for r in table if r.status == "breached"]
    if not breached:
        return ""
    worst = max(breached, key=lambda r: (r.budget_used is not None, r.budget_used or 0.0))
    name = worst.slo if worst.slo != "invariants" else f"invariant {worst.objective}"
    line = f"{name}: {worst.share or worst.measured}, objective {worst.target}"
    notes = [worst.measured] if worst.share and worst.measured not in (DASH, worst.share) else []
    if worst.budget_used is not None:
        notes.append(f"{worst.budget} of the error budget used")
    line += f" ({'; '.join(notes)})" if notes else ""
    more = len(breached) - 1
    return line + (f"; {more} more breached" if more else "")


def score_line(results: list[Any]) -> str:
    """How the resilience score is computed, with this run's figures."""
    held, total = _weights(results)
    rule = (
        f"the weighted share of measured objectives that held (each invariant weighs "
        f"{INVARIANT_WEIGHT:g}, every other objective 1)"
    )
    if not total:
        return f"Score: {rule}; nothing was measured."
    return f"Score = {rule}: {fmt(held)} of {fmt(total)} weight held = {100 * held / total:.1f}."


def pooled_score(results: list[Any]) -> float | None:
    """verdict.py's score over any set of results (a gameday pools its experiments')."""
    held, total = _weights(results)
    return round(100 * held / total, 1) if total else None


def _weights(results: list[Any]) -> tuple[float, float]:
    held = total = 0.0
    for r in items(results):
        status = obj(r).get("status")
        if status in ("held", "breached"):
            weight = num(obj(r).get("weight")) or 1.0
            total += weight
            held += weight if status == "held" else 0.0
    return held, total


def latency_summary(exact: Exact, indicator: str) -> dict[str, Any] | None:
    """Whole-run count and exact percentiles of one HDR histogram, in ms."""
    histogram = exact.histogram(indicator)
    if histogram is None:
        return None
    return {
        "count": histogram.count,
        **{f"p{p:g}": exact.percentile_ms(indicator, float(p)) for p in (50, 95, 99)},
        "max": float(histogram.histogram.get_max_value()) / 1000,
    }
