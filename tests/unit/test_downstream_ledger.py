"""The downstream's ledger: effects applied once per key, and kept across a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from system_under_test.downstream.app import Ledger


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
