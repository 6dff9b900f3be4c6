"""Verdicts: the catalogue evaluated over a run folder, with the brief's exit codes.

A run folder holds the evidence the run produced:

- ``measurements.json``: ``{"counters": {indicator: n}, "histograms": {indicator:
  encoded HDR}, "values": {indicator: [numbers]}}`` (load profiles and experiments
  write it through :class:`Measurements`);
- ``ledger.json``: the ledger's report (lost, duplicated, unexpected, drained);
- ``abort.json``: present when a guardrail aborted the run.

Each SLO objective and invariant gets a measured value, its objective, the
error budget used, and held / breached / not measured (this run produced no
data for it) / missing (an evidence file is absent: never a pass). The run
verdict: 0 all held, 1 a breach, 2 aborted by a guardrail, 3 evidence missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gameday.errors import EXIT_ABORTED, EXIT_BREACHED, EXIT_HARNESS, EXIT_OK
from gameday.measure.histograms import Latencies, holds
from gameday.measure.slo import Catalogue, Invariant, Objective, Slo

MEASUREMENTS, LEDGER, ABORT, VERDICT = (
    "measurements.json",
    "ledger.json",
    "abort.json",
    "verdict.json",
)
HELD, BREACHED, NOT_MEASURED, MISSING = "held", "breached", "not measured", "missing"
#: Invariants weigh more in the resilience score than any single objective.
OBJECTIVE_WEIGHT, INVARIANT_WEIGHT = 1.0, 2.0


@dataclass
class Measurements:
    """What a run measured, by indicator; saved as ``measurements.json``."""

    counters: dict[str, float] = field(default_factory=dict)
    histograms: dict[str, Latencies] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)

    def count(self, indicator: str, by: float = 1) -> None:
        self.counters[indicator] = self.counters.get(indicator, 0) + by

    def latency(self, indicator: str) -> Latencies:
        found = self.histograms.get(indicator)
        if found is None:  # not setdefault: a histogram costs 100 microseconds to allocate
            found = self.histograms[indicator] = Latencies()
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "counters": self.counters,
            "histograms": {name: h.encode() for name, h in self.histograms.items()},
            "values": self.values,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurements:
        return cls(
            counters=dict(data.get("counters", {})),
            histograms={k: Latencies.decode(v) for k, v in data.get("histograms", {}).items()},
            values={k: list(v) for k, v in data.get("values", {}).items()},
        )

    @classmethod
    def merged(cls, parts: Iterable[Measurements]) -> Measurements:
        """Several processes' measurements as one: counters add, histograms merge."""
        total = cls()
        histograms: dict[str, list[Latencies]] = {}
        for part in parts:
            for name, value in part.counters.items():
                total.count(name, value)
            for name, latencies in part.histograms.items():
                histograms.setdefault(name, []).append(latencies)
            for name, values in part.values.items():
                total.values.setdefault(name, []).extend(values)
        total.histograms = {name: Latencies.merge(h) for name, h in histograms.items()}
        return total

    def save(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / MEASUREMENTS).write_text(json.dumps(self.as_dict(), indent=1))

    @classmethod
    def load(cls, run_dir: Path) -> Measurements:
        return cls.from_dict(json.loads((run_dir / MEASUREMENTS).read_text()))

    @classmethod
    def load_all(cls, run_dir: Path) -> Measurements:
        """``measurements.json`` merged with per-writer siblings (``measurements.chaos.json``)."""
        paths = [run_dir / MEASUREMENTS, *sorted(run_dir.glob("measurements.*.json"))]
        return cls.merged(
            cls.from_dict(json.loads(path.read_text())) for path in paths if path.is_file()
        )


@dataclass
class Result:
    slo: str
    objective: str
    indicator: str
    measured: float | None
    target: str
    status: str
    budget_used: float | None = None  # share of the error budget spent; > 1 is a breach
    weight: float = OBJECTIVE_WEIGHT
    detail: str = ""


@dataclass
class RunVerdict:
    results: list[Result]
    status: str  # held, breached, aborted, inconclusive
    exit_code: int
    score: float | None  # weighted share of measured SLOs held, 0-100
    missing: list[str]
    abort: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate(catalogue: Catalogue, run_dir: Path) -> RunVerdict:
    """Judge a run folder by the catalogue; writes nothing (see ``write``)."""
    missing = [name for name in (MEASUREMENTS, LEDGER) if not (run_dir / name).is_file()]
    measurements = Measurements.load_all(run_dir) if MEASUREMENTS not in missing else None
    ledger = json.loads((run_dir / LEDGER).read_text()) if LEDGER not in missing else None
    results: list[Result] = []
    for slo in catalogue.slos:
        for objective in slo.objectives:
            results.append(_objective(slo, objective, measurements))
    for invariant in catalogue.invariants:
        results.append(_invariant(invariant, measurements, ledger))
    if ledger is not None and not ledger.get("drained", False):
        results.append(
            Result(
                "message-accounting",
                "queue drained before the cut-off",
                "ledger.in_flight",
                float(ledger.get("in_flight", 0)),
                "drained",
                BREACHED,
                weight=INVARIANT_WEIGHT,
                detail=f"{ledger.get('in_flight')} messages still queued",
            )
        )
    abort = json.loads((run_dir / ABORT).read_text()) if (run_dir / ABORT).is_file() else None
    return _verdict(results, missing, abort)


def _verdict(results: list[Result], missing: list[str], abort: dict[str, Any] | None) -> RunVerdict:
    measured = [r for r in results if r.status in (HELD, BREACHED)]
    total = sum(r.weight for r in measured)
    score = (
        round(100 * sum(r.weight for r in measured if r.status == HELD) / total, 1)
        if total
        else None
    )
    if abort is not None:
        return RunVerdict(results, "aborted", EXIT_ABORTED, score, missing, abort)
    if missing:
        return RunVerdict(results, "inconclusive", EXIT_HARNESS, score, missing)
    if any(r.status == BREACHED for r in results):
        return RunVerdict(results, "breached", EXIT_BREACHED, score, missing)
    return RunVerdict(results, "held", EXIT_OK, score, missing)


def _objective(slo: Slo, objective: Objective, m: Measurements | None) -> Result:
    target = f"{objective.target:.2%}"
    if slo.kind == "threshold":
        target = f"{objective.target:.2%} of values {objective.op} {objective.value:g}"
    base = Result(slo.name, objective.name, slo.indicator, None, target, MISSING)
    if m is None:
        base.detail = f"{MEASUREMENTS} is missing"
        return base
    if slo.kind == "ratio":
        good, total = m.counters.get(slo.indicator), m.counters.get(slo.total or "")
        if not total or good is None:
            base.status = NOT_MEASURED
            return base
        share = good / total
        base.detail = f"{good:g} of {total:g}"
    else:
        assert objective.op is not None and objective.value is not None
        share_or_none = _threshold_share(m, slo.indicator, objective.op, objective.value)
        if share_or_none is None:
            base.status = NOT_MEASURED
            return base
        share = share_or_none
    base.measured = round(share, 6)
    base.budget_used = round((1 - share) / (1 - objective.target), 3)
    base.status = HELD if share >= objective.target else BREACHED
    return base


def _threshold_share(m: Measurements, indicator: str, op: str, value: float) -> float | None:
    if indicator in m.histograms and m.histograms[indicator].count:
        return m.histograms[indicator].share(op, value)
    values = m.values.get(indicator)
    if values:
        return sum(1 for v in values if holds(op, v, value)) / len(values)
    return None


def _invariant(
    invariant: Invariant, m: Measurements | None, ledger: dict[str, Any] | None
) -> Result:
    target = f"{invariant.op} {invariant.value:g}"
    base = Result(
        "invariants",
        invariant.name,
        invariant.indicator,
        None,
        target,
        MISSING,
        weight=INVARIANT_WEIGHT,
    )
    if invariant.indicator.startswith("ledger."):
        if ledger is None:
            base.detail = f"{LEDGER} is missing"
            return base
        measured = ledger.get(invariant.indicator.split(".", 1)[1])
        sample = ledger.get("samples", {}).get(invariant.indicator.split(".", 1)[1], [])
        base.detail = ", ".join(sample[:5])
    elif m is None:
        base.detail = f"{MEASUREMENTS} is missing"
        return base
    else:
        measured = m.counters.get(invariant.indicator)
    if measured is None:
        base.status = NOT_MEASURED
        return base
    base.measured = float(measured)
    base.status = HELD if holds(invariant.op, float(measured), invariant.value) else BREACHED
    return base


def write(verdict: RunVerdict, run_dir: Path) -> Path:
    path = run_dir / VERDICT
    path.write_text(json.dumps(verdict.as_dict(), indent=2))
    return path


def table(verdict: RunVerdict) -> str:
    """The verdict as a fixed-width table for a terminal."""
    lines = [f"{'SLO':<22} {'objective':<40} {'measured':>10} {'budget':>8}  status"]
    for r in verdict.results:
        measured = "-" if r.measured is None else f"{r.measured:g}"
        budget = "-" if r.budget_used is None else f"{r.budget_used:.0%}"
        extra = f"  ({r.detail})" if r.detail else ""
        lines.append(
            f"{r.slo:<22} {r.objective[:40]:<40} {measured:>10} {budget:>8}  "
            f"{r.status.upper()}{extra}"
        )
    score = "-" if verdict.score is None else f"{verdict.score:g}"
    lines.append(
        f"run verdict: {verdict.status.upper()} (exit {verdict.exit_code}), "
        f"resilience score {score}"
    )
    if verdict.missing:
        lines.append(f"missing evidence: {', '.join(verdict.missing)}")
    return "\n".join(lines)


def score_history(runs_root: Path) -> list[dict[str, Any]]:
    """Scores of the run folders under ``runs_root``, oldest first (for the report's trend)."""
    history = []
    for path in sorted(runs_root.glob(f"*/{VERDICT}"), key=lambda p: p.stat().st_mtime):
        data = json.loads(path.read_text())
        history.append(
            {"run": path.parent.name, "score": data.get("score"), "status": data.get("status")}
        )
    return history
