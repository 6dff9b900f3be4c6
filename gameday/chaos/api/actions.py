"""Orders sent the way a client sends them, recorded for the ledger.

Every 202 is appended to the run folder's ``acked-ids.chaos.txt`` (and poison
to ``poison-ids.chaos.txt``): the load generator's truth, kept outside the system.
"""

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from gameday.chaos import context
from gameday.chaos.api.probes import UNKNOWN, circuit_state, why_unknown
from gameday.measure.collect import POISON_FILE
from gameday.measure.ledger import ACKED_FILE, AckedIds

__all__ = ["expect_circuit", "submit_duplicates", "submit_orders"]

CHAOS_ACKED = ACKED_FILE.replace(".txt", ".chaos.txt")
CHAOS_POISON = POISON_FILE.replace(".txt", ".chaos.txt")
POISON_CURRENCY = "XXX"  # envelope-valid, refused by the worker's business rules
PATIENCE_SECONDS = 60.0  # a patient client retries one order this long at most
RETRY_PAUSE_SECONDS = 0.2


def _order(poison: bool) -> dict[str, Any]:
    order_id = f"chaos-{uuid.uuid4().hex[:16]}"
    return {"orderId": order_id, "amount": 25.0, "currency": POISON_CURRENCY if poison else "USD"}


def _post(client: httpx.Client, url: str, key: str, api_key: str, order: dict[str, Any]) -> Any:
    try:
        return client.post(
            url, json=order, headers={"X-Api-Key": api_key, "Idempotency-Key": key}, timeout=15
        )
    except httpx.HTTPError as exc:
        raise ActivityFailed(f"POST {url} failed: {exc}") from None


def submit_orders(
    count: int = 10,
    poison: bool = False,
    patient: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, int]:
    """Send count orders one after another (poison: envelope-valid, business-invalid).

    patient: each order is retried with its own Idempotency-Key until a 202 (at most 60 s
    each): on a refused connection, a 5xx, a 409 or a 429, as a client that must not lose
    an order does while the API restarts. Returns the final answers by status code (0: no
    answer); a 202 is recorded as an acked id.
    """
    state = context.stack(configuration)
    url, api_key = context.api_url(configuration) + "/events", state["api_keys"]["client"]
    run_dir = context.run_dir(configuration)
    acked, poisoned = AckedIds(run_dir, CHAOS_ACKED), AckedIds(run_dir, CHAOS_POISON)
    statuses: Counter[str] = Counter()
    try:
        with httpx.Client() as client:
            for _ in range(count):
                order = _order(poison)
                key = f"key-{order['orderId']}"
                if patient:
                    status = _until_accepted(client, url, key, api_key, order)
                else:
                    status = _post(client, url, key, api_key, order).status_code
                statuses[str(status)] += 1
                if status == 202:
                    acked.record(order["orderId"])
                    if poison:
                        poisoned.record(order["orderId"])
    finally:
        acked.close()
        poisoned.close()
    return dict(statuses)


def _until_accepted(
    client: httpx.Client, url: str, key: str, api_key: str, order: dict[str, Any]
) -> int:
    """Retry one order under its key until a 202 or a final 4xx (bounded); its last status."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    status = 0
    while time.monotonic() < deadline:
        try:
            response = client.post(
                url, json=order, headers={"X-Api-Key": api_key, "Idempotency-Key": key}, timeout=15
            )
            status = response.status_code
        except httpx.TransportError:  # the API is down, or died mid-request
            status, response = 0, None
        if status == 202 or (400 <= status < 500 and status not in (409, 429)):
            return status
        wait = response.headers.get("Retry-After", "") if response is not None else ""
        time.sleep(min(float(wait), 5.0) if wait.isdigit() else RETRY_PAUSE_SECONDS)
    return status


def submit_duplicates(
    keys: int = 5,
    copies: int = 3,
    concurrent: bool = True,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Send each of keys orders copies times under one Idempotency-Key (at once, or in turn).

    Returns the answers by status; fails if two 202s for one key carried different eventIds.
    """
    state = context.stack(configuration)
    url, api_key = context.api_url(configuration) + "/events", state["api_keys"]["client"]
    acked = AckedIds(context.run_dir(configuration), CHAOS_ACKED)
    statuses: Counter[str] = Counter()
    identical = True
    try:
        with httpx.Client() as client, ThreadPoolExecutor(max_workers=copies) as pool:
            for _ in range(keys):
                order = _order(poison=False)
                key = f"key-{order['orderId']}"
                if concurrent:
                    futures = [
                        pool.submit(_post, client, url, key, api_key, order) for _ in range(copies)
                    ]
                    answers = [f.result() for f in futures]
                else:
                    answers = [_post(client, url, key, api_key, order) for _ in range(copies)]
                for answer in answers:
                    statuses[str(answer.status_code)] += 1
                event_ids = {a.json()["eventId"] for a in answers if a.status_code == 202}
                identical = identical and len(event_ids) <= 1
                if event_ids:
                    acked.record(order["orderId"])
    finally:
        acked.close()
    if not identical:
        raise ActivityFailed(f"a replayed submit answered another eventId ({statuses})")
    return {"statuses": dict(statuses), "identicalReplays": identical}


def expect_circuit(
    state: str,
    circuit: str = "downstream",
    timeout_seconds: float = 60,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Wait until a circuit breaker reaches state ("open", "closed"); fails after timeout_seconds.

    Returns the seconds it took: how long the system needed to notice (open) or recover
    (closed).
    """
    started = time.monotonic()
    while True:
        found = circuit_state(circuit, configuration)
        if found == state:
            seconds = round(time.monotonic() - started, 2)
            context.mark("circuit", circuit=circuit, state=state, after_s=seconds)
            return {"circuit": circuit, "state": state, "seconds": seconds}
        if time.monotonic() - started > timeout_seconds:
            why = f": {why_unknown(configuration)}" if found == UNKNOWN else ""
            raise ActivityFailed(
                f"circuit {circuit} stayed {found}, not {state}, for {timeout_seconds} s{why}"
            )
        time.sleep(0.5)
