"""The downstream service (fulfilment/payments stand-in).

It applies each effect at most once per ``Idempotency-Key`` and records every
call, so the ledger can prove "nothing lost, nothing applied twice":
``GET /ledger`` returns, per order id, how many effects were applied and how
many calls arrived, and how soon a failed call was retried. Effects are kept in a
DynamoDB table (``SUT_EFFECTS_TABLE``) as well as in memory, so a restarted downstream
still shows, and never repeats, every effect applied before it died. Its faults
(latency, error rate with a status code, hang) come from the fault switches:
``slow_downstream`` and ``random_fail_p30`` act here.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from system_under_test.faults import API_MODES, FaultSwitch
from system_under_test.telemetry import EFFECTS_APPLIED, Telemetry

#: A hanging downstream still lets go eventually, so no request lives forever.
HANG_SECONDS = 120.0


@dataclass
class OrderEffects:
    applied: int = 0
    calls: int = 0
    keys: list[str] = field(default_factory=list)
    first_applied_at: float | None = None
    accepted_at: float | None = None  # when the API accepted the order (end-to-end latency)
    failed_at: float | None = None  # monotonic time of the last call answered with a fault
    retry_gap_ms: float | None = None  # shortest wait between a failed call and the next


class EffectStore(Protocol):
    """Where applied effects outlive the process (one record per Idempotency-Key)."""

    def load(self) -> list[dict[str, Any]]: ...

    def add(self, effect: dict[str, Any]) -> dict[str, Any] | None:
        """Record a new effect; returns the stored one instead when the key already has one."""
        ...


class DynamoEffectStore:
    """Effects in a DynamoDB table keyed by ``id`` (the Idempotency-Key), written with a
    condition so that a key is applied once even across restarts and instances."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def load(self) -> list[dict[str, Any]]:
        effects = []
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=self._table):
            effects += [json.loads(item["effect"]["S"]) for item in page.get("Items", [])]
        return effects

    def add(self, effect: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={"id": {"S": effect["idempotencyKey"]}, "effect": {"S": json.dumps(effect)}},
                ConditionExpression="attribute_not_exists(id)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            found = self._dynamodb.get_item(
                TableName=self._table, Key={"id": {"S": effect["idempotencyKey"]}}
            )
            return dict(json.loads(found["Item"]["effect"]["S"]))
        return None


class Ledger:
    """Effects by order id and by idempotency key, rebuilt from the store at start.

    One event loop: the in-memory maps need no locks. With a store, an effect is
    applied only once the store has it, so a restart loses none and repeats none.
    """

    def __init__(self, store: EffectStore | None = None) -> None:
        self.by_order: dict[str, OrderEffects] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.faulted = 0
        self.store = store
        for effect in store.load() if store else []:
            self._remember(effect)

    def arrived(self, order_id: str) -> None:
        """A call for ``order_id``: after a failed one, how soon it came (did retries back off?)."""
        effects = self.by_order.setdefault(order_id, OrderEffects())
        if effects.failed_at is not None:
            gap = (time.monotonic() - effects.failed_at) * 1000
            effects.retry_gap_ms = min(gap, effects.retry_gap_ms or gap)
            effects.failed_at = None

    def failed(self, order_id: str) -> None:
        self.faulted += 1
        self.by_order.setdefault(order_id, OrderEffects()).failed_at = time.monotonic()

    async def apply(self, key: str, order: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Apply once per key; returns (the effect, whether it was applied by this call)."""
        order_id = str(order.get("orderId", ""))
        self.by_order.setdefault(order_id, OrderEffects()).calls += 1
        if key in self.by_key:
            return self.by_key[key], False
        effect = {
            "effectId": f"eff-{uuid.uuid4().hex[:12]}",
            "orderId": order_id,
            "idempotencyKey": key,
            "appliedAt": time.time(),
            "acceptedAt": _number(order.get("acceptedAt")),
        }
        if self.store is not None:
            stored = await run_in_threadpool(self.store.add, effect)
            if key in self.by_key:  # applied meanwhile by a concurrent call
                return self.by_key[key], False
            if stored is not None:  # applied by an earlier life of this service
                self._remember(stored)
                return stored, False
        self._remember(effect)
        return effect, True

    def _remember(self, effect: dict[str, Any]) -> None:
        effects = self.by_order.setdefault(str(effect["orderId"]), OrderEffects())
        effects.applied += 1
        effects.keys.append(str(effect["idempotencyKey"]))
        applied_at = float(effect["appliedAt"])
        effects.first_applied_at = min(effects.first_applied_at or applied_at, applied_at)
        accepted = _number(effect.get("acceptedAt"))
        effects.accepted_at = effects.accepted_at or accepted
        self.by_key[str(effect["idempotencyKey"])] = effect

    def snapshot(self) -> dict[str, Any]:
        orders = {
            order_id: {
                "applied": e.applied,
                "calls": e.calls,
                "firstAppliedAt": e.first_applied_at,
                "acceptedAt": e.accepted_at,
                "retryGapMs": None if e.retry_gap_ms is None else round(e.retry_gap_ms, 1),
            }
            for order_id, e in self.by_order.items()
        }
        return {
            "orders": orders,
            "totals": {
                "orders": len(orders),
                "effects": len(self.by_key),
                "calls": self.calls,
                "faulted": self.faulted,
                "duplicated": sum(1 for e in self.by_order.values() if e.applied > 1),
            },
        }


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def create_app(
    faults: FaultSwitch | None,
    rng: random.Random | None = None,
    store: EffectStore | None = None,
    telemetry: Telemetry | None = None,
) -> FastAPI:
    app = FastAPI(title="reference downstream", docs_url=None, redoc_url=None)
    ledger = Ledger(store)
    app.state.telemetry = telemetry = telemetry or Telemetry("downstream")
    chance = rng or random.Random()  # noqa: S311 (fault injection, not security)
    app.state.ledger = ledger

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ledger")
    async def get_ledger() -> dict[str, Any]:
        return ledger.snapshot()

    @app.post("/effects")
    async def apply_effect(
        request: Request, idempotency_key: str | None = Header(default=None)
    ) -> JSONResponse:
        ledger.calls += 1
        if not idempotency_key:
            return _error(400, "IDEMPOTENCY_KEY_REQUIRED", "Idempotency-Key header is required")
        try:
            order = await request.json()
        except ValueError:
            return _error(400, "INVALID_JSON", "body is not JSON")
        if not isinstance(order, dict) or not order.get("orderId"):
            return _error(422, "INVALID_EFFECT", "body must be an object with an orderId")
        order_id = str(order["orderId"])
        ledger.arrived(order_id)
        state = await run_in_threadpool(faults.current) if faults else None
        fault = state.active if state else None
        if fault is not None and fault.mode not in API_MODES:
            if fault.hang:
                await asyncio.sleep(HANG_SECONDS)
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.error_rate and chance.random() < fault.error_rate:
                ledger.failed(order_id)
                return _error(fault.status_code, "INJECTED_FAULT", f"fault {fault.mode}")
        effect, applied = await ledger.apply(idempotency_key, order)
        if applied:
            telemetry.count(EFFECTS_APPLIED)
        return JSONResponse(
            {**effect, "replayed": not applied}, status_code=201 if applied else 200
        )

    return app


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
