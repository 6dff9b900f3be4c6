"""The whole pipeline under faults: API -> SQS -> worker -> downstream, DLQ and redrive."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest

from tests.conftest import run_gameday
from tests.integration.conftest import System, order, order_id_of

pytestmark = pytest.mark.integration


def _post_all(system: System, count: int, prefix: str) -> list[str]:
    ids = []
    for _ in range(count):
        body = order(prefix)
        response = system.post(body)
        assert response.status_code == 202, response.text
        ids.append(body["orderId"])
    return ids


def _all_applied_once(system: System, ids: list[str]) -> bool:
    return all(n == 1 for n in system.applied(ids).values())


def test_poison_payload_reaches_the_dlq_with_error_attributes_fast(healthy: System) -> None:
    poison = order("poison", currency="XXX")  # envelope-valid, business-invalid
    started = time.monotonic()
    response = healthy.post(poison, headers={"X-Correlation-Id": "corr-poison"})
    assert response.status_code == 202
    healthy.wait_for(lambda: poison["orderId"] in healthy.dlq_order_ids(), 10, "poison in DLQ")
    took = time.monotonic() - started
    message = next(m for m in healthy.dlq() if order_id_of(m["Body"]) == poison["orderId"])
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["errorType"] == "VALIDATION"
    assert "currency 'XXX' is not supported" in attributes["errorMessage"]
    assert attributes["attempts"] == "1"
    assert int(attributes["firstSeen"]) > 0
    assert attributes["correlationId"] == "corr-poison"
    assert took < 10
    assert healthy.applied([poison["orderId"]])[poison["orderId"]] == 0


def test_worker_survives_any_message_body(healthy: System) -> None:
    sqs = healthy.aws("sqs")
    worker_pids = {
        name: part["pid"]
        for name, part in healthy.status["parts"].items()
        if name.startswith("worker")
    }
    bodies = [
        "not json",
        "[1,2,3]",
        '{"order": "string", "idempotencyKey": "k"}',
        "[" * 3000 + "]" * 3000,
        '{"idempotencyKey": 5, "order": {}}',
        json.dumps(
            {
                "order": {"orderId": "x", "amount": True, "currency": "USD"},
                "idempotencyKey": "garbage-bool",
            }
        ),
        "\u0000\u0001 control \U0001f4a5",
    ]
    before = len(healthy.dlq())
    for body in bodies:
        sqs.send_message(QueueUrl=healthy.resources["queue_url"], MessageBody=body)
    healthy.wait_for(
        lambda: len(healthy.dlq()) >= before + len(bodies),
        15,
        "every garbage message dead-lettered",
    )
    assert all(psutil.pid_exists(pid) for pid in worker_pids.values())
    types = {
        m["MessageAttributes"]["errorType"]["StringValue"]
        for m in healthy.dlq()
        if m["Body"] in bodies
    }
    assert types == {"VALIDATION"}


def test_downstream_outage_dead_letters_no_healthy_order(healthy: System) -> None:
    healthy.set_fault("random_fail_p30", errorRate=1.0, statusCode=503)  # hard down
    time.sleep(1.2)
    ids = _post_all(healthy, 20, "outage")
    time.sleep(12)  # several circuit cycles (reset 2 s) and redeliveries
    assert not set(ids) & healthy.dlq_order_ids()
    assert sum(healthy.applied(ids).values()) == 0
    ready = healthy.http.get(healthy.api + "/ready").json()
    assert ready["status"] == "degraded"
    healthy.clear_faults()
    took = healthy.wait_for(lambda: _all_applied_once(healthy, ids), 60, "drain after recovery")
    assert not set(ids) & healthy.dlq_order_ids()
    print(f"drained 20 orders {took:.1f} s after the outage ended")


def test_slow_downstream_times_out_without_dead_lettering(healthy: System) -> None:
    healthy.set_fault("slow_downstream", latencyMs=3000)  # past the 1 s worker timeout
    time.sleep(1.2)
    ids = _post_all(healthy, 5, "slow")
    time.sleep(8)
    assert not set(ids) & healthy.dlq_order_ids()
    healthy.clear_faults()
    healthy.wait_for(lambda: _all_applied_once(healthy, ids), 60, "drain after slowness")
    # A timed-out call may still have landed; the retry carries the same key: no second effect.
    calls = healthy.ledger()["orders"]
    assert any(calls[oid]["calls"] > 1 for oid in ids)
    assert _all_applied_once(healthy, ids)


def test_permanent_refusals_are_dead_lettered_then_redriven(healthy: System) -> None:
    healthy.set_fault("random_fail_p30", errorRate=1.0, statusCode=422)  # refuses for good
    time.sleep(1.2)
    ids = _post_all(healthy, 5, "refused")
    healthy.wait_for(lambda: set(ids) <= healthy.dlq_order_ids(), 15, "refusals dead-lettered")
    healthy.clear_faults()
    preview = run_gameday(
        "dlq", "preview", "--error-type", "PERMANENT", "--json", state_dir=healthy.state_dir
    )
    assert preview.returncode == 0, preview.stderr
    shown = {m["orderId"] for m in json.loads(preview.stdout)["messages"]}
    assert shown & set(ids)
    redriven = run_gameday(
        "dlq", "redrive", "--error-type", "PERMANENT", "--max", "100", state_dir=healthy.state_dir
    )
    assert redriven.returncode == 0, redriven.stderr
    assert "redriven" in redriven.stdout
    healthy.wait_for(lambda: _all_applied_once(healthy, ids), 20, "redriven orders applied")
    assert not set(ids) & healthy.dlq_order_ids()
    again = run_gameday("dlq", "redrive", "--error-type", "PERMANENT", state_dir=healthy.state_dir)
    assert again.returncode == 0
    time.sleep(2)
    assert _all_applied_once(healthy, ids)  # redrive twice: still one effect each


def test_duplicate_submit_mode_still_applies_each_order_once(healthy: System) -> None:
    before = healthy.metric("sut_api_published_total", kind="duplicate")
    healthy.set_fault("duplicate_submit", ratio=1.0)
    time.sleep(1.2)
    ids = _post_all(healthy, 10, "dup")
    assert healthy.metric("sut_api_published_total", kind="duplicate") == before + 10
    healthy.wait_for(lambda: _all_applied_once(healthy, ids), 20, "duplicates processed")
    time.sleep(2)
    assert _all_applied_once(healthy, ids)


def test_poison_payload_mode_corrupts_the_configured_share(healthy: System) -> None:
    healthy.set_fault("poison_payload", ratio=1.0)
    time.sleep(1.2)
    ids = _post_all(healthy, 3, "corrupt")
    healthy.wait_for(lambda: set(ids) <= healthy.dlq_order_ids(), 15, "corrupted orders in DLQ")
    injected = {
        m["MessageAttributes"].get("injectedFault", {}).get("StringValue")
        for m in healthy.dlq()
        if order_id_of(m["Body"]) in ids
    }
    assert injected == {"poison_payload"}


def test_expired_and_unknown_faults_are_ignored_and_shown(healthy: System) -> None:
    healthy.set_fault("slow_downstream", ttl=-10, latencyMs=5000)  # already expired
    time.sleep(1.2)
    ready = healthy.http.get(healthy.api + "/ready").json()
    assert ready["faults"]["mode"] == "none"
    assert any("expired" in reason for reason in ready["faults"]["ignored"])
    healthy.aws("ssm").put_parameter(
        Name=healthy.resources["failure_mode_parameter"],
        Value="gremlins",
        Type="String",
        Overwrite=True,
    )
    healthy.set_fault("none")
    time.sleep(1.2)
    deep = healthy.http.get(healthy.api + "/health/deep").json()
    assert any("unknown mode 'gremlins'" in r for r in deep["faults"]["ignored"])
    body = order("ignored")
    assert healthy.post(body).status_code == 202
    healthy.wait_for(lambda: _all_applied_once(healthy, [body["orderId"]]), 10, "applied")


def test_fault_switch_takes_effect_within_two_seconds(healthy: System) -> None:
    healthy.set_fault("slow_downstream", latencyMs=1)  # harmless, but visible in /ready
    started = time.monotonic()
    took = healthy.wait_for(lambda: healthy.active_fault() == "slow_downstream", 5, "fault visible")
    assert took < 2.0, f"{time.monotonic() - started:.2f} s"


def test_sigkill_of_a_worker_mid_batch_loses_and_duplicates_nothing(healthy: System) -> None:
    healthy.set_fault("slow_downstream", latencyMs=300)  # keep batches in hand for a while
    time.sleep(1.2)
    ids = _post_all(healthy, 30, "kill")
    time.sleep(1.0)
    victim = healthy.status["parts"]["worker-1"]["pid"]
    os.kill(victim, signal.SIGKILL)
    healthy.clear_faults()
    # Unsettled messages come back after the queue's visibility timeout (11 s here).
    healthy.wait_for(lambda: _all_applied_once(healthy, ids), 90, "every order applied once")
    time.sleep(1)
    assert _all_applied_once(healthy, ids)
    state = json.loads((healthy.state_dir / "stack.json").read_text())
    assert state["parts"]["worker-1"]["pid"] != victim  # the supervisor restarted it
    assert state["parts"]["worker-1"]["restarts"] >= 1
