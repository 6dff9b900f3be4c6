"""One rate limit shared by several API processes, through DynamoDB (the embedded backend).

Two limiters stand for two API processes (or Lambda instances): each alone would let
``rate`` a second through, so two in-memory buckets let twice the limit in. The
DynamoDB buckets hold the sum to the configured rate plus burst.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from system_under_test.api.security import Decision, DynamoTokenBuckets, TokenBuckets
from tests.conftest import Backend, run_gameday

pytestmark = pytest.mark.integration

RATE, BURST = 10.0, 5
SECONDS = 2.0


def _hammer(takers: list[Callable[[str], Decision]], seconds: float) -> tuple[int, float]:
    """Threads call the takers in turn for ``seconds``; returns (allowed, elapsed)."""
    allowed, lock = [0], threading.Lock()
    began = time.monotonic()

    def run(n: int) -> None:
        take = takers[n % len(takers)]
        while time.monotonic() - began < seconds:
            if take("client-key").allowed:
                with lock:
                    allowed[0] += 1
            time.sleep(0.005)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 30)
    return allowed[0], time.monotonic() - began


def test_two_processes_share_one_limit_through_dynamodb(fast_backend: Backend) -> None:
    dynamodb = fast_backend.client("dynamodb")
    dynamodb.create_table(
        TableName="rate-limits-shared",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    shared = [DynamoTokenBuckets(dynamodb, "rate-limits-shared", RATE, BURST) for _ in range(2)]
    allowed, elapsed = _hammer([b.take for b in shared], SECONDS)
    ceiling = BURST + RATE * elapsed
    assert BURST <= allowed <= ceiling + 1, (allowed, ceiling)

    # The control: the same two "processes" with their own buckets let in about twice that.
    separate = [TokenBuckets(RATE, BURST) for _ in range(2)]
    leaked, elapsed = _hammer([b.take for b in separate], SECONDS)
    assert leaked > BURST + RATE * elapsed + 1, (leaked, elapsed)


def test_a_stack_with_two_api_processes_holds_one_limit(tmp_path: Path) -> None:
    state_dir = tmp_path / ".gameday"
    env = {
        "GAMEDAY_API_PROCESSES": "2",
        "SUT_RATE_LIMIT_PER_SECOND": str(RATE),
        "SUT_RATE_LIMIT_BURST": str(BURST),
    }
    started = run_gameday("up", "--detach", state_dir=state_dir, timeout=120, **env)
    assert started.returncode == 0, started.stderr
    try:
        status = json.loads(run_gameday("status", "--json", state_dir=state_dir).stdout)
        api, key = status["parts"]["api"]["endpoint"], status["api_keys"]["client"]
        assert httpx.get(api + "/health/deep", timeout=10).json()["config"]["rateLimitShared"]
        serving = psutil.Process(status["parts"]["api"]["pid"]).children()
        assert len(serving) >= 2, f"the API runs {len(serving)} worker processes, not 2"
        answers: list[int] = []
        lock = threading.Lock()
        began = time.monotonic()

        def client(n: int) -> None:
            # a client of its own (own connections), so both processes get requests
            with httpx.Client(timeout=10) as http:
                sent = 0
                while time.monotonic() - began < SECONDS:
                    order = {"orderId": f"rl-{n}-{sent}", "amount": 1.5, "currency": "USD"}
                    code = http.post(
                        api + "/events", json=order, headers={"X-Api-Key": key}
                    ).status_code
                    with lock:
                        answers.append(code)
                    sent += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - began
        accepted = answers.count(202)
        assert set(answers) <= {202, 429}, sorted(set(answers))
        assert BURST <= accepted <= BURST + RATE * elapsed + 1, (accepted, elapsed, len(answers))
    finally:
        run_gameday("down", state_dir=state_dir, timeout=60)
