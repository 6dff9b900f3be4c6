"""Orders as clients send them: steady, poisoned, duplicated, hostile."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pytest_bdd import parsers, then, when

from scenarios.world import World, new_order

HOSTILE_REQUESTS: dict[str, dict[str, Any]] = {
    # name in the Examples table -> what is sent (body bytes, headers, method, path)
    "malformed JSON": {"body": b'{"orderId": "x", "amount": '},
    "a body that is not JSON": {"body": b"orderId=x", "headers": {"Content-Type": "text/plain"}},
    "a boolean amount": {"order": {"amount": True}},
    "a string amount": {"order": {"amount": "42.5"}},
    "a negative amount": {"order": {"amount": -1}},
    "an unknown field": {"order": {"admin": True}},
    "a missing order id": {"order": {"orderId": None}},
    "control characters in a note": {"order": {"note": "line\u0000break"}},
    "a body over 256 KiB": {"order": {"note": "x" * (300 * 1024)}},
    "no API key": {"headers": {"X-Api-Key": ""}},
    "a wrong API key": {"headers": {"X-Api-Key": "not-a-key"}},
    "a 10,000-character correlation id": {"headers": {"X-Correlation-Id": "c" * 10_000}},
    "an Idempotency-Key with spaces": {"headers": {"Idempotency-Key": "a key with spaces"}},
    "an unknown path": {"path": "/nothing-here"},
    "a wrong method": {"method": "PUT"},
    "a script in the order id": {"order": {"orderId": "<script>alert(1)</script>"}},
}


@when(parsers.parse("{count:d} orders arrive"))
def orders_arrive(world: World, count: int) -> None:
    orders = [new_order() for _ in range(count)]
    world.facts["statuses"] = world.send(orders)


@when(parsers.parse("{poison:d} poison payloads arrive among {total:d} orders"))
def poison_arrives_among_orders(world: World, poison: int, total: int) -> None:
    orders = [new_order(poison=n < poison) for n in range(total)]
    random.Random(total).shuffle(orders)  # noqa: S311 (a reproducible mix, not a secret)
    poisoned = {o["orderId"] for o in orders if o["currency"] != "USD"}
    world.facts["statuses"] = world.send(orders, poison=poisoned)
    world.facts["poison_sent"] = poison


@then("every order is acknowledged with an event id")
def every_order_acknowledged(world: World) -> None:
    statuses = world.facts["statuses"]
    refused = [s for s in statuses if s != 202]
    assert statuses, "no order was sent"
    assert not refused, f"{len(refused)} of {len(statuses)} orders were not accepted: {refused}"


def _submit(world: World, order: dict[str, Any], key: str) -> Any:
    return world.system.post(order, headers={"Idempotency-Key": key}, retry_429=True)


@when(parsers.parse("an order is submitted {copies:d} times {how} with one Idempotency-Key"))
def order_submitted_repeatedly(world: World, copies: int, how: str) -> None:
    assert how in ("in a row", "at once"), f"say 'in a row' or 'at once', not {how!r}"
    order = new_order()
    key = f"key-{order['orderId']}"
    if how == "at once":
        with ThreadPoolExecutor(max_workers=copies) as pool:
            answers = list(pool.map(lambda _: _submit(world, order, key), range(copies)))
    else:
        answers = [_submit(world, order, key) for _ in range(copies)]
    world.facts.update(order=order, key=key, answers=answers)
    world.sent += 1
    if any(a.status_code == 202 for a in answers):
        world.record_acked(order["orderId"])


@then("every accepted answer carries the same event id")
def same_event_id(world: World) -> None:
    accepted = [a for a in world.facts["answers"] if a.status_code == 202]
    assert accepted, f"no submit was accepted: {[a.status_code for a in world.facts['answers']]}"
    event_ids = {a.json()["eventId"] for a in accepted}
    assert len(event_ids) == 1, f"one key answered {len(event_ids)} event ids: {event_ids}"


@then(parsers.parse("at least {replays:d} answers are replays"))
def answers_are_replays(world: World, replays: int) -> None:
    answers = world.facts["answers"]
    replayed = [a for a in answers if a.headers.get("Idempotent-Replayed") == "true"]
    assert len(replayed) >= replays, (
        f"{len(replayed)} replayed answers, expected at least {replays} "
        f"(statuses {[a.status_code for a in answers]})"
    )


@then("every other submit is answered as a replay or with 409 in flight")
def replay_or_conflict(world: World) -> None:
    answers = world.facts["answers"]
    firsts = [a for a in answers if a.status_code == 202 and not _replayed(a)]
    others = [a for a in answers if a not in firsts]
    assert len(firsts) == 1, f"{len(firsts)} submits were accepted as new, expected exactly 1"
    wrong = [a.status_code for a in others if not (_replayed(a) or a.status_code == 409)]
    assert not wrong, f"other submits answered {wrong}, not a replay or 409"


def _replayed(answer: Any) -> bool:
    return bool(answer.headers.get("Idempotent-Replayed") == "true")


@when("the Idempotency-Key is reused with another body")
def key_reused(world: World) -> None:
    other = {**world.facts["order"], "amount": world.facts["order"]["amount"] + 1}
    world.facts["reuse"] = _submit(world, other, world.facts["key"])


@then(parsers.parse('the reuse is answered {status:d} with the error code "{code}"'))
def reuse_refused(world: World, status: int, code: str) -> None:
    answer = world.facts["reuse"]
    assert answer.status_code == status, f"answered {answer.status_code}: {answer.text[:300]}"
    assert answer.json()["error"]["code"] == code


@when(parsers.parse("a client sends {request}"))
def client_sends(world: World, request: str) -> None:
    assert request in HOSTILE_REQUESTS, f"no hostile request named {request!r}"
    spec = HOSTILE_REQUESTS[request]
    order = {**new_order(), **spec.get("order", {})}
    order = {k: v for k, v in order.items() if v is not None}
    body = spec.get("body", json.dumps(order).encode())
    headers = {"Idempotency-Key": f"key-{order.get('orderId', 'x')}"[:255]}
    headers.update(spec.get("headers", {}))
    headers = {k: v for k, v in headers.items() if v}
    if spec.get("headers", {}).get("X-Api-Key") == "":
        headers["X-Api-Key"] = ""  # sent empty: the API must refuse it
    world.facts["published_before"] = world.system.metric("sut_api_published_total")
    world.facts["answer"] = world.system.post(
        body,
        headers=headers,
        retry_429=True,
        path=spec.get("path", "/events"),
        method=spec.get("method", "POST"),
    )


@then(parsers.parse('it is answered {status:d} with the JSON error code "{code}"'))
def answered_with_error(world: World, status: int, code: str) -> None:
    answer = world.facts["answer"]
    assert answer.status_code < 500, (
        f"a 5xx for bad input: {answer.status_code} {answer.text[:300]}"
    )
    assert answer.status_code == status, f"answered {answer.status_code}: {answer.text[:300]}"
    assert answer.headers.get("content-type", "").startswith("application/json"), (
        f"not JSON: {answer.headers.get('content-type')}: {answer.text[:200]}"
    )
    error = answer.json().get("error")
    assert isinstance(error, dict), f"no error envelope: {answer.text[:300]}"
    assert error.get("code") == code, f"error code {error.get('code')!r}, expected {code!r}"
    assert error.get("message"), "the error has no message"
    assert error.get("correlationId"), "the error has no correlation id"


@then("nothing was enqueued")
def nothing_enqueued(world: World) -> None:
    published = world.system.metric("sut_api_published_total")
    assert published == world.facts["published_before"], (
        f"the API published {published - world.facts['published_before']:g} messages"
    )
