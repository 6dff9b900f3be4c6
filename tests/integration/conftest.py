"""One running reference stack for the system tests: `gameday up --detach`, real processes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from scenarios.world import ReferenceSystem
from system_under_test import queues
from tests.conftest import run_gameday

#: Short timeouts so outages and retries play out in seconds, not minutes.
STACK_ENV = {
    "GAMEDAY_WORKER_TIMEOUT_SECONDS": "1",  # downstream timeout
    "GAMEDAY_VISIBILITY_MARGIN_SECONDS": "10",  # queue visibility 11 s: redelivery in seconds
    "SUT_CIRCUIT_FAILURE_THRESHOLD": "3",
    "SUT_CIRCUIT_RESET_SECONDS": "2",
    "SUT_DOWNSTREAM_ATTEMPTS": "2",
    "SUT_WORKER_WAIT_SECONDS": "1",
    "GAMEDAY_ALARM_PERIOD_SECONDS": "10",  # alarms settle in seconds between tests
}


@dataclass
class System(ReferenceSystem):
    """The scenarios' view of a stack (endpoints, keys, AWS clients), plus test helpers."""

    @property
    def endpoint(self) -> str:
        """The embedded backend's URL (AWS_ENDPOINT_URL for this stack)."""
        return str(self.status["env"]["AWS_ENDPOINT_URL"])

    @property
    def admin_key(self) -> str:
        return str(self.status["api_keys"]["admin"])

    def post(  # type: ignore[override]  # tests name the key; scenarios pass headers
        self,
        body: Any,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        retry_429: bool = True,
    ) -> httpx.Response:
        """POST /events like a well-behaved client (honours 429 Retry-After unless told not to)."""
        sent = {"X-Api-Key": self.client_key, **(headers or {})}
        if key:
            sent["Idempotency-Key"] = key
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
        deadline = time.monotonic() + 15
        while True:
            response = self.http.post(self.api + "/events", content=content, headers=sent)
            if response.status_code != 429 or not retry_429 or time.monotonic() > deadline:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def ledger(self) -> dict[str, Any]:
        return dict(self.http.get(self.downstream + "/ledger").json())

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> float:
        """Seconds until ``predicate()`` held; fails the test after ``timeout``."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                pytest.fail(f"not within {timeout} s: {what}")
            time.sleep(0.1)
        return time.monotonic() - started

    def applied(self, order_ids: list[str]) -> dict[str, int]:
        orders = self.ledger()["orders"]
        return {oid: orders.get(oid, {}).get("applied", 0) for oid in order_ids}

    def dlq(self) -> list[dict[str, Any]]:
        """Every DLQ message (hidden briefly while read, then released)."""
        sqs = self.aws("sqs")
        url = self.resources["dlq_url"]
        seen: dict[str, dict[str, Any]] = {}
        handles = []
        for _ in range(50):
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=5,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], message)
        queues.release(sqs, url, handles)
        return list(seen.values())

    def dlq_order_ids(self) -> set[str]:
        return {oid for m in self.dlq() if (oid := order_id_of(m["Body"])) is not None}

    def active_fault(self) -> str:
        """The fault mode the API applies now, as GET /ready reports it."""
        return str(self.http.get(self.api + "/ready").json()["faults"]["mode"])

    def set_fault(self, mode: str, ttl: float = 120, **params: Any) -> None:
        document = {"mode": mode, "expiresAt": time.time() + ttl, **params}
        self.aws("ssm").put_parameter(
            Name=self.resources["fault_parameter"],
            Value=json.dumps(document),
            Type="String",
            Overwrite=True,
        )

    def clear_faults(self) -> None:
        """Switch every fault off; waits out the switches' cache only if one was on."""
        if not self.fault_switched_on():
            return
        ssm = self.aws("ssm")
        ssm.put_parameter(
            Name=self.resources["fault_parameter"],
            Value=json.dumps({"mode": "none"}),
            Type="String",
            Overwrite=True,
        )
        ssm.put_parameter(
            Name=self.resources["failure_mode_parameter"],
            Value="none",
            Type="String",
            Overwrite=True,
        )
        time.sleep(1.2)  # the switches' cache is 1 s

    def metric(self, name: str, **labels: str) -> float:
        """A counter's value from the API's /metrics (0 when absent)."""
        text = self.http.get(self.api + "/metrics").text
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            metric, _, label_text = series.partition("{")
            got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
            if metric == name and got == wanted:
                return float(value)
        return 0.0


def order_id_of(body: str) -> str | None:
    """The order id in a queued envelope, or None for a body that is not one."""
    try:
        return str(json.loads(body)["order"]["orderId"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def order(prefix: str = "o", **fields: Any) -> dict[str, Any]:
    return {
        "orderId": f"{prefix}-{uuid.uuid4().hex[:12]}",
        "amount": 42.5,
        "currency": "USD",
        **fields,
    }


@contextmanager
def running_system(state_dir: Path, *up_options: str) -> Iterator[System]:
    started = run_gameday(
        "up", "--detach", *up_options, state_dir=state_dir, timeout=90, **STACK_ENV
    )
    assert started.returncode == 0, started.stdout + started.stderr
    status = run_gameday("status", "--json", state_dir=state_dir)
    assert status.returncode == 0, status.stdout + status.stderr
    try:
        with httpx.Client(timeout=30) as http:
            yield System(state_dir, json.loads(status.stdout), http)
    finally:
        run_gameday("down", state_dir=state_dir, timeout=60)


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One stack shared by the system tests (they use unique order ids).

    It is deployed from system_under_test/template.yaml through the backend's
    CloudFormation, so every test on it (each experiment among them) also proves the
    harness finds the system by the stack's outputs alone (`gameday up` without the
    option is tested by test_stack, the scenarios and the wheel smoke).
    """
    state_dir = tmp_path_factory.mktemp("system") / ".gameday"
    with running_system(state_dir, "--from-template") as shared:
        yield shared


@pytest.fixture
def healthy(system: System) -> Iterator[System]:
    """The system with every fault cleared before and after the test."""
    system.clear_faults()
    yield system
    system.clear_faults()
