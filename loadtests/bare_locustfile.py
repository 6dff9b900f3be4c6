"""The baseline for `gameday bench load`: a bare FastHttpUser, closed model, no extras.

Each user posts an order as fast as the answers come back; nothing is scheduled,
recorded or histogrammed beyond Locust's own statistics. ``locustfile.py`` is
measured against this on the same endpoint.
"""

from __future__ import annotations

import uuid

from locust import FastHttpUser, constant, task


class BareOrders(FastHttpUser):
    wait_time = constant(0)

    @task
    def post_order(self) -> None:
        order_id = f"bare-{uuid.uuid4().hex[:16]}"
        self.client.post(
            "/events",
            json={"orderId": order_id, "amount": 25.0, "currency": "USD"},
            headers={"X-Api-Key": "bench", "Idempotency-Key": f"key-{order_id}"},
        )
