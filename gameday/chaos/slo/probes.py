"""SLO status (over the run so far, or a recent window) and the message ledger."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.measure import slo as catalogue_module
from gameday.measure import verdict
from gameday.measure.collect import collect_ledger
from gameday.measure.guardrail import LIVE_PROBES
from gameday.measure.histograms import holds

__all__ = ["ledger", "slo_not_breached", "slo_status"]


def slo_status(
    name: str,
    catalogue: str | None = None,
    window_seconds: float = 0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """The status of one catalogue SLO: "held", "breached" or "not measured".

    name: an SLO (ingest-latency, ingest-availability, ...) or an invariant (zero-lost, ...);
    judged on the run folder's measurements so far (the load profile writes them every 2 s).
    window_seconds: judge over the last N seconds instead, on the API's own metrics as the
    gameday control's timeline samples them (the guardrails' view: ingest-latency p99 within
    250 ms, ingest-availability 5xx within 0.1%).
    """
    if window_seconds > 0:
        return _over_window(name, window_seconds)
    try:
        loaded = catalogue_module.load_catalogue(catalogue)
    except catalogue_module.CatalogueError as exc:
        raise ActivityFailed(str(exc)) from None
    result = verdict.evaluate(loaded, context.run_dir(configuration))
    mine = [r for r in result.results if name in (r.slo, r.objective)]
    if not mine:
        raise ActivityFailed(f"no SLO or invariant {name!r} in the catalogue")
    statuses = {r.status for r in mine}
    for status in (verdict.BREACHED, verdict.HELD):
        if status in statuses:
            return status
    return verdict.NOT_MEASURED


def slo_not_breached(
    name: str,
    catalogue: str | None = None,
    window_seconds: float = 0,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """True unless the SLO or invariant is breached (a steady-state check); see slo_status."""
    return slo_status(name, catalogue, window_seconds, configuration) != verdict.BREACHED


def _over_window(name: str, seconds: float) -> str:
    if name not in LIVE_PROBES:
        known = ", ".join(sorted(LIVE_PROBES))
        raise ActivityFailed(f"{name!r} cannot be judged over a window (these can: {known})")
    sampler = context.sampler()
    if sampler is None:
        raise ActivityFailed(
            "an SLO over a window reads the timeline of the gameday control"
            " (gameday.chaos.controls): add it to the experiment's controls"
        )
    window = sampler.over_last(seconds)
    probe, op, value = LIVE_PROBES[name]
    measured = probe({"api": window})
    if not window.get("requests") or measured is None:
        return verdict.NOT_MEASURED
    return verdict.HELD if holds(op, measured, value) else verdict.BREACHED


def ledger(
    drain_timeout_seconds: float = 120,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Account for every acked id of this run: waits for the drain (bounded), then counts.

    Returns lost, duplicated, unexpected, applied, dead_lettered, in_flight, drained and
    passed (all three zero and drained); writes ledger.json to the run folder.
    """
    state = context.stack(configuration)
    report = collect_ledger(context.run_dir(configuration), state, drain_timeout_seconds)
    return report.as_dict()
