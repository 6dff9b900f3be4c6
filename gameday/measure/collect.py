"""Gather a run's evidence from a running stack into its run folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gameday import variants
from gameday.measure.ledger import (
    ACKED_FILE,
    LedgerReport,
    dead_lettered_ids,
    queue_depth,
    read_run_ids,
    reconcile,
    wait_for_drain,
)
from gameday.measure.verdict import LEDGER, MEASUREMENTS, Measurements
from gameday.stack.state import aws_client
from system_under_test.redrive import DlqFilter, preview

#: Ids of poison payloads sent on purpose, one per line (the load generator writes it).
POISON_FILE = "poison-ids.txt"


BASELINE = "baseline.json"
#: What the DLQ held at the end of a run (a sample, consuming nothing), for the report.
DLQ_SAMPLE = "dlq-sample.json"
DLQ_SAMPLE_SIZE = 20


def snapshot_baseline(run_dir: Path, state: dict[str, Any]) -> None:
    """What the downstream and the DLQ held before the run: the run is accounted net of it.

    Without it, a second run on the same stack would count the first run's effects
    as unexpected.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    variants.record(run_dir, state)
    downstream = state["parts"]["downstream"]["endpoint"]
    orders = httpx.get(downstream + "/ledger", timeout=60).json()["orders"]
    dead = dead_lettered_ids(aws_client(state, "sqs"), state["resources"]["dlq_url"])
    (run_dir / BASELINE).write_text(
        json.dumps(
            {
                "effects": {order_id: int(o["applied"]) for order_id, o in orders.items()},
                "dead_lettered": dead,
            }
        )
    )


def _net(counts: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in counts.items() if n - before.get(k, 0) > 0}


def collect_ledger(
    run_dir: Path,
    state: dict[str, Any],
    drain_timeout: float = 120.0,
    progress: Callable[[str], None] | None = None,
) -> LedgerReport:
    """Wait for the drain (bounded), account for every acked id, write ``ledger.json``."""
    sqs = aws_client(state, "sqs")
    resources = state["resources"]
    drained, seconds, left = wait_for_drain(
        lambda: queue_depth(sqs, resources["queue_url"]), drain_timeout, progress=progress
    )
    downstream = state["parts"]["downstream"]["endpoint"]
    orders = httpx.get(downstream + "/ledger", timeout=60).json()["orders"]
    effects = {order_id: int(o["applied"]) for order_id, o in orders.items()}
    quarantine: dict[str, float] = {}
    dead = dead_lettered_ids(sqs, resources["dlq_url"], quarantine_s=quarantine)
    acked_ids = read_run_ids(run_dir, ACKED_FILE)
    carried: list[str] = []
    if (run_dir / BASELINE).is_file():
        baseline = json.loads((run_dir / BASELINE).read_text())
        effects = _net(effects, baseline["effects"])
        dead = _net(dead, baseline["dead_lettered"])
        # dead letters from before this run, redriven and applied during it: an earlier
        # run acked them, so their effects are explained, not unexpected
        carried = sorted(
            i for i in effects if i in baseline["dead_lettered"] and i not in acked_ids
        )
        for order_id in carried:
            effects.pop(order_id)
    report = reconcile(
        acked_ids, effects, dead, in_flight=left, drained=drained, drain_seconds=seconds
    )
    if carried:
        report.samples["redriven_from_before"] = carried[:20]
    (run_dir / LEDGER).write_text(json.dumps(report.as_dict(), indent=2))
    write_dlq_sample(run_dir, sqs, resources["dlq_url"])
    _add_pipeline_measurements(run_dir, acked_ids, orders, dead, quarantine, seconds)
    return report


def _add_pipeline_measurements(
    run_dir: Path,
    acked: set[str],
    orders: dict[str, Any],
    dead: dict[str, int],
    quarantine: dict[str, float],
    drain_seconds: float | None,
) -> None:
    """End-to-end latency, poison quarantine time, unplanned DLQ growth and drain time.

    Poison sent on purpose is listed in ``poison-ids.txt``; any other acked id that
    is in the DLQ and was never applied is a healthy order dead-lettered.
    """
    measurements = (
        Measurements.load(run_dir) if (run_dir / MEASUREMENTS).is_file() else Measurements()
    )
    e2e = measurements.latency("e2e.latency_ms")
    for order_id in acked:
        order = orders.get(order_id)
        if order and order.get("acceptedAt") and order.get("firstAppliedAt"):
            e2e.record_ms((order["firstAppliedAt"] - order["acceptedAt"]) * 1000)
    poison = read_run_ids(run_dir, POISON_FILE)
    unplanned = [i for i in acked if dead.get(i) and i not in poison and not orders.get(i)]
    measurements.counters["dlq.unexpected_growth"] = len(unplanned)
    quarantined = [seconds for order_id, seconds in quarantine.items() if order_id in poison]
    if quarantined:
        measurements.values["poison.time_to_dlq_s"] = quarantined
    if not e2e.count:
        measurements.histograms.pop("e2e.latency_ms")
    if drain_seconds is not None:  # from the end of the traffic to an empty queue
        measurements.values["backlog.drain_time_s"] = [drain_seconds]
    measurements.save(run_dir)


def write_dlq_sample(run_dir: Path, sqs: Any, dlq_url: str) -> None:
    """``dlq-sample.json``: up to 20 dead letters with their error attributes (bodies as sent:
    the report escapes them)."""
    sample = preview(sqs, dlq_url, DlqFilter(None, 0.0), max_messages=DLQ_SAMPLE_SIZE)
    messages = [
        {
            "messageId": m["messageId"],
            "body": m["bodyPreview"],
            "attributes": {
                key: m.get(key)
                for key in ("errorType", "errorMessage", "attempts", "firstSeen", "correlationId")
            },
        }
        for m in sample["messages"]
    ]
    (run_dir / DLQ_SAMPLE).write_text(
        json.dumps({"dlqDepth": sample["dlqDepth"], "messages": messages}, indent=1)
    )
