"""The ledger against a fresh stack: a small load with a poison payload, a duplicate
effect and an effect for an id nobody acked, each injected on purpose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.measure.ledger import (
    AckedIds,
    dead_lettered_ids,
    queue_depth,
    read_ids,
    reconcile,
    wait_for_drain,
)
from tests.integration.conftest import System, order, running_system

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A stack of its own: nothing another test did may show up as unexpected."""
    with running_system(tmp_path_factory.mktemp("ledger") / ".gameday") as system:
        yield system


def test_ledger_names_exactly_the_injected_breaches(fresh: System, tmp_path: Path) -> None:
    acked = AckedIds(tmp_path / "run")
    healthy_ids = []
    for _ in range(20):
        body = order("ledger")
        assert fresh.post(body).status_code == 202
        acked.record(body["orderId"])
        healthy_ids.append(body["orderId"])
    poison = order("ledger-poison", currency="XXX")
    assert fresh.post(poison).status_code == 202
    acked.record(poison["orderId"])
    acked.close()

    sqs = fresh.aws("sqs")
    drained, seconds, left = wait_for_drain(
        lambda: queue_depth(sqs, fresh.resources["queue_url"]), timeout=30
    )
    assert drained and left == 0
    # On purpose: a second effect for an acked order (another key), one for a stranger.
    duplicate_target = healthy_ids[3]
    for key, order_id in (("rogue-key", duplicate_target), ("ghost-key", "ghost-order")):
        response = fresh.http.post(
            fresh.downstream + "/effects",
            json={"orderId": order_id},
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 201

    fresh.wait_for(lambda: poison["orderId"] in fresh.dlq_order_ids(), 10, "poison in DLQ")
    effects = {oid: o["applied"] for oid, o in fresh.ledger()["orders"].items()}
    report = reconcile(
        read_ids(acked.path),
        effects,
        dead_lettered_ids(sqs, fresh.resources["dlq_url"], time_budget=5),
        drained=drained,
        drain_seconds=seconds,
    )
    assert (report.acked, report.applied, report.dead_lettered) == (21, 20, 1)
    assert report.lost == 0
    assert report.samples["duplicated"] == [duplicate_target]
    assert report.samples["unexpected"] == ["ghost-order"]
    assert not report.passed
