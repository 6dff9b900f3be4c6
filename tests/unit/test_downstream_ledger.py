"""The downstream's ledger: effects applied once per key, and kept across a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from system_under_test.downstream.app import Ledger, create_app
from system_under_test.faults import Fault, FaultState


class TableLikeStore:
    """What DynamoEffectStore guarantees, in memory: one record per key, the first wins."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def load(self) -> list[dict[str, Any]]:
        return list(self.items.values())

    def add(self, effect: dict[str, Any]) -> dict[str, Any] | None:
        key = effect["idempotencyKey"]
        if key in self.items:
            return self.items[key]
        self.items[key] = effect
        return None


def apply(ledger: Ledger, key: str, order_id: str) -> bool:
    _, applied = asyncio.run(ledger.apply(key, {"orderId": order_id, "acceptedAt": 1.0}))
    return applied


def test_an_effect_is_applied_once_per_key() -> None:
    ledger = Ledger(TableLikeStore())
    assert apply(ledger, "k1", "o1") is True
    assert apply(ledger, "k1", "o1") is False
    orders = ledger.snapshot()["orders"]
    assert orders["o1"]["applied"] == 1
    assert orders["o1"]["calls"] == 2


def test_a_restarted_ledger_shows_and_never_repeats_earlier_effects() -> None:
    store = TableLikeStore()
    before = Ledger(store)
    for n in range(3):
        apply(before, f"k{n}", f"o{n}")
    after = Ledger(store)  # a new process over the same table
    assert {o: e["applied"] for o, e in after.snapshot()["orders"].items()} == {
        "o0": 1,
        "o1": 1,
        "o2": 1,
    }
    assert apply(after, "k1", "o1") is False  # a retry after the restart: no second effect
    assert after.snapshot()["totals"]["duplicated"] == 0


def test_an_effect_another_life_applied_is_a_replay() -> None:
    store = TableLikeStore()
    first = Ledger(store)
    second = Ledger(store)  # started before the first applied anything (two instances)
    assert apply(first, "k", "o") is True
    assert apply(second, "k", "o") is False
    assert second.snapshot()["orders"]["o"]["applied"] == 1


def test_without_a_store_effects_live_in_memory() -> None:
    ledger = Ledger()
    assert apply(ledger, "k", "o") is True
    assert Ledger().snapshot()["orders"] == {}


class _Switch:
    """A fault switch with one fault on, as the SSM documents would say."""

    def __init__(self, mode: str, latency_ms: int) -> None:
        self.state = FaultState(active=Fault(mode, latency_ms=latency_ms))

    def current(self) -> FaultState:
        return self.state


@pytest.mark.parametrize(("mode", "slowed"), [("slow_downstream", True), ("slow_api", False)])
def test_the_downstream_applies_its_own_faults_and_not_the_apis(mode: str, slowed: bool) -> None:
    app = create_app(_Switch(mode, latency_ms=300))  # type: ignore[arg-type]
    with TestClient(app) as client:
        started = time.perf_counter()
        answer = client.post("/effects", json={"orderId": "o1"}, headers={"Idempotency-Key": "k"})
        took = time.perf_counter() - started
    assert answer.status_code == 201
    assert (took >= 0.3) is slowed, took
