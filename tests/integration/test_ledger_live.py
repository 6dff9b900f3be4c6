"""Ledger and verdict against a fresh stack: a small load with a poison payload, a
duplicate effect and an effect for an id nobody acked, each injected on purpose."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.measure.collect import POISON_FILE, collect_ledger
from gameday.measure.ledger import AckedIds
from gameday.measure.slo import load_catalogue
from gameday.measure.verdict import BREACHED, HELD, Measurements, evaluate
from tests.integration.conftest import System, order, running_system

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A stack of its own: nothing another test did may show up as unexpected."""
    with running_system(tmp_path_factory.mktemp("ledger") / ".gameday") as system:
        yield system


def test_verdict_names_exactly_the_injected_breaches(fresh: System, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    acked = AckedIds(run_dir)
    measurements = Measurements()
    healthy_ids = []
    # one order first, unmeasured: the first request on a fresh stack takes its cold paths,
    # and a p99 over 20 requests is their slowest (this test is about the ledger's breaches)
    warm_up = order("ledger")
    assert fresh.post(warm_up).status_code == 202
    acked.record(warm_up["orderId"])
    healthy_ids.append(warm_up["orderId"])
    for _ in range(20):
        body = order("ledger")
        started = time.perf_counter()
        response = fresh.post(body)
        measurements.latency("ingest.latency_ms").record_ms((time.perf_counter() - started) * 1000)
        measurements.count("ingest.requests")
        measurements.count("ingest.non_5xx", response.status_code < 500)
        measurements.count("ingest.not_429", response.status_code != 429)
        assert response.status_code == 202
        acked.record(body["orderId"])
        healthy_ids.append(body["orderId"])
        time.sleep(0.05)  # 20/s, under the rate limit: a 429's Retry-After would count as latency
    poison = order("ledger-poison", currency="XXX")
    sent = time.monotonic()
    assert fresh.post(poison).status_code == 202
    acked.record(poison["orderId"])
    acked.close()
    planned = AckedIds(run_dir, POISON_FILE)  # poison sent on purpose is not "unplanned"
    planned.record(poison["orderId"])
    planned.close()
    waited = fresh.wait_for(lambda: poison["orderId"] in fresh.dlq_order_ids(), 10, "poison")
    measurements.values["poison.time_to_dlq_s"] = [time.monotonic() - sent]
    assert waited < 10
    measurements.count("dlq.unexpected_growth", 0)
    measurements.save(run_dir)
    # On purpose: a second effect for an acked order (another key), one for a stranger.
    duplicate_target = healthy_ids[3]
    for key, order_id in (("rogue-key", duplicate_target), ("ghost-key", "ghost-order")):
        response = fresh.http.post(
            fresh.downstream + "/effects",
            json={"orderId": order_id},
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 201

    report = collect_ledger(run_dir, fresh.status, drain_timeout=30)
    assert (report.acked, report.applied, report.dead_lettered) == (22, 21, 1)
    assert report.lost == 0 and report.drained
    assert report.samples["duplicated"] == [duplicate_target]
    assert report.samples["unexpected"] == ["ghost-order"]

    verdict = evaluate(load_catalogue(), run_dir)
    breached = {(r.objective, r.detail) for r in verdict.results if r.status == BREACHED}
    assert breached == {("zero-duplicated", duplicate_target), ("zero-unexpected", "ghost-order")}
    held = {r.slo for r in verdict.results if r.status == HELD}
    assert {"ingest-availability", "poison-quarantine", "invariants"} <= held
    assert verdict.exit_code == 1
