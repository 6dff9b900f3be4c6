"""The downstream service (fulfilment/payments stand-in).

It applies each effect at most once per ``Idempotency-Key`` and records every
call, so the ledger can prove "nothing lost, nothing applied twice":
``GET /ledger`` returns, per order id, how many effects were applied and how
many calls arrived. Its faults (latency, error rate with a status code, hang)
come from the fault switches: ``slow_downstream`` and ``random_fail_p30`` act
here.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from system_under_test.faults import FaultSwitch

#: A hanging downstream still lets go eventually, so no request lives forever.
HANG_SECONDS = 120.0


@dataclass
class OrderEffects:
    applied: int = 0
    calls: int = 0
    keys: list[str] = field(default_factory=list)
    first_applied_at: float | None = None
    accepted_at: float | None = None  # when the API accepted the order (end-to-end latency)


class Ledger:
    """Effects by order id and by idempotency key. One event loop: no locks needed."""

    def __init__(self) -> None:
        self.by_order: dict[str, OrderEffects] = {}
        self.by_key: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.faulted = 0

    def apply(self, key: str, order: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Apply once per key; returns (the effect, whether it was applied by this call)."""
        order_id = str(order.get("orderId", ""))
        effects = self.by_order.setdefault(order_id, OrderEffects())
        effects.calls += 1
        if key in self.by_key:
            return self.by_key[key], False
        effects.applied += 1
        effects.keys.append(key)
        effects.first_applied_at = effects.first_applied_at or time.time()
        accepted = order.get("acceptedAt")
        if isinstance(accepted, int | float) and not isinstance(accepted, bool):
            effects.accepted_at = effects.accepted_at or float(accepted)
        effect = {
            "effectId": f"eff-{len(self.by_key) + 1}",
            "orderId": order_id,
            "idempotencyKey": key,
            "appliedAt": time.time(),
            "acceptedAt": order.get("acceptedAt"),
        }
        self.by_key[key] = effect
        return effect, True

    def snapshot(self) -> dict[str, Any]:
        orders = {
            order_id: {
                "applied": e.applied,
                "calls": e.calls,
                "firstAppliedAt": e.first_applied_at,
                "acceptedAt": e.accepted_at,
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


def create_app(faults: FaultSwitch | None, rng: random.Random | None = None) -> FastAPI:
    app = FastAPI(title="reference downstream", docs_url=None, redoc_url=None)
    ledger = Ledger()
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
        state = await run_in_threadpool(faults.current) if faults else None
        fault = state.active if state else None
        if fault is not None:
            if fault.hang:
                await asyncio.sleep(HANG_SECONDS)
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.error_rate and chance.random() < fault.error_rate:
                ledger.faulted += 1
                return _error(fault.status_code, "INJECTED_FAULT", f"fault {fault.mode}")
        effect, applied = ledger.apply(idempotency_key, order)
        return JSONResponse(
            {**effect, "replayed": not applied}, status_code=201 if applied else 200
        )

    return app


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
