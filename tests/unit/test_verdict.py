"""Verdicts over run folders built to hold, to breach each kind of check, or to lack evidence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.measure.histograms import Latencies
from gameday.measure.ledger import reconcile
from gameday.measure.slo import load_catalogue
from gameday.measure.verdict import (
    BREACHED,
    HELD,
    MISSING,
    NOT_MEASURED,
    Measurements,
    evaluate,
    table,
)

CATALOGUE = load_catalogue()


def _run(
    tmp_path: Path,
    name: str = "run",
    *,
    latency_ms: float = 40,
    errors: int = 0,
    lost: int = 0,
    duplicated: bool = False,
    poison_s: float | None = None,
) -> Path:
    run_dir = tmp_path / name
    m = Measurements()
    m.count("ingest.requests", 1000)
    m.count("ingest.non_5xx", 1000 - errors)
    m.count("ingest.not_429", 1000)
    m.count("dlq.unexpected_growth", 0)
    for i in range(1000):
        m.latency("ingest.latency_ms").record_ms(latency_ms + (i % 10))
    if poison_s is not None:
        m.values["poison.time_to_dlq_s"] = [poison_s]
    m.save(run_dir)
    acked = [f"o{i}" for i in range(100)]
    effects = dict.fromkeys(acked[lost:], 1)
    if duplicated:
        effects["o50"] = 2
    (run_dir / "ledger.json").write_text(json.dumps(reconcile(acked, effects, {}).as_dict()))
    return run_dir


def _status(verdict_results: list, slo: str, objective_part: str = "") -> str:
    for r in verdict_results:
        if r.slo == slo and objective_part in r.objective:
            return str(r.status)
    raise AssertionError(f"no result for {slo} {objective_part}")


def test_a_good_run_holds_and_scores_100(tmp_path: Path) -> None:
    verdict = evaluate(CATALOGUE, _run(tmp_path, poison_s=2.0))
    assert verdict.status == "held" and verdict.exit_code == 0
    assert verdict.score == 100.0
    assert _status(verdict.results, "ingest-latency", "p99") == HELD
    assert _status(verdict.results, "poison-quarantine") == HELD
    assert _status(verdict.results, "backlog-drain") == NOT_MEASURED  # no data: not judged
    assert "HELD" in table(verdict)


def test_slow_requests_breach_the_latency_slo_only(tmp_path: Path) -> None:
    verdict = evaluate(CATALOGUE, _run(tmp_path, latency_ms=300))
    assert verdict.exit_code == 1
    breached = {(r.slo, r.objective) for r in verdict.results if r.status == BREACHED}
    assert breached == {
        ("ingest-latency", "p95 under 150 ms"),
        ("ingest-latency", "p99 under 250 ms"),
    }
    latency = next(r for r in verdict.results if r.objective == "p99 under 250 ms")
    assert latency.measured == 0.0 and latency.budget_used == 100.0


def test_5xx_breach_availability_with_budget_used(tmp_path: Path) -> None:
    verdict = evaluate(CATALOGUE, _run(tmp_path, errors=5))
    availability = next(r for r in verdict.results if r.slo == "ingest-availability")
    assert availability.status == BREACHED
    assert availability.budget_used == pytest.approx(5.0)  # 0.5% errors on a 0.1% budget


def test_lost_and_duplicated_ids_breach_the_invariants(tmp_path: Path) -> None:
    verdict = evaluate(CATALOGUE, _run(tmp_path, lost=2, duplicated=True))
    breached = {r.objective for r in verdict.results if r.status == BREACHED}
    assert breached == {"zero-lost", "zero-duplicated"}
    lost = next(r for r in verdict.results if r.objective == "zero-lost")
    assert lost.measured == 2 and "o0" in lost.detail
    assert verdict.score is not None and verdict.score < 100


def test_slow_poison_breaches_quarantine(tmp_path: Path) -> None:
    verdict = evaluate(CATALOGUE, _run(tmp_path, poison_s=45.0))
    assert _status(verdict.results, "poison-quarantine") == BREACHED


def test_missing_evidence_never_passes(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    (run_dir / "ledger.json").unlink()
    verdict = evaluate(CATALOGUE, run_dir)
    assert verdict.status == "inconclusive" and verdict.exit_code == 3
    assert verdict.missing == ["ledger.json"]
    lost = next(r for r in verdict.results if r.objective == "zero-lost")
    assert lost.status == MISSING and "ledger.json is missing" in lost.detail
    assert "missing evidence: ledger.json" in table(verdict)


def test_an_undrained_queue_is_a_breach(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    report = reconcile(["a"], {"a": 1}, {}, in_flight=12, drained=False)
    (run_dir / "ledger.json").write_text(json.dumps(report.as_dict()))
    verdict = evaluate(CATALOGUE, run_dir)
    assert verdict.exit_code == 1
    assert any("12 messages still queued" in r.detail for r in verdict.results)


def test_an_aborted_run_exits_2(tmp_path: Path) -> None:
    run_dir = _run(tmp_path)
    (run_dir / "abort.json").write_text(json.dumps({"guardrail": "ingest-latency"}))
    verdict = evaluate(CATALOGUE, run_dir)
    assert verdict.status == "aborted" and verdict.exit_code == 2


def test_histograms_round_trip_and_merge() -> None:
    a, b = Latencies(), Latencies()
    for v in range(1, 101):
        a.record_ms(v)
        b.record_ms(v + 100)
    merged = Latencies.merge([Latencies.decode(a.encode()), b])
    assert merged.count == 200
    assert merged.percentile_ms(50) == pytest.approx(100, rel=0.01)
    assert merged.share("lte", 100) == pytest.approx(0.5)
    assert merged.percentile_ms(99) == pytest.approx(198, rel=0.01)


def test_scores_are_kept_with_each_run_for_the_trend(tmp_path: Path) -> None:
    import os

    from gameday.measure.verdict import score_history, write

    for name, latency, stamp in (("run-a", 40, 1000), ("run-b", 300, 2000)):
        run_dir = _run(tmp_path, name=name, latency_ms=latency)
        path = write(evaluate(CATALOGUE, run_dir), run_dir)
        os.utime(path, (stamp, stamp))
    history = score_history(tmp_path)
    assert [h["run"] for h in history] == ["run-a", "run-b"]
    assert [h["status"] for h in history] == ["held", "breached"]
    assert history[0]["score"] == 100.0 and history[1]["score"] < 100.0
