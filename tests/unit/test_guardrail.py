"""Guardrail timing: the abort comes within 2 s of a breach outlasting its grace period."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gameday.measure.guardrail import Guardrail, Rule
from gameday.measure.slo import load_catalogue
from gameday.measure.verdict import Measurements, evaluate


def test_abort_within_two_seconds_of_the_grace_period(tmp_path: Path) -> None:
    breach_starts = time.monotonic() + 0.3
    p99 = lambda: 900.0 if time.monotonic() >= breach_starts else 40.0  # noqa: E731
    guardrail = Guardrail(
        [Rule("ingest p99", p99, "lte", 250, grace_seconds=1.0)], run_dir=tmp_path
    )
    guardrail.start()
    assert guardrail.aborted.wait(timeout=10)
    signalled = time.monotonic()
    guardrail.stop()
    after_grace = signalled - (breach_starts + 1.0)
    print(f"abort signalled {after_grace:.3f} s after the grace period ended")
    assert 0 <= after_grace < 2.0
    reason = json.loads((tmp_path / "abort.json").read_text())
    assert reason["guardrail"] == "ingest p99" and reason["measured"] == 900.0
    # The run's verdict reads the abort.
    Measurements().save(tmp_path)
    (tmp_path / "ledger.json").write_text(json.dumps({"drained": True}))
    assert evaluate(load_catalogue(), tmp_path).exit_code == 2


def test_a_breach_shorter_than_the_grace_period_does_not_abort() -> None:
    clock = [0.0]
    values = {"v": 900.0}
    guardrail = Guardrail(
        [Rule("r", lambda: values["v"], "lte", 250, grace_seconds=2.0)], clock=lambda: clock[0]
    )
    for t in (0.0, 0.5, 1.0, 1.5):
        clock[0] = t
        assert guardrail.check() is None
    values["v"] = 100.0  # recovered inside the grace period
    clock[0] = 2.5
    assert guardrail.check() is None
    values["v"] = 900.0
    clock[0] = 3.0
    assert guardrail.check() is None  # a new breach starts its own grace period
    clock[0] = 5.1
    assert guardrail.check() is not None


def test_no_data_is_not_a_breach() -> None:
    guardrail = Guardrail([Rule("r", lambda: None, "lte", 1, grace_seconds=0)])
    assert guardrail.check() is None


def test_catalogue_rules_watch_the_samplers_latest_sample() -> None:
    from gameday.measure.guardrail import rules_for

    latest = {"api": {"p99Ms": 100.0, "errorRate": 0.0}}
    rules = rules_for(["ingest-latency", "ingest-availability"], lambda: latest, 0.0)
    guardrail = Guardrail(rules)
    assert guardrail.check() is None
    latest["api"]["errorRate"] = 0.2
    guardrail.check()  # the breach starts; with no grace it aborts on the next check
    reason = guardrail.check()
    assert reason is not None and reason["guardrail"] == "ingest-availability"
    import pytest

    with pytest.raises(ValueError, match="cannot be watched live"):
        rules_for(["backlog-drain"], lambda: latest, 0.0)
