"""Guardrails: a chosen subset of SLOs evaluated continuously, aborting on a lasting breach.

k6's ``abortOnFail`` with ``delayAbortEval``: a rule whose probe breaches its
objective for longer than its grace period signals an abort. Probes are
polled every ``interval`` seconds (0.5 by default), so the abort comes at most
about one interval after the grace period ends; the figure is measured in
``tests/unit/test_guardrail.py``. The abort reason is written to the run
folder (``abort.json``), which makes the run's verdict "aborted", exit 2.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.measure.histograms import holds
from gameday.measure.verdict import ABORT


@dataclass(frozen=True)
class Rule:
    name: str
    probe: Callable[[], float | None]  # the current value; None: no data yet (never a breach)
    op: str
    value: float
    grace_seconds: float


class Guardrail:
    def __init__(
        self,
        rules: list[Rule],
        run_dir: Path | None = None,
        interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        on_abort: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.rules = rules
        self.on_abort = on_abort
        self.run_dir = run_dir
        self.interval = interval
        self._clock = clock
        self.aborted = threading.Event()
        self.reason: dict[str, Any] | None = None
        self._breached_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="guardrail", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.is_set() and not self.aborted.is_set():
            self.check()
            self._stop.wait(self.interval)

    def check(self) -> dict[str, Any] | None:
        """Evaluate every rule once; returns the abort reason when one fires."""
        now = self._clock()
        for rule in self.rules:
            try:
                measured = rule.probe()
            except Exception:
                measured = None
            if measured is None or holds(rule.op, measured, rule.value):
                self._breached_since.pop(rule.name, None)
                continue
            since = self._breached_since.setdefault(rule.name, now)
            if now - since > rule.grace_seconds:
                return self._abort(rule, measured, now - since)
        return None

    def _abort(self, rule: Rule, measured: float, breached_for: float) -> dict[str, Any]:
        self.reason = {
            "guardrail": rule.name,
            "measured": measured,
            "objective": f"{rule.op} {rule.value:g}",
            "graceSeconds": rule.grace_seconds,
            "breachedForSeconds": round(breached_for, 3),
            "at": time.time(),
        }
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / ABORT).write_text(json.dumps(self.reason, indent=2))
        self.aborted.set()
        if self.on_abort is not None:
            self.on_abort(self.reason)
        return self.reason


#: How a catalogue SLO is watched live, from the timeline sampler's latest sample:
#: (probe of the sample, op, value) — the rolling counterpart of its objective.
LIVE_PROBES: dict[str, tuple[Callable[[dict[str, Any]], float | None], str, float]] = {
    "ingest-latency": (lambda s: s.get("api", {}).get("p99Ms"), "lte", 250.0),
    "ingest-availability": (lambda s: s.get("api", {}).get("errorRate"), "lte", 0.001),
}


def rules_for(
    names: list[str], latest: Callable[[], dict[str, Any] | None], grace_seconds: float
) -> list[Rule]:
    """Guardrail rules for catalogue SLOs that can be watched live."""
    rules = []
    for name in names:
        if name not in LIVE_PROBES:
            known = ", ".join(sorted(LIVE_PROBES))
            raise ValueError(f"SLO {name!r} cannot be watched live (watchable: {known})")
        probe, op, value = LIVE_PROBES[name]

        def current(probe: Callable[[dict[str, Any]], float | None] = probe) -> float | None:
            sample = latest()
            return None if sample is None else probe(sample)

        rules.append(Rule(name, current, op, value, grace_seconds))
    return rules


ALARM_RULE_PREFIX = "alarm:"


def resolve_alarms(resources: dict[str, Any], names: list[str]) -> list[str]:
    """Alarm names, where the stack's alarms may be named by role (``dlq_alarm``, ...)."""
    return [str(resources.get(name) or name) for name in names]


def missing_alarms(cloudwatch: Any, names: list[str]) -> list[str]:
    """Which of these alarms do not exist (DescribeAlarms; its errors propagate)."""
    if not names:
        return []
    found = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    return sorted(set(names) - {a["AlarmName"] for a in found})


def alarm_rules(names: list[str], cloudwatch: Any, grace_seconds: float = 0.0) -> list[Rule]:
    """AWS FIS's stop condition: abort once any of these CloudWatch alarms is in ALARM.

    One DescribeAlarms call answers every rule of a check; an alarm that cannot be read
    counts as no data (never an abort), as a metric without data does.
    """
    read: dict[str, Any] = {"at": 0.0, "states": {}}

    def states() -> dict[str, str]:
        if time.monotonic() - read["at"] > 0.25:  # one call per check of every rule
            found = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
            read.update(
                at=time.monotonic(), states={a["AlarmName"]: a["StateValue"] for a in found}
            )
        return dict(read["states"])

    def in_alarm(name: str) -> float | None:
        state = states().get(name)
        return None if state is None else float(state == "ALARM")

    return [
        Rule(f"{ALARM_RULE_PREFIX}{name}", lambda n=name: in_alarm(n), "lte", 0.0, grace_seconds)  # type: ignore[misc]
        for name in names
    ]
