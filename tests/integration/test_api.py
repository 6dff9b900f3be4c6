"""The ingestion API against the running stack: acceptance, idempotency, limits, bad input."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import time
from typing import Any

import pytest

from tests.integration.conftest import System, order

pytestmark = pytest.mark.integration


def test_accepted_order_is_applied_downstream_once(healthy: System) -> None:
    body = order("happy")
    response = healthy.post(body, headers={"X-Correlation-Id": "corr-happy-1"})
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "accepted"
    assert answer["correlationId"] == "corr-happy-1"
    assert response.headers["X-Correlation-Id"] == "corr-happy-1"
    assert answer["eventId"] and answer["acceptedAt"] <= time.time()
    healthy.wait_for(
        lambda: healthy.applied([body["orderId"]])[body["orderId"]] == 1, 10, "effect applied"
    )
    time.sleep(0.5)
    assert healthy.applied([body["orderId"]]) == {body["orderId"]: 1}


def test_replay_returns_the_original_answer(healthy: System) -> None:
    body = order("replay")
    first = healthy.post(body, key="replay-" + body["orderId"])
    second = healthy.post(body, key="replay-" + body["orderId"])
    assert first.status_code == second.status_code == 202
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert second.json() == first.json()
    healthy.wait_for(
        lambda: healthy.applied([body["orderId"]])[body["orderId"]] == 1, 10, "effect applied"
    )
    assert healthy.ledger()["orders"][body["orderId"]]["calls"] == 1


def test_derived_key_makes_a_keyless_resubmit_a_replay(healthy: System) -> None:
    body = order("derived")
    first, second = healthy.post(body), healthy.post(body)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json()["eventId"] == first.json()["eventId"]


def test_key_reuse_with_another_payload_is_refused(healthy: System) -> None:
    body = order("reuse")
    key = "reuse-" + body["orderId"]
    assert healthy.post(body, key=key).status_code == 202
    published = healthy.metric("sut_api_published_total", kind="original")
    other = healthy.post({**body, "amount": 99.0}, key=key)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert healthy.metric("sut_api_published_total", kind="original") == published


def test_request_while_the_first_is_in_flight_gets_409(healthy: System) -> None:
    """An in-progress idempotency record, exactly as Powertools writes one mid-request."""
    body = order("inflight")
    key = "inflight-" + body["orderId"]
    record_key = _powertools_record_key(healthy, key)
    payload = {**body, "schemaVersion": 1}  # what the API hashes: the order with its defaults
    validation = hashlib.md5(
        json.dumps(payload, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()
    healthy.aws("dynamodb").put_item(
        TableName=healthy.resources["idempotency_table"],
        Item={
            "id": {"S": record_key},
            "status": {"S": "INPROGRESS"},
            "validation": {"S": validation},
            "expiration": {"N": str(int(time.time()) + 60)},
            "in_progress_expiration": {"N": str(int((time.time() + 60) * 1000))},
        },
    )
    response = healthy.post(body, key=key)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert response.headers["Retry-After"] == "1"


def _powertools_record_key(system: System, key: str) -> str:
    """Find the record-key prefix Powertools uses by submitting a probe, then hash ``key``."""
    probe = order("probe")
    probe_key = "probe-" + probe["orderId"]
    assert system.post(probe, key=probe_key).status_code == 202
    digest = hashlib.md5(json.dumps(probe_key).encode(), usedforsecurity=False).hexdigest()
    items = system.aws("dynamodb").scan(TableName=system.resources["idempotency_table"])["Items"]
    prefix = next(i["id"]["S"] for i in items if i["id"]["S"].endswith("#" + digest))
    return (
        prefix.rsplit("#", 1)[0]
        + "#"
        + hashlib.md5(json.dumps(key).encode(), usedforsecurity=False).hexdigest()
    )


def test_concurrent_duplicates_apply_one_effect(healthy: System) -> None:
    body = order("concurrent")
    key = "concurrent-" + body["orderId"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: healthy.post(body, key=key), range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {202, 409}, statuses
    event_ids = {r.json()["eventId"] for r in responses if r.status_code == 202}
    assert len(event_ids) == 1
    healthy.wait_for(
        lambda: healthy.applied([body["orderId"]])[body["orderId"]] == 1, 10, "effect applied"
    )
    time.sleep(1)
    assert healthy.applied([body["orderId"]])[body["orderId"]] == 1


def test_auth_rules(healthy: System) -> None:
    none = healthy.http.post(healthy.api + "/events", json=order())
    assert none.status_code == 401
    assert none.json()["error"]["code"] == "AUTH_REQUIRED"
    wrong = healthy.post(order(), headers={"X-Api-Key": "not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "INVALID_API_KEY"
    forbidden = healthy.http.get(
        healthy.api + "/admin/dlq/preview", headers={"X-Api-Key": healthy.client_key}
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "FORBIDDEN"
    admin = healthy.http.get(
        healthy.api + "/admin/dlq/preview", headers={"X-Api-Key": healthy.admin_key}
    )
    assert admin.status_code == 200
    assert "dlqDepth" in admin.json()


def test_rate_limit_answers_429_with_retry_after(healthy: System) -> None:
    def burst(_: int) -> Any:
        return healthy.post(b"{}", retry_429=False)  # cheap 422s still spend tokens

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(burst, range(300)))
    limited = [r for r in responses if r.status_code == 429]
    assert limited, sorted({r.status_code for r in responses})
    sample = limited[0]
    assert sample.json()["error"]["code"] == "RATE_LIMITED"
    assert int(sample.headers["Retry-After"]) >= 1
    limit = healthy.http.get(healthy.api + "/health/deep").json()["config"]["rateLimitBurst"]
    assert sample.headers["X-RateLimit-Limit"] == str(limit) == "5"  # the default burst
    assert sample.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in sample.headers
    time.sleep(2.5)  # let the bucket refill for the next tests


def test_health_ready_deep_and_metrics(healthy: System) -> None:
    assert healthy.post(order("metrics")).status_code == 202  # so /events has a 202 to count
    assert healthy.http.get(healthy.api + "/health").json() == {"status": "ok"}
    ready = healthy.http.get(healthy.api + "/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert all(dep["ok"] for dep in body["dependencies"].values())
    assert body["circuits"]["sqs_publish"]["state"] == "closed"
    deep = healthy.http.get(healthy.api + "/health/deep").json()
    assert {"orders", "dlq"} <= set(deep["queues"])
    assert deep["versions"]["system_under_test"]
    assert deep["uptimeSeconds"] > 0
    text = healthy.http.get(healthy.api + "/metrics").text
    assert 'sut_api_requests_total{route="/events",status="202"}' in text
    assert "sut_api_request_seconds_bucket" in text
    assert "sut_api_rejected_total" in text
    assert healthy.client_key not in text and healthy.admin_key not in text


NESTED = (
    b'{"orderId": "n", "amount": 1, "currency": "USD", "note": ' + b"[" * 5000 + b"]" * 5000 + b"}"
)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b'{"orderId": "x", "amount": 1,', "application/json", 400, "MALFORMED_JSON"),
        (
            b'{"orderId":"x","amount":1,"currency":"USD"}',
            "text/plain",
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (b'{"note": "' + b"a" * (257 * 1024) + b'"}', "application/json", 413, "PAYLOAD_TOO_LARGE"),
        (b'{"orderId": "x", "amount": "lots"}', "application/json", 422, "VALIDATION_FAILED"),
        (NESTED, "application/json", 400, "MALFORMED_JSON"),
        (
            b'{"orderId": "\xff\xfe", "amount": 1, "currency": "USD"}',
            "application/json",
            400,
            "INVALID_ENCODING",
        ),
        (
            b'{"orderId": "x", "amount": 1e308, "currency": "USD"}',
            "application/json",
            422,
            "VALIDATION_FAILED",
        ),
        (
            b'{"orderId": "x", "amount": -5, "currency": "USD"}',
            "application/json",
            422,
            "VALIDATION_FAILED",
        ),
        (
            b'{"orderId": "x\\u0000y", "amount": 1, "currency": "USD"}',
            "application/json",
            422,
            "VALIDATION_FAILED",
        ),
        (
            b'{"orderId": "x", "amount": 1, "currency": "USD", "note": "bell\\u0007"}',
            "application/json",
            422,
            "VALIDATION_FAILED",
        ),
        (
            b'{"orderId": "x", "amount": 1, "currency": "USD", "isAdmin": true}',
            "application/json",
            422,
            "VALIDATION_FAILED",
        ),
        (b"[1, 2, 3]", "application/json", 422, "VALIDATION_FAILED"),
        (b"", "application/json", 400, "MALFORMED_JSON"),
    ],
    ids=[
        "malformed",
        "content-type",
        "too-large",
        "schema",
        "deeply-nested",
        "non-utf8",
        "huge-number",
        "negative",
        "control-char-id",
        "control-char-note",
        "unknown-field",
        "not-object",
        "empty",
    ],
)
def test_bad_input_gets_a_4xx_json_error_and_enqueues_nothing(
    healthy: System, content: bytes, content_type: str, status: int, code: str
) -> None:
    published = healthy.metric("sut_api_published_total", kind="original")
    response = healthy.post(content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["correlationId"]
    assert healthy.metric("sut_api_published_total", kind="original") == published


def test_schema_errors_name_the_fields(healthy: System) -> None:
    response = healthy.post({"orderId": "", "amount": 0, "currency": "usd"})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"orderId", "amount", "currency"} <= fields


def test_unicode_is_welcome(healthy: System) -> None:
    response = healthy.post(order("unicode", note="Grüße, 東京 🚀"))
    assert response.status_code == 202, response.text


def test_oversized_headers_are_refused_without_a_5xx(healthy: System) -> None:
    published = healthy.metric("sut_api_published_total", kind="original")
    response = healthy.post(order(), headers={"X-Padding": "x" * 70_000})
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "HEADERS_TOO_LARGE"
    assert healthy.metric("sut_api_published_total", kind="original") == published
