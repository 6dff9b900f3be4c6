"""SLO status and the message ledger over what this run has measured so far."""

from typing import Any

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.measure import slo as catalogue_module
from gameday.measure import verdict
from gameday.measure.collect import collect_ledger

__all__ = ["ledger", "slo_not_breached", "slo_status"]


def slo_status(
    name: str,
    catalogue: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """The status of one catalogue SLO over this run so far: "held", "breached" or "not measured".

    name: an SLO (ingest-latency, ingest-availability, ...) or an invariant (zero-lost, ...);
    judged on the run folder's measurements (the load profile writes them every 2 s).
    """
    try:
        loaded = catalogue_module.load_catalogue(catalogue or catalogue_module.DEFAULT_CATALOGUE)
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
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """True unless the SLO or invariant is breached over this run so far (a steady-state check)."""
    return slo_status(name, catalogue, configuration) != verdict.BREACHED


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
