"""Gather a run's evidence from a running stack into its run folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from gameday.measure.ledger import (
    ACKED_FILE,
    LedgerReport,
    dead_lettered_ids,
    queue_depth,
    read_ids,
    reconcile,
    wait_for_drain,
)
from gameday.measure.verdict import LEDGER


def aws_client(state: dict[str, Any], service: str) -> Any:
    import boto3

    env = state["env"]
    return boto3.client(
        service,
        endpoint_url=env.get("AWS_ENDPOINT_URL"),
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


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
    dead = dead_lettered_ids(sqs, resources["dlq_url"])
    acked_path = run_dir / ACKED_FILE
    acked = read_ids(acked_path) if acked_path.is_file() else iter(())
    report = reconcile(acked, effects, dead, in_flight=left, drained=drained, drain_seconds=seconds)
    (run_dir / LEDGER).write_text(json.dumps(report.as_dict(), indent=2))
    return report
